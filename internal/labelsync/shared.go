package labelsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// ErrUnavailable: the shared log cannot be reached (PostgreSQL down or
// restarting). Nothing was stored, unless the error says the edit is in
// the log and applies once the log can be read again, or that whether it
// is in the log is unknown (ErrOutcomeUnknown).
var ErrUnavailable = errors.New("the shared label log (PostgreSQL) is unavailable")

// Entry is one edit of the log with its number, time and author.
type Entry struct {
	Seq  uint64
	At   time.Time
	By   string
	Edit Edit
}

// Log is the shared, ordered log of label edits (pgstore.LabelLog).
type Log interface {
	// Append stores edits as consecutive entries, all or none, and
	// returns the first one's number. Entries become visible to After in
	// number order (no reader sees n+1 before n).
	Append(ctx context.Context, by string, edits []Edit) (first uint64, err error)
	// After returns at most limit entries after seq, in order.
	After(ctx context.Context, seq uint64, limit int) ([]Entry, error)
	// Last returns the number of the last entry (0: none).
	Last(ctx context.Context) (uint64, error)
	// Wait returns when entries may have been appended (a notification)
	// or after d; an error says the log could not be watched.
	Wait(ctx context.Context, d time.Duration) error
}

// Options configure a Shared.
type Options struct {
	// Logger receives the applier's failures and recoveries. Default:
	// discard.
	Logger *slog.Logger
	// Poll is the longest Run waits for a notification before reading
	// the log anyway. Default 500 ms.
	Poll time.Duration
	// Timeout bounds each call to the log made for a request. Default 5 s.
	Timeout time.Duration
}

func (o *Options) ensureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
}

// Shared is the Editor of a server whose labels are shared through a Log;
// its Run applies the edits of every server.
type Shared struct {
	pl   *pipeline.Pipeline
	log  Log
	opts Options
	// mu is held by one catch-up at a time, and by Do from its append to
	// the end of its catch-up, so that Do sees its own entries' outcomes.
	mu  sync.Mutex
	pos uint64 // the last entry applied (the store's label.LogPosition)
	// stale: entries may have been applied without the attribution update
	// after them (it failed, or the process stopped between the two: so
	// it starts true); the next catch-up runs it even without new entries.
	stale bool
}

// batchSize is how many entries one catch-up reads at once.
const batchSize = 256

// NewShared makes pl's store follow log (label.FollowLog: a store with
// labels of its own is refused) and returns its Editor. A store that
// applied more entries than the log holds is refused (S4).
func NewShared(ctx context.Context, pl *pipeline.Pipeline, log Log, opts Options) (*Shared, error) {
	opts.ensureDefaults()
	s := &Shared{pl: pl, log: log, opts: opts, stale: true}
	err := pl.Write(func(db *index.DB) error {
		if err := label.FollowLog(ctx, db); err != nil {
			return err
		}
		var err error
		s.pos, _, err = label.LogPosition(db)
		return err
	})
	if err != nil {
		return nil, err
	}
	last, err := log.Last(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if s.pos > last {
		return nil, fmt.Errorf("labelsync: the store applied %d label edits but the shared log holds %d: it followed another database", s.pos, last)
	}
	return s, nil
}

// Position returns the last entry the store applied.
func (s *Shared) Position() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos
}

// Do checks the edits, appends them to the log (the commit: from then on
// every server applies them), catches up and returns their outcomes.
func (s *Shared) Do(ctx context.Context, by string, edits ...Edit) (Result, error) {
	var res Result
	s.mu.Lock()
	defer s.mu.Unlock()
	first, err := Submit(ctx, s.log, by, s.opts.Timeout, edits...)
	if err != nil {
		return res, err
	}
	outs, sum, err := s.catchUp(context.WithoutCancel(ctx))
	res.Exposure = sum
	last := first + uint64(len(edits)) - 1
	if err != nil && s.pos < last {
		return res, fmt.Errorf("%w: the edit is in the shared log (entries %d–%d) and applies on every server once it can be read: %w", ErrUnavailable, first, last, err)
	}
	for seq := first; seq <= last; seq++ {
		o, ok := outs[seq]
		if !ok {
			return res, fmt.Errorf("labelsync: entry %d was applied by another catch-up", seq)
		}
		res.Outcomes = append(res.Outcomes, o)
	}
	if err != nil {
		return res, fmt.Errorf("labels applied, but updating exposure: %w", err)
	}
	return res, res.Err()
}

// CatchUp applies the entries after the store's position, in order, then
// runs the attribution update once; it returns how many it applied.
func (s *Shared) CatchUp(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	outs, _, err := s.catchUp(ctx)
	return len(outs), err
}

// catchUp is CatchUp with mu held; it returns the outcomes by entry.
func (s *Shared) catchUp(ctx context.Context) (map[uint64]Outcome, *risk.Summary, error) {
	outs := map[uint64]Outcome{}
	var err error
	for {
		var es []Entry
		rctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		es, err = s.log.After(rctx, s.pos, batchSize)
		cancel()
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
			break
		}
		if len(es) == 0 {
			break
		}
		if err = s.pl.Write(func(db *index.DB) error { return s.applyEntries(ctx, db, es, outs) }); err != nil {
			break
		}
		if len(es) < batchSize {
			break
		}
	}
	if len(outs) == 0 && !s.stale {
		return outs, nil, err
	}
	sum, uerr := s.pl.AttributionChanged(ctx, false)
	s.stale = uerr != nil
	if uerr != nil {
		return outs, sum, errors.Join(err, fmt.Errorf("updating exposure after label edits: %w", uerr))
	}
	return outs, sum, err
}

// applyEntries applies es in order, each exactly once (S1): the entry's
// number is written with its change, or alone when the edit changed
// nothing or failed on its content. A failure of the store stops it; the
// entry is retried at the next catch-up.
func (s *Shared) applyEntries(ctx context.Context, db *index.DB, es []Entry, outs map[uint64]Outcome) error {
	for i := range es {
		e := &es[i]
		if e.Seq != s.pos+1 {
			return fmt.Errorf("labelsync: the log skips from entry %d to %d", s.pos, e.Seq)
		}
		o, err := apply(label.WithLogEntry(ctx, e.Seq, e.At), db, &e.Edit)
		if err != nil && !rejected(err) {
			return fmt.Errorf("labelsync: entry %d (%s by %s): %w", e.Seq, e.Edit.Kind, e.By, err)
		}
		o.Seq, o.Err = e.Seq, err
		pos, _, perr := label.LogPosition(db)
		if perr == nil && pos < e.Seq {
			perr = label.MarkApplied(ctx, db, e.Seq)
		}
		if perr != nil {
			return fmt.Errorf("labelsync: entry %d: %w", e.Seq, perr)
		}
		s.pos = e.Seq
		outs[e.Seq] = o
		if err != nil {
			s.opts.Logger.Info("labelsync: a label edit failed on its content, alike on every server", "seq", e.Seq, "kind", e.Edit.Kind, "by", e.By, "err", err)
		}
	}
	return nil
}

// Run applies the log's new entries whenever it is notified, and at least
// every Options.Poll, until ctx ends. Failures (the log unreachable) are
// logged once per outage and retried at the next poll; screening goes on
// answering from the store meanwhile.
func (s *Shared) Run(ctx context.Context) error {
	failing := false
	// Listen before the first read, so that no append between the two is
	// left to the poll.
	_ = s.log.Wait(ctx, time.Millisecond)
	for ctx.Err() == nil {
		n, err := s.CatchUp(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.opts.Logger.Error("labelsync: cannot apply the shared label edits; retrying", "err", err)
			failing = true
		case err == nil && failing:
			s.opts.Logger.Info("labelsync: the shared label log is back", "applied", n)
			failing = false
		}
		if werr := s.log.Wait(ctx, s.opts.Poll); werr != nil {
			// Watching failed too: poll on a timer until it comes back.
			select {
			case <-ctx.Done():
			case <-time.After(s.opts.Poll):
			}
		}
	}
	return nil
}
