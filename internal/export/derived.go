package export

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// derived brings the tables that change globally (entities, labels,
// exposure) to what the snapshot holds, in one PostgreSQL transaction
// (E4): readers see the old rows or the new, never a mix. Each part is
// written incrementally when the last run's record (export_state,
// export_merge_sums, export_digests) says what changed since, and whole
// otherwise; Summary.Derived says which and why (E7).
func (w *writer) derived(ctx context.Context, st state) error {
	ents, err := w.planEntities(ctx, st)
	if err != nil {
		return err
	}
	defer ents.close()
	labels, sources, err := w.labelRows(ctx)
	if err != nil {
		return err
	}
	expo, err := w.exposureRows(ctx)
	if err != nil {
		return err
	}
	whole := !st.digests
	for _, p := range []struct {
		name string
		rs   *addrRows
	}{{"labels", labels}, {"exposure", expo}} {
		switch {
		case whole:
			w.sum.Derived[p.name] = "whole: the export holds no record of the rows it wrote last"
		case p.rs.sum == st.sums[p.rs.kind]:
			w.sum.Derived[p.name] = "incremental: unchanged"
		default:
			w.sum.Derived[p.name] = "incremental"
		}
	}

	var counts map[string][2]int64
	err = w.inTx(ctx, nil, func(tx pgx.Tx) error {
		counts = map[string][2]int64{}
		if err := ents.write(ctx, tx, counts); err != nil {
			return fmt.Errorf("entities: %w", err)
		}
		if st.sourcesSum != sources.sum || whole {
			if err := replace(ctx, tx, sources.t, counts); err != nil {
				return err
			}
		}
		for _, rs := range []*addrRows{labels, expo} {
			if err := rs.write(ctx, tx, whole, st.sums[rs.kind], counts); err != nil {
				return fmt.Errorf("%s: %w", rs.t.name, err)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE export_state SET derived_height = height, cluster_next_tx = $1, sources_sum = $2,
			labels_sum = $3, exposure_sum = $4, digests = true, updated = now()`,
			ents.nextTx, int64(sources.sum), int64(labels.sum), int64(expo.sum))
		return err
	})
	if err != nil {
		return fmt.Errorf("export: PostgreSQL at %s: entities, labels, exposure: %w", w.t.where, err)
	}
	for tb, c := range counts {
		w.sum.Rows[tb] += c[0]
		if c[1] > 0 {
			w.sum.RowsDeleted[tb] += c[1]
		}
	}
	if w.opts.Progress != nil {
		w.opts.Progress(Progress{Phase: "derived", Height: w.tip.Height, Tip: w.tip.Height, Txs: w.sum.Txs, Rows: w.sum.TotalRows(), Elapsed: time.Since(w.start)})
	}
	return nil
}

// replace empties t's table (TRUNCATE: the rows it drops are not
// counted) and copies t's rows into it.
func replace(ctx context.Context, tx pgx.Tx, t *table, counts map[string][2]int64) error {
	if _, err := tx.Exec(ctx, `TRUNCATE `+t.name); err != nil {
		return err
	}
	if err := t.copyIn(ctx, tx); err != nil {
		return err
	}
	add(counts, t.name, t.rows, 0)
	return nil
}

// add counts rows written (inserted or updated) and deleted in a table.
func add(counts map[string][2]int64, name string, written, deleted int64) {
	c := counts[name]
	c[0] += written
	c[1] += deleted
	counts[name] = c
}

// Kinds of export_digests rows.
const (
	kindLabels   = 1
	kindExposure = 2
)

// addrRows is the rows of a table keyed by address (labels, exposure)
// with a checksum of each address's rows, so that a run can write only
// the addresses whose rows changed.
type addrRows struct {
	t     *table
	kind  int
	spans []span
	sum   uint64 // order-independent checksum of (address, digest) over spans
	// key and vals, for a table with a primary key (exposure): a changed
	// address's rows are merged by key (only the rows that differ are
	// written). Without (labels), its rows are deleted and written again.
	key, vals []string
}

// span is one address's rows in t.buf.
type span struct {
	addr       btc.AddrID
	start, end int
	rows       int64
	digest     uint64
}

// begin starts address a's rows.
func (rs *addrRows) begin(a btc.AddrID) {
	rs.spans = append(rs.spans, span{addr: a, start: len(rs.t.buf), rows: rs.t.rows})
}

// finish ends the rows begun last.
func (rs *addrRows) finish() {
	s := &rs.spans[len(rs.spans)-1]
	s.end, s.rows = len(rs.t.buf), rs.t.rows-s.rows
	h := fnv.New64a()
	h.Write(rs.t.buf[s.start:s.end])
	s.digest = h.Sum64()
	rs.sum += mix(uint64(s.addr), s.digest)
}

// mix hashes a pair into 64 bits (splitmix64's finaliser), so that a sum
// of mixes is an order-independent checksum of a set of pairs.
func mix(a, b uint64) uint64 {
	x := a*0x9e3779b97f4a7c15 ^ b ^ 0x632be59bd9b4e019
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// write brings the table to rs: whole (empty it and copy every row), or
// only the addresses whose digest differs from export_digests'.
func (rs *addrRows) write(ctx context.Context, tx pgx.Tx, whole bool, storedSum uint64, counts map[string][2]int64) error {
	digests := newTable("export_digests", "tbl, address_id, digest")
	if whole {
		tag, err := tx.Exec(ctx, `DELETE FROM export_digests WHERE tbl = $1`, rs.kind)
		if err != nil {
			return err
		}
		add(counts, digests.name, 0, tag.RowsAffected())
		if err := replace(ctx, tx, rs.t, counts); err != nil {
			return err
		}
		for i := range rs.spans {
			digests.int(int64(rs.kind)).uint(uint64(rs.spans[i].addr)).int(int64(rs.spans[i].digest)).end()
		}
		if err := digests.copyIn(ctx, tx); err != nil {
			return err
		}
		add(counts, digests.name, digests.rows, 0)
		return nil
	}
	if rs.sum == storedSum {
		return nil
	}
	old := map[btc.AddrID]uint64{}
	rows, err := tx.Query(ctx, `SELECT address_id, digest FROM export_digests WHERE tbl = $1`, rs.kind)
	if err != nil {
		return err
	}
	var a, d int64
	if _, err := pgx.ForEachRow(rows, []any{&a, &d}, func() error {
		old[btc.AddrID(a)] = uint64(d)
		return nil
	}); err != nil {
		return fmt.Errorf("read export_digests: %w", err)
	}
	var gone []int64 // addresses whose stored rows go or change
	changed := newTable(rs.t.name, rs.t.cols)
	if rs.key != nil {
		changed.name = fmt.Sprintf("new_%s", rs.t.name)
	}
	digests.name = fmt.Sprintf("new_digests_%d", rs.kind)
	for i := range rs.spans {
		s := &rs.spans[i]
		d, ok := old[s.addr]
		delete(old, s.addr)
		if ok && d == s.digest {
			continue
		}
		if ok {
			gone = append(gone, int64(s.addr))
		}
		changed.buf = append(changed.buf, rs.t.buf[s.start:s.end]...)
		changed.rows += s.rows
		digests.int(int64(rs.kind)).uint(uint64(s.addr)).int(int64(s.digest)).end()
	}
	for a := range old {
		gone = append(gone, int64(a))
	}
	if rs.key != nil {
		if err := merge(ctx, tx, changed, rs.t.name, "", rs.key, rs.vals, gone, counts); err != nil {
			return err
		}
	} else {
		if len(gone) > 0 {
			tag, err := tx.Exec(ctx, `DELETE FROM `+rs.t.name+` WHERE address_id = ANY($1)`, gone)
			if err != nil {
				return err
			}
			add(counts, rs.t.name, 0, tag.RowsAffected())
		}
		if err := changed.copyIn(ctx, tx); err != nil {
			return err
		}
		add(counts, changed.name, changed.rows, 0)
	}
	return merge(ctx, tx, digests, "export_digests", fmt.Sprintf("t.tbl = %d AND ", rs.kind), []string{"tbl", "address_id"}, []string{"digest"}, gone, counts)
}

// merge brings the rows of table target that belong to the addresses
// addrs (and match scope, a condition on t ending in AND) to the rows
// staged: it copies them into a temporary table of that name, deletes the
// target's rows whose key it lacks, and inserts or updates the others,
// only where they differ. Both are counted.
func merge(ctx context.Context, tx pgx.Tx, staged *table, target, scope string, key, vals []string, addrs []int64, counts map[string][2]int64) error {
	if len(addrs) == 0 && staged.rows == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE `+staged.name+` (LIKE `+target+`) ON COMMIT DROP`); err != nil {
		return err
	}
	if err := staged.copyIn(ctx, tx); err != nil {
		return err
	}
	on := make([]string, len(key))
	for i, k := range key {
		on[i] = "n." + k + " = t." + k
	}
	tag, err := tx.Exec(ctx, `DELETE FROM `+target+` t WHERE `+scope+`t.address_id = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM `+staged.name+` n WHERE `+strings.Join(on, " AND ")+`)`, addrs)
	if err != nil {
		return err
	}
	add(counts, target, 0, tag.RowsAffected())
	set, old, excluded := make([]string, len(vals)), make([]string, len(vals)), make([]string, len(vals))
	for i, v := range vals {
		set[i], old[i], excluded[i] = v+" = EXCLUDED."+v, target+"."+v, "EXCLUDED."+v
	}
	cols := strings.Join(append(slices.Clone(key), vals...), ", ")
	if tag, err = tx.Exec(ctx, `INSERT INTO `+target+` (`+cols+`) SELECT `+cols+` FROM `+staged.name+`
		ON CONFLICT (`+strings.Join(key, ", ")+`) DO UPDATE SET `+strings.Join(set, ", ")+`
		WHERE (`+strings.Join(old, ", ")+`) IS DISTINCT FROM (`+strings.Join(excluded, ", ")+`)`); err != nil {
		return err
	}
	add(counts, target, tag.RowsAffected(), 0)
	return nil
}

// sourceRows is label_sources' rows and their checksum.
type sourceRows struct {
	t   *table
	sum uint64
}

// labelRows reads the label sources and every indexed labelled address's
// labels.
func (w *writer) labelRows(ctx context.Context) (*addrRows, *sourceRows, error) {
	srcs := &sourceRows{t: newTable("label_sources", "source_id, kind, name, file, sha256, imported")}
	labels := &addrRows{kind: kindLabels, t: newTable("labels",
		"address_id, address, source_id, list, label, category, abuse, actor, confidence, cluster_definer, listed_from, listed_to")}
	sources, err := label.Sources(ctx, w.db)
	if err != nil {
		return nil, nil, fmt.Errorf("export: label sources: %w", err)
	}
	byName := map[string]int64{}
	for _, s := range sources {
		srcs.t.uint(uint64(s.ID)).text(s.Kind).text(s.Name).text(s.File).text(s.Digest).time(s.Imported.Unix()).end()
		if _, dup := byName[s.Name]; dup {
			byName[s.Name] = -1
		} else {
			byName[s.Name] = int64(s.ID)
		}
	}
	h := fnv.New64a()
	h.Write(srcs.t.buf)
	srcs.sum = h.Sum64()
	err = label.EachLabelled(ctx, w.db, func(a btc.AddrID, _ uint64, vs []label.View) error {
		labels.begin(a)
		for i := range vs {
			v := &vs[i]
			labels.t.uint(uint64(a)).text(v.Address)
			if id, ok := byName[v.List]; ok && id >= 0 {
				labels.t.int(id)
			} else {
				labels.t.null()
			}
			labels.t.text(v.List).text(v.Label).text(v.Category).text(v.Abuse).text(v.Actor).int(int64(v.Confidence)).bool(v.ClusterDefiner)
			dateOrNull(labels.t, v.ListedFrom)
			dateOrNull(labels.t, v.ListedTo)
			labels.t.end()
		}
		labels.finish()
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("export: labels: %w", err)
	}
	return labels, srcs, nil
}

// exposureRows reads every address's stored exposure aggregate.
func (w *writer) exposureRows(ctx context.Context) (*addrRows, error) {
	expo := &addrRows{kind: kindExposure, t: newTable("exposure",
		"address_id, category, direction, indirect, sats, min_hops, source_address_id, source_tx"),
		key: []string{"address_id", "category", "direction", "indirect"}, vals: []string{"sats", "min_hops", "source_address_id", "source_tx"}}
	err := risk.EachAggregate(ctx, w.db, func(a btc.AddrID, rows []risk.Flow) error {
		expo.begin(a)
		for i := range rows {
			r := &rows[i]
			expo.t.uint(uint64(a)).text(r.Category.String()).text(r.Direction.String()).bool(r.Indirect).uint(r.Sats).int(int64(r.MinHops))
			addr(expo.t, r.Source)
			expo.t.uint(uint64(r.SourceTx)).end()
		}
		expo.finish()
		return nil
	})
	switch {
	case errors.Is(err, risk.ErrNotComputed):
		w.sum.Notes = append(w.sum.Notes, "exposure was never computed: the exposure table is empty (run sleuth risk update)")
	case err != nil:
		return nil, fmt.Errorf("export: exposure: %w", err)
	}
	return expo, nil
}

// dateOrNull writes a label view's date (YYYY-MM-DD), or null.
func dateOrNull(t *table, s *string) {
	if s == nil {
		t.null()
		return
	}
	t.text(*s)
}
