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
	w     *writer
	prog  Progress
	had   bool // a Progress was stored when the writer began
	dirty bool
	sum   BlockSummary
}

// BeginBlocks starts the alert stage's write. Close releases it; what was
// not committed is dropped.
func (s *DB) BeginBlocks(ctx context.Context) (*BlockWriter, error) {
	s.mu.Lock()
	w, err := s.begin(ctx)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	bw := &BlockWriter{w: w, prog: Progress{Height: -1}}
	v, err := s.db.StageGet([]byte{pProgress})
	if err == nil && v != nil {
		bw.had = true
		bw.prog, err = decodeProgress(v)
	}
	if err != nil {
		w.b.Close()
		s.mu.Unlock()
		return nil, fmt.Errorf("alert stage progress: %w", err)
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
	ids, err := b.w.s.blockAlerts(ctx, hash)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		n, err := b.w.setInvalidated(ctx, hash, false, EventRevalidated)
		if err != nil {
			return err
		}
		b.sum.Revalidated += n
	} else if len(alerts) > 0 {
		for i := range alerts {
			if alerts[i].BlockHash != hash || alerts[i].Height != height {
				return fmt.Errorf("alert stage: alert on tx %s names block %s at %d, not %s at %d",
					alerts[i].TxID, alerts[i].BlockHash, alerts[i].Height, hash, height)
			}
		}
		if _, err := b.w.create(alerts); err != nil {
			return err
		}
		b.sum.Created += len(alerts)
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
	n, err := b.w.setInvalidated(ctx, p.Hash, true, EventInvalidated)
	if err != nil {
		return err
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
func (b *BlockWriter) Commit() error {
	if !b.dirty {
		return nil
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
