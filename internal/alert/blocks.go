package alert

import (
	"context"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// The alert stage's own record of the chain it has matched: pProgress
// holds the last block whose alerts are stored, pChain the hash of each of
// the last KeepBlocks matched best-chain blocks, so that a restart after a
// reorg knows which of them to invalidate.
const (
	pProgress = pByBlock + 1 // → <height uvarint+1><hash 32B>
	pChain    = pByBlock + 2 // <height BE64> → hash 32B
)

// KeepBlocks is how many matched block hashes the alert stage keeps below
// its progress: the deepest reorg whose alerts it can invalidate.
const KeepBlocks = 1000

// Progress is where the alert stage stands: Height is -1 before the first
// block (then Hash is zero).
type Progress struct {
	Height int64
	Hash   btc.Hash
}

// BlockSummary counts what a BlockWriter changed.
type BlockSummary struct {
	Created, Invalidated, Revalidated int
}

// BlockWriter is the alert stage's atomic write: the alerts raised in
// connected blocks (or the revalidation of a block's alerts when it is
// connected again), the invalidation of disconnected blocks' alerts, their
// events and outbox entries, and the stage's Progress, all in one batch.
// It holds the store's write lock from BeginBlocks to Close, so reviews
// and endpoint changes wait for it.
type BlockWriter struct {
	w     *writer         // the progress (and, without a shared store, the alerts)
	tx    BlockTx         // where the alerts go: w itself, or a SharedBlocks transaction
	ctx   context.Context // BeginBlocks's, for tx's Commit (a writer lives for one stage update)
	prog  Progress
	had   bool // a Progress was stored when the writer began
	dirty bool
	sum   BlockSummary
}

// BlockTx is the alerts' side of the alert stage's writes: what Connect
// and Disconnect change besides the progress. The embedded store's writer
// is one (its changes join the progress's batch); a shared store
// (PostgreSQL, SharedBlocks) gives its own, committed before the progress
// (A7).
type BlockTx interface {
	// BlockHasAlerts reports whether alerts of block are stored.
	BlockHasAlerts(ctx context.Context, block btc.Hash) (bool, error)
	// CreateBlockAlerts stores the alerts of one block with an
	// alert.created event and its outbox entries each, and returns how
	// many it stored: a shared store skips an alert already stored under
	// the same natural key (block, rule, txid, address), so two servers
	// matching one block store it once.
	CreateBlockAlerts(ctx context.Context, alerts []Alert) (int, error)
	// SetInvalidated sets the Invalidated flag of block's alerts, with an
	// event for each alert whose flag changes (A4), and returns how many
	// changed.
	SetInvalidated(ctx context.Context, block btc.Hash, inv bool) (int, error)
	// Commit makes the changes so far durable; the BlockTx stays usable.
	Commit(ctx context.Context) error
	// Rollback drops what was not committed.
	Rollback()
}

// SharedBlocks is a store the alert stage writes its alerts into while it
// keeps its progress in the index's store: pgstore.Alerts.
type SharedBlocks interface {
	BeginBlockTx(ctx context.Context) (BlockTx, error)
}

// SharedStore is a Store that the alert stage can write into (sleuth
// serve --shared).
type SharedStore interface {
	Store
	SharedBlocks
}

// BlockStore is what the alert stage (watch.Stage) writes through: DB
// alone, or a Split of the index's DB and a shared store.
type BlockStore interface {
	BeginBlocks(ctx context.Context) (*BlockWriter, error)
	ReadProgress() (Progress, bool, error)
}

var _ BlockStore = (*DB)(nil)

// Split keeps the alert stage's progress in Local (the server's own index
// store) and its alerts, events and outbox in Shared.
type Split struct {
	Local  *DB
	Shared SharedBlocks
}

var _ BlockStore = Split{}

// BeginBlocks starts a write whose alerts go to Shared.
func (s Split) BeginBlocks(ctx context.Context) (*BlockWriter, error) {
	return s.Local.beginBlocks(ctx, s.Shared)
}

// ReadProgress is Local's.
func (s Split) ReadProgress() (Progress, bool, error) { return s.Local.ReadProgress() }

// BeginBlocks starts the alert stage's write. Close releases it; what was
// not committed is dropped.
func (s *DB) BeginBlocks(ctx context.Context) (*BlockWriter, error) { return s.beginBlocks(ctx, nil) }

func (s *DB) beginBlocks(ctx context.Context, shared SharedBlocks) (*BlockWriter, error) {
	s.mu.Lock()
	w, err := s.begin(ctx)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	bw := &BlockWriter{w: w, tx: w, ctx: ctx, prog: Progress{Height: -1}}
	v, err := s.db.StageGet([]byte{pProgress})
	if err == nil && v != nil {
		bw.had = true
		bw.prog, err = decodeProgress(v)
	}
	if err == nil && shared != nil {
		bw.tx, err = shared.BeginBlockTx(ctx)
	}
	if err != nil {
		w.b.Close()
		s.mu.Unlock()
		return nil, fmt.Errorf("alert stage: %w", err)
	}
	return bw, nil
}

func decodeProgress(v []byte) (Progress, error) {
	d := encoding.Decbuf{B: v}
	h := d.Uvarint()
	var p Progress
	if d.E != nil || d.Len() != 32 || h > 1<<62 {
		return p, fmt.Errorf("%w: alert progress %x", ErrCorrupt, v)
	}
	p.Height = int64(h) - 1
	copy(p.Hash[:], d.B)
	return p, nil
}

// Progress returns the last block whose alerts are stored (as of the
// writer's pending changes), and whether the stage has ever run.
func (b *BlockWriter) Progress() (Progress, bool) { return b.prog, b.had }

// HashAt returns the hash the stage matched at height (at most KeepBlocks
// below its progress), or false when it has none.
func (b *BlockWriter) HashAt(height int64) (btc.Hash, bool, error) {
	if height == b.prog.Height {
		return b.prog.Hash, true, nil
	}
	var h btc.Hash
	v, err := b.w.s.db.StageGet(key64(pChain, uint64(height)))
	if err != nil || v == nil {
		return h, false, err
	}
	if len(v) != 32 {
		return h, false, fmt.Errorf("%w: alert chain record at %d: %x", ErrCorrupt, height, v)
	}
	copy(h[:], v)
	return h, true, nil
}

func encodeProgress(p Progress) []byte {
	var e encoding.Encbuf
	e.PutUvarint(uint64(p.Height + 1))
	return append(e.B, p.Hash[:]...)
}

func (b *BlockWriter) setProgress(p Progress) {
	b.w.b.Set([]byte{pProgress}, encodeProgress(p))
	b.prog, b.had, b.dirty = p, true, true
}

// Advance moves the progress to p without matching the blocks between it
// and the current progress: the stage's first run on a store (earlier
// blocks are `sleuth alerts scan`'s), or blocks connected while no
// watchlist exists. hashAt gives the best-chain hash at a height; the last
// KeepBlocks of the skipped heights are recorded, so a reorg of them is
// still followed.
func (b *BlockWriter) Advance(p Progress, hashAt func(int64) (btc.Hash, error)) error {
	for h := max(b.prog.Height+1, p.Height-KeepBlocks+1, 0); h <= p.Height; h++ {
		hash := p.Hash
		if h < p.Height {
			var err error
			if hash, err = hashAt(h); err != nil {
				return fmt.Errorf("alert stage: block at height %d: %w", h, err)
			}
		}
		b.w.b.Set(key64(pChain, uint64(h)), hash[:])
	}
	if p.Height >= KeepBlocks {
		b.w.b.DeleteRange(key64(pChain, 0), key64(pChain, uint64(p.Height-KeepBlocks+1)))
	}
	b.setProgress(p)
	return nil
}

// Connect records block hash at height (the child of the progress block)
// as matched, with the alerts raised in it. A block whose alerts were
// stored before (it was disconnected and is connected again) gets its
// alerts revalidated instead, and alerts is ignored: the block is not
// matched twice. Nothing is visible until Commit.
func (b *BlockWriter) Connect(ctx context.Context, height int64, hash btc.Hash, alerts []Alert) error {
	if height != b.prog.Height+1 {
		return fmt.Errorf("alert stage: block %s at height %d does not follow the stage's progress at height %d", hash, height, b.prog.Height)
	}
	for i := range alerts {
		if alerts[i].BlockHash != hash || alerts[i].Height != height {
			return fmt.Errorf("alert stage: alert on tx %s names block %s at %d, not %s at %d",
				alerts[i].TxID, alerts[i].BlockHash, alerts[i].Height, hash, height)
		}
	}
	had, err := b.tx.BlockHasAlerts(ctx, hash)
	if err != nil {
		return fmt.Errorf("alert stage: block %s at %d: %w", hash, height, err)
	}
	if had {
		n, err := b.tx.SetInvalidated(ctx, hash, false)
		if err != nil {
			return fmt.Errorf("alert stage: revalidate block %s at %d: %w", hash, height, err)
		}
		b.sum.Revalidated += n
	} else if len(alerts) > 0 {
		n, err := b.tx.CreateBlockAlerts(ctx, alerts)
		if err != nil {
			return fmt.Errorf("alert stage: block %s at %d: %w", hash, height, err)
		}
		b.sum.Created += n
	}
	b.w.b.Set(key64(pChain, uint64(height)), hash[:])
	if height >= KeepBlocks {
		b.w.b.Delete(key64(pChain, uint64(height-KeepBlocks)))
	}
	b.setProgress(Progress{Height: height, Hash: hash})
	return nil
}

// Disconnect invalidates the alerts of the progress block (it left the
// best chain) and moves the progress to its parent, whose hash the stage
// must have kept (HashAt). Commit before connecting the new branch.
func (b *BlockWriter) Disconnect(ctx context.Context) error {
	p := b.prog
	if p.Height < 0 {
		return fmt.Errorf("alert stage: nothing to disconnect")
	}
	parent := Progress{Height: p.Height - 1}
	if p.Height > 0 {
		h, ok, err := b.HashAt(p.Height - 1)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("alert stage: a reorg reaches below the %d blocks whose hashes it keeps (height %d)", KeepBlocks, p.Height-1)
		}
		parent.Hash = h
	}
	n, err := b.tx.SetInvalidated(ctx, p.Hash, true)
	if err != nil {
		return fmt.Errorf("alert stage: invalidate block %s at %d: %w", p.Hash, p.Height, err)
	}
	b.sum.Invalidated += n
	b.w.b.Delete(key64(pChain, uint64(p.Height)))
	b.setProgress(parent)
	return nil
}

// Pending reports whether the writer has changes Commit would write.
func (b *BlockWriter) Pending() bool { return b.dirty }

// Commit writes everything since the last Commit in one atomic batch: the
// alerts, their events and outbox entries, and the progress that says
// which blocks they belong to.
//
// With a shared store, its transaction commits first (under the context
// BeginBlocks was given) and the progress after it (A7): a crash between
// the two leaves the progress behind, and the blocks matched again find
// their alerts stored (revalidated, not created again).
func (b *BlockWriter) Commit() error {
	if !b.dirty {
		return nil
	}
	if b.tx != BlockTx(b.w) {
		if err := b.tx.Commit(b.ctx); err != nil {
			return fmt.Errorf("alert stage at height %d: %w", b.prog.Height, err)
		}
	}
	if err := b.w.commit(); err != nil {
		return fmt.Errorf("alert stage at height %d: %w", b.prog.Height, err)
	}
	b.w.b.Close()
	b.w.b = b.w.s.db.NewStageBatch()
	b.dirty = false
	return nil
}

// Summary counts the alerts created, invalidated and revalidated so far
// (committed or not).
func (b *BlockWriter) Summary() BlockSummary { return b.sum }

// Close drops what was not committed and releases the store's write lock.
func (b *BlockWriter) Close() {
	if b.tx != BlockTx(b.w) {
		b.tx.Rollback()
	}
	b.w.b.Close()
	b.w.s.mu.Unlock()
}

// ReadProgress returns the alert stage's progress and whether it has run.
func (s *DB) ReadProgress() (Progress, bool, error) {
	v, err := s.db.StageGet([]byte{pProgress})
	if err != nil || v == nil {
		return Progress{Height: -1}, false, err
	}
	p, err := decodeProgress(v)
	return p, err == nil, err
}

// The embedded store's writer is its own BlockTx: its changes join the
// batch that also holds the progress (A5), committed by BlockWriter.

func (w *writer) BlockHasAlerts(ctx context.Context, block btc.Hash) (bool, error) {
	ids, err := w.s.blockAlerts(ctx, block)
	return len(ids) > 0, err
}

func (w *writer) CreateBlockAlerts(ctx context.Context, alerts []Alert) (int, error) {
	_, err := w.create(alerts)
	return len(alerts), err
}

func (w *writer) SetInvalidated(ctx context.Context, block btc.Hash, inv bool) (int, error) {
	typ := EventRevalidated
	if inv {
		typ = EventInvalidated
	}
	return w.setInvalidated(ctx, block, inv, typ)
}

func (w *writer) Commit(context.Context) error { return nil }
func (w *writer) Rollback()                    {}
