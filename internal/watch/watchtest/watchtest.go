// Package watchtest is the conformance suite every watch.Store passes:
// the embedded one (watch.DB), PostgreSQL's (pgstore.Watch) and the
// in-memory copy of either (watch.Snapshot).
package watchtest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// Keys decodes mainnet addresses for a test.
func Keys(t testing.TB, addrs ...string) []address.Key {
	t.Helper()
	keys := make([]address.Key, len(addrs))
	for i, s := range addrs {
		var err error
		if keys[i], err = address.Decode(s, btc.Mainnet); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// Run checks the Store that open returns (a new, empty one per call).
func Run(t *testing.T, open func(t *testing.T) watch.Store) {
	ctx := context.Background()
	keys := Keys(t, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")
	t.Run("lists and addresses", func(t *testing.T) {
		st := open(t)
		version := func() uint64 {
			t.Helper()
			v, err := st.Version()
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		changed := func(before uint64, what string) uint64 {
			t.Helper()
			v := version()
			if v == before {
				t.Errorf("version %d unchanged after %s", v, what)
			}
			return v
		}
		v := version()
		r, _ := watch.ParseRule("value>=1000", watch.Both, alert.Low)
		id, err := st.Create(ctx, &watch.List{Name: "deposits", Rules: []watch.Rule{r}, Entities: []uint64{7}})
		if err != nil {
			t.Fatal(err)
		}
		v = changed(v, "create")
		if _, err := st.Create(ctx, &watch.List{Name: "deposits"}); !errors.Is(err, watch.ErrExists) {
			t.Fatalf("a second list of the same name: %v, want ErrExists", err)
		}
		if _, err := st.Create(ctx, &watch.List{}); err == nil {
			t.Fatal("a list without a name was created")
		}
		id2, err := st.Create(ctx, &watch.List{Name: "victims"})
		if err != nil || id2 <= id {
			t.Fatalf("second list id %d after %d: %v", id2, id, err)
		}
		v = changed(v, "a second create")
		if n, err := st.AddAddresses(ctx, id, keys); err != nil || n != 3 {
			t.Fatalf("AddAddresses = %d, %v", n, err)
		}
		v = changed(v, "add addresses")
		if n, err := st.AddAddresses(ctx, id, keys[:2]); err != nil || n != 0 {
			t.Fatalf("re-adding counted %d new, %v", n, err)
		}
		if n, err := st.AddAddresses(ctx, id, []address.Key{keys[0], {}}); err == nil {
			t.Errorf("an empty address key was added (%d)", n)
		}
		if n, err := st.RemoveAddresses(ctx, id, keys[1:2]); err != nil || n != 1 {
			t.Fatalf("RemoveAddresses = %d, %v", n, err)
		}
		v = changed(v, "remove addresses")
		if n, _ := st.RemoveAddresses(ctx, id, keys[1:2]); n != 0 {
			t.Fatalf("removing an unwatched address counted %d", n)
		}
		for i, want := range []bool{true, false, true} {
			if ok, err := st.Has(id, keys[i]); err != nil || ok != want {
				t.Errorf("Has(%s) = %v, %v; want %v", keys[i], ok, err, want)
			}
			if ok, _ := st.Has(id2, keys[i]); ok {
				t.Errorf("list %d has %s, added to list %d", id2, keys[i], id)
			}
		}
		var got []string
		if err := st.Addresses(ctx, id, func(k address.Key) error { got = append(got, k.String()); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("addresses %v", got)
		}
		// Pages of one walk the same addresses in the same order.
		var paged []string
		var after []byte
		for pages := 0; ; pages++ {
			ks, more, err := st.AddressPage(ctx, id, after, 1)
			if err != nil || len(ks) != 1 || pages > 2 {
				t.Fatalf("page %d: %v, %v", pages, ks, err)
			}
			paged, after = append(paged, ks[0].String()), slices.Clone(ks[0].Bytes())
			if !more {
				break
			}
		}
		if n, err := st.CountAddresses(ctx, id); err != nil || n != 2 || !slices.Equal(paged, got) {
			t.Fatalf("paged %v, count %d (%v), want %v", paged, n, err, got)
		}
		if _, _, err := st.AddressPage(ctx, id, nil, 0); err == nil {
			t.Error("a page of 0 addresses was served")
		}
		l, err := st.ByName(ctx, "deposits")
		if err != nil || l.ID != id || len(l.Rules) != 1 || l.Rules[0] != r || len(l.Entities) != 1 || l.Entities[0] != 7 {
			t.Fatalf("ByName = %+v, %v", l, err)
		}
		if _, err := st.ByName(ctx, "nobody"); !errors.Is(err, watch.ErrNotFound) {
			t.Errorf("ByName of an unknown list: %v", err)
		}
		l.Name, l.Entities = "exchange deposits", []uint64{7, 9}
		if err := st.Update(ctx, &l); err != nil {
			t.Fatal(err)
		}
		v = changed(v, "update")
		ls, err := st.Lists(ctx)
		if err != nil || len(ls) != 2 || ls[0].ID != id || ls[0].Name != "exchange deposits" || len(ls[0].Entities) != 2 || ls[1].ID != id2 {
			t.Fatalf("lists after update: %+v, %v", ls, err)
		}
		if err := st.Update(ctx, &watch.List{ID: 99, Name: "x"}); !errors.Is(err, watch.ErrNotFound) {
			t.Errorf("update of an unknown list: %v", err)
		}
		if _, err := st.AddAddresses(ctx, 99, keys); !errors.Is(err, watch.ErrNotFound) {
			t.Fatalf("add to unknown list: %v", err)
		}
		if err := st.Remove(ctx, 99); !errors.Is(err, watch.ErrNotFound) {
			t.Errorf("remove of an unknown list: %v", err)
		}
		if err := st.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
		changed(v, "remove")
		if ok, _ := st.Has(id, keys[0]); ok {
			t.Fatal("a removed list's address is still watched")
		}
		if n, _ := st.CountAddresses(ctx, id); n != 0 {
			t.Errorf("a removed list counts %d addresses", n)
		}
		if ls, _ := st.Lists(ctx); len(ls) != 1 || ls[0].ID != id2 {
			t.Fatalf("lists after remove: %+v", ls)
		}
		// Ids are not reused.
		if id3, err := st.Create(ctx, &watch.List{Name: "deposits"}); err != nil || id3 <= id2 {
			t.Errorf("a list created after a removal got id %d (ids so far %d, %d): %v", id3, id, id2, err)
		}
	})
	t.Run("edit", func(t *testing.T) {
		st := open(t)
		id, err := st.Create(ctx, &watch.List{Name: "deposits", Entities: []uint64{1}})
		if err != nil {
			t.Fatal(err)
		}
		v0, _ := st.Version()
		if _, err := watch.Edit(ctx, st, id, func(*watch.List) (bool, error) { return false, nil }); err != nil {
			t.Fatal(err)
		}
		if v, _ := st.Version(); v != v0 {
			t.Errorf("an edit that changed nothing moved the version %d → %d", v0, v)
		}
		l, err := watch.Edit(ctx, st, id, func(l *watch.List) (bool, error) {
			l.Entities = append(l.Entities, 2)
			return true, nil
		})
		if err != nil || len(l.Entities) != 2 {
			t.Fatalf("edit: %+v, %v", l, err)
		}
		if got, err := st.ByName(ctx, "deposits"); err != nil || !slices.Equal(got.Entities, []uint64{1, 2}) {
			t.Errorf("stored after the edit: %+v, %v", got, err)
		}
		if _, err := watch.Edit(ctx, st, id+100, func(*watch.List) (bool, error) { return true, nil }); !errors.Is(err, watch.ErrNotFound) {
			t.Errorf("edit of an unknown list: %v", err)
		}
	})
	t.Run("many addresses", func(t *testing.T) {
		st := open(t)
		id, err := st.Create(ctx, &watch.List{Name: "bulk"})
		if err != nil {
			t.Fatal(err)
		}
		many := Synthetic(0, 5000)
		if n, err := st.AddAddresses(ctx, id, many); err != nil || n != len(many) {
			t.Fatalf("bulk add: %d of %d, %v", n, len(many), err)
		}
		if n, err := st.CountAddresses(ctx, id); err != nil || n != len(many) {
			t.Fatalf("count %d, %v", n, err)
		}
		for _, i := range []int{0, 1, 2500, 4999} {
			if ok, err := st.Has(id, many[i]); !ok || err != nil {
				t.Errorf("address %d of the bulk add is not watched: %v", i, err)
			}
		}
	})
}

// Synthetic returns the n distinct P2WPKH address keys numbered from
// from on (the kind an exchange watches by the million); different
// numbers give different keys.
func Synthetic(from, n int) []address.Key {
	out := make([]address.Key, n)
	var b [21]byte
	b[0] = byte(address.P2WPKH)
	for i := range out {
		x := uint64(from+i)*0x9e3779b97f4a7c15 + 1
		for j := 0; j < 8; j++ {
			b[1+j] = byte(x >> (8 * j))
		}
		k, err := address.KeyFromBytes(b[:])
		if err != nil {
			panic(err) // a P2WPKH key is 21 bytes
		}
		out[i] = k
	}
	return out
}
