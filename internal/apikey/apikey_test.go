package apikey

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
)

func TestKeys(t *testing.T) {
	ctx := context.Background()
	db := indextest.Open(t, t.TempDir())
	read, readSecret, err := Create(ctx, db, "investigations", Read)
	if err != nil {
		t.Fatal(err)
	}
	_, screenSecret, err := Create(ctx, db, "deposit pipeline", Screen)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Create(ctx, db, " ", Read); err == nil {
		t.Error("a key without a name was created")
	}
	// K1: the store holds no secret.
	err = db.StageScan(ctx, []byte{pKey}, []byte{pKey + 1}, func(_, v []byte) (bool, error) {
		for _, s := range []string{readSecret, screenSecret} {
			if strings.Contains(string(v), s[3:]) {
				t.Fatal("a secret is stored in clear")
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := Load(ctx, db, 0)
	if err != nil || set.Len() != 2 {
		t.Fatalf("%d keys loaded, %v", set.Len(), err)
	}
	if k, err := set.Authenticate(readSecret); err != nil || k.ID != read.ID || k.Scope != Read {
		t.Fatalf("authenticate: %+v, %v", k, err)
	}
	for _, bad := range []string{"", "sk_", "sk_1", "sk_1_", readSecret + "x", "sk_9_" + readSecret[5:], strings.Replace(readSecret, "sk_1_", "sk_2_", 1)} {
		if _, err := set.Authenticate(bad); !errors.Is(err, ErrUnknown) {
			t.Errorf("secret %q authenticated: %v", bad, err)
		}
	}
	// K2: a revoked key never authenticates, and ids are not reused.
	if err := Revoke(db, read.ID); err != nil {
		t.Fatal(err)
	}
	if err := Revoke(db, 99); !errors.Is(err, ErrUnknown) {
		t.Errorf("revoking an unknown key: %v", err)
	}
	set, _ = Load(ctx, db, 0)
	if _, err := set.Authenticate(readSecret); !errors.Is(err, ErrUnknown) {
		t.Error("a revoked key authenticated")
	}
	k3, _, _ := Create(ctx, db, "third", Write)
	if k3.ID != 3 {
		t.Errorf("new key id %d after 2 keys, one revoked: want 3", k3.ID)
	}
	keys, err := List(ctx, db)
	if err != nil || len(keys) != 3 || !keys[0].Revoked {
		t.Fatalf("list %+v, %v", keys, err)
	}
}

// TestScopes pins K3.
func TestScopes(t *testing.T) {
	for _, c := range []struct {
		s    Scope
		n    Need
		want bool
	}{
		{Read, NeedRead, true}, {Read, NeedScreen, false}, {Read, NeedWrite, false},
		{Screen, NeedRead, false}, {Screen, NeedScreen, true}, {Screen, NeedWrite, false},
		{Write, NeedRead, true}, {Write, NeedScreen, true}, {Write, NeedWrite, true},
		{0, NeedRead, false},
	} {
		if got := c.s.Allows(c.n); got != c.want {
			t.Errorf("%s allows %d = %v", c.s, c.n, got)
		}
	}
	for _, s := range []Scope{Read, Screen, Write} {
		if p, err := ParseScope(s.String()); err != nil || p != s {
			t.Errorf("scope %s does not round-trip", s)
		}
	}
	if _, err := ParseScope("admin"); err == nil {
		t.Error("scope admin parsed")
	}
}

// TestRateLimit: a key's bucket holds twice its rate and refills at its
// rate; an empty bucket says how long to wait.
func TestRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := &Set{keys: map[uint32]Key{}, rate: 5, burst: 10, bkt: map[uint32]*bucket{}, now: func() time.Time { return now }}
	for i := range 10 {
		if ok, _ := s.Allow(1); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := s.Allow(1)
	if ok || wait <= 0 || wait > 200*time.Millisecond {
		t.Fatalf("11th request: %v, wait %s (want refused, 200 ms)", ok, wait)
	}
	if ok, _ := s.Allow(2); !ok {
		t.Fatal("another key's bucket was spent")
	}
	now = now.Add(time.Second)
	n := 0
	for {
		if ok, _ := s.Allow(1); !ok {
			break
		}
		n++
	}
	if n != 5 {
		t.Errorf("%d requests after one second at 5/s", n)
	}
}

func FuzzDecode(f *testing.F) {
	k := Key{ID: 1, Name: "n", Scope: Read, Created: time.Unix(1, 0)}
	f.Add(k.encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := decode(7, b)
		if err != nil {
			return
		}
		again, err := decode(7, k.encode())
		if err != nil || again != k {
			t.Fatalf("round trip: %+v → %+v, %v", k, again, err)
		}
	})
}
