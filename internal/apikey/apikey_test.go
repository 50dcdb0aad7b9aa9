package apikey

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
)

// TestNoSecretStored pins K1 for the embedded store: its records hold no
// secret.
func TestNoSecretStored(t *testing.T) {
	ctx := context.Background()
	db := indextest.Open(t, t.TempDir())
	var secrets []string
	for _, sc := range []Scope{Read, Screen} {
		_, s, err := Create(ctx, NewDB(db), sc.String(), sc)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s)
	}
	err := db.StageScan(ctx, []byte{pKey}, []byte{pKey + 1}, func(_, v []byte) (bool, error) {
		for _, s := range secrets {
			if strings.Contains(string(v), s[3:]) {
				t.Fatal("a secret is stored in clear")
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
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
	s := &Set{rate: 5, burst: 10, bkt: map[uint32]*bucket{}, now: func() time.Time { return now }}
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
