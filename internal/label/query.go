package label

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/tagpack"
)

// Stats is the answer of `sleuth labels stats`.
type Stats struct {
	Sources    []SourceStats  `json:"sources"`
	Addresses  int            `json:"addresses"` // distinct labelled addresses
	Labels     int            `json:"labels"`
	OnChain    int            `json:"on_chain"` // labelled addresses the index holds
	ByCategory map[string]int `json:"by_category"`
	ByAbuse    map[string]int `json:"by_abuse"`
	Incidents  int            `json:"incidents"` // transactions marked as sources (sleuth incident, TagPack tx tags)
}

// SourceStats is one source in Stats.
type SourceStats struct {
	Source
	Publications []string `json:"publications,omitempty"` // dated snapshots of a list
}

// ReadStats counts the stored labels.
func ReadStats(ctx context.Context, db *index.DB) (*Stats, error) {
	srcs, err := sources(ctx, db)
	if err != nil {
		return nil, err
	}
	st := &Stats{ByCategory: map[string]int{}, ByAbuse: map[string]int{}}
	var last string
	err = db.StageScan(ctx, []byte{pLabel}, []byte{pLabel + 1}, func(k, v []byte) (bool, error) {
		ak, _, _, err := parseLabelKey(k)
		if err != nil {
			return false, err
		}
		var l Label
		if err := l.decode(v); err != nil {
			return false, err
		}
		st.Labels++
		if l.Category != "" {
			st.ByCategory[l.Category]++
		}
		if l.Abuse != "" {
			st.ByAbuse[l.Abuse]++
		}
		if ks := string(ak.Bytes()); ks != last {
			last = ks
			st.Addresses++
			if _, err := db.AddrIDOfKey(ak); err == nil {
				st.OnChain++
			} else if !errors.Is(err, index.ErrNotFound) {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if err := EachIncident(ctx, db, func(*Incident, btc.Hash) error { st.Incidents++; return nil }); err != nil {
		return nil, err
	}
	if st.Sources, err = sourceStats(ctx, db, srcs); err != nil {
		return nil, err
	}
	return st, nil
}

// Sources returns every label source with its dated publications (oldest
// first), without counting labels: what an answer built on the labels
// stands on (risk screening's basis).
func Sources(ctx context.Context, db *index.DB) ([]SourceStats, error) {
	srcs, err := sources(ctx, db)
	if err != nil {
		return nil, err
	}
	return sourceStats(ctx, db, srcs)
}

func sourceStats(ctx context.Context, db *index.DB, srcs map[uint32]*Source) ([]SourceStats, error) {
	ids := make([]uint32, 0, len(srcs))
	for id := range srcs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := []SourceStats{}
	for _, id := range ids {
		ss := SourceStats{Source: *srcs[id]}
		err := db.StageScan(ctx, keyPub(id, time.Unix(0, 0)), keyPub(id+1, time.Unix(0, 0)), func(k, _ []byte) (bool, error) {
			ss.Publications = append(ss.Publications, time.Unix(int64(binary.BigEndian.Uint64(k[5:])), 0).UTC().Format("2006-01-02"))
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, ss)
	}
	return out, nil
}

// Hit is one transaction found by Rescreen: it paid or spent from an
// address that an import added to a list.
type Hit struct {
	TxID       string  `json:"txid"`
	Height     *int64  `json:"height"`
	Time       string  `json:"time"`
	Address    string  `json:"address"`
	Direction  string  `json:"direction"` // "received" (paid to the address) or "sent" (spent from it)
	Value      *int64  `json:"value"`     // sats received or sent; null when unknown
	Label      string  `json:"label"`
	List       string  `json:"list"`
	ListedFrom *string `json:"listed_from"`
	// BeforeListing: the transaction happened before the list named the
	// address — what a compliance team must go back and find.
	BeforeListing bool   `json:"before_listing"`
	Import        uint32 `json:"import"`
}

// RescreenResult is the answer of `sleuth rescreen`.
type RescreenResult struct {
	FromImport uint32 `json:"from_import"` // imports after this one were screened
	ToImport   uint32 `json:"to_import"`
	Addresses  int    `json:"addresses"` // newly listed addresses
	OnChain    int    `json:"on_chain"`  // of which the index holds
	// Transactions counts the distinct transactions among Hits: those no
	// earlier rescreen reported for the address (an address another source
	// lists again, or one listed twice in the run, is not news).
	Transactions int   `json:"transactions"`
	Reported     int   `json:"already_reported"` // hits left out: an earlier rescreen reported them
	Hits         []Hit `json:"hits"`

	reported map[string]bool // address keys whose transactions this run reported
	bound    rescreenBound
}

// rescreenBound is how far the index reached when an address's
// transactions were reported (keyspace 48): best-chain transactions below
// Tx and standalone ones below Detached.
type rescreenBound struct{ Tx, Detached uint64 }

func keyReported(k address.Key) []byte { return append([]byte{pReported}, k.Bytes()...) }

func (b rescreenBound) covers(n btc.TxNum) bool {
	if n >= index.DetachedBase {
		return uint64(n-index.DetachedBase) < b.Detached
	}
	return uint64(n) < b.Tx
}

// reportedBound returns the bound of the last rescreen that reported
// address k (zero: never).
func reportedBound(db *index.DB, k address.Key) (rescreenBound, error) {
	v, err := db.StageGet(keyReported(k))
	if err != nil || v == nil {
		return rescreenBound{}, err
	}
	d := encoding.Decbuf{B: v}
	b := rescreenBound{Tx: d.Uvarint(), Detached: d.Uvarint()}
	if d.Err() != nil {
		return b, corrupt("rescreen bound", d.Err())
	}
	return b, nil
}

// Rescreen lists every indexed transaction that paid or spent from an
// address that an import after since added to a source (since < 0: after
// the last rescreen, leaving out what earlier rescreens reported; an
// explicit since lists everything again). With commit, it records that
// these imports were screened (Commit), so the next run starts after them.
func Rescreen(ctx context.Context, db *index.DB, since int64, commit bool) (*RescreenResult, error) {
	st, err := readState(db)
	if err != nil {
		return nil, err
	}
	from := uint32(st.Rescreened)
	if since >= 0 {
		from = uint32(since)
	}
	tip := db.Tip()
	res := &RescreenResult{FromImport: from, ToImport: st.NextImport - 1, Hits: []Hit{},
		reported: map[string]bool{}, bound: rescreenBound{Tx: uint64(tip.NextTx), Detached: uint64(tip.NextDetachedTx)}}
	txs := map[string]bool{}
	srcs, err := sources(ctx, db)
	if err != nil {
		return nil, err
	}
	v := &viewer{net: db.Network(), srcs: srcs}
	lo := binary.BigEndian.AppendUint32([]byte{pAdded}, from+1)
	err = db.StageScan(ctx, lo, []byte{pAdded + 1}, func(k, _ []byte) (bool, error) {
		imp := binary.BigEndian.Uint32(k[1:])
		ak, err := address.KeyFromBytes(k[6:])
		if err != nil {
			return false, corrupt("added", err)
		}
		res.Addresses++
		if _, err := db.AddrIDOfKey(ak); errors.Is(err, index.ErrNotFound) {
			return true, nil
		} else if err != nil {
			return false, err
		}
		res.OnChain++
		ks := string(ak.Bytes())
		if res.reported[ks] {
			return true, nil // listed by two imports of this run
		}
		res.reported[ks] = true
		var prev rescreenBound
		if since < 0 {
			if prev, err = reportedBound(db, ak); err != nil {
				return false, err
			}
		}
		ls, err := addressLabels(ctx, db, ak)
		if err != nil {
			return false, err
		}
		var lab *Label
		for i := range ls {
			if ls[i].Import == imp {
				lab = &ls[i]
			}
		}
		if lab == nil && len(ls) > 0 {
			lab = &ls[0]
		}
		if lab == nil {
			return true, nil // its labels were replaced since
		}
		s, _ := address.Encode(ak, db.Network())
		rows, err := db.AddressTxs(s, 0, "")
		if err != nil {
			return false, err
		}
		lv := v.view(lab, "address")
		for _, r := range rows {
			if prev.Tx > 0 || prev.Detached > 0 {
				h, err := btc.ParseHash(r.TxID)
				if err != nil {
					return false, err
				}
				n, err := db.TxNum(h)
				if err != nil {
					return false, err
				}
				if prev.covers(n) {
					res.Reported++
					continue
				}
			}
			txs[r.TxID] = true
			h := Hit{TxID: r.TxID, Height: r.Height, Time: r.Time, Address: s, Label: lv.Label, List: lv.List,
				ListedFrom: lv.ListedFrom, Import: imp}
			if t, err := time.Parse(time.RFC3339, r.Time); err == nil && !lab.ListedFrom.IsZero() {
				h.BeforeListing = t.Before(lab.ListedFrom)
			}
			if r.Received > 0 {
				x := r.Received
				hr := h
				hr.Direction, hr.Value = "received", &x
				res.Hits = append(res.Hits, hr)
			}
			if r.Sent == nil || *r.Sent > 0 {
				hs := h
				hs.Direction, hs.Value = "sent", r.Sent
				res.Hits = append(res.Hits, hs)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(res.Hits, func(i, j int) bool { return res.Hits[i].Time < res.Hits[j].Time })
	res.Transactions = len(txs)
	if commit {
		if err := res.Commit(db); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Commit records that the rescreen's imports were screened and its
// addresses' transactions reported, so the next Rescreen starts after
// them. Call it only once the result has been delivered: a rescreen whose
// output could not be written must not count as done.
func (r *RescreenResult) Commit(db *index.DB) error {
	wb := db.NewStageBatch()
	defer wb.Close()
	var e encoding.Encbuf
	e.PutUvarint(r.bound.Tx)
	e.PutUvarint(r.bound.Detached)
	for ks := range r.reported {
		k, err := address.KeyFromBytes([]byte(ks))
		if err != nil {
			return corrupt("added", err)
		}
		wb.Set(keyReported(k), e.Get())
	}
	// Re-read the state: imports may have run since the rescreen read it.
	st, err := readState(db)
	if err != nil {
		return err
	}
	if r.ToImport > st.Rescreened {
		st.Rescreened = r.ToImport
		wb.Set(append([]byte{pState}, keyState...), st.encode())
	}
	if err := wb.Commit(); err != nil {
		return fmt.Errorf("label: record the rescreen: %w", err)
	}
	return nil
}

// ErrCategory is returned for a category or abuse that is not a concept.
var ErrCategory = errors.New("unknown category")

// OwnSource is the source name of labels added with `sleuth label add`.
const OwnSource = "investigator"

// AddOwn stores an investigator's label on address s, or (entity) on the
// whole entity that holds it.
func AddOwn(ctx context.Context, db *index.DB, s string, entity bool, l Label) (Result, error) {
	l, err := CheckOwn(db, s, entity, l)
	if err != nil {
		return Result{}, err
	}
	return AddChecked(ctx, db, l)
}

// CheckOwn checks an investigator's label on address s (or, entity, on
// the entity that holds it) as AddOwn does, without storing it, and
// returns it ready for AddChecked: ListedFrom defaults to today and must
// come before a ListedTo.
func CheckOwn(db *index.DB, s string, entity bool, l Label) (Label, error) {
	k, err := address.Decode(s, db.Network())
	if err != nil {
		return l, err
	}
	if l.Label == "" || l.Category == "" || l.Source == "" {
		return l, errors.New("a label needs --label, --category and --source")
	}
	if l.Confidence < 0 || l.Confidence > 100 {
		return l, fmt.Errorf("confidence %d: want 0..100", l.Confidence)
	}
	tax := tagpack.DefaultTaxonomy()
	for _, c := range []string{l.Category, l.Abuse} {
		if _, ok := tax.Concept(c); c != "" && !ok {
			return l, fmt.Errorf("%w: %q is not a concept of the GraphSense taxonomy (e.g. exchange, mixing_service, ransomware, service_hack, sanction)", ErrCategory, c)
		}
	}
	l.Address = k
	if entity {
		l.Scope = OnEntity
	}
	if l.ListedFrom.IsZero() {
		l.ListedFrom = time.Now().UTC().Truncate(24 * time.Hour)
	}
	if !l.ListedTo.IsZero() && !l.ListedTo.After(l.ListedFrom) {
		return l, fmt.Errorf("listed to %s is not after listed from %s", l.ListedTo.Format(time.DateOnly), l.ListedFrom.Format(time.DateOnly))
	}
	return l, nil
}

// AddChecked stores a label CheckOwn returned, as an import of its own
// (its Result.Import is the id that removes it).
func AddChecked(ctx context.Context, db *index.DB, l Label) (Result, error) {
	return Apply(ctx, db, &Batch{Kind: "own", Source: OwnSource, File: "sleuth label add", Labels: []Label{l}})
}

// Own returns the investigator's labels, for export.
func Own(ctx context.Context, db *index.DB) ([]Label, error) {
	srcs, err := sources(ctx, db)
	if err != nil {
		return nil, err
	}
	var own uint32
	for id, s := range srcs {
		if s.Kind == "own" {
			own = id
		}
	}
	var out []Label
	if own == 0 {
		return out, nil
	}
	err = eachSourceLabel(ctx, db, own, func(_ []byte, l *Label) error {
		out = append(out, *l)
		return nil
	})
	return out, err
}

// Service is an entity a label names as a service: where traced funds
// stop (an exchange, a swap service, a payment processor).
type Service struct {
	Label    string `json:"label"`
	Category string `json:"category"`
	Source   string `json:"source"`
}

// ServiceCategories are the concept ids that make an entity a cash-out
// point for tracing.
var ServiceCategories = []string{"exchange", "swap_service", "payment_processor", "gambling", "wallet_service", "bridge", "atm", "market"}

// Services returns, by entity id, the entities holding an address that a
// label of one of categories (ServiceCategories when nil) names — a
// service's address makes its entity the service — with the most confident
// such label. Its cost grows with the labelled addresses.
func Services(ctx context.Context, db *index.DB, categories []string) (map[uint64]Service, error) {
	if categories == nil {
		categories = ServiceCategories
	}
	want := map[string]bool{}
	for _, c := range categories {
		want[c] = true
	}
	out := map[uint64]Service{}
	conf := map[uint64]int{}
	err := eachLabelledAddress(ctx, db, func(id btc.AddrID, ent uint64) error {
		k, err := db.AddrKey(id)
		if err != nil {
			return err
		}
		ls, err := addressLabels(ctx, db, k)
		if err != nil {
			return err
		}
		for i := range ls {
			l := &ls[i]
			if !want[l.Category] {
				continue
			}
			if c, ok := conf[ent]; !ok || l.Confidence > c {
				conf[ent] = l.Confidence
				out[ent] = Service{Label: l.Label, Category: l.Category, Source: l.Source}
			}
		}
		return nil
	})
	return out, err
}

// EachAddressLabels calls fn with every labelled address key, indexed or
// not, and its labels as views with via "address", in address-key order,
// reading nothing of the index. Exposure (risk.LabelCache) keeps what it
// returns in memory and reads it again only when Edits changed.
func EachAddressLabels(ctx context.Context, db *index.DB, fn func(k address.Key, labels []View) error) error {
	srcs, err := sources(ctx, db)
	if err != nil {
		return err
	}
	v := &viewer{net: db.Network(), srcs: srcs}
	return eachKey(ctx, db, func(ak address.Key) error {
		views, err := v.addressViews(ctx, db, ak)
		if err != nil {
			return err
		}
		return fn(ak, views)
	})
}

// EachLabelled calls fn with every indexed labelled address, its entity (its
// own id when the index is not clustered) and its labels as views with via
// "address", in address-key order. Its cost grows with the labelled
// addresses. Exposure (package risk) reads the attribution through it.
func EachLabelled(ctx context.Context, db *index.DB, fn func(addr btc.AddrID, entity uint64, labels []View) error) error {
	srcs, err := sources(ctx, db)
	if err != nil {
		return err
	}
	v := &viewer{net: db.Network(), srcs: srcs}
	return eachLabelledKey(ctx, db, func(k address.Key, id btc.AddrID, ent uint64) error {
		views, err := v.addressViews(ctx, db, k)
		if err != nil {
			return err
		}
		return fn(id, ent, views)
	})
}

// addressViews returns the labels of address key k as views with via
// "address".
func (v *viewer) addressViews(ctx context.Context, db *index.DB, k address.Key) ([]View, error) {
	ls, err := addressLabels(ctx, db, k)
	if err != nil {
		return nil, err
	}
	views := make([]View, len(ls))
	for i := range ls {
		views[i] = v.view(&ls[i], "address")
	}
	return views, nil
}
