package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Options tune one export run.
type Options struct {
	// FromHeight re-exports from this height: rows at and above it are
	// deleted first. Negative (the default): only blocks after the
	// exported height, or after the fork when the index reorganised.
	FromHeight int64
	// BatchTxs is how many transactions one COPY batch (one PostgreSQL
	// transaction) holds at most, whole blocks only. Default 50,000.
	BatchTxs int
	// Progress, when set, is called after every batch and at the end.
	Progress func(Progress)
	// Logger, when set, gets a line per retry. Default: discard.
	Logger *slog.Logger
	// Retries is how many times a batch is tried again when the server
	// or the connection goes away (waiting 1, 2, 4… s). Default 3;
	// negative: none.
	Retries int
}

// Progress is how far a run has come.
type Progress struct {
	Phase   string // "chain" or "derived"
	Height  int64  // last height written
	From    int64  // first height of the run
	Tip     int64  // the index's tip
	Txs     uint64 // transactions written so far
	Rows    int64  // rows written so far, all tables
	Elapsed time.Duration
	Final   bool
}

// Summary is what a run wrote.
type Summary struct {
	From int64 `json:"from_height"` // first height written (From > To: no new block)
	To   int64 `json:"to_height"`
	// Deleted is the height from which stored rows were deleted and
	// written again (a reorg or --from-height), or -1.
	Deleted int64 `json:"deleted_from_height"`
	// Reorg is true when stored block hashes differed from the index's.
	Reorg bool `json:"reorg"`
	// Rows counts rows written (inserted or updated) per table;
	// RowsDeleted the rows deleted one by one (not those a whole
	// rewrite's TRUNCATE drops, nor a reorg's chain rows). Both count the
	// export's own record (export_digests, export_merge_sums) too.
	Rows        map[string]int64 `json:"rows"`
	RowsDeleted map[string]int64 `json:"rows_deleted"`
	// Derived says, for entities, labels and exposure, whether the run
	// wrote them incrementally or whole, and why whole.
	Derived map[string]string `json:"derived"`
	Txs     uint64            `json:"txs"`
	Notes   []string          `json:"notes,omitempty"` // stages the index has not run (no clustering, no exposure)
	Retries int               `json:"retries"`         // batches tried again after the server or connection went away
	Elapsed time.Duration     `json:"elapsed_ns"`
}

// TotalRows is the sum of Rows.
func (s *Summary) TotalRows() int64 {
	var n int64
	for _, r := range s.Rows {
		n += r
	}
	return n
}

// state is the export_state row.
type state struct {
	found            bool
	network          string
	height, derived  int64
	nextTx, nextAddr int64
	tipHash          string
	// What the last derived phase was made from (derived.go).
	clusterNextTx int64
	sourcesSum    uint64
	sums          [3]uint64 // by kind: labels, exposure
	digests       bool
}

func readState(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (state, error) {
	var s state
	var src, lab, exp int64
	err := q.QueryRow(ctx, `SELECT network, height, derived_height, next_tx, next_addr, tip_hash,
		cluster_next_tx, sources_sum, labels_sum, exposure_sum, digests FROM export_state`).
		Scan(&s.network, &s.height, &s.derived, &s.nextTx, &s.nextAddr, &s.tipHash,
			&s.clusterNextTx, &src, &lab, &exp, &s.digests)
	if errors.Is(err, pgx.ErrNoRows) {
		return state{height: -1, derived: -1, clusterNextTx: -1}, nil
	}
	s.sourcesSum, s.sums[kindLabels], s.sums[kindExposure] = uint64(src), uint64(lab), uint64(exp)
	s.found = err == nil
	return s, err
}

// ErrBusy is returned when another export holds the schema.
var ErrBusy = errors.New("export: another export is writing this schema")

// Export writes db's best chain (a read snapshot: pass an index.DB View
// when a writer may run) and its derived tables into the target. See the
// package documentation for what a run does and what a failure leaves.
func (t *Target) Export(ctx context.Context, db *index.DB, opts Options) (*Summary, error) {
	if opts.BatchTxs <= 0 {
		opts.BatchTxs = 50_000
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = 3
	case opts.Retries < 0:
		opts.Retries = 0
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	conn, err := t.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("export: PostgreSQL at %s: %w", t.where, err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, t.lockKey()^1).Scan(&got); err != nil {
		return nil, fmt.Errorf("export: PostgreSQL at %s: %w", t.where, err)
	}
	if !got {
		return nil, fmt.Errorf("%w (schema %s)", ErrBusy, t.schema)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, t.lockKey()^1)

	tip := db.Tip()
	if tip.Height < 0 {
		return nil, errors.New("export: the index holds no block (run sleuth ingest first)")
	}
	st, err := readState(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("export: read export_state: %w", err)
	}
	net := db.Network().Name
	if st.found && st.network != net {
		return nil, fmt.Errorf("export: schema %s holds a %s export; this index is %s (use another --schema)", t.schema, st.network, net)
	}
	if opts.FromHeight > tip.Height {
		return nil, fmt.Errorf("export: --from-height %d is above the index's tip %d", opts.FromHeight, tip.Height)
	}
	sum := &Summary{Deleted: -1, Rows: map[string]int64{}, RowsDeleted: map[string]int64{}, Derived: map[string]string{}}
	from := st.height + 1
	if st.found {
		fork, err := t.fork(ctx, conn, db, min(st.height, tip.Height))
		if err != nil {
			return nil, err
		}
		if fork <= st.height {
			from = fork
			sum.Reorg = fork <= min(st.height, tip.Height)
			if sum.Reorg {
				log.Info("export: the index reorganised below the exported tip", "fork", fork, "exported", st.height)
			}
		}
	}
	if opts.FromHeight >= 0 {
		from = min(from, opts.FromHeight)
	}
	if st.found && from <= st.height {
		sum.Deleted = from
	}
	sum.From, sum.To = from, tip.Height
	w := newWriter(t, db, sum, opts, start, tip)
	w.log = log
	if sum.Deleted >= 0 && st.digests {
		// The derived phase needs what the deleted rows touched.
		if w.stale, err = t.readStale(ctx, sum.Deleted); err != nil {
			return nil, err
		}
	}
	if from == 0 {
		if err := w.dropIndexes(ctx); err != nil {
			return nil, err
		}
	}
	if err := w.chain(ctx, from, st); err != nil {
		return nil, err
	}
	if err := w.buildIndexes(ctx); err != nil {
		return nil, err
	}
	if err := w.derived(ctx, st); err != nil {
		return nil, err
	}
	sum.Elapsed = time.Since(start)
	if opts.Progress != nil {
		opts.Progress(Progress{Phase: "derived", Height: tip.Height, From: from, Tip: tip.Height, Txs: sum.Txs, Rows: sum.TotalRows(), Elapsed: sum.Elapsed, Final: true})
	}
	return sum, nil
}

// fork returns the lowest height whose stored block hash differs from
// the index's best chain at or below h (h+1 when none differs).
func (t *Target) fork(ctx context.Context, conn *pgxpool.Conn, db *index.DB, h int64) (int64, error) {
	const window = 1000
	top := h
	for top >= 0 {
		rows, err := conn.Query(ctx, `SELECT height, hash FROM blocks WHERE height BETWEEN $1 AND $2 ORDER BY height DESC`, max(top-window+1, 0), top)
		if err != nil {
			return 0, fmt.Errorf("export: read stored block hashes: %w", err)
		}
		var height int64
		var hash string
		want := top
		match := int64(-1)
		_, err = pgx.ForEachRow(rows, []any{&height, &hash}, func() error {
			if match >= 0 {
				return nil
			}
			if height != want {
				return fmt.Errorf("export: stored blocks skip height %d", want)
			}
			want--
			b, err := db.ChainBlock(btc.Height(height))
			if err != nil {
				return err
			}
			if b.Hash.String() == hash {
				match = height
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if match >= 0 {
			return match + 1, nil
		}
		top -= window
	}
	return 0, nil
}

// writer holds the COPY buffers of one run.
type writer struct {
	t     *Target
	db    *index.DB
	sum   *Summary
	opts  Options
	start time.Time
	tip   index.Tip
	log   *slog.Logger
	stale stale // what the chain phase deletes, read before it does

	blocks, txs, outs, ins, addrs, spends *table
}

func newWriter(t *Target, db *index.DB, sum *Summary, opts Options, start time.Time, tip index.Tip) *writer {
	return &writer{t: t, db: db, sum: sum, opts: opts, start: start, tip: tip, stale: stale{fromTx: -1},
		blocks: newTable("blocks", "height, hash, time, first_tx, n_tx, first_addr"),
		txs:    newTable("transactions", "tx, txid, height, version, locktime, n_in, n_out, coinbase, fee"),
		outs:   newTable("outputs", "tx, n, value, type, address_id, spent_tx, spent_vin"),
		ins:    newTable("inputs", "tx, vin, prev_tx, prev_vout, value, address_id"),
		addrs:  newTable("addresses", "address_id, address, type, first_height"),
		spends: newTable("spends", "prev_tx, prev_vout, tx, vin"),
	}
}

// chain writes the blocks [from, tip] in batches of whole blocks, each in
// one PostgreSQL transaction with export_state (E2, E3).
func (w *writer) chain(ctx context.Context, from int64, st state) error {
	deleteFirst := st.found && from <= st.height
	if from > w.tip.Height {
		if !deleteFirst {
			return nil
		}
		// The index ends below the export (a store rebuilt shorter): only
		// delete.
		return w.inTx(ctx, nil, func(tx pgx.Tx) error {
			if err := deleteFrom(ctx, tx, from); err != nil {
				return err
			}
			if err := forgetMerges(ctx, tx); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE export_state SET height = $1, tip_hash = $2, next_tx = $3, next_addr = $4, updated = now()`,
				w.tip.Height, w.tip.Hash.String(), int64(w.tip.NextTx), int64(w.tip.NextAddr))
			return err
		})
	}
	b0, err := w.db.ChainBlock(btc.Height(from))
	if err != nil {
		return fmt.Errorf("export: block %d: %w", from, err)
	}
	runFirstTx := b0.FirstTx
	for h := from; h <= w.tip.Height; {
		if err := ctx.Err(); err != nil {
			return err
		}
		bs, err := w.batchBlocks(h)
		if err != nil {
			return err
		}
		if err := w.fill(ctx, bs, runFirstTx); err != nil {
			return err
		}
		last := bs[len(bs)-1]
		nextTx, nextAddr := w.tip.NextTx, w.tip.NextAddr
		if int64(last.Height) < w.tip.Height {
			nb, err := w.db.ChainBlock(last.Height + 1)
			if err != nil {
				return fmt.Errorf("export: block %d: %w", last.Height+1, err)
			}
			nextTx, nextAddr = nb.FirstTx, nb.FirstAddr
		}
		committed := func(ctx context.Context) (bool, error) {
			s, err := readState(ctx, w.t.pool)
			return s.found && s.height == int64(last.Height) && s.tipHash == last.Hash.String(), err
		}
		err = w.inTx(ctx, committed, func(tx pgx.Tx) error {
			if deleteFirst {
				if err := deleteFrom(ctx, tx, h); err != nil {
					return err
				}
				if err := forgetMerges(ctx, tx); err != nil {
					return err
				}
			}
			for _, tb := range []*table{w.blocks, w.txs, w.outs, w.ins, w.addrs} {
				if err := tb.copyIn(ctx, tx); err != nil {
					return err
				}
			}
			if w.spends.rows > 0 {
				if _, err := tx.Exec(ctx, `CREATE TEMP TABLE spends (prev_tx bigint, prev_vout integer, tx bigint, vin integer) ON COMMIT DROP`); err != nil {
					return err
				}
				if err := w.spends.copyIn(ctx, tx); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE outputs o SET spent_tx = s.tx, spent_vin = s.vin FROM spends s
					WHERE o.tx = s.prev_tx AND o.n = s.prev_vout`); err != nil {
					return fmt.Errorf("mark spent outputs: %w", err)
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO export_state (network, height, tip_hash, next_tx, next_addr, derived_height, updated)
				VALUES ($1, $2, $3, $4, $5, -1, now())
				ON CONFLICT (id) DO UPDATE SET height = $2, tip_hash = $3, next_tx = $4, next_addr = $5, updated = now()`,
				w.db.Network().Name, int64(last.Height), last.Hash.String(), int64(nextTx), int64(nextAddr))
			return err
		})
		if err != nil {
			return fmt.Errorf("export: PostgreSQL at %s: heights %d-%d: %w", w.t.where, h, last.Height, err)
		}
		deleteFirst = false
		for _, tb := range []*table{w.blocks, w.txs, w.outs, w.ins, w.addrs} {
			w.sum.Rows[tb.name] += tb.rows
		}
		w.sum.Txs += uint64(w.txs.rows)
		if w.opts.Progress != nil {
			w.opts.Progress(Progress{Phase: "chain", Height: int64(last.Height), From: from, Tip: w.tip.Height, Txs: w.sum.Txs,
				Rows: w.sum.TotalRows(), Elapsed: time.Since(w.start)})
		}
		h = int64(last.Height) + 1
	}
	return nil
}

// deleteFrom removes the rows of heights h and above, and the spends
// they recorded on older outputs.
func deleteFrom(ctx context.Context, tx pgx.Tx, h int64) error {
	var firstTx, firstAddr int64
	if err := tx.QueryRow(ctx, `SELECT first_tx, first_addr FROM blocks WHERE height = $1`, h).Scan(&firstTx, &firstAddr); err != nil {
		return fmt.Errorf("stored block %d: %w", h, err)
	}
	for _, q := range []string{
		`UPDATE outputs o SET spent_tx = NULL, spent_vin = NULL FROM inputs i
			WHERE i.tx >= $1 AND i.prev_tx < $1 AND o.tx = i.prev_tx AND o.n = i.prev_vout`,
		`DELETE FROM inputs WHERE tx >= $1`,
		`DELETE FROM outputs WHERE tx >= $1`,
		`DELETE FROM transactions WHERE tx >= $1`,
	} {
		if _, err := tx.Exec(ctx, q, firstTx); err != nil {
			return fmt.Errorf("delete from height %d: %w", h, err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM blocks WHERE height >= $1`, h); err != nil {
		return fmt.Errorf("delete from height %d: %w", h, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM addresses WHERE address_id >= $1`, firstAddr); err != nil {
		return fmt.Errorf("delete from height %d: %w", h, err)
	}
	return nil
}

// forgetMerges marks the clustering position unknown, in the batch that
// deletes chain rows: the addresses of the deleted rows, which the
// derived phase needs to export entities incrementally, are gone once it
// commits, so a run that stops before its derived phase leaves the next
// one to rewrite entities whole.
func forgetMerges(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `UPDATE export_state SET cluster_next_tx = -1`)
	return err
}

// batchBlocks returns the blocks from height h holding at most BatchTxs
// transactions (at least one block).
func (w *writer) batchBlocks(h int64) ([]index.ChainBlock, error) {
	var bs []index.ChainBlock
	var n uint64
	for ; h <= w.tip.Height; h++ {
		b, err := w.db.ChainBlock(btc.Height(h))
		if err != nil {
			return nil, fmt.Errorf("export: block %d: %w", h, err)
		}
		if len(bs) > 0 && n+b.NTx > uint64(w.opts.BatchTxs) {
			break
		}
		bs = append(bs, b)
		n += b.NTx
	}
	return bs, nil
}

// fill reads the blocks bs from the index into the COPY buffers. Outputs
// get their spend from the index (the snapshot holds every spend up to its
// tip); inputs spending outputs exported by an earlier run (below
// runFirstTx) go to spends, to mark those outputs spent.
func (w *writer) fill(ctx context.Context, bs []index.ChainBlock, runFirstTx btc.TxNum) error {
	for _, tb := range []*table{w.blocks, w.txs, w.outs, w.ins, w.addrs, w.spends} {
		tb.reset()
	}
	for i, b := range bs {
		w.blocks.int(int64(b.Height)).hash(&b.Hash).time(int64(b.Time)).uint(uint64(b.FirstTx)).uint(b.NTx).uint(uint64(b.FirstAddr)).end()
		end := w.tip.NextAddr
		if i+1 < len(bs) {
			end = bs[i+1].FirstAddr
		} else if int64(b.Height) < w.tip.Height {
			nb, err := w.db.ChainBlock(b.Height + 1)
			if err != nil {
				return err
			}
			end = nb.FirstAddr
		}
		for id := b.FirstAddr; id < end; id++ {
			s, typ, err := w.db.AddrString(id)
			if err != nil {
				return fmt.Errorf("export: address %d: %w", id, err)
			}
			w.addrs.uint(uint64(id))
			if s == "" {
				w.addrs.null()
			} else {
				w.addrs.text(s)
			}
			w.addrs.int(int64(typ)).int(int64(b.Height)).end()
		}
	}
	first, last := bs[0], bs[len(bs)-1]
	return w.db.ScanTxs(ctx, first.FirstTx, last.FirstTx+btc.TxNum(last.NTx), func(tx *coinjoin.Tx) error {
		return w.tx(tx, runFirstTx)
	})
}

func (w *writer) tx(tx *coinjoin.Tx, runFirstTx btc.TxNum) error {
	txid, err := w.db.TxID(tx.Num)
	if err != nil {
		return fmt.Errorf("export: tx %d: %w", tx.Num, err)
	}
	coinbase := len(tx.Ins) > 0 && tx.Ins[0].Coinbase
	var in, out int64
	known := !coinbase
	for vin := range tx.Ins {
		x := &tx.Ins[vin]
		w.ins.uint(uint64(tx.Num)).int(int64(vin))
		if x.Coinbase || !x.Resolved {
			w.ins.null().null()
		} else {
			w.ins.uint(uint64(x.Prev.Tx())).uint(uint64(x.Prev.Vout()))
			if x.Prev.Tx() < runFirstTx {
				w.spends.uint(uint64(x.Prev.Tx())).uint(uint64(x.Prev.Vout())).uint(uint64(tx.Num)).int(int64(vin)).end()
			}
		}
		if x.Value == btc.UnknownAmount || x.Coinbase {
			w.ins.null()
			known = false
		} else {
			w.ins.int(int64(x.Value))
			in += int64(x.Value)
		}
		addr(w.ins, x.Addr).end()
	}
	for n := range tx.Outs {
		o := &tx.Outs[n]
		out += int64(o.Value)
		w.outs.uint(uint64(tx.Num)).int(int64(n)).int(int64(o.Value)).int(int64(o.Type))
		addr(w.outs, o.Addr)
		by, spent, err := w.db.SpentBy(btc.MakeOutRef(tx.Num, uint32(n)))
		if err != nil {
			return fmt.Errorf("export: spend of %d:%d: %w", tx.Num, n, err)
		}
		if spent {
			w.outs.uint(uint64(by.Tx())).uint(uint64(by.Vin()))
		} else {
			w.outs.null().null()
		}
		w.outs.end()
	}
	w.txs.uint(uint64(tx.Num)).hash(&txid).int(int64(tx.Height)).uint(uint64(tx.Version)).uint(uint64(tx.LockTime)).
		int(int64(len(tx.Ins))).int(int64(len(tx.Outs))).bool(coinbase)
	if known {
		w.txs.int(in - out)
	} else {
		w.txs.null()
	}
	w.txs.end()
	return nil
}

func addr(t *table, a btc.AddrID) *table {
	if a == btc.NoAddr {
		return t.null()
	}
	return t.uint(uint64(a))
}
