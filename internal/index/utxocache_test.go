package index

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestUTXOCacheModel drives the cache as the writer does, with random
// batches, against a model of the store and of the unspent set: an output
// of the open batch is always found pending with its record, a store
// output the open batch spent is always found spent (so a second spend
// fails before the delete is committed), whatever is found agrees with
// the model, and a commit hands over exactly the batch's unspent outputs.
// Small limits force grows mid-batch, rotations, and both ways of
// committing (a list of keys, a scan). Holding (a bulk path's commits),
// a committed output stays in the cache, unwritten, until its generation
// is evicted: it is never lost, a put writes only held outputs, and the
// last commit (holdRelease) writes every one still held.
func TestUTXOCacheModel(t *testing.T) {
	type tcase struct {
		name               string
		limit, batch       int
		batches, keys      int
		wantScan, wantList bool // how commits find the batch's entries
		hold               bool
	}
	var cases []tcase
	for _, tc := range []tcase{
		{"rotations", 600, 300, 60, 5000, true, false, false},
		{"grow mid-batch", 512, 4000, 8, 20000, true, false, false},
		{"large", 1 << 14, 5000, 20, 200000, true, false, false},
		{"small batches", 1 << 15, 40, 600, 100000, false, true, false},
	} {
		cases = append(cases, tc)
		tc.name, tc.hold = tc.name+", held", true
		cases = append(cases, tc)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.limit)))
			c := newUTXOCache(testGen(tc.limit))
			store := map[outpoint]utxoRecord{}   // committed unspent outputs written to the store
			held := map[outpoint]utxoRecord{}    // committed unspent outputs held in the cache only
			created := map[outpoint]utxoRecord{} // the open batch's unspent outputs
			deleted := map[outpoint]bool{}       // store outputs the open batch spent
			evictions := 0
			key := func(i int) outpoint {
				var op outpoint
				binary.LittleEndian.PutUint64(op.ID[:], uint64(i)*0x9e3779b97f4a7c15)
				op.ID[31] = byte(i)
				op.Vout = uint32(i % 3)
				return op
			}
			unspent := func(op outpoint) (utxoRecord, bool) {
				if u, ok := created[op]; ok {
					return u, true
				}
				if u, ok := held[op]; ok {
					return u, true
				}
				u, ok := store[op]
				return u, ok && !deleted[op]
			}
			check := func(where string) {
				for op, u := range created {
					if tab, i := c.lookup(&op); tab == nil || tab.slots[i].state != slotPending || tab.slots[i].record() != u {
						t.Fatalf("%s: output %x:%d of the open batch not found pending", where, op.ID[:4], op.Vout)
					}
				}
				for op := range deleted {
					if tab, i := c.lookup(&op); tab == nil || tab.slots[i].state != slotSpent {
						t.Fatalf("%s: store output %x:%d spent by the open batch not found spent", where, op.ID[:4], op.Vout)
					}
				}
				for op, u := range held {
					if len(held) > 4096 && rng.IntN(8) > 0 {
						break // a sample (map order is random) keeps long runs fast
					}
					if tab, i := c.lookup(&op); tab == nil || tab.slots[i].state != slotHeld || tab.slots[i].record() != u {
						t.Fatalf("%s: held output %x:%d lost from the cache", where, op.ID[:4], op.Vout)
					}
				}
			}
			scanned, listed := 0, 0
			for b := 0; b < tc.batches; b++ {
				for n := 0; n < tc.batch; n++ {
					i := rng.IntN(tc.keys)
					op := key(i)
					want, isUnspent := unspent(op)
					tab, si := c.lookup(&op)
					switch {
					case tab != nil:
						got, inStore, err := c.spend(tab, si)
						if inStore {
							if _, ok := created[op]; ok {
								t.Fatal("delete of an output the store never had")
							}
							if _, ok := held[op]; ok {
								t.Fatal("delete of a held output, which the store never had")
							}
							deleted[op] = true
						}
						if !isUnspent {
							if err == nil {
								t.Fatalf("%x:%d spent twice", op.ID[:4], op.Vout)
							}
							continue
						}
						if err != nil || got != want {
							t.Fatalf("spend %x:%d: %+v %v, want %+v", op.ID[:4], op.Vout, got, err, want)
						}
						delete(created, op)
						delete(held, op)
					case isUnspent: // from the store
						if _, ok := created[op]; ok {
							t.Fatalf("output %x:%d of the open batch not in the cache", op.ID[:4], op.Vout)
						}
						if _, ok := held[op]; ok {
							t.Fatalf("held output %x:%d not in the cache", op.ID[:4], op.Vout)
						}
						c.set(&op, slotSpent, nil)
						deleted[op] = true
					default:
						u := utxoRecord{Ref: btc.OutRef(i), Value: btc.Amount(rng.Int64N(1e9)), Addr: btc.AddrID(b), Type: 3}
						c.set(&op, slotPending, &u)
						created[op] = u
					}
				}
				check("before commit")
				if c.scan {
					scanned++
				} else {
					listed++
				}
				mode := holdNone
				if tc.hold {
					mode = holdUntilEvicted
					for op, u := range created {
						held[op] = u
					}
					clear(created)
					if b == tc.batches-1 {
						mode = holdRelease
					}
				}
				wrote := 0
				put := func(op *outpoint, u *utxoRecord) {
					want, ok := created[*op]
					if tc.hold {
						want, ok = held[*op]
					}
					if !ok || want != *u {
						t.Fatalf("commit wrote %x:%d %+v, want %+v", op.ID[:4], op.Vout, *u, want)
					}
					store[*op] = *u
					delete(created, *op)
					delete(held, *op)
					wrote++
				}
				evicting := c.commit(mode, put)
				if tc.hold && wrote > 0 {
					t.Fatalf("batch %d: a held batch wrote %d outputs", b, wrote)
				}
				c.evict(mode == holdRelease, put)
				if evicting {
					evictions++
				} else if tc.hold && mode == holdUntilEvicted && wrote > 0 {
					t.Fatalf("batch %d: %d held outputs written without an eviction", b, wrote)
				}
				if len(created) != 0 {
					t.Fatalf("batch %d: %d outputs not committed", b, len(created))
				}
				if mode == holdRelease && len(held) != 0 {
					t.Fatalf("batch %d: %d outputs still held after a release", b, len(held))
				}
				for op := range deleted {
					delete(store, op)
					if tab, _ := c.lookup(&op); tab == &c.cur {
						t.Fatalf("batch %d: spent %x:%d still in the current generation", b, op.ID[:4], op.Vout)
					}
				}
				clear(deleted)
				check("after commit")
				if c.pending() {
					t.Fatal("pending after commit")
				}
				if c.cur.used >= tc.limit || 4*c.cur.used > 3*len(c.cur.slots) {
					t.Fatalf("batch %d: a full generation (%d entries) was not rotated", b, c.cur.used)
				}
				live := 0
				for _, s := range c.cur.slots {
					if s.state != slotEmpty {
						live++
						want := store[outpoint{s.id, s.vout}]
						switch s.state {
						case slotCached:
						case slotHeld:
							want = held[outpoint{s.id, s.vout}]
						default:
							t.Fatalf("batch %d: state %d after commit", b, s.state)
						}
						if want != s.record() {
							t.Fatalf("batch %d: cached %x:%d disagrees with the store", b, s.id[:4], s.vout)
						}
					}
				}
				if live != c.cur.used {
					t.Fatalf("batch %d: %d entries, counted %d", b, live, c.cur.used)
				}
			}
			if tc.hold && tc.limit < 1<<14 && evictions < 2 {
				t.Fatalf("%d evictions: the held outputs were never written on eviction", evictions)
			}
			if tc.wantScan && scanned == 0 || tc.wantList && listed == 0 {
				t.Fatalf("%d commits scanned the table, %d visited a list of keys", scanned, listed)
			}
			c.clear()
			for op := range store {
				if tab, _ := c.lookup(&op); tab != nil {
					t.Fatal("entry after clear")
				}
			}
		})
	}
}

// testGen sizes a cache whose generations are full at limit entries.
func testGen(limit int) genSize {
	n := 1
	for n*11/16 < limit {
		n *= 2
	}
	return genSize{maxSlots: n, limit: limit}
}

// TestSlotSizes holds both caches' slots to one cache line each.
func TestSlotSizes(t *testing.T) {
	if n := unsafe.Sizeof(utxoSlot{}); n != utxoSlotBytes {
		t.Errorf("utxoSlot is %d bytes, want %d", n, utxoSlotBytes)
	}
	if n := unsafe.Sizeof(addrSlot{}); n != addrSlotBytes {
		t.Errorf("addrSlot is %d bytes, want %d", n, addrSlotBytes)
	}
}

// TestAddrCache: every id put since the last commit is found; one put
// before may be found with its id or evicted with its generation, never
// answered wrongly; grows and rotations included.
func TestAddrCache(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		limit, batch, batches int
	}{
		{"rotations", 600, 200, 50},
		{"grow mid-batch", 512, 5000, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, uint64(tc.limit)))
			c := newAddrCache(testGen(tc.limit))
			ids := map[address.Key]btc.AddrID{}
			var open []address.Key
			mk := func(i int) address.Key {
				var b [21]byte
				b[0] = byte(address.P2PKH)
				binary.BigEndian.PutUint64(b[1:], uint64(i)*0x9e3779b97f4a7c15)
				k, err := address.KeyFromBytes(b[:])
				if err != nil {
					t.Fatal(err)
				}
				return k
			}
			next := btc.AddrID(0)
			for b := 0; b < tc.batches; b++ {
				open = open[:0]
				for n := 0; n < tc.batch; n++ {
					k := mk(rng.IntN(tc.batch * tc.batches))
					if id, ok := c.get(&k); ok {
						if id != ids[k] {
							t.Fatalf("id %d, want %d", id, ids[k])
						}
						continue
					}
					if _, ok := ids[k]; !ok {
						ids[k] = next
						next++
					}
					c.put(&k, ids[k])
					open = append(open, k)
				}
				for _, k := range open {
					if id, ok := c.get(&k); !ok || id != ids[k] {
						t.Fatalf("batch %d: key put in the open batch: %d %v, want %d", b, id, ok, ids[k])
					}
				}
				c.rotate()
				if c.cur.used >= tc.limit {
					t.Fatalf("batch %d: full generation not rotated", b)
				}
			}
		})
	}
}
