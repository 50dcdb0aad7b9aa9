package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// FormatVersion is the on-disk format this build writes. A store with a
// newer version is refused; an older one must be migrated explicitly.
const FormatVersion = 2

// ErrNotFound is returned by lookups of a block, transaction or address that
// is not in the index.
var ErrNotFound = errors.New("not found")

// Options configure a DB. The zero value is usable: EnsureDefaults fills it.
type Options struct {
	// Network the store holds. Required when creating a store; checked
	// against the stored network on open. Default: mainnet.
	Network *btc.Network
	// CacheSize is Pebble's block cache in bytes. Default 256 MiB.
	CacheSize int64
	// MemTableSize is Pebble's memtable size in bytes. Default 64 MiB.
	MemTableSize uint64
	// UTXOCacheBytes bounds the writer's in-memory cache of recently
	// created unspent outputs: two generations, each a table of 64-byte
	// slots (genSize). When the current one is full the writer commits its
	// batch early and the generations rotate, so the cache stays within
	// this whatever a batch holds. Default 1 GiB (two tables of 8M slots,
	// 5.8M outputs each).
	UTXOCacheBytes int64
	// AddrCacheBytes bounds the writer's address-key to id cache, which
	// serves reused addresses (fresh ones are answered by the address
	// filter), in the same way. Default 256 MiB.
	AddrCacheBytes int64
	// FS lets tests run on an in-memory or fault-injecting file system.
	// Default: the OS file system.
	FS vfs.FS
	// ReadOnly opens the store without write access.
	ReadOnly bool
	// MustExist refuses to create a store: Open fails with ErrNoIndex,
	// writing nothing, unless dir already holds a sleuth index (so a
	// mistyped directory does not become an empty store).
	MustExist bool
	// Logger receives the store's log lines. Default: discard.
	Logger *slog.Logger
	// L0CompactionFiles is how many overlapping tables level 0 gathers
	// before Pebble compacts them into the level below (Pebble's
	// L0CompactionThreshold). The address keys a bulk path ingests are
	// random, so each level-0 table overlaps the whole of that keyspace in
	// the level below, and each compaction into it rewrites all of it:
	// gathering more tables first rewrites it less often. Default 4.
	L0CompactionFiles int
	// StageTableBytes is the smallest StageBatch committed as sstables
	// ingested at once rather than through the WAL and the memtable.
	// Default 8 MiB; negative: never (tests send every batch one way).
	StageTableBytes int64
}

// EnsureDefaults fills zero fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.Network == nil {
		o.Network = btc.Mainnet
	}
	if o.CacheSize == 0 {
		o.CacheSize = 256 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 64 << 20
	}
	if o.UTXOCacheBytes == 0 {
		o.UTXOCacheBytes = 1 << 30
	}
	if o.AddrCacheBytes == 0 {
		o.AddrCacheBytes = 256 << 20
	}
	if o.L0CompactionFiles == 0 {
		o.L0CompactionFiles = 4
	}
	if o.StageTableBytes == 0 {
		o.StageTableBytes = 8 << 20
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// DB is the chain index. Lookups are safe for concurrent use; Ingest must not
// run concurrently with another Ingest, nor with lookups on the same DB
// (they read the ingest state it updates): readers that run beside a
// writer read a View.
type DB struct {
	dir  string
	opts Options
	// db is the writable store; nil on a view.
	db *pebble.DB
	// r is what every lookup reads: db, or a view's snapshot.
	r         pebble.Reader
	st        state
	lock      *pebble.Lock
	ownerFile string // OwnerFile, when this open wrote it
	// filter is the address filter the last Ingest left, every key with
	// an id below filterAddr in it (so the next Ingest need not read
	// ADDRFILTER); savedAddr is the count the file on disk covers (0:
	// none). Both belong to the writer.
	filter     *addrFilter
	filterAddr btc.AddrID
	savedAddr  btc.AddrID
	// filterBuild is the next, bigger filter being built in the
	// background (growFilter); filterGen counts reorgs, which discard it;
	// filterWG lets Close wait for the goroutine.
	filterBuild *filterBuild
	filterGen   uint64
	filterWG    sync.WaitGroup
	// filterSwaps counts the filters built in the background and swapped
	// in, filterRebuilds those rebuilt in place (tests).
	filterSwaps, filterRebuilds int
	// filterHint is the capacity a bulk path expects its filter to need
	// (hintFilter); 0 outside one.
	filterHint uint64
	// views are the open views of a store (nil on a view); a view's
	// parent is the store it was taken of.
	views  *viewSet
	parent *DB
	// derivePending: a bulk ingest deferred the derived keyspaces of the
	// transactions from deriveFrom on (derive.go); tableOpts writes their
	// sstables. Both belong to the writer.
	derivePending bool
	deriveFrom    btc.TxNum
	bulkOpen      bool // keyspace 0F holds a bulk path's commits (closeBulk)
	// heldFrom: the unspent outputs of the transactions from heldFrom
	// to NextTx may be held in the writer's cache and not in the store
	// (held.go); NextTx when none are.
	heldFrom  btc.TxNum
	tableOpts sstable.WriterOptions
	derived   DeriveStats // summed over the current Ingest
	// compactions schedules Pebble's compactions, resting them for a
	// server's requests (PaceCompactions); nil on a view.
	compactions *pacedScheduler
}

// Open opens (creating if needed, unless read-only or MustExist) the
// index in dir. When another process holds it, the error (ErrLocked)
// names that process from its OwnerFile.
func Open(dir string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.EnsureDefaults()
	po := &pebble.Options{
		FS:           o.FS,
		Cache:        pebble.NewCache(o.CacheSize),
		MemTableSize: o.MemTableSize,
		Merger:       addrStatsMerger,
		ReadOnly:     o.ReadOnly,
		// A store that must exist is not created, not even empty.
		ErrorIfNotExists: o.MustExist,
		Logger:           quietLogger{o.Logger},
		MaxOpenFiles:     1000,
		// Compactions may use both cores while ingest parses on them too.
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 },
		L0CompactionThreshold:      o.L0CompactionFiles,
		L0StopWritesThreshold:      max(24, 4*o.L0CompactionFiles),
		LBaseMaxBytes:              256 << 20,
	}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	sched := newPacedScheduler()
	po.Experimental.CompactionScheduler = sched
	po.TargetFileSizes[0] = 8 << 20
	defer po.Cache.Unref()
	if !o.ReadOnly && !o.MustExist {
		if err := o.FS.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("index: create %s: %w", dir, err)
		}
	} else if _, err := o.FS.Stat(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("index: %w at %s: no such directory", ErrNoIndex, dir)
		}
		return nil, fmt.Errorf("index: %w", err)
	} else if !hasManifest(o.FS, dir) {
		// Pebble would write its lock file before finding no store.
		return nil, fmt.Errorf("index: %w at %s: the directory holds no store", ErrNoIndex, dir)
	}
	// Lock first, then say who holds it (OwnerFile), then open.
	lock, err := pebble.LockDirectory(dir, o.FS)
	if err != nil {
		if isLockError(err) {
			return nil, lockError(dir, err)
		}
		return nil, fmt.Errorf("index: lock %s: %w", dir, err)
	}
	po.Lock = lock
	db := &DB{dir: dir, opts: o, lock: lock, compactions: sched}
	if o.FS == vfs.Default {
		db.writeOwner()
	}
	fail := func(err error) (*DB, error) {
		db.removeOwner()
		lock.Close()
		return nil, err
	}
	pdb, err := pebble.Open(dir, po)
	switch {
	case errors.Is(err, pebble.ErrDBDoesNotExist):
		return fail(fmt.Errorf("index: %w at %s: the directory holds no store", ErrNoIndex, dir))
	case err != nil:
		return fail(fmt.Errorf("index: open %s: %w", dir, err))
	}
	db.db, db.r, db.views = pdb, pdb, &viewSet{open: map[*DB]struct{}{}}
	wo := po.Clone()
	wo.EnsureDefaults()
	db.tableOpts = wo.MakeWriterOptions(6, pdb.TableFormat())
	if err := db.init(); err != nil {
		pdb.Close()
		return fail(err)
	}
	if !o.ReadOnly {
		o.FS.RemoveAll(o.FS.PathJoin(dir, commitTmp)) // a crashed bulk commit's tables
	}
	if db.derivePending {
		// The last ingest stopped before it wrote the derived keyspaces:
		// finish it now, or refuse to answer from a store without them.
		var err error
		if o.ReadOnly {
			err = fmt.Errorf("%w (%s)", ErrIncomplete, dir)
		} else {
			err = db.derive(context.Background(), nil, time.Now())
		}
		if err != nil {
			pdb.Close()
			return fail(err)
		}
	}
	return db, nil
}

// hasManifest reports whether dir holds a Pebble store's manifest (or the
// marker or CURRENT file naming it).
func hasManifest(fs vfs.FS, dir string) bool {
	ls, err := fs.List(dir)
	if err != nil {
		return true // let Pebble report it
	}
	for _, n := range ls {
		if n == "CURRENT" || strings.HasPrefix(n, "MANIFEST-") || strings.HasPrefix(n, "marker.manifest.") {
			return true
		}
	}
	return false
}

// init checks the stored format and network, writing them to a new store,
// and loads the ingest state.
func (db *DB) init() error {
	ver, err := db.getMeta("format")
	if err != nil {
		return err
	}
	if ver == nil {
		if db.opts.ReadOnly || db.opts.MustExist {
			return fmt.Errorf("index: %w at %s: a Pebble store without sleuth's metadata", ErrNoIndex, db.dir)
		}
		b := db.db.NewBatch()
		var e encoding.Encbuf
		e.PutUvarint(FormatVersion)
		b.Set(keyMeta("format"), e.Get(), nil)
		b.Set(keyMeta("network"), []byte(db.opts.Network.Name), nil)
		db.st = state{Height: -1}
		e = encoding.Encbuf{}
		db.st.encode(&e)
		b.Set(keyMeta("state"), e.Get(), nil)
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("index: initialise: %w", err)
		}
		return nil
	}
	d := encoding.Decbuf{B: ver}
	v := d.Uvarint()
	if d.Err() != nil {
		return corrupt("format", d.Err())
	}
	if v > FormatVersion {
		return fmt.Errorf("index: %s has format %d, newer than this sleuth (%d): upgrade sleuth", db.dir, v, FormatVersion)
	}
	if v < FormatVersion {
		return fmt.Errorf("index: %s has old format %d (this sleuth writes %d): re-ingest into a new directory", db.dir, v, FormatVersion)
	}
	netName, err := db.getMeta("network")
	if err != nil {
		return err
	}
	if string(netName) != db.opts.Network.Name {
		return fmt.Errorf("index: %s holds %s, not %s (use --network %s or another --db)", db.dir, netName, db.opts.Network.Name, netName)
	}
	return db.loadState()
}

// loadState reads the committed ingest state and the pending-derive
// marker.
func (db *DB) loadState() error {
	b, err := db.getMeta("state")
	if err != nil {
		return err
	}
	if b == nil {
		return corrupt("state", errors.New("missing"))
	}
	if err := db.st.decode(b); err != nil {
		return err
	}
	return db.loadDerive()
}

// getMeta returns a copy of a meta value, or nil when absent.
func (db *DB) getMeta(name string) ([]byte, error) {
	return db.get(keyMeta(name))
}

// get returns a copy of the value at k, or nil (and no error) when absent.
func (db *DB) get(k []byte) ([]byte, error) {
	v, closer, err := db.r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("index: get %x: %w", k, err)
	}
	out := append([]byte{}, v...)
	closer.Close()
	return out, nil
}

// Network returns the network the store holds.
func (db *DB) Network() *btc.Network { return db.opts.Network }

// Close flushes and closes the store, after closing the views still open
// (no reader may be using one then). On a view it closes the view.
func (db *DB) Close() error {
	if db.parent != nil {
		db.parent.views.close(db)
		return nil
	}
	if db.db == nil {
		return nil
	}
	db.views.closeAll()
	db.filterWG.Wait()
	var ferr error
	if db.filter != nil && db.filterAddr == db.st.NextAddr && db.savedAddr != db.st.NextAddr {
		ferr = db.saveFilter(db.filter) // what the last ingests kept in memory
	}
	// While the lock is still held, so no new holder's file is removed.
	db.removeOwner()
	err := db.db.Close()
	db.db = nil
	if lerr := db.lock.Close(); err == nil && lerr != nil {
		err = lerr
	}
	if err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("index: close: %w", err)
	}
	return nil
}

// StoredNetwork reads the network name of the store in dir without opening
// it for writing, so the CLI can default --network to it.
func StoredNetwork(dir string) (string, error) {
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	if !hasManifest(vfs.Default, dir) {
		// Pebble would leave a lock file in a directory without a store.
		return "", fmt.Errorf("index: %w at %s", ErrNoIndex, dir)
	}
	pdb, err := pebble.Open(dir, &pebble.Options{ReadOnly: true, Merger: addrStatsMerger, Logger: quietLogger{slog.New(slog.NewTextHandler(io.Discard, nil))}})
	if err != nil {
		return "", err
	}
	defer pdb.Close()
	v, c, err := pdb.Get(keyMeta("network"))
	if err != nil {
		return "", err
	}
	defer c.Close()
	return string(v), nil
}

// quietLogger sends Pebble's log lines to slog at debug level; Fatalf
// panics as Pebble expects.
type quietLogger struct{ l *slog.Logger }

func (q quietLogger) Infof(format string, args ...any) { q.l.Debug(fmt.Sprintf(format, args...)) }
func (q quietLogger) Errorf(format string, args ...any) {
	q.l.Error(fmt.Sprintf(format, args...))
}
func (q quietLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// addrStatsMerger merges addrStats operands (see addrStats). The name is
// stored in the Pebble OPTIONS file: never change it.
var addrStatsMerger = &pebble.Merger{
	Name: "sleuth.addrstats.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		m := &statsMerger{}
		if err := m.acc.decode(value); err != nil {
			return nil, err
		}
		return m, nil
	},
}

type statsMerger struct{ acc addrStats }

func (m *statsMerger) MergeNewer(value []byte) error { return m.merge(value) }
func (m *statsMerger) MergeOlder(value []byte) error { return m.merge(value) }

func (m *statsMerger) merge(value []byte) error {
	var o addrStats
	if err := o.decode(value); err != nil {
		return err
	}
	m.acc.add(&o)
	return nil
}

func (m *statsMerger) Finish(includesBase bool) ([]byte, io.Closer, error) {
	var e encoding.Encbuf
	m.acc.encode(&e)
	return e.Get(), nil, nil
}

// StoreMetrics describes Pebble's LSM (levels, compactions, write
// amplification) for benchmark reports; empty on a view.
func (db *DB) StoreMetrics() string {
	if db.db == nil {
		return ""
	}
	return db.db.Metrics().String()
}
