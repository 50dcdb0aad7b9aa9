package query

import (
	"errors"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// TestTraceRequestOptions: a request's parameters become trace options
// (zero numbers: the defaults), and each bad one is a FieldError naming
// it, before any store is read.
func TestTraceRequestOptions(t *testing.T) {
	h := func(v int64) *int64 { return &v }
	src := []string{"1"}
	cases := []struct {
		name  string
		req   TraceRequest
		field string // "" when valid
		check func(t *testing.T, o trace.Options)
	}{
		{"defaults", TraceRequest{Sources: src}, "", func(t *testing.T, o trace.Options) {
			if o.Policy != trace.FIFO || o.Direction != trace.Forward || o.MaxHops != trace.DefaultMaxHops || o.MinSats != trace.DefaultMinSats || o.Detail != trace.DefaultDetail {
				t.Errorf("defaults %+v", o)
			}
		}},
		{"all set", TraceRequest{Incidents: []string{"heist"}, Direction: "backward", Policy: "TIHO", Hops: 7, MinSats: 1, Paths: 2, Detail: -1,
			After: "2020-01-02", Before: "2021-03-04T05:06:07Z", Perpetrators: []uint64{9}, FollowCoinJoins: true, MaxTxs: 10, Graph: true}, "", func(t *testing.T, o trace.Options) {
			if o.Policy != trace.TIHO || o.Direction != trace.Backward || o.MaxHops != 7 || o.MinSats != 1 || o.Paths != 2 || o.Detail != -1 ||
				!o.After.Equal(time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)) || !o.Before.Equal(time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)) ||
				len(o.Perpetrators) != 1 || !o.FollowCoinJoins || o.MaxTxs != 10 || !o.Graph {
				t.Errorf("options %+v", o)
			}
		}},
		{"heights", TraceRequest{Sources: src, FromHeight: h(3), ToHeight: h(3)}, "", nil},
		{"no sources", TraceRequest{}, "sources", nil},
		{"policy", TraceRequest{Sources: src, Policy: "fair"}, "policy", nil},
		{"direction", TraceRequest{Sources: src, Direction: "sideways"}, "direction", nil},
		{"hops", TraceRequest{Sources: src, Hops: -1}, "hops", nil},
		{"min sats", TraceRequest{Sources: src, MinSats: -5}, "min_sats", nil},
		{"paths", TraceRequest{Sources: src, Paths: -1}, "paths", nil},
		{"detail", TraceRequest{Sources: src, Detail: -2}, "detail", nil},
		{"max txs", TraceRequest{Sources: src, MaxTxs: -1}, "max_txs", nil},
		{"after", TraceRequest{Sources: src, After: "2020-13-01"}, "after", nil},
		{"before", TraceRequest{Sources: src, Before: "tomorrow"}, "before", nil},
		{"from height", TraceRequest{Sources: src, FromHeight: h(-1)}, "from_height", nil},
		{"to height", TraceRequest{Sources: src, ToHeight: h(1 << 40)}, "to_height", nil},
		{"heights reversed", TraceRequest{Sources: src, FromHeight: h(5), ToHeight: h(4)}, "to_height", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := c.req.Options()
			var fe *FieldError
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.field != "" && !errors.As(err, &fe):
				t.Fatalf("error %v, want a FieldError on %s", err, c.field)
			case c.field != "" && fe.Field != c.field:
				t.Fatalf("field %q (%v), want %q", fe.Field, err, c.field)
			}
			if c.check != nil {
				c.check(t, o)
			}
		})
	}
}

// TestFindIncidents: an id names one incident, a name (any case) every
// incident of that name; anything else is ErrNoIncident.
func TestFindIncidents(t *testing.T) {
	ins := []label.Incident{{ID: 1, Name: "Heist"}, {ID: 2, Name: "heist"}, {ID: 3, Name: "Ransom"}, {ID: 4}, {ID: 12, Name: "7"}}
	cases := []struct {
		arg  string
		want []uint32
	}{
		{"1", []uint32{1}},
		{" 3 ", []uint32{3}},
		{"HEIST", []uint32{1, 2}},
		{"ransom", []uint32{3}},
		{"7", []uint32{12}}, // no incident 7: the name
		{"", nil},
		{"99", nil},
		{"nothing", nil},
	}
	for _, c := range cases {
		got, err := findIncidents(ins, c.arg)
		if c.want == nil {
			if !errors.Is(err, ErrNoIncident) {
				t.Errorf("%q: %v, %v; want ErrNoIncident", c.arg, got, err)
			}
			continue
		}
		var ids []uint32
		for _, in := range got {
			ids = append(ids, in.ID)
		}
		if err != nil || len(ids) != len(c.want) {
			t.Errorf("%q: %v, %v; want %v", c.arg, ids, err, c.want)
			continue
		}
		for i := range ids {
			if ids[i] != c.want[i] {
				t.Errorf("%q: %v, want %v", c.arg, ids, c.want)
			}
		}
	}
}
