package label

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Batch is the labels of one file, applied whole or not at all.
type Batch struct {
	Kind   string // "tagpack", "ofac", "own"
	Source string // the source's name: pack title, list name; imports of one list share it
	File   string
	Digest string // hex SHA-256 of the file's bytes
	// Date is a list publication's date (required for kind "ofac"), and
	// Complete says whether absence from it means removal.
	Date     time.Time
	Complete bool
	Labels   []Label
	// Incidents are a TagPack's tags on transactions (tx_hash): they
	// replace the source's incidents like its labels.
	Incidents []Incident
}

// Result says what an import did.
type Result struct {
	File      string `json:"file"`
	Source    string `json:"source"`
	Kind      string `json:"kind"`
	Import    uint32 `json:"import"`
	Labels    int    `json:"labels"`
	Added     int    `json:"added"`               // addresses this source did not label before
	Incidents int    `json:"incidents,omitempty"` // a TagPack's transaction tags, stored as incidents
	Unchanged bool   `json:"unchanged,omitempty"`
}

func readState(db *index.DB) (state, error) {
	var st state
	v, err := db.StageGet(append([]byte{pState}, keyState...))
	if err != nil || v == nil {
		return state{NextSource: 1, NextImport: 1}, err
	}
	return st, st.decode(v)
}

// sources returns every source, by id.
func sources(ctx context.Context, db *index.DB) (map[uint32]*Source, error) {
	out := map[uint32]*Source{}
	err := db.StageScan(ctx, []byte{pSource}, []byte{pSource + 1}, func(k, v []byte) (bool, error) {
		s := &Source{ID: binary.BigEndian.Uint32(k[1:])}
		if err := s.decode(v); err != nil {
			return false, err
		}
		out[s.ID] = s
		return true, nil
	})
	return out, err
}

// Apply imports one file's labels in one atomic batch.
func Apply(ctx context.Context, db *index.DB, b *Batch) (Result, error) {
	res := Result{File: b.File, Source: b.Source, Kind: b.Kind}
	if err := guard(ctx, db); err != nil {
		return res, err
	}
	if b.Kind == "ofac" && b.Date.IsZero() {
		return res, errNoDate(b.File)
	}
	st, err := readState(db)
	if err != nil {
		return res, err
	}
	srcs, err := sources(ctx, db)
	if err != nil {
		return res, err
	}
	var src *Source
	for _, s := range srcs {
		if s.Kind == b.Kind && s.Name == b.Source {
			src = s
		}
	}
	wb := db.NewStageBatch()
	defer wb.Close()
	if src == nil {
		src = &Source{ID: st.NextSource, Kind: b.Kind, Name: b.Source}
		st.NextSource++
	} else if b.Kind == "tagpack" && src.Digest == b.Digest {
		res.Unchanged = true
		res.Labels = src.Labels
		return res, nil
	}
	imp, at := st.NextImport, time.Now().UTC().Truncate(time.Second)
	if e, ok := entryOf(ctx); ok {
		imp, at = uint32(e.seq), e.at // ids and times from the shared log
	}
	st.NextImport = max(st.NextImport, imp+1)
	res.Import = imp
	// What the source held before, by address.
	old := map[string][]Label{}
	oldKeys := map[string][][]byte{}
	err = eachSourceLabel(ctx, db, src.ID, func(k []byte, l *Label) error {
		ks := string(l.Address.Bytes())
		old[ks] = append(old[ks], *l)
		oldKeys[ks] = append(oldKeys[ks], slices.Clone(k))
		return nil
	})
	if err != nil {
		return res, err
	}
	switch b.Kind {
	case "ofac":
		// One record per address and list: presence dates widen with each
		// publication; removal is read off the publications.
		seen := map[string]bool{}
		for _, l := range b.Labels {
			ks := string(l.Address.Bytes())
			if seen[ks] {
				continue
			}
			seen[ks] = true
			nl := l
			nl.ListedFrom, nl.LastSeen, nl.Import = b.Date, b.Date, imp
			if prev := old[ks]; len(prev) > 0 {
				p := prev[0]
				nl.Import = p.Import
				if !p.ListedFrom.IsZero() && p.ListedFrom.Before(nl.ListedFrom) {
					nl.ListedFrom = p.ListedFrom
				}
				if p.LastSeen.After(nl.LastSeen) {
					nl.LastSeen = p.LastSeen
				}
				if nl.Label == "" || (p.Label != "" && len(p.Label) > len(nl.Label)) {
					nl.Label = p.Label // keep the richer name (CSV/XML) over a plain list's
				}
			} else {
				res.Added++
				wb.Set(keyAdded(imp, l.Address), nil)
			}
			wb.Set(keyLabel(l.Address, src.ID, 0), nl.encode())
		}
		res.Labels = len(seen)
		src.Labels = len(old)
		for ks := range seen {
			if old[ks] == nil {
				src.Labels++
			}
		}
		wb.Set(keyPub(src.ID, b.Date), (&publication{Date: b.Date, Complete: b.Complete, File: b.File, Count: len(seen)}).encode())
	default:
		// A pack replaces what its source held; own labels accumulate.
		if b.Kind == "tagpack" {
			for _, ks := range oldKeys {
				for _, k := range ks {
					wb.Delete(k)
				}
			}
		}
		seq := uint32(0)
		if b.Kind != "tagpack" {
			for _, ls := range old {
				seq += uint32(len(ls))
			}
		}
		labelled := map[string]bool{}
		for ks := range old {
			if b.Kind != "tagpack" {
				labelled[ks] = true
			}
		}
		for _, l := range b.Labels {
			ks := string(l.Address.Bytes())
			l.Import = imp
			if old[ks] == nil && !labelled[ks] {
				res.Added++
				wb.Set(keyAdded(imp, l.Address), nil)
			}
			labelled[ks] = true
			wb.Set(keyLabel(l.Address, src.ID, seq), l.encode())
			seq++
		}
		res.Labels = len(b.Labels)
		src.Labels = len(labelled)
		if b.Kind == "tagpack" {
			if err := putSourceIncidents(ctx, db, wb, src.ID, b.Incidents); err != nil {
				return res, fmt.Errorf("%s: %w", b.File, err)
			}
			res.Incidents = len(b.Incidents)
		}
	}
	src.File, src.Digest, src.Imported = b.File, b.Digest, at
	wb.Set(keySource(src.ID), src.encode())
	st.EntityIndex = 0 // stale: rebuilt by Refresh
	wb.Set(append([]byte{pState}, keyState...), st.encode())
	if err := commitEdit(ctx, db, wb); err != nil {
		return res, fmt.Errorf("label: import %s: %w", b.File, err)
	}
	return res, nil
}

// eachSourceLabel calls fn with the key and the label (Address and
// SourceID set) of every label of source src, in key order.
func eachSourceLabel(ctx context.Context, db *index.DB, src uint32, fn func(k []byte, l *Label) error) error {
	return db.StageScan(ctx, []byte{pLabel}, []byte{pLabel + 1}, func(k, v []byte) (bool, error) {
		ak, sid, _, err := parseLabelKey(k)
		if err != nil || sid != src {
			return err == nil, err
		}
		var l Label
		if err := l.decode(v); err != nil {
			return false, err
		}
		l.Address, l.SourceID = ak, sid
		return true, fn(k, &l)
	})
}

// View is one label as `sleuth labels show` prints it.
type View struct {
	Label          string  `json:"label"`
	Category       string  `json:"category"`
	Abuse          string  `json:"abuse,omitempty"`
	Source         string  `json:"source"`
	Confidence     int     `json:"confidence"`
	ConfidenceID   string  `json:"confidence_id,omitempty"`
	Actor          string  `json:"actor"`
	ListedFrom     *string `json:"listed_from"`
	ListedTo       *string `json:"listed_to"`
	Via            string  `json:"via"`               // "address" or "entity"
	Address        string  `json:"address,omitempty"` // the labelled address (for via entity: the member that carries it)
	List           string  `json:"list"`              // the source's name (pack title, list)
	ClusterDefiner bool    `json:"cluster_definer"`
}

func dateStr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format("2006-01-02")
	return &s
}

// addressLabels returns the labels stored on address key k, with
// ListedTo filled in for dated lists.
func addressLabels(ctx context.Context, db *index.DB, k address.Key) ([]Label, error) {
	lo := keyAddrPrefix(k)
	hi := append(slices.Clone(lo), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	var out []Label
	err := db.StageScan(ctx, lo, hi, func(key, v []byte) (bool, error) {
		ak, sid, _, err := parseLabelKey(key)
		if err != nil {
			return false, err
		}
		var l Label
		if err := l.decode(v); err != nil {
			return false, err
		}
		l.Address, l.SourceID = ak, sid
		out = append(out, l)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].LastSeen.IsZero() {
			continue
		}
		// Removed: the first complete publication after the last one
		// listing the address.
		err := db.StageScan(ctx, keyPub(out[i].SourceID, out[i].LastSeen.Add(time.Second)), keyPub(out[i].SourceID+1, time.Unix(0, 0)),
			func(key, v []byte) (bool, error) {
				var p publication
				if err := p.decode(int64(binary.BigEndian.Uint64(key[5:])), v); err != nil {
					return false, err
				}
				if p.Complete {
					out[i].ListedTo = p.Date
					return false, nil
				}
				return true, nil
			})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// applies reports whether l applied at asOf (zero: any time).
func applies(l *Label, asOf time.Time) bool {
	if asOf.IsZero() {
		return true
	}
	if !l.ListedFrom.IsZero() && asOf.Before(l.ListedFrom) {
		return false
	}
	return l.ListedTo.IsZero() || asOf.Before(l.ListedTo)
}

func (v *viewer) view(l *Label, via string) View {
	s, _ := address.Encode(l.Address, v.net)
	out := View{Label: l.Label, Category: l.Category, Abuse: l.Abuse, Source: l.Source, Confidence: l.Confidence,
		ConfidenceID: l.ConfidenceID, Actor: l.Actor, ListedFrom: dateStr(l.ListedFrom), ListedTo: dateStr(l.ListedTo),
		Via: via, Address: s, ClusterDefiner: l.ClusterDefiner || l.Scope == OnEntity}
	if src := v.srcs[l.SourceID]; src != nil {
		out.List = src.Name
	}
	return out
}

type viewer struct {
	net  *btc.Network
	srcs map[uint32]*Source
}

// Viewer answers many label lookups on a store that does not change in
// the meantime (screening): it reads the sources and the state of the
// entity index once, so a lookup is the address's own prefix read plus,
// when it is on chain, its entity's labelled members.
type Viewer struct {
	db    *index.DB
	v     viewer
	fresh bool
}

// NewViewer prepares a Viewer.
func NewViewer(ctx context.Context, db *index.DB) (*Viewer, error) {
	srcs, err := sources(ctx, db)
	if err != nil {
		return nil, err
	}
	fresh, err := entityIndexFresh(db)
	if err != nil {
		return nil, err
	}
	return &Viewer{db: db, v: viewer{net: db.Network(), srcs: srcs}, fresh: fresh}, nil
}

// ShowAddress returns the labels of address s: its own, and those its
// entity carries through other addresses (cluster definers and entity
// labels), each with via. asOf (zero: now and ever) keeps only labels that
// applied then. Conflicting labels are all returned.
func ShowAddress(ctx context.Context, db *index.DB, s string, asOf time.Time) ([]View, error) {
	w, err := NewViewer(ctx, db)
	if err != nil {
		return nil, err
	}
	return w.ShowAddress(ctx, s, asOf)
}

// Own returns only the labels stored on address s itself (one prefix
// read), with via "address".
func (w *Viewer) Own(ctx context.Context, s string) ([]View, error) {
	k, err := address.Decode(s, w.db.Network())
	if err != nil {
		return nil, err
	}
	own, err := addressLabels(ctx, w.db, k)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(own))
	for i := range own {
		out = append(out, w.v.view(&own[i], "address"))
	}
	return out, nil
}

// ShowAddress is the package's ShowAddress on the Viewer's snapshot.
func (w *Viewer) ShowAddress(ctx context.Context, s string, asOf time.Time) ([]View, error) {
	db := w.db
	k, err := address.Decode(s, db.Network())
	if err != nil {
		return nil, err
	}
	own, err := addressLabels(ctx, db, k)
	if err != nil {
		return nil, err
	}
	out := []View{}
	for i := range own {
		if applies(&own[i], asOf) {
			out = append(out, w.v.view(&own[i], "address"))
		}
	}
	id, err := db.AddrIDOfKey(k)
	if errors.Is(err, index.ErrNotFound) {
		return out, nil // not on chain: no entity
	}
	if err != nil {
		return nil, err
	}
	ent, err := cluster.EntityOf(db, id)
	if errors.Is(err, cluster.ErrNotClustered) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	rest, err := entityLabels(ctx, db, &w.v, w.fresh, ent, id, asOf, true)
	return append(out, rest...), err
}

// ShowEntity returns the labels of every labelled address of entity id.
func ShowEntity(ctx context.Context, db *index.DB, id uint64, asOf time.Time) ([]View, error) {
	srcs, err := sources(ctx, db)
	if err != nil {
		return nil, err
	}
	ent, err := cluster.EntityOf(db, btc.AddrID(id))
	if err != nil {
		return nil, err
	}
	fresh, err := entityIndexFresh(db)
	if err != nil {
		return nil, err
	}
	out, err := entityLabels(ctx, db, &viewer{net: db.Network(), srcs: srcs}, fresh, ent, btc.NoAddr, asOf, false)
	if out == nil {
		out = []View{}
	}
	return out, err
}

// entityLabels returns the labels on the labelled members of entity ent
// other than skip; definersOnly keeps only labels that define the entity.
func entityLabels(ctx context.Context, db *index.DB, v *viewer, fresh bool, ent uint64, skip btc.AddrID, asOf time.Time, definersOnly bool) ([]View, error) {
	members, err := labelledMembers(ctx, db, fresh, ent)
	if err != nil {
		return nil, err
	}
	var out []View
	for _, m := range members {
		if m == skip {
			continue
		}
		k, err := db.AddrKey(m)
		if err != nil {
			return nil, err
		}
		ls, err := addressLabels(ctx, db, k)
		if err != nil {
			return nil, err
		}
		for i := range ls {
			if (definersOnly && !ls[i].ClusterDefiner && ls[i].Scope != OnEntity) || !applies(&ls[i], asOf) {
				continue
			}
			out = append(out, v.view(&ls[i], "entity"))
		}
	}
	return out, nil
}

// labelledMembers returns the indexed labelled addresses of entity ent,
// from the entity index when it is current, else by resolving every
// labelled address (bounded by the number of labels, not the entity's
// size).
func labelledMembers(ctx context.Context, db *index.DB, fresh bool, ent uint64) ([]btc.AddrID, error) {
	var out []btc.AddrID
	if fresh {
		err := db.StageScan(ctx, keyEntity(ent, 0), keyEntity(ent+1, 0), func(k, _ []byte) (bool, error) {
			out = append(out, btc.AddrID(binary.BigEndian.Uint64(k[9:])))
			return true, nil
		})
		return out, err
	}
	err := eachLabelledAddress(ctx, db, func(id btc.AddrID, e uint64) error {
		if e == ent {
			out = append(out, id)
		}
		return nil
	})
	return out, err
}

// eachLabelledAddress calls fn with every labelled address that is indexed
// and its entity.
func eachLabelledAddress(ctx context.Context, db *index.DB, fn func(btc.AddrID, uint64) error) error {
	return eachLabelledKey(ctx, db, func(_ address.Key, id btc.AddrID, e uint64) error { return fn(id, e) })
}

// eachLabelledKey is eachLabelledAddress with the address's key too. One
// read of the address's id and one of its entity each: an address with no
// entity recorded is its own (cluster.EntityOrSelf; also when the store
// was never clustered), with no read of the clustering's state per
// address (the labels stage and exposure run this on every block).
func eachLabelledKey(ctx context.Context, db *index.DB, fn func(address.Key, btc.AddrID, uint64) error) error {
	return eachLabelledKeyFrom(ctx, db, 0, fn)
}

// eachLabelledKeyFrom is eachLabelledKey for the addresses whose id is
// from or later (those indexed since a refresh), with no entity read for
// the others.
func eachLabelledKeyFrom(ctx context.Context, db *index.DB, from uint64, fn func(address.Key, btc.AddrID, uint64) error) error {
	return eachKey(ctx, db, func(ak address.Key) error {
		id, err := db.AddrIDOfKey(ak)
		if errors.Is(err, index.ErrNotFound) || err == nil && uint64(id) < from {
			return nil
		}
		if err != nil {
			return err
		}
		e, err := cluster.EntityOrSelf(db, id)
		if err != nil {
			return err
		}
		return fn(ak, id, e)
	})
}

// probeLimit is the most address ids eachNewlyLabelled looks up one by one
// in the labels; past it, resolving every labelled key costs no more. A
// variable so that tests take both paths.
var probeLimit btc.AddrID = 1 << 16

// eachNewlyLabelled calls fn with every labelled address whose id is in
// [from, to) and its entity. A block's few thousand new addresses are each
// looked up in the labels (their keys read in id order, then sought in key
// order on one iterator), so the cost follows the block, not the labels;
// a longer range resolves every labelled key instead (eachLabelledKeyFrom).
func eachNewlyLabelled(ctx context.Context, db *index.DB, from, to btc.AddrID, fn func(btc.AddrID, uint64) error) error {
	if from >= to {
		return nil
	}
	if to-from > probeLimit {
		return eachLabelledKeyFrom(ctx, db, uint64(from), func(_ address.Key, id btc.AddrID, e uint64) error {
			if id >= to {
				return nil
			}
			return fn(id, e)
		})
	}
	type probe struct {
		prefix []byte
		id     btc.AddrID
	}
	probes := make([]probe, 0, to-from)
	err := db.ScanAddrKeys(ctx, from, to, func(id btc.AddrID, k address.Key) error {
		probes = append(probes, probe{keyAddrPrefix(k), id})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(probes, func(a, b probe) int { return bytes.Compare(a.prefix, b.prefix) })
	s, err := db.NewStageSeeker([]byte{pLabel}, []byte{pLabel + 1})
	if err != nil {
		return err
	}
	defer s.Close()
	var found []btc.AddrID
	for _, p := range probes {
		ok, err := s.HasPrefix(p.prefix)
		if err != nil {
			return err
		}
		if ok {
			found = append(found, p.id)
		}
	}
	slices.Sort(found)
	for _, id := range found {
		e, err := cluster.EntityOrSelf(db, id)
		if err != nil {
			return err
		}
		if err := fn(id, e); err != nil {
			return err
		}
	}
	return nil
}

// eachKey calls fn with every labelled address key, once each, in key
// order.
func eachKey(ctx context.Context, db *index.DB, fn func(address.Key) error) error {
	var last []byte
	return db.StageScan(ctx, []byte{pLabel}, []byte{pLabel + 1}, func(k, _ []byte) (bool, error) {
		ak, _, _, err := parseLabelKey(k)
		if err != nil {
			return false, err
		}
		kb := ak.Bytes()
		if slices.Equal(kb, last) {
			return true, nil
		}
		last = slices.Clone(kb)
		return true, fn(ak)
	})
}

// entityIndexFresh reports whether keyspace 45 reflects the current labels
// and clustering, and every address the index holds (a labelled address
// first paid in a block with no merge is indexed only by the refresh after
// that block; a store that never recorded IndexedAddrs keeps the older,
// merges-only rule).
func entityIndexFresh(db *index.DB) (bool, error) {
	st, err := readState(db)
	if err != nil || st.EntityIndex == 0 {
		return false, err
	}
	if st.IndexedAddrs != 0 && st.IndexedAddrs != uint64(db.Tip().NextAddr) {
		return false, nil
	}
	cs, err := cluster.ReadStatus(db)
	if errors.Is(err, cluster.ErrNotClustered) {
		return st.EntityIndex == 1, nil
	}
	if err != nil {
		return false, err
	}
	return st.EntityIndex == cs.Merges+1 && !cs.Dirty, nil
}

// Refresh rebuilds the index of labelled addresses by entity when labels
// or entities changed since it was built (after an import, an ingest or a
// reclustering). Its cost grows with the number of labelled addresses.
func Refresh(ctx context.Context, db *index.DB) error {
	fresh, err := entityIndexFresh(db)
	if err != nil || fresh {
		return err
	}
	st, err := readState(db)
	if err != nil {
		return err
	}
	wb := db.NewStageBatch()
	defer wb.Close()
	wb.DeleteRange([]byte{pEntity}, []byte{pEntity + 1})
	err = eachLabelledAddress(ctx, db, func(id btc.AddrID, e uint64) error {
		wb.Set(keyEntity(e, uint64(id)), nil)
		return nil
	})
	if err != nil {
		return err
	}
	st.EntityIndex = 1
	if cs, err := cluster.ReadStatus(db); err == nil {
		st.EntityIndex = cs.Merges + 1
	} else if !errors.Is(err, cluster.ErrNotClustered) {
		return err
	}
	st.IndexedAddrs = uint64(db.Tip().NextAddr)
	wb.Set(append([]byte{pState}, keyState...), st.encode())
	return wb.Commit()
}

// RefreshAfter is Refresh after a clustering update (sum). When the
// update only added merges (sum.AbsorbedKnown) to the clustering the entity
// index reflected, with no label changed since, it updates the index in
// proportion to the update instead of the labels: the members indexed
// under each entity the merges absorbed move to its new entity, and the
// labelled addresses the index met for the first time since (ids from
// IndexedAddrs on) are added. Otherwise it rebuilds as Refresh does. It
// reports whether it took the incremental path.
func RefreshAfter(ctx context.Context, db *index.DB, sum cluster.Summary) (bool, error) {
	fresh, err := entityIndexFresh(db)
	if err != nil || fresh {
		return false, err
	}
	st, err := readState(db)
	if err != nil {
		return false, err
	}
	cs, err := cluster.ReadStatus(db)
	if err != nil || cs.Dirty || !sum.AbsorbedKnown || st.IndexedAddrs == 0 || st.EntityIndex != sum.AbsorbedFrom+1 {
		if err != nil && !errors.Is(err, cluster.ErrNotClustered) {
			return false, err
		}
		return false, Refresh(ctx, db)
	}
	wb := db.NewStageBatch()
	defer wb.Close()
	seen := make(map[btc.AddrID]bool, len(sum.Absorbed))
	for _, a := range sum.Absorbed {
		if seen[a] {
			continue
		}
		seen[a] = true
		r, err := cluster.EntityOrSelf(db, a)
		if err != nil {
			return false, err
		}
		if r == uint64(a) {
			continue
		}
		// The entries indexed under a, whatever the index's freshness.
		members, err := labelledMembers(ctx, db, true, uint64(a))
		if err != nil {
			return false, err
		}
		for _, m := range members {
			wb.Delete(keyEntity(uint64(a), uint64(m)))
			wb.Set(keyEntity(r, uint64(m)), nil)
		}
	}
	next := db.Tip().NextAddr
	err = eachNewlyLabelled(ctx, db, btc.AddrID(st.IndexedAddrs), next, func(id btc.AddrID, e uint64) error {
		wb.Set(keyEntity(e, uint64(id)), nil)
		return nil
	})
	if err != nil {
		return false, err
	}
	st.EntityIndex = cs.Merges + 1
	st.IndexedAddrs = uint64(next)
	wb.Set(append([]byte{pState}, keyState...), st.encode())
	return true, wb.Commit()
}
