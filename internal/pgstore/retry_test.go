package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/casefile"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/pgstore/pgtest"
	"github.com/sleuth-forensics/sleuth/internal/watch"
	"github.com/sleuth-forensics/sleuth/internal/watch/watchtest"
)

// TestFirstStatementAfterOutage: PostgreSQL goes away and comes back
// while every pooled connection sits idle; the outage closed them all.
// The very first statement on each store afterwards answers correctly
// (G10): a read, or a write whose transaction never reached its COMMIT,
// runs again on a fresh connection. Every case gets a pool warmed with
// several connections, so the retry itself must not pick another stale
// one.
func TestFirstStatementAfterOutage(t *testing.T) {
	dsn(t)
	ctx := context.Background()
	keys := watchtest.Keys(t, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")
	// seeded is what seed leaves in a fresh schema, for first to check.
	type seeded struct {
		caseID  uint64
		list    uint32
		key     apikey.Key
		alertID uint64
	}
	seed := func(t *testing.T, db *DB) seeded {
		t.Helper()
		var s seeded
		c, err := db.Cases().Create(ctx, "alice", "before", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		s.caseID = c.ID
		if _, err := db.LabelLog().Append(ctx, "alice", []labelsync.Edit{{Kind: labelsync.KindRemoveSource, Source: "before"}}); err != nil {
			t.Fatal(err)
		}
		if s.key, _, err = apikey.Create(ctx, db.APIKeys(), "before", apikey.Read); err != nil {
			t.Fatal(err)
		}
		if s.list, err = db.Watch().Create(ctx, &watch.List{Name: "before"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Watch().AddAddresses(ctx, s.list, keys[:1]); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Alerts().AddEndpoint(ctx, "http://127.0.0.1:9/hook", ""); err != nil {
			t.Fatal(err)
		}
		as, err := db.Alerts().Create(ctx, []alert.Alert{alerttest.Sample(1, 1)})
		if err != nil {
			t.Fatal(err)
		}
		s.alertID = as[0].ID
		return s
	}
	want := func(what string, ok bool, got any) error {
		if !ok {
			return fmt.Errorf("%s: got %+v", what, got)
		}
		return nil
	}
	tests := []struct {
		name  string
		first func(db *DB, s seeded) error
	}{
		{"cases read", func(db *DB, s seeded) error {
			c, err := db.Cases().Get(ctx, s.caseID)
			if err != nil {
				return err
			}
			return want("case", c.Name == "before", c)
		}},
		{"cases write", func(db *DB, s seeded) error {
			c, err := db.Cases().Edit(ctx, s.caseID, "bob", "note", func(c *casefile.Case) (string, error) {
				c.Name = "after"
				return "renamed", nil
			})
			if err != nil {
				return err
			}
			got, err := db.Cases().Get(ctx, s.caseID)
			return errors.Join(err, want("renamed case", c.Name == "after" && got.Name == "after", got))
		}},
		{"label log read", func(db *DB, s seeded) error {
			es, err := db.LabelLog().After(ctx, 0, 10)
			if err != nil {
				return err
			}
			return want("label log", len(es) == 1 && es[0].Edit.Source == "before", es)
		}},
		{"label log write", func(db *DB, s seeded) error {
			seq, err := db.LabelLog().Append(ctx, "bob", []labelsync.Edit{{Kind: labelsync.KindRemoveSource, Source: "after"}})
			if err != nil {
				return err
			}
			last, err := db.LabelLog().Last(ctx)
			return errors.Join(err, want("appended entry", seq == 2 && last == 2, [2]uint64{seq, last}))
		}},
		{"API keys read", func(db *DB, s seeded) error {
			ks, err := db.APIKeys().List(ctx)
			if err != nil {
				return err
			}
			return want("keys", len(ks) == 1 && ks[0].ID == s.key.ID, ks)
		}},
		{"API keys write", func(db *DB, s seeded) error {
			if err := db.APIKeys().Revoke(ctx, s.key.ID); err != nil {
				return err
			}
			ks, err := db.APIKeys().List(ctx)
			return errors.Join(err, want("revoked key", len(ks) == 1 && ks[0].Revoked, ks))
		}},
		{"watchlists read", func(db *DB, s seeded) error {
			ok, err := db.Watch().Has(s.list, keys[0])
			if err != nil {
				return err
			}
			return want("watched address", ok, ok)
		}},
		{"watchlists addresses", func(db *DB, s seeded) error {
			var got []address.Key
			err := db.Watch().Addresses(ctx, s.list, func(k address.Key) error { got = append(got, k); return nil })
			return errors.Join(err, want("addresses", slices.Equal(got, keys[:1]), got))
		}},
		{"watchlists write", func(db *DB, s seeded) error {
			n, err := db.Watch().AddAddresses(ctx, s.list, keys[1:])
			if err != nil {
				return err
			}
			c, err := db.Watch().CountAddresses(ctx, s.list)
			return errors.Join(err, want("added address", n == 1 && c == 2, [2]int{n, c}))
		}},
		{"alerts read", func(db *DB, s seeded) error {
			p, err := db.Alerts().List(ctx, alert.Filter{}, "", 10)
			if err != nil {
				return err
			}
			return want("alerts", len(p.Alerts) == 1 && p.Alerts[0].ID == s.alertID, p)
		}},
		{"alerts write", func(db *DB, s seeded) error {
			a, err := db.Alerts().Review(ctx, s.alertID, alert.Escalated, "seen")
			if err != nil {
				return err
			}
			got, err := db.Alerts().Get(ctx, s.alertID)
			return errors.Join(err, want("reviewed alert", a.Status == alert.Escalated && got.Status == alert.Escalated, got))
		}},
		{"outbox claim", func(db *DB, s seeded) error {
			ds, err := db.Alerts().Due(ctx, time.Now().Add(time.Hour), 10)
			if err != nil {
				return err
			}
			return want("claimed deliveries", len(ds) >= 1, ds)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := freshSchema(t)
			proxy := pgtest.NewProxy(t, d)
			db := open(t, proxy.Via(t, d))
			s := seed(t, db)
			warm(t, db, 4)
			proxy.Cut(true)
			proxy.Cut(false)
			if err := tc.first(db, s); err != nil {
				t.Fatalf("the first statement after the outage: %v", err)
			}
		})
	}
}

// warm leaves n connections idle in db's pool, each just used.
func warm(t *testing.T, db *DB, n int) {
	t.Helper()
	for range 2 { // the second round finds the first round's connections
		var cs []interface{ Release() }
		for range n {
			c, err := db.pool.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		for _, c := range cs {
			c.Release()
		}
	}
}
