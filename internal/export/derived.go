package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// derived replaces the tables that change globally (entities, labels,
// exposure) in one PostgreSQL transaction (E4): readers see the old rows
// or the new, never a mix.
func (w *writer) derived(ctx context.Context) error {
	ents := newTable("entities", "entity_id, size")
	members := newTable("entity_members", "address_id, entity_id")
	srcs := newTable("label_sources", "source_id, kind, name, file, sha256, imported")
	labels := newTable("labels", "address_id, address, source_id, list, label, category, abuse, actor, confidence, cluster_definer, listed_from, listed_to")
	expo := newTable("exposure", "address_id, category, direction, indirect, sats, min_hops, source_address_id, source_tx")

	f, err := cluster.Load(ctx, w.db)
	switch {
	case errors.Is(err, cluster.ErrNotClustered):
		w.sum.Notes = append(w.sum.Notes, "the index is not clustered: entities and entity_members are empty (run sleuth cluster)")
	case err != nil:
		return fmt.Errorf("export: entities: %w", err)
	default:
		n := uint32(f.Len())
		for x := range n {
			r := f.Find(x)
			size := f.Size(r)
			if size < 2 {
				continue
			}
			if r == x {
				ents.uint(uint64(r)).uint(uint64(size)).end()
			}
			members.uint(uint64(x)).uint(uint64(r)).end()
		}
	}

	sources, err := label.Sources(ctx, w.db)
	if err != nil {
		return fmt.Errorf("export: label sources: %w", err)
	}
	byName := map[string]int64{}
	for _, s := range sources {
		srcs.uint(uint64(s.ID)).text(s.Kind).text(s.Name).text(s.File).text(s.Digest).time(s.Imported.Unix()).end()
		if _, dup := byName[s.Name]; dup {
			byName[s.Name] = -1
		} else {
			byName[s.Name] = int64(s.ID)
		}
	}
	err = label.EachLabelled(ctx, w.db, func(a btc.AddrID, _ uint64, vs []label.View) error {
		for i := range vs {
			v := &vs[i]
			labels.uint(uint64(a)).text(v.Address)
			if id, ok := byName[v.List]; ok && id >= 0 {
				labels.int(id)
			} else {
				labels.null()
			}
			labels.text(v.List).text(v.Label).text(v.Category).text(v.Abuse).text(v.Actor).int(int64(v.Confidence)).bool(v.ClusterDefiner)
			dateOrNull(labels, v.ListedFrom)
			dateOrNull(labels, v.ListedTo)
			labels.end()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export: labels: %w", err)
	}

	err = risk.EachAggregate(ctx, w.db, func(a btc.AddrID, rows []risk.Flow) error {
		for i := range rows {
			r := &rows[i]
			expo.uint(uint64(a)).text(r.Category.String()).text(r.Direction.String()).bool(r.Indirect).uint(r.Sats).int(int64(r.MinHops))
			addr(expo, r.Source)
			expo.uint(uint64(r.SourceTx)).end()
		}
		return nil
	})
	switch {
	case errors.Is(err, risk.ErrNotComputed):
		w.sum.Notes = append(w.sum.Notes, "exposure was never computed: the exposure table is empty (run sleuth risk update)")
	case err != nil:
		return fmt.Errorf("export: exposure: %w", err)
	}

	tables := []*table{ents, members, srcs, labels, expo}
	err = w.inTx(ctx, nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE entities, entity_members, label_sources, labels, exposure`); err != nil {
			return err
		}
		for _, tb := range tables {
			if err := tb.copyIn(ctx, tx); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE export_state SET derived_height = height, updated = now()`)
		return err
	})
	if err != nil {
		return fmt.Errorf("export: PostgreSQL at %s: entities, labels, exposure: %w", w.t.where, err)
	}
	for _, tb := range tables {
		w.sum.Rows[tb.name] += tb.rows
	}
	if w.opts.Progress != nil {
		w.opts.Progress(Progress{Phase: "derived", Height: w.tip.Height, Tip: w.tip.Height, Txs: w.sum.Txs, Rows: w.sum.TotalRows(), Elapsed: time.Since(w.start)})
	}
	return nil
}

// dateOrNull writes a label view's date (YYYY-MM-DD), or null.
func dateOrNull(t *table, s *string) {
	if s == nil {
		t.null()
		return
	}
	t.text(*s)
}
