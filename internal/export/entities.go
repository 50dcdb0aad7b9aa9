package export

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
)

// sumBlocks is how many of the clustered chain's last blocks the export
// records the merge log's checksum at (export_merge_sums): a reorg whose
// fork is among them exports entities incrementally, a deeper one whole.
const sumBlocks = 100

// logSum is the merges logged below a bound and an order-independent
// checksum of them (transaction and both addresses).
type logSum struct{ merges, sum uint64 }

func (s *logSum) add(m *cluster.Merge) {
	s.merges++
	s.sum += mix(uint64(m.Tx), uint64(m.A)<<32|uint64(m.B))
}

// stale is what a run that deletes chain rows read from them first: the
// addresses the deleted transactions paid or spent from, and the members
// of entities with ids the deleted blocks gave out. Merges of those
// transactions leave the log (a reorg) and may split entities; these
// addresses are where.
type stale struct {
	fromTx int64 // first deleted transaction; -1: nothing deleted
	addrs  []btc.AddrID
}

// readStale reads the stale addresses of the rows at and above height h,
// before the chain phase deletes them.
func (t *Target) readStale(ctx context.Context, h int64) (stale, error) {
	s := stale{fromTx: -1}
	var firstAddr int64
	if err := t.pool.QueryRow(ctx, `SELECT first_tx, first_addr FROM blocks WHERE height = $1`, h).Scan(&s.fromTx, &firstAddr); err != nil {
		return s, fmt.Errorf("export: stored block %d: %w", h, err)
	}
	rows, err := t.pool.Query(ctx, `SELECT address_id FROM inputs WHERE tx >= $1 AND address_id IS NOT NULL
		UNION SELECT address_id FROM outputs WHERE tx >= $1 AND address_id IS NOT NULL
		UNION SELECT address_id FROM entity_members WHERE address_id >= $2`, s.fromTx, firstAddr)
	if err != nil {
		return s, fmt.Errorf("export: addresses of the rows from height %d: %w", h, err)
	}
	var a int64
	_, err = pgx.ForEachRow(rows, []any{&a}, func() error {
		s.addrs = append(s.addrs, btc.AddrID(a))
		return nil
	})
	return s, err
}

// entityPlan is what the entities part of a run writes: whole (every
// multi-address entity of the forest) or the entities of the dirty
// addresses, whose merges the log gained or lost since the last export.
type entityPlan struct {
	f       *cluster.Forest // nil: not clustered
	whole   bool
	addOnly bool         // no merge left the log: old entities only grow
	dirty   []btc.AddrID // sorted, unique
	sums    map[btc.TxNum]logSum
	nextTx  int64 // the cluster position to record (-1: unknown)
}

func (p *entityPlan) close() {
	if p.f != nil {
		p.f.Close()
	}
}

// planEntities loads the forest and decides how the entities part is
// written: incrementally when the merge log below the last export's cut
// (its clustering position, or the first deleted transaction when this
// run deleted rows under it) is unchanged, with the merges at and above
// the cut (and the stale addresses) naming the dirty addresses; whole
// otherwise.
func (w *writer) planEntities(ctx context.Context, st state) (*entityPlan, error) {
	p := &entityPlan{nextTx: -1, sums: map[btc.TxNum]logSum{}}
	pos, err := cluster.ReadPosition(w.db)
	if errors.Is(err, cluster.ErrNotClustered) {
		w.sum.Notes = append(w.sum.Notes, "the index is not clustered: entities and entity_members are empty (run sleuth cluster)")
		p.whole = true
		w.sum.Derived["entities"] = "whole: not clustered"
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("export: clustering: %w", err)
	}
	if p.f, err = cluster.Load(ctx, w.db); err != nil {
		return nil, fmt.Errorf("export: entities: %w", err)
	}
	// The position to record, and the block boundaries to sum at.
	var bounds []btc.TxNum
	onBest := pos.Height < 0
	if pos.Height >= 0 && pos.Height <= w.tip.Height {
		b, err := w.db.ChainBlock(btc.Height(pos.Height))
		if err != nil {
			return nil, fmt.Errorf("export: block %d: %w", pos.Height, err)
		}
		onBest = b.Hash == pos.Tip
	}
	if onBest {
		p.nextTx = int64(pos.NextTx)
		bounds = append(bounds, pos.NextTx)
		for h := max(0, pos.Height-sumBlocks+1); h <= pos.Height; h++ {
			b, err := w.db.ChainBlock(btc.Height(h))
			if err != nil {
				return nil, fmt.Errorf("export: block %d: %w", h, err)
			}
			bounds = append(bounds, b.FirstTx)
		}
	}
	// The cut, and why the part is written whole when it is.
	cut := st.clusterNextTx
	if w.stale.fromTx >= 0 && (cut < 0 || w.stale.fromTx < cut) {
		cut = w.stale.fromTx
	}
	var stored logSum
	var storedMerges, storedSum int64
	why := ""
	switch {
	case !st.digests || st.clusterNextTx < 0:
		why = "the export holds no record of the merge log it was made from"
	case !onBest:
		why = "the clustering is not on the index's best chain (run sleuth cluster)"
	case btc.TxNum(cut) > pos.NextTx:
		why = "the clustering is behind the last export (rebuilt?)"
	default:
		err := w.t.pool.QueryRow(ctx, `SELECT merges, sum FROM export_merge_sums WHERE next_tx = $1`, cut).Scan(&storedMerges, &storedSum)
		stored = logSum{uint64(storedMerges), uint64(storedSum)}
		if errors.Is(err, pgx.ErrNoRows) {
			why = fmt.Sprintf("the reorg is deeper than the %d blocks the last export recorded", sumBlocks)
		} else if err != nil {
			return nil, fmt.Errorf("export: read export_merge_sums: %w", err)
		}
	}
	if why == "" {
		bounds = append(bounds, btc.TxNum(cut))
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	var run logSum
	i := 0
	err = cluster.Merges(ctx, w.db, func(m *cluster.Merge) error {
		for ; i < len(bounds) && bounds[i] <= m.Tx; i++ {
			p.sums[bounds[i]] = run
		}
		run.add(m)
		if why == "" && m.Tx >= btc.TxNum(cut) {
			p.dirty = append(p.dirty, m.A, m.B)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export: merge log: %w", err)
	}
	for ; i < len(bounds); i++ {
		p.sums[bounds[i]] = run
	}
	if why == "" && p.sums[btc.TxNum(cut)] != stored {
		why = "the merge log below the last export changed (a rebuild or an investigator's decision)"
	}
	if why != "" {
		p.whole, p.dirty = true, nil
		w.sum.Derived["entities"] = "whole: " + why
		return p, nil
	}
	p.addOnly = w.stale.fromTx < 0 || w.stale.fromTx >= st.clusterNextTx
	if !p.addOnly {
		p.dirty = append(p.dirty, w.stale.addrs...)
	}
	slices.Sort(p.dirty)
	p.dirty = slices.Compact(p.dirty)
	w.sum.Derived["entities"] = fmt.Sprintf("incremental: %d addresses in merges since the last export", len(p.dirty))
	return p, nil
}

// root returns a's entity under the forest and its size; size 0 for an
// address the forest does not hold (a stale id).
func (p *entityPlan) root(a btc.AddrID) (uint32, uint32) {
	if int(a) >= p.f.Len() {
		return 0, 0
	}
	r := p.f.Find(uint32(a))
	return r, p.f.Size(r)
}

// write writes the entities part in tx.
func (p *entityPlan) write(ctx context.Context, tx pgx.Tx, counts map[string][2]int64) error {
	sums := newTable("export_merge_sums", "next_tx, merges, sum")
	for b, s := range p.sums {
		sums.uint(uint64(b)).uint(s.merges).int(int64(s.sum)).end()
	}
	if _, err := tx.Exec(ctx, `DELETE FROM export_merge_sums`); err != nil {
		return err
	}
	if err := sums.copyIn(ctx, tx); err != nil {
		return err
	}
	add(counts, sums.name, sums.rows, 0)
	if p.whole {
		return p.writeWhole(ctx, tx, counts)
	}
	return p.writeDirty(ctx, tx, counts)
}

func (p *entityPlan) writeWhole(ctx context.Context, tx pgx.Tx, counts map[string][2]int64) error {
	ents := newTable("entities", "entity_id, size")
	members := newTable("entity_members", "address_id, entity_id")
	if p.f != nil {
		for x := range uint32(p.f.Len()) {
			r := p.f.Find(x)
			size := p.f.Size(r)
			if size < 2 {
				continue
			}
			if r == x {
				ents.uint(uint64(r)).uint(uint64(size)).end()
			}
			members.uint(uint64(x)).uint(uint64(r)).end()
		}
	}
	for _, t := range []*table{ents, members} {
		if err := replace(ctx, tx, t, counts); err != nil {
			return err
		}
	}
	return nil
}

// writeDirty writes the entities of the dirty addresses. Their old
// entities come from entity_members; when merges only joined (addOnly),
// an old entity moves whole into its new one (one UPDATE by entity id,
// nothing read per member); when merges left the log, an old entity's
// members are read and each takes its entity under the new forest (or
// none, for a stale id or a singleton).
func (p *entityPlan) writeDirty(ctx context.Context, tx pgx.Tx, counts map[string][2]int64) error {
	if len(p.dirty) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE dirty (address_id bigint PRIMARY KEY) ON COMMIT DROP;
		CREATE TEMP TABLE member_ch (address_id bigint, entity_id bigint) ON COMMIT DROP;
		CREATE TEMP TABLE moves (old_id bigint, entity_id bigint) ON COMMIT DROP;
		CREATE TEMP TABLE entity_ch (entity_id bigint, size bigint) ON COMMIT DROP`); err != nil {
		return err
	}
	dirty := newTable("dirty", "address_id")
	for _, a := range p.dirty {
		dirty.uint(uint64(a)).end()
	}
	if err := dirty.copyIn(ctx, tx); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT d.address_id, m.entity_id FROM dirty d LEFT JOIN entity_members m USING (address_id)`)
	if err != nil {
		return err
	}
	var a int64
	var e *int64
	var singles []btc.AddrID
	olds := map[int64]bool{}
	if _, err := pgx.ForEachRow(rows, []any{&a, &e}, func() error {
		if e == nil {
			singles = append(singles, btc.AddrID(a))
		} else {
			olds[*e] = true
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read the dirty addresses' entities: %w", err)
	}

	members := newTable("entity_members", "address_id, entity_id")
	changes := newTable("member_ch", "address_id, entity_id") // entity null: the row goes
	ents := newTable("entity_ch", "entity_id, size")          // size null: the entity goes
	entity := map[int64]bool{}
	for _, d := range singles {
		if r, size := p.root(d); size >= 2 {
			members.uint(uint64(d)).uint(uint64(r)).end()
			entity[int64(r)] = true
		}
	}
	if p.addOnly {
		// An old entity moves whole into its new root.
		moves := newTable("moves", "old_id, entity_id")
		for o := range olds {
			r, _ := p.root(btc.AddrID(o))
			if int64(r) != o {
				moves.int(o).uint(uint64(r)).end()
			}
			entity[int64(r)] = true
		}
		if err := moves.copyIn(ctx, tx); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE entity_members m SET entity_id = c.entity_id FROM moves c WHERE m.entity_id = c.old_id`)
		if err != nil {
			return err
		}
		add(counts, "entity_members", tag.RowsAffected(), 0)
	} else {
		ids := make([]int64, 0, len(olds))
		for o := range olds {
			ids = append(ids, o)
			entity[o] = true
		}
		rows, err := tx.Query(ctx, `SELECT address_id, entity_id FROM entity_members WHERE entity_id = ANY($1)`, ids)
		if err != nil {
			return err
		}
		var x, o int64
		if _, err := pgx.ForEachRow(rows, []any{&x, &o}, func() error {
			r, size := p.root(btc.AddrID(x))
			switch {
			case size < 2:
				changes.int(x).null().end()
			case int64(r) != o:
				changes.int(x).uint(uint64(r)).end()
				entity[int64(r)] = true
			}
			return nil
		}); err != nil {
			return fmt.Errorf("read the old entities' members: %w", err)
		}
		if err := applyChanges(ctx, tx, changes, "entity_members", counts,
			`DELETE FROM entity_members m USING member_ch c WHERE m.address_id = c.address_id AND c.entity_id IS NULL`,
			`UPDATE entity_members m SET entity_id = c.entity_id FROM member_ch c WHERE m.address_id = c.address_id AND c.entity_id IS NOT NULL`); err != nil {
			return err
		}
	}
	if err := members.copyIn(ctx, tx); err != nil {
		return err
	}
	add(counts, "entity_members", members.rows, 0)

	// Entities: every id touched is a root of two or more (upserted) or
	// not (deleted).
	for id := range entity {
		ents.int(id)
		if r, size := p.root(btc.AddrID(id)); int64(r) == id && size >= 2 {
			ents.uint(uint64(size)).end()
		} else {
			ents.null().end()
		}
	}
	for o := range olds {
		if !entity[o] {
			ents.int(o).null().end()
		}
	}
	return applyChanges(ctx, tx, ents, "entities", counts,
		`DELETE FROM entities e USING entity_ch c WHERE e.entity_id = c.entity_id AND c.size IS NULL`,
		`INSERT INTO entities (entity_id, size) SELECT entity_id, size FROM entity_ch WHERE size IS NOT NULL
		ON CONFLICT (entity_id) DO UPDATE SET size = EXCLUDED.size WHERE entities.size <> EXCLUDED.size`)
}

// applyChanges copies the changes ch (a key and its new value; a null
// value: the row goes) into their temporary table and applies them to
// table target: del deletes, write inserts or updates (only rows that
// differ). Both are counted.
func applyChanges(ctx context.Context, tx pgx.Tx, ch *table, target string, counts map[string][2]int64, del, write string) error {
	if err := ch.copyIn(ctx, tx); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, del)
	if err != nil {
		return err
	}
	add(counts, target, 0, tag.RowsAffected())
	if tag, err = tx.Exec(ctx, write); err != nil {
		return err
	}
	add(counts, target, tag.RowsAffected(), 0)
	return nil
}
