package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// Stage is the alert stage of the pipeline (internal/pipeline runs it
// after exposure): it brings the stored alerts up to the index's best
// chain, block by block, from the progress the alert store keeps (A5 in
// internal/alert/doc.go). It keeps the compiled Set between updates and
// compiles again when the lists change (Store.Version) or after a reorg.
// A Stage is not safe for concurrent use; the pipeline's writer guard
// serialises it.
type Stage struct {
	db      *index.DB
	lists   Store
	alerts  alert.BlockStore
	log     *slog.Logger
	set     *Set
	version uint64

	// afterBlock, when set (tests), runs after each matched block has
	// been added to the batch, before any commit that follows it.
	afterBlock func(height int64) error
}

// NewStage returns the alert stage over db's watchlists, storing alerts in
// alerts: the process's one alert store of db (its mutex orders the event
// counters and guards the progress), the one the server's routes and
// webhook worker use, or an alert.Split of it and a shared store.
func NewStage(db *index.DB, alerts alert.BlockStore, log *slog.Logger) *Stage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stage{db: db, lists: NewDB(db), alerts: alerts, log: log}
}

// UseStore makes the stage match against st instead of the lists in db
// (sleuth serve --shared gives it a Snapshot of PostgreSQL's lists, so
// that matching reads memory only and keeps the last copy while
// PostgreSQL is down). Call it before the first Update.
func (s *Stage) UseStore(st Store) {
	s.lists, s.set = st, nil
}

// StageSummary says what one Update did.
type StageSummary struct {
	// From..To are the heights matched (none when From > To).
	From, To int64
	// Started: the stage's first run on this store set its progress at
	// the tip without matching (earlier blocks: sleuth alerts scan).
	Started bool
	// Disconnected blocks had their alerts invalidated.
	Disconnected int
	Hits         int
	alert.BlockSummary
}

// commitEvery bounds how many matched blocks without alerts share one
// batch (a block with alerts commits at once, so its webhooks can go).
const commitEvery = 1000

// Update matches every best-chain block after the stage's progress against
// the watchlists and stores their alerts, after invalidating the alerts of
// blocks the index no longer has on its best chain. Alerts and progress
// commit together, so an Update that fails or is killed part way leaves
// the stage at the last committed block and the next Update continues
// from there: each block is matched once, each alert stored once.
func (s *Stage) Update(ctx context.Context) (sum StageSummary, err error) {
	tip := s.db.Tip()
	sum = StageSummary{From: 0, To: -1}
	bw, err := s.alerts.BeginBlocks(ctx)
	if err != nil {
		return sum, err
	}
	defer func() { sum.BlockSummary = bw.Summary() }()
	defer bw.Close()
	prog, had := bw.Progress()
	hashAt := func(h int64) (btc.Hash, error) {
		b, err := s.db.ChainBlock(btc.Height(h))
		return b.Hash, err
	}
	if !had {
		sum.Started = true
		if err := bw.Advance(alert.Progress{Height: tip.Height, Hash: tip.Hash}, hashAt); err != nil {
			return sum, err
		}
		s.log.Info("alert stage starts at the tip; earlier blocks are matched only by sleuth alerts scan", "height", tip.Height)
		return sum, bw.Commit()
	}
	if prog.Height == tip.Height && prog.Hash == tip.Hash {
		return sum, nil
	}
	// Blocks the stage matched that left the best chain.
	for prog.Height >= 0 {
		if prog.Height <= tip.Height {
			h, err := hashAt(prog.Height)
			if err != nil {
				return sum, fmt.Errorf("alert stage: %w", err)
			}
			if h == prog.Hash {
				break
			}
		}
		if err := bw.Disconnect(ctx); err != nil {
			return sum, err
		}
		sum.Disconnected++
		s.set = nil // address ids above the fork may be reused
		prog, _ = bw.Progress()
	}
	if err := bw.Commit(); err != nil {
		return sum, err
	}
	if prog.Height == tip.Height {
		return sum, nil
	}
	sum.From, sum.To = prog.Height+1, tip.Height
	set, err := s.compiled(ctx)
	if err != nil {
		return sum, err
	}
	if len(set.Lists) == 0 {
		// Nothing to match; a block mined again keeps its old alerts
		// invalidated until a list exists.
		if err := bw.Advance(alert.Progress{Height: tip.Height, Hash: tip.Hash}, hashAt); err != nil {
			return sum, err
		}
		return sum, bw.Commit()
	}
	var as Assessor
	if set.NeedsAssessor() {
		scr, err := risk.NewScreener(s.db, nil)
		if errors.Is(err, risk.ErrNotComputed) {
			return sum, fmt.Errorf("alert stage: %w: %w", ErrNoAssessor, err)
		}
		if err != nil {
			return sum, err
		}
		as = &RiskAssessor{S: scr}
	}
	n := 0
	err = set.MatchBlocks(ctx, btc.Height(sum.From), btc.Height(sum.To), func(b *index.ChainBlock, hits []Hit) error {
		sum.Hits += len(hits)
		var alerts []alert.Alert
		if len(hits) > 0 {
			var err error
			if alerts, err = set.Alerts(ctx, b, hits, as); err != nil {
				return fmt.Errorf("alert stage: block %d: %w", b.Height, err)
			}
		}
		before := bw.Summary()
		if err := bw.Connect(ctx, int64(b.Height), b.Hash, alerts); err != nil {
			return err
		}
		if s.afterBlock != nil {
			if err := s.afterBlock(int64(b.Height)); err != nil {
				return err
			}
		}
		if n++; bw.Summary() != before || n%commitEvery == 0 {
			return bw.Commit()
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	return sum, bw.Commit()
}

// compiled returns the Set, compiling it again when the lists changed.
func (s *Stage) compiled(ctx context.Context) (*Set, error) {
	v, err := s.lists.Version()
	if err != nil {
		return nil, err
	}
	if s.set != nil && v == s.version {
		return s.set, nil
	}
	set, err := Compile(ctx, s.db, s.lists)
	if err != nil {
		return nil, fmt.Errorf("alert stage: %w", err)
	}
	s.set, s.version = set, v
	if total, unseen := set.Len(); len(set.Lists) > 0 {
		s.log.Info("watchlists compiled", "lists", len(set.Lists), "addresses", total, "not_on_chain", unseen, "bytes", set.Bytes())
	}
	return set, nil
}

// Progress returns the alert stage's position (Height -1 and false before
// its first run).
func (s *Stage) Progress() (alert.Progress, bool, error) { return s.alerts.ReadProgress() }
