package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// Stage names as events and metrics carry them.
const (
	StageIndex    = "index"
	StageCluster  = "cluster"
	StageLabels   = "labels"
	StageExposure = "exposure"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// BlockConnected: a block joined the best chain (Height, Hash, Time,
	// and its transactions FirstTx..FirstTx+NTx-1).
	BlockConnected EventKind = iota + 1
	// BlockDisconnected: a block left the best chain in a reorg (Height;
	// Hash when the pipeline had seen it, else zero).
	BlockDisconnected
	// StageDone: Stage finished with the store at Height, in Duration.
	StageDone
	// Progress: the index ingest's progress (Progress).
	Progress
	// AlertsStored: the alert stage committed alerts created, invalidated
	// or revalidated (Alerts), with their outbox deliveries, up to Height.
	AlertsStored
)

func (k EventKind) String() string {
	switch k {
	case BlockConnected:
		return "block_connected"
	case BlockDisconnected:
		return "block_disconnected"
	case StageDone:
		return "stage_done"
	case Progress:
		return "progress"
	case AlertsStored:
		return "alerts_stored"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is what listeners receive (P4 in doc.go).
type Event struct {
	Kind     EventKind
	Height   int64
	Hash     btc.Hash
	Time     uint32 // block header time (BlockConnected)
	FirstTx  btc.TxNum
	NTx      uint64
	Stage    string
	Duration time.Duration
	Progress index.Progress
	Alerts   alert.BlockSummary
}

// Listener receives events. It runs with the writer's guard held and must
// not call back into the Pipeline.
type Listener func(Event)

// Options configure a Pipeline.
type Options struct {
	// Logger receives the stages' progress lines. Default: discard.
	Logger *slog.Logger
	// Risk configures the exposure stage (Logger defaults to Logger).
	Risk risk.Options
	// LockedReads makes readers take the writers' lock and read the store
	// itself, waiting while an update runs, as before views existed. It is
	// there to measure what the views gain (BenchmarkScreenWhileIngesting);
	// default false: readers read the current view and never wait.
	LockedReads bool
	// Watchlists, when set, is the store the alert stage matches against
	// (sleuth serve --shared: a watch.Snapshot of PostgreSQL's lists);
	// default: the lists in the store.
	Watchlists watch.Store
	// Alerts, when set, is the shared alert store (sleuth serve --shared:
	// PostgreSQL): the alert stage writes alerts, events and outbox
	// there and keeps only its progress in the index's store. Nil: all in
	// the index's store.
	Alerts alert.SharedStore
}

// Pipeline runs the stages over one store and hands its readers views
// (see doc.go for what a reader sees).
type Pipeline struct {
	db   *index.DB
	opts Options
	// mu is held exclusively by every writer, and shared by readers only
	// under LockedReads and while the first view is taken.
	mu        sync.RWMutex
	gen       atomic.Uint64
	listeners []Listener
	// cur is the view readers get; nil until the first Read (a command
	// that never reads holds no snapshot). views says whether writers
	// publish a view when they finish (set by the first Read).
	cur   atomic.Pointer[view]
	views atomic.Bool
	// recent holds the hashes of the best chain's last blocks, so that a
	// reorg's disconnect events can name the blocks that left.
	recent map[int64]btc.Hash
	// alertDB, alerts and alertStg are the alert stage (alerts.go).
	alertDB  *alert.DB
	alerts   alert.Store
	alertStg *watch.Stage
	// forests keeps the entity forests exposure needs between blocks
	// (cluster.SplitCache), so that a block does not replay the whole
	// merge log.
	forests cluster.SplitCache
	// forest keeps the clustering's own forest between blocks
	// (cluster.ForestCache), so that a block does not load it from the
	// snapshot.
	forest cluster.ForestCache
	// labels keeps the labels exposure reads between blocks
	// (risk.LabelCache), so that a block does not read every label; a
	// label edit, through any path, reloads it.
	labels risk.LabelCache
}

// view is a published index view with its readers' reference count: one
// reference is the pipeline's own while the view is current, one more per
// reader inside Read. The count reaching zero closes the view's snapshot.
type view struct {
	db   *index.DB
	refs atomic.Int64
}

// acquire takes a reader's reference, failing once the view was retired
// and its last reader left (its snapshot is then closed).
func (v *view) acquire() bool {
	for {
		n := v.refs.Load()
		if n == 0 {
			return false
		}
		if v.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (v *view) release() {
	if v.refs.Add(-1) == 0 {
		v.db.Close()
	}
}

// recentDepth is how many best-chain hashes the pipeline remembers for
// disconnect events.
const recentDepth = 144

// New returns a Pipeline over db.
func New(db *index.DB, opts Options) *Pipeline {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Risk.Logger == nil {
		opts.Risk.Logger = opts.Logger
	}
	p := &Pipeline{db: db, opts: opts, recent: map[int64]btc.Hash{}, alertDB: alert.NewDB(db)}
	p.alerts = p.alertDB
	var blocks alert.BlockStore = p.alertDB
	if opts.Alerts != nil {
		p.alerts, blocks = opts.Alerts, alert.Split{Local: p.alertDB, Shared: opts.Alerts}
	}
	p.alertStg = watch.NewStage(db, blocks, opts.Logger)
	if opts.Watchlists != nil {
		p.alertStg.UseStore(opts.Watchlists)
	}
	return p
}

// Subscribe adds a listener. Call it before the first writer runs.
func (p *Pipeline) Subscribe(l Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.listeners = append(p.listeners, l)
}

// Generation counts the writers that have finished (P3).
func (p *Pipeline) Generation() uint64 { return p.gen.Load() }

// Read runs fn on a read-only view of the store at the end of the last
// finished update (P5): fn never waits for a writer and never sees one's
// work in progress; it may see the state one update old while a writer
// runs. fn must not keep db after it returns (the view is closed when its
// last reader leaves) and cannot write through it (index.ErrView). Under
// LockedReads, fn runs on the store itself with the writers' lock shared.
func (p *Pipeline) Read(fn func(db *index.DB) error) error {
	if p.opts.LockedReads {
		p.mu.RLock()
		defer p.mu.RUnlock()
		return fn(p.db)
	}
	v, err := p.acquire()
	if err != nil {
		return err
	}
	defer v.release()
	return fn(v.db)
}

// acquire returns the current view with a reader's reference taken,
// taking the first view if there is none yet.
func (p *Pipeline) acquire() (*view, error) {
	for {
		if v := p.cur.Load(); v != nil {
			if v.acquire() {
				return v, nil
			}
			continue // retired between Load and acquire: load its successor
		}
		if err := p.firstView(); err != nil {
			return nil, err
		}
	}
}

// firstView publishes the first view, between two writers (the only time
// a reader waits for one), and makes writers publish from then on.
func (p *Pipeline) firstView() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.cur.Load() != nil {
		return nil
	}
	db, err := p.db.View()
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	v := &view{db: db}
	v.refs.Store(1)
	if !p.cur.CompareAndSwap(nil, v) {
		db.Close() // another reader published first
		return nil
	}
	p.views.Store(true)
	return nil
}

// finish ends a writer: it counts the generation and, once readers use
// views, publishes a view of the store as the writer left it (P5) and
// retires the old one (closed when its last reader leaves). Called with
// mu held exclusively.
func (p *Pipeline) finish() {
	p.gen.Add(1)
	if !p.views.Load() {
		return
	}
	db, err := p.db.View()
	if err != nil {
		// Only a closed store refuses a view: readers keep the old one.
		p.opts.Logger.Error("pipeline: no view after an update", "err", err)
		return
	}
	nv := &view{db: db}
	nv.refs.Store(1)
	if old := p.cur.Swap(nv); old != nil {
		old.release()
	}
}

// Write runs fn with the guard held exclusively (an edit no stage
// sequence covers, such as a label import before AttributionChanged).
func (p *Pipeline) Write(fn func(db *index.DB) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.finish()
	return fn(p.db)
}

func (p *Pipeline) emit(e Event) {
	for _, l := range p.listeners {
		l(e)
	}
}

// stage runs one stage and reports it done.
func (p *Pipeline) stage(name string, fn func() error) error {
	start := time.Now()
	if err := fn(); err != nil {
		return err
	}
	p.emit(Event{Kind: StageDone, Stage: name, Height: p.db.Tip().Height, Duration: time.Since(start)})
	return nil
}

// IngestOptions configure one Ingest.
type IngestOptions struct {
	index.IngestOptions
	// IndexOnly stops after the index (no clustering, labels' entity index
	// or exposure: sleuth cluster and sleuth risk update do them later).
	IndexOnly bool
	// Cluster configures the clustering stage.
	Cluster cluster.Options
}

// Result says what each stage of an Ingest did; a stage that did not run
// is nil.
type Result struct {
	Index   *index.IngestSummary
	Cluster *cluster.Summary
	Risk    *risk.Summary
	Alerts  *watch.StageSummary
}

// StageError says which stage failed after the earlier ones committed.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string {
	switch e.Stage {
	case StageIndex:
		return e.Err.Error()
	case StageCluster:
		return fmt.Sprintf("indexed, but clustering failed: %v", e.Err)
	case StageLabels:
		return fmt.Sprintf("clustered, but the labels' entity index failed: %v", e.Err)
	case StageAlerts:
		return fmt.Sprintf("exposure is current, but the alert stage failed (it resumes at the next ingest): %v", e.Err)
	}
	return fmt.Sprintf("indexed and clustered, but exposure failed (rerun sleuth risk update): %v", e.Err)
}

func (e *StageError) Unwrap() error { return e.Err }

// Ingest brings the index up to date with the block files, then (unless
// IndexOnly, or the index changed nothing and every stage is at its tip:
// Cluster, Risk and Alerts are then nil) the clustering, the labels'
// entity index, the exposure and the alert stage (alerts.go), holding the
// guard for the whole sequence. Events: Progress while the index ingests,
// BlockDisconnected and BlockConnected once it committed, then StageDone
// after each stage, and AlertsStored when the alert stage stored any.
func (p *Pipeline) Ingest(ctx context.Context, opts IngestOptions) (Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.finish()
	var res Result
	before := p.db.Tip()
	p.remember(before)
	caller := opts.Progress
	opts.Progress = func(pr index.Progress) {
		if caller != nil {
			caller(pr)
		}
		p.emit(Event{Kind: Progress, Height: pr.Height, Progress: pr})
	}
	err := p.stage(StageIndex, func() error {
		sum, err := p.db.Ingest(ctx, opts.IngestOptions)
		res.Index = sum
		if sum != nil && (sum.Connected > 0 || sum.Disconnected > 0) {
			if eerr := p.blockEvents(before, sum.Disconnected); eerr != nil && err == nil {
				err = eerr
			}
		}
		return err
	})
	if err != nil {
		return res, &StageError{StageIndex, err}
	}
	if opts.IndexOnly || p.current(res.Index) {
		return res, nil
	}
	c, err := p.updateClusters(ctx, opts.Cluster)
	if err != nil {
		return res, err
	}
	res.Cluster = &c
	r, err := p.exposure(ctx, false)
	if err != nil {
		return res, err
	}
	res.Risk = &r
	res.Alerts, err = p.alertStage(ctx)
	return res, err
}

// current reports whether an ingest changed nothing and every stage is
// already at the index's tip, so the later stages have nothing to do (a
// server's poll that found no new block).
func (p *Pipeline) current(sum *index.IngestSummary) bool {
	if sum == nil || sum.Connected > 0 || sum.Disconnected > 0 || sum.RawBlocks > 0 {
		return false
	}
	tip := p.db.Tip()
	cs, err := cluster.ReadStatus(p.db)
	if err != nil || cs.Height != tip.Height || cs.Dirty {
		return false
	}
	rs, err := risk.ReadStatus(p.db)
	return err == nil && rs.Height == tip.Height && rs.StandaloneTx == uint64(tip.NextDetachedTx) && p.alertsCurrent()
}

// remember records the hashes of the best chain's last recentDepth blocks.
func (p *Pipeline) remember(tip index.Tip) {
	for h := range p.recent {
		if h > tip.Height || h <= tip.Height-recentDepth {
			delete(p.recent, h)
		}
	}
	for h := tip.Height; h >= 0 && h > tip.Height-recentDepth; h-- {
		if _, ok := p.recent[h]; ok {
			break
		}
		b, err := p.db.ChainBlock(btc.Height(h))
		if err != nil {
			break
		}
		p.recent[h] = b.Hash
	}
}

// blockEvents announces the blocks an ingest disconnected (above the fork)
// and connected (above the fork, up to the new tip).
func (p *Pipeline) blockEvents(before index.Tip, disconnected int) error {
	if len(p.listeners) == 0 {
		return nil
	}
	fork := before.Height - int64(disconnected)
	for h := before.Height; h > fork; h-- {
		p.emit(Event{Kind: BlockDisconnected, Height: h, Hash: p.recent[h]})
		delete(p.recent, h)
	}
	after := p.db.Tip()
	for h := fork + 1; h <= after.Height; h++ {
		b, err := p.db.ChainBlock(btc.Height(h))
		if err != nil {
			return fmt.Errorf("pipeline: block %d after ingest: %w", h, err)
		}
		p.emit(Event{Kind: BlockConnected, Height: h, Hash: b.Hash, Time: b.Time, FirstTx: b.FirstTx, NTx: b.NTx})
	}
	return nil
}

// UpdateClusters runs the clustering with opts, then the labels' entity
// index (which follows the entities). Exposure is left to the caller
// (sleuth cluster leaves it to sleuth risk update; Ingest runs it).
func (p *Pipeline) UpdateClusters(ctx context.Context, opts cluster.Options) (cluster.Summary, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.finish()
	return p.updateClusters(ctx, opts)
}

func (p *Pipeline) updateClusters(ctx context.Context, opts cluster.Options) (cluster.Summary, error) {
	if opts.Logger == nil {
		opts.Logger = p.opts.Logger
	}
	if opts.Forest == nil {
		opts.Forest = &p.forest
	}
	var sum cluster.Summary
	err := p.stage(StageCluster, func() (err error) {
		sum, err = cluster.Update(ctx, p.db, opts)
		return err
	})
	if err != nil {
		return sum, &StageError{StageCluster, err}
	}
	// The labels' entity index follows the merges: in proportion to the
	// block when the clustering only grew (label.RefreshAfter).
	err = p.stage(StageLabels, func() error {
		_, err := label.RefreshAfter(ctx, p.db, sum)
		return err
	})
	if err != nil {
		return sum, &StageError{StageLabels, err}
	}
	return sum, nil
}

// exposure runs the exposure stage; listChanged asks it to name the
// addresses whose exposure changed (an attribution change's answer).
func (p *Pipeline) exposure(ctx context.Context, listChanged bool) (risk.Summary, error) {
	var sum risk.Summary
	err := p.stage(StageExposure, func() (err error) {
		opts := p.opts.Risk
		opts.ListChanged = opts.ListChanged || listChanged
		opts.Forests = &p.forests
		opts.Labels = &p.labels
		sum, err = risk.Update(ctx, p.db, opts)
		return err
	})
	if err != nil {
		return sum, &StageError{StageExposure, err}
	}
	return sum, nil
}

// AttributionChanged brings what depends on labels and incidents up to
// date after they changed: the labels' entity index, then exposure
// (incrementally: only what the change touches) unless skipExposure or the
// store was never clustered (it has nothing to expose yet). The exposure
// summary is nil when exposure did not run.
func (p *Pipeline) AttributionChanged(ctx context.Context, skipExposure bool) (*risk.Summary, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.finish()
	if err := p.stage(StageLabels, func() error { return label.Refresh(ctx, p.db) }); err != nil {
		return nil, &StageError{StageLabels, err}
	}
	if _, err := cluster.ReadStatus(p.db); skipExposure || errors.Is(err, cluster.ErrNotClustered) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	r, err := p.exposure(ctx, true)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// ClustersChanged brings what depends on entities up to date after an
// investigator's decision changed them (cluster.Merge, Split, Accept…):
// the labels' entity index, then exposure.
func (p *Pipeline) ClustersChanged(ctx context.Context) (*risk.Summary, error) {
	return p.AttributionChanged(ctx, false)
}
