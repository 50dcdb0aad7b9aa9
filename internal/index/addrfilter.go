package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/pace"
)

// addrFilter is a Bloom filter over the key of every address in the store,
// so that the writer can give a never-seen address its id without a store
// read: most outputs pay fresh addresses, and a store miss costs a walk of
// every memtable and level. It is blocked (each key sets k bits within one
// 512-bit block, one cache line) and sized at filterBitsPerKey bits per key:
// about 1% false positives, which just cost the store read they would have
// cost anyway.
//
// It must never answer "absent" for a stored key (invariant X7). Keys are
// added before their batch commits; a dropped batch leaves extra keys (false
// positives only). On disk (file ADDRFILTER) it records the address count
// it covers; a reorg deletes the file before it commits, since ids are then
// reused for other keys.
type addrFilter struct {
	words    []uint64
	nblocks  uint64
	count    uint64 // keys added
	capacity uint64 // keys it was sized for
	// shared: parse workers read the words while the writer adds (a
	// short path's storedLookup), so add sets bits atomically; a bulk
	// path's adds, the most, need not pay for it.
	shared bool
}

const (
	filterBitsPerKey = 10
	filterK          = 7
	filterFile       = "ADDRFILTER"
	filterMagic      = "SLEUTHAF"
)

// minFilterKeys is the smallest capacity a filter gets (a var so that a
// test can make a small chain outgrow its filters).
var minFilterKeys uint64 = 1 << 20

func newAddrFilter(capacity uint64) *addrFilter {
	capacity = max(capacity, minFilterKeys)
	nb := (capacity*filterBitsPerKey + 511) / 512
	w := make([]uint64, nb*8)
	adviseHuge(w)
	return &addrFilter{words: w, nblocks: nb, capacity: capacity}
}

// filterHash hashes an address key: FNV-1a then a MurmurHash3 finaliser.
// Stable across processes, so the filter can be saved.
func filterHash(k []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range k {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func (f *addrFilter) block(h uint64) []uint64 {
	b := (uint64(uint32(h>>32)) * f.nblocks) >> 32
	return f.words[b*8 : b*8+8 : b*8+8]
}

func (f *addrFilter) add(h uint64) {
	w := f.block(h)
	h1, h2 := uint32(h), uint32(h>>17)|1
	for i := uint32(0); i < filterK; i++ {
		bit := (h1 + i*h2) & 511
		if f.shared {
			atomic.OrUint64(&w[bit>>6], 1<<(bit&63))
		} else {
			w[bit>>6] |= 1 << (bit & 63)
		}
	}
	f.count++
}

func (f *addrFilter) mayContain(h uint64) bool {
	w := f.block(h)
	h1, h2 := uint32(h), uint32(h>>17)|1
	for i := uint32(0); i < filterK; i++ {
		bit := (h1 + i*h2) & 511
		if atomic.LoadUint64(&w[bit>>6])&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

// addRange adds the keys of address ids [from, to) from the store.
func (f *addrFilter) addRange(db pebble.Reader, from, to btc.AddrID, p *pace.Pacer) error {
	if from >= to {
		return nil
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: keyAddr(nil, from), UpperBound: keyAddr(nil, to)})
	if err != nil {
		return err
	}
	n := uint64(0)
	for ok := it.First(); ok; ok = it.Next() {
		f.add(filterHash(it.Value()))
		if n++; n%64 == 0 {
			p.Yield()
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	if n != uint64(to-from) {
		return corrupt("address ids", fmt.Errorf("%d keys for ids %d..%d", n, from, to))
	}
	return nil
}

// loadFilter returns the filter for the store's committed addresses: the
// saved one caught up with the ids assigned since, or a new one built from
// the address keyspace (sized for growth) when there is none, it is stale or
// the store has outgrown it.
func (db *DB) loadFilter() (*addrFilter, error) {
	next := db.st.NextAddr
	if f, covered, err := db.readFilter(); err == nil && covered <= next && f.capacity >= uint64(next) {
		if err := f.addRange(db.db, covered, next, nil); err != nil {
			return nil, err
		}
		db.savedAddr = btc.AddrID(covered)
		return f, nil
	}
	db.savedAddr = 0
	f := newAddrFilter(filterCapacity(next))
	return f, f.addRange(db.db, 0, next, nil)
}

// filterCapacity sizes a filter for n addresses: room to double while
// small, 25% growth past 64 million addresses, so that on mainnet (1.5
// billion) it takes about 2.3 GB at 10 bits per key. Each regrowth rescans
// the address keyspace; with geometric growth that is O(1) amortised per
// address.
func filterCapacity(n btc.AddrID) uint64 {
	if n < 64<<20 {
		return 2 * uint64(n)
	}
	return uint64(n) + uint64(n)/4
}

// grow rebuilds the filter bigger once it holds more keys than it was sized
// for (call only with no uncommitted batch). Rebuilding rescans every
// address key, too long to do between two blocks at scale, so once the
// filter is three quarters full the next one is built in the background
// from a snapshot of the keys assigned so far; when the filter is full it
// takes that one, adds the keys assigned since (a short scan), and only
// without one rebuilds in place. A reorg (dropFilter) discards a build
// started before it: the ids it covers may have been reassigned (X7).
func (db *DB) growFilter(f *addrFilter, p *pace.Pacer) (*addrFilter, error) {
	next := db.st.NextAddr
	if b := db.filterBuild; b != nil && b.gen != db.filterGen {
		db.filterBuild = nil // started before a reorg; its goroutine ends alone
	}
	// The next filter is built once this one is three quarters full; or,
	// when it was sized for the path's estimate (hintFilter), only once
	// it is 15/16 full, in case the estimate was low: a build is a rescan
	// of every key.
	trigger := f.capacity / 4 * 3
	if db.filterHint > 0 && f.capacity >= db.filterHint {
		trigger = f.capacity - f.capacity/16
	}
	if db.filterBuild == nil && f.count >= trigger && f.count <= f.capacity {
		db.startFilterBuild(max(filterCapacity(btc.AddrID(f.capacity)), db.filterHint), p)
	}
	if f.count <= f.capacity {
		return f, nil
	}
	if b := db.filterBuild; b != nil {
		db.filterBuild = nil
		<-b.done
		if b.err == nil && b.f.capacity >= uint64(next) {
			db.filterSwaps++
			return b.f, b.f.addRange(db.db, b.upTo, next, nil)
		}
	}
	db.filterRebuilds++
	nf := newAddrFilter(max(filterCapacity(next), db.filterHint))
	return nf, nf.addRange(db.db, 0, next, nil)
}

// maxFilterHint caps the capacity a path's estimate may ask for: 1.34 GB
// of filter. Past it the filter grows as before.
const maxFilterHint = 1 << 30

// hintFilter sizes the next address filter for a bulk path's whole
// length. Each growth of the filter rescans every stored address key: on
// the 34.4M chain the background builds for 48M, 60M and 75M keys were a
// seventh of the CPU of its last 10M transactions. Once a path has
// connected a hundredth of its block bytes, the addresses it gave per
// byte so far, times the bytes still to come, is what the filter will
// need (re-estimated at each commit); the next build is made that large
// (with an eighth to spare), so the path's filter grows once or twice
// instead of at every 25%. An estimate too low only leaves the usual
// growth to follow; one too high costs 10 bits per key not needed, and is
// capped (maxFilterHint).
func (db *DB) hintFilter(startAddr btc.AddrID, done, total uint64) {
	if done == 0 || done >= total {
		return
	}
	per := float64(db.st.NextAddr-startAddr) / float64(done)
	est := float64(db.st.NextAddr) + per*float64(total-done)
	db.filterHint = min(uint64(est*1.125), maxFilterHint)
}

// filterBuild is a bigger address filter being built in the background.
type filterBuild struct {
	upTo btc.AddrID // every key with an id below it is in f once done
	gen  uint64     // db.filterGen when it started
	done chan struct{}
	f    *addrFilter
	err  error
}

// startFilterBuild starts building a filter of the given capacity from a
// snapshot of the committed address keys.
func (db *DB) startFilterBuild(capacity uint64, p *pace.Pacer) {
	snap := db.db.NewSnapshot()
	b := &filterBuild{upTo: db.st.NextAddr, gen: db.filterGen, done: make(chan struct{})}
	db.filterBuild = b
	db.filterWG.Add(1)
	go func() {
		defer db.filterWG.Done()
		defer close(b.done)
		defer snap.Close()
		nf := newAddrFilter(capacity)
		b.f, b.err = nf, nf.addRange(snap, 0, b.upTo, p)
	}()
}

// File layout: <8B magic><8B covered><8B nblocks><8B count><8B capacity>
// <nblocks*64B words, little-endian><4B CRC-32C of everything before>.
func (db *DB) filterPath() string { return db.opts.FS.PathJoin(db.dir, filterFile) }

func (db *DB) readFilter() (*addrFilter, btc.AddrID, error) {
	file, err := db.opts.FS.Open(db.filterPath())
	if err != nil {
		return nil, 0, err
	}
	defer file.Close()
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	r := io.TeeReader(file, crc)
	var head [40]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, 0, err
	}
	if string(head[:8]) != filterMagic {
		return nil, 0, errors.New("not an address filter")
	}
	covered := btc.AddrID(binary.LittleEndian.Uint64(head[8:]))
	nb := binary.LittleEndian.Uint64(head[16:])
	f := &addrFilter{nblocks: nb, count: binary.LittleEndian.Uint64(head[24:]), capacity: binary.LittleEndian.Uint64(head[32:])}
	if nb == 0 || nb > 1<<32 || f.capacity*filterBitsPerKey > nb*512+511 {
		return nil, 0, errors.New("address filter: bad size")
	}
	f.words = make([]uint64, nb*8)
	if err := binary.Read(r, binary.LittleEndian, f.words); err != nil {
		return nil, 0, err
	}
	sum := crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(file, tail[:]); err != nil || binary.LittleEndian.Uint32(tail[:]) != sum {
		return nil, 0, errors.New("address filter: checksum mismatch")
	}
	return f, covered, nil
}

// saveFilter writes the filter atomically (temporary file, sync, rename).
func (db *DB) saveFilter(f *addrFilter) error {
	fs := db.opts.FS
	tmp := db.filterPath() + ".tmp"
	file, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	// The checksum sees each buffer before the file does: a vfs.File may
	// reuse or (Pebble's in-memory FS under the invariants tag) scribble on
	// a buffer once Write returns.
	w := io.MultiWriter(crc, file)
	var head [40]byte
	copy(head[:], filterMagic)
	binary.LittleEndian.PutUint64(head[8:], uint64(db.st.NextAddr))
	binary.LittleEndian.PutUint64(head[16:], f.nblocks)
	binary.LittleEndian.PutUint64(head[24:], f.count)
	binary.LittleEndian.PutUint64(head[32:], f.capacity)
	if _, err := w.Write(head[:]); err == nil {
		err = binary.Write(w, binary.LittleEndian, f.words)
	}
	if err == nil {
		var tail [4]byte
		binary.LittleEndian.PutUint32(tail[:], crc.Sum32())
		_, err = file.Write(tail[:])
	}
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fs.Remove(tmp)
		return fmt.Errorf("index: save address filter: %w", err)
	}
	if err := fs.Rename(tmp, db.filterPath()); err != nil {
		return err
	}
	db.savedAddr = db.st.NextAddr
	return nil
}

// dropFilter deletes the saved filter (before a reorg reuses address ids).
func (db *DB) dropFilter() error {
	db.savedAddr = 0
	db.filterGen++ // a background build covers ids a reorg reassigns
	if _, err := db.opts.FS.Stat(db.filterPath()); err != nil {
		return nil // none saved
	}
	if err := db.opts.FS.Remove(db.filterPath()); err != nil {
		return fmt.Errorf("index: drop address filter: %w", err)
	}
	return nil
}
