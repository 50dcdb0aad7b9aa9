package label

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestFollowLog: a store that follows a shared log takes label writes only
// from its entries, in order, each recording its number in its own batch;
// ids and times come from the entry.
func TestFollowLog(t *testing.T) {
	ctx := context.Background()
	const a = "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn"
	own := Label{Label: "mine", Category: "exchange", Source: "case", Confidence: 70}

	t.Run("store with labels refused", func(t *testing.T) {
		db := openTest(t)
		if _, err := AddOwn(ctx, db, a, false, own); err != nil {
			t.Fatal(err)
		}
		if err := FollowLog(ctx, db); err == nil || !strings.Contains(err.Error(), "1 label sources") {
			t.Fatalf("FollowLog on a store with labels: %v", err)
		}
	})

	db := openTest(t)
	if _, shared, err := LogPosition(db); err != nil || shared {
		t.Fatalf("fresh store: shared %v %v", shared, err)
	}
	if _, err := AddOwn(WithLogEntry(ctx, 1, time.Now()), db, a, false, own); err == nil {
		t.Fatal("a log entry applied to a store that follows no log")
	}
	if err := FollowLog(ctx, db); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ctx  context.Context
		want error // nil: stored
		pos  uint64
	}{
		{"outside the log", ctx, ErrShared, 0},
		{"entry 2 before 1", WithLogEntry(ctx, 2, at), errors.New("applied at position 0"), 0},
		{"entry 1", WithLogEntry(ctx, 1, at), nil, 1},
		{"entry 1 again", WithLogEntry(ctx, 1, at), errors.New("applied at position 1"), 1},
	}
	for _, tc := range tests {
		r, err := AddOwn(tc.ctx, db, a, false, own)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == nil && r.Import != 1:
			t.Errorf("%s: label id %d, want the entry's number", tc.name, r.Import)
		case tc.want != nil && (err == nil || !strings.Contains(err.Error(), tc.want.Error())):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if pos, _, err := LogPosition(db); err != nil || pos != tc.pos {
			t.Errorf("%s: position %d %v, want %d", tc.name, pos, err, tc.pos)
		}
	}
	if _, err := Remove(ctx, db, RemoveSpec{Import: 1}); !errors.Is(err, ErrShared) {
		t.Errorf("remove outside the log: %v", err)
	}
	if _, err := AddIncident(ctx, db, Incident{TxID: strings.Repeat("ab", 32), Category: "theft", Source: "x"}); !errors.Is(err, ErrShared) {
		t.Errorf("incident outside the log: %v", err)
	}
	in, err := AddIncident(WithLogEntry(ctx, 2, at), db, Incident{TxID: strings.Repeat("ab", 32), Category: "theft", Source: "x", Vout: AllOutputs})
	if err != nil || in.ID != 2 {
		t.Fatalf("incident from entry 2: %+v %v", in, err)
	}
	if err := MarkApplied(ctx, db, 3); err != nil {
		t.Fatal(err)
	}
	if rm, err := Remove(WithLogEntry(ctx, 4, at), db, RemoveSpec{Import: 1}); err != nil || rm.Labels != 1 {
		t.Fatalf("remove from entry 4: %+v %v", rm, err)
	}
	srcs, err := Sources(ctx, db)
	if err != nil || len(srcs) != 1 || !srcs[0].Imported.Equal(at) {
		t.Errorf("sources %+v %v: want the entry's time", srcs, err)
	}
	if pos, _, _ := LogPosition(db); pos != 4 {
		t.Errorf("position %d after 4 entries", pos)
	}
}
