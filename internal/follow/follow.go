package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Store is what the follower needs from the index: its best chain and an
// ingest of a blocks directory in follow mode. IndexStore adapts an
// *index.DB; the server's pipeline can plug in its own. The follower calls
// it from Run's goroutine only; an index.DB must not be read by others
// during Ingest, so a server serializes its readers with Ingest itself.
type Store interface {
	// Tip returns the best chain's height (-1 when empty) and tip hash.
	Tip() (int64, btc.Hash)
	// HashAt returns the hash of the best-chain block at height.
	HashAt(height int64) (btc.Hash, error)
	// Ingest reads the blocks directory dir, whose last file may still be
	// growing, and brings every stage up to date.
	Ingest(ctx context.Context, dir string) error
}

// IndexStore is a Store over an index alone (no later stage).
type IndexStore struct {
	DB *index.DB
}

func (s *IndexStore) Tip() (int64, btc.Hash) {
	st := s.DB.Stats()
	if st.Height < 0 {
		return -1, btc.Hash{}
	}
	h, _ := btc.ParseHash(st.BestHash)
	return st.Height, h
}

func (s *IndexStore) HashAt(height int64) (btc.Hash, error) {
	v, err := s.DB.Block(strconv.FormatInt(height, 10))
	if err != nil {
		return btc.Hash{}, err
	}
	if !v.BestChain {
		return btc.Hash{}, fmt.Errorf("follow: block at height %d: %w", height, index.ErrNotFound)
	}
	return btc.ParseHash(v.Hash)
}

func (s *IndexStore) Ingest(ctx context.Context, dir string) error {
	_, err := s.DB.Ingest(ctx, index.IngestOptions{BlocksDir: dir, Follow: true})
	return err
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	BlockConnected EventKind = iota + 1
	BlockDisconnected
	Lag // the node's best height minus the indexed one, after a sync round
	// Unavailable: a round failed with an error that may pass (node
	// unreachable, restarting, warming up); Err says which. The next Lag
	// event says it is back.
	Unavailable
)

func (k EventKind) String() string {
	switch k {
	case BlockConnected:
		return "connected"
	case BlockDisconnected:
		return "disconnected"
	case Lag:
		return "lag"
	case Unavailable:
		return "unavailable"
	}
	return "unknown"
}

// Event is one change the follower made to the store, or its lag.
type Event struct {
	Kind   EventKind
	Height int64
	Hash   btc.Hash // zero for Lag
	Lag    int64    // blocks behind the node (Lag events)
	Err    error    // Unavailable events
}

// Config configures a Follower. Exactly one of RPC and BlocksDir is set.
type Config struct {
	// RPC is the node to follow; its blocks are appended to SpoolDir.
	RPC      *RPC
	SpoolDir string
	// BlocksDir is a running node's own blocks directory, read in place.
	BlocksDir string
	// ZMQ is an optional endpoint (tcp://host:port) publishing sequence or
	// hashblock notifications, used only to wake the follower early;
	// "auto" asks the node (getzmqnotifications).
	ZMQ string
	// Poll is how often the node (or directory) is checked. Default 2 s.
	Poll time.Duration
	// ReorgDepth bounds how many indexed blocks a reorg may replace.
	// Default 100; a deeper one stops the follower with ErrReorgTooDeep.
	ReorgDepth int64
	// BatchBlocks is how many blocks are fetched per ingest. Default 500.
	BatchBlocks int64
	// SpoolFileSize is the size at which a new spool file starts.
	// Default 128 MiB.
	SpoolFileSize int64
	// MaxBackoff bounds the wait between retries while the node is
	// unreachable. Default 30 s.
	MaxBackoff time.Duration
	Network    *btc.Network // the store's network (required)
	Store      Store        // required
	OnEvent    func(Event)  // optional
	Logger     *slog.Logger // default slog.Default()
}

// Follower keeps a Store in step with a node.
type Follower struct {
	cfg   Config
	log   *slog.Logger
	spool *Spool
	wake  chan struct{}

	// recent holds the best-chain hashes of heights base.. as the store
	// had them after the last round, at most ReorgDepth+1 of them, to say
	// which blocks a reorg disconnected.
	base   int64
	recent []btc.Hash
	warned bool // logged that the node's chain has less work
}

// New checks cfg and returns a Follower; in RPC mode it opens the spool.
func New(ctx context.Context, cfg Config) (*Follower, error) {
	if cfg.Store == nil || cfg.Network == nil {
		return nil, errors.New("follow: Store and Network are required")
	}
	if (cfg.RPC == nil) == (cfg.BlocksDir == "") {
		return nil, errors.New("follow: give a node's RPC or its blocks directory, exactly one")
	}
	if cfg.RPC != nil && cfg.SpoolDir == "" {
		return nil, errors.New("follow: RPC mode needs a spool directory")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.ReorgDepth <= 0 {
		cfg.ReorgDepth = 100
	}
	if cfg.BatchBlocks <= 0 {
		cfg.BatchBlocks = 500
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	f := &Follower{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), base: -1}
	dir := cfg.BlocksDir
	if cfg.RPC != nil {
		s, err := OpenSpool(ctx, cfg.SpoolDir, cfg.Network.Magic, cfg.SpoolFileSize)
		if err != nil {
			return nil, err
		}
		f.spool, dir = s, cfg.SpoolDir
	}
	// The index keeps the file number and offset of every block it read
	// but not the directory: fed a second directory, it would resume in
	// the wrong files. Its tip must be in the directory it is given.
	if h, tip := cfg.Store.Tip(); h >= 0 {
		ok, err := containsBlock(ctx, dir, cfg.Network.Magic, tip)
		if err == nil && !ok {
			err = fmt.Errorf("%w: its tip %s (height %d) is not in %s; follow into a new --db, or keep giving this store the directory it was built from",
				ErrForeignStore, tip, h, dir)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// ErrForeignStore means the store was built from other block files than
// the ones the follower would feed it.
var ErrForeignStore = errors.New("the store was built from other block files")

// containsBlock reports whether a record of the blocks directory dir holds
// the block want, scanning the files from the last one back.
func containsBlock(ctx context.Context, dir string, magic [4]byte, want btc.Hash) (bool, error) {
	paths, err := blockfile.ListFiles(dir)
	if err != nil {
		return false, fmt.Errorf("follow: %w", err)
	}
	key, err := blockfile.ReadXORKey(dir)
	if err != nil {
		return false, fmt.Errorf("follow: %w", err)
	}
	errFound := errors.New("found")
	opts := blockfile.ScanOptions{Magic: magic, XOR: key, Tail: true, SkipBad: true}
	for i := len(paths) - 1; i >= 0; i-- {
		_, err := blockfile.Scan(ctx, paths[i], 0, opts, func(r blockfile.Record) error {
			if blockfile.HeaderHash(r.Header[:]) == want {
				return errFound
			}
			return nil
		})
		if err == errFound {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("follow: %w", err)
		}
	}
	return false, nil
}

// Close releases the spool.
func (f *Follower) Close() error {
	if f.spool != nil {
		return f.spool.Close()
	}
	return nil
}

// Wake makes a waiting Run start a round now (ZMQ, websocket or a test).
func (f *Follower) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Transient reports whether err may go away by itself (node restarting or
// unreachable), so that Run retries rather than stops.
func (f *Follower) Transient(err error) bool {
	switch {
	case errors.Is(err, ErrUnreachable), errors.Is(err, ErrWarmingUp), errors.Is(err, ErrNodeStatus):
		return true
	case errors.Is(err, ErrAuth):
		// A cookie changes when the node restarts; a wrong password does not.
		return f.cfg.RPC != nil && f.cfg.RPC.cfg.CookieFile != ""
	case chainMoved(err):
		return true
	}
	return false
}

// chainMoved reports whether the node answered a block query as if its
// best chain changed since the round read its tip: a height past its tip
// or a block it no longer has, in the middle of a reorg (btcd: "Block
// number out of range"; bitcoind: RPC_INVALID_PARAMETER -8, or -5 for an
// unknown block). The next round starts from the node's new tip.
func chainMoved(err error) bool {
	var re *RPCError
	if !errors.As(err, &re) {
		return false
	}
	switch re.Method {
	case "getblockhash", "getblockheader", "getblock":
		return re.Code == -8 || re.Code == -5 || strings.Contains(strings.ToLower(re.Message), "out of range")
	}
	return false
}

// Run follows until ctx ends (then it returns nil) or a permanent error
// (wrong network, wrong password, a reorg deeper than ReorgDepth, a
// corrupt block). Transient errors are logged and retried with backoff
// from Poll doubling up to MaxBackoff.
func (f *Follower) Run(ctx context.Context) error {
	endpoint := f.cfg.ZMQ
	if endpoint == "auto" && f.cfg.RPC != nil {
		var err error
		if endpoint, err = f.cfg.RPC.DiscoverZMQ(ctx); err != nil || endpoint == "" {
			f.log.Info("the node publishes no block notifications over ZMQ; polling only", "err", err)
		}
	}
	if endpoint != "" && endpoint != "auto" {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			f.subscribe(ctx, endpoint)
		}()
	}
	backoff := time.Duration(0)
	for {
		err := f.SyncAll(ctx)
		wait := f.cfg.Poll
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			if backoff > 0 {
				f.log.Info("node reachable again")
			}
			backoff = 0
		case f.Transient(err):
			backoff = min(max(2*backoff, f.cfg.Poll), f.cfg.MaxBackoff)
			wait = backoff
			f.log.Warn("node not available; retrying", "err", err, "in", backoff)
			f.emit(Event{Kind: Unavailable, Err: err})
		default:
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-f.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// SyncAll runs rounds until the store has caught up with the node.
func (f *Follower) SyncAll(ctx context.Context) error {
	for {
		done, err := f.Sync(ctx)
		if err != nil || done {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Sync runs one round: in RPC mode it finds where the node's best chain
// leaves the indexed one, appends up to BatchBlocks of the node's blocks
// after that point to the spool, syncs it and ingests; in blocks-directory
// mode it ingests the directory. done is false while more blocks remain.
func (f *Follower) Sync(ctx context.Context) (done bool, err error) {
	if f.base < 0 {
		if err := f.remember(); err != nil {
			return false, err
		}
	}
	if f.cfg.RPC == nil {
		if err := f.ingest(ctx, f.cfg.BlocksDir); err != nil {
			return false, err
		}
		// The directory has no notion of a tip beyond what it holds.
		h, _ := f.cfg.Store.Tip()
		f.emit(Event{Kind: Lag, Height: h})
		return true, nil
	}
	rpc := f.cfg.RPC
	ci, err := rpc.ChainInfo(ctx)
	if err != nil {
		return false, err
	}
	if err := CheckNetwork(ci.Chain, f.cfg.Network); err != nil {
		return false, err
	}
	nodeTip, err := parseHash("getblockchaininfo bestblockhash", ci.BestBlockHash)
	if err != nil {
		return false, err
	}
	localH, localTip := f.cfg.Store.Tip()
	if nodeTip == localTip {
		f.emit(Event{Kind: Lag, Height: localH})
		return true, nil
	}
	fork, err := f.forkPoint(ctx, localH, ci.Blocks)
	if err != nil {
		return false, err
	}
	prev := btc.Hash{}
	if fork >= 0 {
		if prev, err = f.cfg.Store.HashAt(fork); err != nil {
			return false, fmt.Errorf("follow: %w", err)
		}
	}
	end := min(ci.Blocks, fork+f.cfg.BatchBlocks)
	appended := int64(0)
	for h := fork + 1; h <= end; h++ {
		hash, err := rpc.BlockHash(ctx, h)
		if err != nil {
			return false, err
		}
		blk, err := rpc.Block(ctx, hash)
		if err != nil {
			return false, err
		}
		if len(blk) < blockfile.HeaderSize || blockfile.HeaderHash(blk[:blockfile.HeaderSize]) != hash {
			return false, fmt.Errorf("%w: block %s at height %d: the node sent %d bytes that do not hash to it", ErrBadReply, hash, h, len(blk))
		}
		hdr, err := blockfile.ParseHeader(blk[:blockfile.HeaderSize])
		if err != nil {
			return false, fmt.Errorf("%w: block %s: %w", ErrBadReply, hash, err)
		}
		if h > 0 && hdr.Prev != prev {
			// The node reorganised while we fetched: ingest what links
			// and start the next round from the new fork.
			f.log.Info("node's chain changed during the fetch", "height", h)
			break
		}
		if err := f.spool.Append(blk); err != nil {
			return false, err
		}
		prev = hash
		appended++
	}
	if err := f.spool.Sync(); err != nil {
		return false, err
	}
	if err := f.ingest(ctx, f.spool.Dir()); err != nil {
		return false, err
	}
	newH, newTip := f.cfg.Store.Tip()
	f.emit(Event{Kind: Lag, Height: newH, Lag: ci.Blocks - newH})
	if newTip == nodeTip {
		f.warned = false
		return true, nil
	}
	if end == ci.Blocks && appended == end-fork {
		// Every block of the node's chain is in the spool, yet the index
		// kept its own: the node's chain has less work (invalidateblock).
		if !f.warned {
			f.log.Error("the node's best chain has less work than the indexed one; keeping the most-work chain",
				"node_tip", nodeTip, "node_height", ci.Blocks, "indexed_tip", newTip, "indexed_height", newH)
			f.warned = true
		}
		return true, nil
	}
	return false, nil
}

// forkPoint returns the highest height at which the node's best chain and
// the indexed one have the same block (-1 for none), looking back at most
// ReorgDepth blocks below the indexed tip.
func (f *Follower) forkPoint(ctx context.Context, localH, nodeH int64) (int64, error) {
	for h := min(localH, nodeH); h >= 0; h-- {
		nh, err := f.cfg.RPC.BlockHash(ctx, h)
		if err != nil {
			return 0, err
		}
		lh, err := f.cfg.Store.HashAt(h)
		if err != nil {
			return 0, fmt.Errorf("follow: %w", err)
		}
		if nh == lh {
			return h, nil
		}
		// The fork is below h: localH-h+1 indexed blocks would go.
		if localH-h >= f.cfg.ReorgDepth {
			return 0, fmt.Errorf("%w: the node's chain leaves the indexed one more than %d blocks below the indexed tip at height %d; raise --reorg-depth or re-ingest",
				ErrReorgTooDeep, f.cfg.ReorgDepth, localH)
		}
	}
	if localH >= 0 {
		return 0, fmt.Errorf("%w: the node's genesis block differs from the store's", ErrWrongNetwork)
	}
	return -1, nil
}

// ingest runs the store's ingest of dir and emits the blocks it
// disconnected and connected, found by comparing with recent.
func (f *Follower) ingest(ctx context.Context, dir string) error {
	oldH, oldTip := f.cfg.Store.Tip()
	if err := f.cfg.Store.Ingest(ctx, dir); err != nil {
		return err
	}
	newH, newTip := f.cfg.Store.Tip()
	if newTip == oldTip {
		return nil
	}
	// Walk down from the lower tip to where the remembered chain agrees.
	fork := min(oldH, newH)
	for ; fork >= f.base && fork >= 0; fork-- {
		h, err := f.cfg.Store.HashAt(fork)
		if err != nil {
			return fmt.Errorf("follow: %w", err)
		}
		if fork-f.base < int64(len(f.recent)) && h == f.recent[fork-f.base] {
			break
		}
	}
	for h := oldH; h > fork; h-- {
		if h-f.base < int64(len(f.recent)) && h >= f.base {
			f.emit(Event{Kind: BlockDisconnected, Height: h, Hash: f.recent[h-f.base]})
			f.log.Info("block disconnected", "height", h, "hash", f.recent[h-f.base])
		}
	}
	for h := fork + 1; h <= newH; h++ {
		hash, err := f.cfg.Store.HashAt(h)
		if err != nil {
			return fmt.Errorf("follow: %w", err)
		}
		f.emit(Event{Kind: BlockConnected, Height: h, Hash: hash})
		if h > newH-5 || (h-fork)%1000 == 0 {
			f.log.Info("block connected", "height", h, "hash", hash)
		}
	}
	return f.remember()
}

// remember reloads recent from the store: the hashes of the last
// ReorgDepth+1 best-chain blocks.
func (f *Follower) remember() error {
	tipH, _ := f.cfg.Store.Tip()
	f.base, f.recent = max(tipH-f.cfg.ReorgDepth, 0), f.recent[:0]
	for h := f.base; h <= tipH; h++ {
		hash, err := f.cfg.Store.HashAt(h)
		if err != nil {
			return fmt.Errorf("follow: %w", err)
		}
		f.recent = append(f.recent, hash)
	}
	return nil
}

func (f *Follower) emit(e Event) {
	if f.cfg.OnEvent != nil {
		f.cfg.OnEvent(e)
	}
}
