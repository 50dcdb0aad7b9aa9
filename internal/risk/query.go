package risk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// ErrNotComputed is returned when exposure has not been computed
// (sleuth risk update).
var ErrNotComputed = errors.New("risk: exposure not computed: run 'sleuth risk update'")

// Status is the stored exposure's state.
type Status struct {
	Height       int64  `json:"height"`
	StandaloneTx uint64 `json:"standalone_txs"`
	MaxHops      int    `json:"max_hops"`
	Epsilon      string `json:"epsilon"`
}

// ReadStatus returns how far exposure has been computed.
func ReadStatus(db *index.DB) (Status, error) {
	v, err := db.StageGet([]byte{pState})
	if err != nil {
		return Status{}, err
	}
	if v == nil {
		return Status{}, ErrNotComputed
	}
	var st state
	if err := st.decode(v); err != nil {
		return Status{}, err
	}
	s := Status{Height: st.Height, StandaloneTx: st.DetachedDone}
	if _, pending, err := readAggRuns(db); err != nil {
		return Status{}, err
	} else if pending {
		// A run from scratch has not merged its aggregates yet: no
		// address's exposure is complete to any height.
		s.Height, s.StandaloneTx = -1, 0
	}
	if len(st.Config) >= 2 {
		s.MaxHops = int(st.Config[0])
	}
	return s, nil
}

// Row is one line of an exposure report.
type Row struct {
	Category  string `json:"category"`
	Direction string `json:"direction"` // received, sent, self (the screened address's own attribution), input, output (a transaction)
	Kind      string `json:"kind"`      // direct, indirect
	// Basis says how the row was reached: BasisOwnLabel (a label on the
	// screened address itself), BasisEntity (a label on another member of
	// its entity: Explanation.Entity gives the merge path),
	// BasisTransactions (funds moved between it and labelled entities:
	// Explanation cites the biggest contribution; --paths or Path gives a
	// transaction path), BasisCounterparty (a transaction's input or
	// output address is itself labelled).
	Basis       string       `json:"basis"`
	Sats        uint64       `json:"sats"`
	Share       float64      `json:"share"` // of the total received (sent; the tx's inputs or outputs)
	MinHops     int          `json:"min_hops"`
	Explanation *Explanation `json:"explanation,omitempty"`
	// Path (as-of answers, which trace on demand): txids from the screened
	// address back (received) or on (sent) to the labelled entity's output.
	Path []string `json:"path,omitempty"`
}

// Explanation names the label behind an exposure figure: the labelled
// address at the far end of the biggest contributing path, the label
// (with its source and confidence), and the transaction in which that
// entity paid or was paid (hop 1).
type Explanation struct {
	Label      string  `json:"label"`
	Concept    string  `json:"concept"` // the label's category or abuse that maps to the exposure category
	Source     string  `json:"source"`
	List       string  `json:"list"`
	Confidence int     `json:"confidence"`
	Address    string  `json:"address"`     // the labelled address
	Via        string  `json:"via"`         // the label's scope: address or entity
	ListedFrom *string `json:"listed_from"` // the label's first listing (nil: unknown)
	ListedTo   *string `json:"listed_to"`   // delisted (nil: still listed, or unknown)
	TxID       string  `json:"txid,omitempty"`
	Hops       int     `json:"hops,omitempty"` // of the biggest contribution
	Sats       uint64  `json:"sats,omitempty"` // of the biggest contribution
	// Entity: the label reaches the screened address through its entity.
	Entity *EntityPath `json:"entity,omitempty"`
}

// Report is the answer for one address, entity or transaction.
type Report struct {
	Query   string  `json:"query"`
	Address string  `json:"address,omitempty"`
	Entity  *uint64 `json:"entity,omitempty"`
	TxID    string  `json:"txid,omitempty"`
	Members uint64  `json:"members,omitempty"` // entity: members summed
	Partial bool    `json:"partial,omitempty"` // entity: more members than the bound
	// Status: Assessed (Risk holds the level), NotSeen (valid but not on
	// the indexed chain: Reason gives the tip) or Invalid (Reason says
	// why). Risk is written as null unless Assessed.
	Status ScreenStatus `json:"status"`
	Reason string       `json:"reason,omitempty"`
	Risk   Level        `json:"-"`
	// RiskJSON is the JSON "risk": &Risk when Assessed, else null.
	RiskJSON *Level `json:"risk"`
	// Reasons are the Why of the rules that set Risk; Fired names each
	// with its threshold and the row it matched.
	Reasons  []string `json:"reasons"`
	Fired    []Fired  `json:"rules_fired,omitempty"`
	Received uint64   `json:"received"`
	Sent     uint64   `json:"sent"`
	Exposure []Row    `json:"exposure"`
	// Basis: what the answer stands on (set by callers that print one
	// answer; a batch states it once).
	Basis *Basis `json:"basis,omitempty"`
	// Method: how the exposure was computed (MethodStored, or the on-demand
	// trace of an as-of answer).
	Method string `json:"method,omitempty"`
	// Former lists the address's own listings that had ended by the
	// answer's date (a delisted address): shown, with both dates, but not
	// screened on.
	Former []Former `json:"formerly_listed,omitempty"`
}

// Former is a listing that ended: the label, its source and the dates it
// applied.
type Former struct {
	Label      string  `json:"label"`
	Category   string  `json:"category"`
	Source     string  `json:"source"`
	List       string  `json:"list"`
	ListedFrom *string `json:"listed_from"`
	ListedTo   string  `json:"listed_to"`
}

// Screener answers exposure queries. It caches label look-ups; it is not
// safe for concurrent use.
type Screener struct {
	db    *index.DB
	rules *Rules
	// MaxMembers bounds the members summed for an entity. Default 100,000.
	MaxMembers int
	// Explain resolves each row's label (default true); screening without
	// it is a few point reads per address.
	Explain bool
	// MaxExplainVisit bounds the addresses cluster.Explain may visit to
	// find the merge path to an entity's labelled member (default
	// 100,000); past it the row says so instead of giving the path.
	MaxExplainVisit int
	labels          map[btc.AddrID][]label.View
	viewer          *label.Viewer         // the label sources and entity index, read once
	stops           map[uint64]riskEntity // keyspace 54's stopping entities, read once by Paths
	tip             index.Tip
	tipTime         time.Time
	notSeen         string   // the NotSeen reason: the tip it was checked against
	thresholds      []string // each rule's Threshold, worked out once
	asOf            *asOf    // nil: now
}

// NewScreener returns a Screener with rules (DefaultRules when nil). It
// fails with ErrNotComputed when no exposure is stored.
func NewScreener(db *index.DB, rules *Rules) (*Screener, error) {
	if _, err := ReadStatus(db); err != nil {
		return nil, err
	}
	if rules == nil {
		rules = DefaultRules()
	}
	viewer, err := label.NewViewer(context.Background(), db)
	if err != nil {
		return nil, err
	}
	s := &Screener{db: db, rules: rules, MaxMembers: 100_000, MaxExplainVisit: 100_000, Explain: true,
		labels: map[btc.AddrID][]label.View{}, viewer: viewer, tip: db.Tip()}
	for i := range rules.Rules {
		s.thresholds = append(s.thresholds, rules.Rules[i].Threshold())
	}
	if s.tipTime, err = tipTime(db, s.tip); err != nil {
		return nil, err
	}
	s.notSeen = fmt.Sprintf("not on the indexed chain (tip height %d, %s)", s.tip.Height, s.tipTime.Format(time.RFC3339))
	return s, nil
}

// tipTime returns the time of block tip (zero for an empty store).
func tipTime(db *index.DB, tip index.Tip) (time.Time, error) {
	if tip.Height < 0 {
		return time.Time{}, nil
	}
	b, err := db.ChainBlock(btc.Height(tip.Height))
	if err != nil {
		return time.Time{}, fmt.Errorf("risk: tip block: %w", err)
	}
	return time.Unix(int64(b.Time), 0).UTC(), nil
}

// Screen reports the exposure and risk of address s: point reads of its
// id, entity, totals and aggregate, plus its own labels. A malformed
// address is Invalid and one the index never saw NotSeen (unless labels
// on it say something: it is then assessed on them); the error is for
// the store's failures only.
func (s *Screener) Screen(ctx context.Context, addr string) (*Report, error) {
	r := &Report{Query: addr, Address: addr, Reasons: []string{}, Exposure: []Row{}, Status: Assessed, Method: MethodStored}
	if s.asOf != nil {
		return s.screenAsOf(ctx, r)
	}
	id, err := s.db.AddrID(addr)
	if why, bad := invalidAddress(addr, err); bad {
		r.Status, r.Reason = Invalid, why
		return r, nil
	}
	if errors.Is(err, index.ErrNotFound) {
		// Not on chain: only its own labels can say anything.
		if err := s.ownRows(ctx, r, addr); err != nil {
			return nil, err
		}
		if err := s.assessUnseen(ctx, r); err != nil {
			return nil, err
		}
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	// Unclustered, an address is its own entity: no check of the
	// clustering's state per address.
	ent, err := cluster.EntityOrSelf(s.db, id)
	if err != nil {
		return nil, err
	}
	r.Entity = &ent
	tot, err := s.db.AddrTotals(id)
	if err != nil {
		return nil, err
	}
	r.Received, r.Sent = tot.Received, tot.Sent
	agg, err := s.aggregate(id)
	if err != nil {
		return nil, err
	}
	if err := s.rows(r, agg); err != nil {
		return nil, err
	}
	if err := s.selfRows(ctx, r, addr, id, false, ent); err != nil {
		return nil, err
	}
	// Listings of the address that have ended: shown, not screened on
	// (the stored attribution no longer counts them). One prefix read.
	own, err := s.viewer.Own(ctx, addr)
	if err != nil {
		return nil, err
	}
	s.current(r, own)
	if err := s.assess(ctx, r, r.Exposure); err != nil {
		return nil, err
	}
	return r, nil
}

// assess sets r's level and the rules that fired from rows.
func (s *Screener) assess(ctx context.Context, r *Report, rows []Row) error {
	r.Risk, r.Fired = s.rules.assess(rows, s.thresholds)
	r.RiskJSON = &r.Risk
	for _, f := range r.Fired {
		if f.Level == r.Risk && f.Why != "" && !slices.Contains(r.Reasons, f.Why) {
			r.Reasons = append(r.Reasons, f.Why)
		}
	}
	return s.mergePaths(ctx, r)
}

// assessUnseen finishes the report of a valid address the chain (as of
// the answer) never showed: assessed on its own labels when it has any,
// else NotSeen.
func (s *Screener) assessUnseen(ctx context.Context, r *Report) error {
	r.Reason = s.notSeen
	if len(r.Exposure) == 0 {
		r.Status, r.Method = NotSeen, ""
		return nil
	}
	r.Reason += "; assessed on the labels of the address itself"
	return s.assess(ctx, r, r.Exposure)
}

// ownRows adds the attribution carried by the labels on address addr
// itself (an address not on chain has no entity).
func (s *Screener) ownRows(ctx context.Context, r *Report, addr string) error {
	vs, err := s.viewer.Own(ctx, addr)
	if err != nil {
		return err
	}
	vs = s.current(r, vs)
	for c := Category(1); c < nCategories; c++ {
		if x := bestLabel(vs, c); x != nil {
			r.Exposure = append(r.Exposure, Row{Category: c.String(), Direction: "self", Kind: "direct", Basis: BasisOwnLabel, Share: 1, Explanation: x})
		}
	}
	return nil
}

// current returns the labels of vs that apply on the answer's date (today,
// or the as-of date) and records in r.Former those whose listing had ended
// by then: a delisted address shows as formerly listed with both dates,
// and is not screened on that listing.
func (s *Screener) current(r *Report, vs []label.View) []label.View {
	day := time.Now().UTC()
	if s.asOf != nil {
		day = s.asOf.date
	}
	d := day.Format(time.DateOnly)
	out := vs[:0:0]
	for i := range vs {
		v := &vs[i]
		switch {
		case appliedOn(v, day):
			out = append(out, *v)
		case v.ListedTo != nil && *v.ListedTo <= d:
			r.Former = append(r.Former, Former{Label: v.Label, Category: v.Category, Source: v.Source, List: v.List,
				ListedFrom: v.ListedFrom, ListedTo: *v.ListedTo})
		}
	}
	return out
}

// ScreenMany screens each address; a malformed or unseen address gets a
// report with its Status and Reason. Only the store's failures (and
// cancellation) stop it.
func (s *Screener) ScreenMany(ctx context.Context, addrs []string, fn func(*Report) error) error {
	for i, a := range addrs {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r, err := checked(s.Screen(ctx, a))
		if err != nil {
			return fmt.Errorf("risk: screen %s: %w", a, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Screener) aggregate(id btc.AddrID) (aggregate, error) {
	v, err := s.db.StageGet(key64(pAgg, uint64(id)))
	if err != nil || v == nil {
		return nil, err
	}
	return decodeAggregate(v)
}

// rows turns an aggregate into report rows.
func (s *Screener) rows(r *Report, agg aggregate) error {
	for _, f := range agg {
		row := Row{Category: f.Cat.String(), Direction: f.Dir.String(), Kind: "direct", Basis: BasisTransactions, Sats: f.Sats, MinHops: int(f.MinHops)}
		if f.Indirect {
			row.Kind = "indirect"
		}
		den := r.Received
		if f.Dir == Sent {
			den = r.Sent
		}
		if den > 0 {
			row.Share = min(float64(f.Sats)/float64(den), 1)
		}
		if s.Explain {
			x, err := s.explain(f.Src, f.Cat)
			if err != nil {
				return err
			}
			if x != nil {
				if x.TxID, err = s.txid(f.SrcTx); err != nil {
					return err
				}
				x.Hops, x.Sats = int(f.BestHops), f.Best
			}
			row.Explanation = x
		}
		r.Exposure = append(r.Exposure, row)
	}
	return nil
}

func (s *Screener) txid(n btc.TxNum) (string, error) {
	h, err := s.db.TxID(n)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// explain returns the most confident label of address a that maps to
// category c.
func (s *Screener) explain(a btc.AddrID, c Category) (*Explanation, error) {
	vs, ok := s.labels[a]
	if !ok {
		str, _, err := s.db.AddrString(a)
		if err != nil {
			return nil, err
		}
		if vs, err = s.viewer.Own(context.Background(), str); err != nil {
			return nil, err
		}
		if len(s.labels) > 100_000 {
			clear(s.labels)
		}
		s.labels[a] = vs
	}
	if s.asOf != nil {
		// Only the labels that applied on the as-of date.
		vs = slices.DeleteFunc(slices.Clone(vs), func(v label.View) bool { return !appliedOn(&v, s.asOf.date) })
	}
	if x := bestLabel(vs, c); x != nil {
		return x, nil
	}
	return incidentExplanation(context.Background(), s.db, a, c) // the output of an incident (incident.go)
}

func bestLabel(vs []label.View, c Category) *Explanation {
	var best *label.View
	concept := ""
	for i := range vs {
		v := &vs[i]
		for _, k := range []string{v.Abuse, v.Category} {
			if Concepts[k] == c && k != "" && (best == nil || v.Confidence > best.Confidence) {
				best, concept = v, k
			}
		}
	}
	if best == nil {
		return nil
	}
	return &Explanation{Label: best.Label, Concept: concept, Source: best.Source, List: best.List, Confidence: best.Confidence,
		Address: best.Address, Via: best.Via, ListedFrom: best.ListedFrom, ListedTo: best.ListedTo}
}

// selfRows adds the attribution of the address (or entity) itself: the
// labels of address addr (id) and those its entity ent carries through
// other members, each with the member, the entity's size and, when
// Explain, the merges that joined addr to the member (cluster.Explain).
func (s *Screener) selfRows(ctx context.Context, r *Report, addr string, id btc.AddrID, entity bool, ent uint64) error {
	if entity {
		vs, err := label.ShowEntity(ctx, s.db, ent, time.Time{})
		if err != nil {
			return err
		}
		size, err := cluster.Size(s.db, ent)
		if err != nil {
			return err
		}
		for c := Category(1); c < nCategories; c++ {
			if x := bestLabel(vs, c); x != nil {
				x.Entity = &EntityPath{ID: ent, Size: size, Member: x.Address}
				r.Exposure = append(r.Exposure, Row{Category: c.String(), Direction: "self", Kind: "direct", Basis: BasisEntity, Share: 1, Explanation: x})
			}
		}
		return nil
	}
	// What the address's entity is: one read of the labelled entities
	// Update stored, then the cited address's own labels.
	re, ok, err := s.labelledEntity(ent)
	if err != nil || !ok {
		return err
	}
	for c := Category(1); c < nCategories; c++ {
		if re.cats&(1<<c) == 0 {
			continue
		}
		x, err := s.explain(re.rep[c], c)
		if err != nil {
			return err
		}
		if x == nil {
			continue
		}
		row := Row{Category: c.String(), Direction: "self", Kind: "direct", Basis: BasisOwnLabel, Share: 1, Explanation: x}
		if x.Address != addr {
			// Carried by another address of the entity.
			x.Via, row.Basis = "entity", BasisEntity
			if x.Entity, err = s.entityPath(ent, id, re.rep[c], x.Address); err != nil {
				return err
			}
		}
		r.Exposure = append(r.Exposure, row)
	}
	return nil
}

// entityPath explains how address id belongs to entity ent with member
// (the labelled address, memberAddr): the entity's id and size. The
// merges joining them are found later, by mergePaths, for the rows that
// set the level only (a search per labelled-entity member would make
// screening an exchange's deposit addresses slow).
func (s *Screener) entityPath(ent uint64, id, member btc.AddrID, memberAddr string) (*EntityPath, error) {
	size, err := cluster.Size(s.db, ent)
	if err != nil {
		return nil, err
	}
	return &EntityPath{ID: ent, Size: size, Member: memberAddr, from: id, member: member}, nil
}

// mergePaths fills in, when Explain, the merges (cluster.Explain) of the
// entity paths of the rows that fired a rule.
func (s *Screener) mergePaths(ctx context.Context, r *Report) error {
	if !s.Explain {
		return nil
	}
	for _, f := range r.Fired {
		x := r.Exposure[f.Row].Explanation
		if x == nil || x.Entity == nil || x.Entity.Merges != nil || x.Entity.Note != "" || x.Entity.from == x.Entity.member {
			continue // no entity path, done, or an entity's own label (no screened address)
		}
		p := x.Entity
		steps, err := cluster.Explain(ctx, s.db, p.from, p.member, s.MaxExplainVisit)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The search gave up, or the clustering changed since
			// exposure was computed: say so rather than fail the answer.
			p.Note = "merge path not found: " + err.Error()
			continue
		}
		p.Merges = steps
	}
	return nil
}

// Entity reports the exposure of entity id (any member's address id): the
// sum of its members' aggregates, at most MaxMembers of them (Partial
// then). Transfers between members count at each member they reach.
func (s *Screener) Entity(ctx context.Context, id uint64) (*Report, error) {
	r := &Report{Query: fmt.Sprint(id), Reasons: []string{}, Exposure: []Row{}, Status: Assessed, Method: MethodStored}
	if id >= uint64(s.tip.NextAddr) {
		r.Status = NotSeen
		r.Reason = fmt.Sprintf("no address or entity %d: the index holds ids 0 to %d (tip height %d, %s)",
			id, int64(s.tip.NextAddr)-1, s.tip.Height, s.tipTime.Format(time.RFC3339))
		return r, nil
	}
	if s.asOf != nil {
		r.Status, r.Reason, r.Method = Invalid, "--as-of screens addresses and transactions, not entities", ""
		return r, nil
	}
	ent, err := cluster.EntityOf(s.db, btc.AddrID(id))
	if errors.Is(err, cluster.ErrNotClustered) {
		ent, err = id, nil
	}
	if err != nil {
		return nil, err
	}
	r.Entity = &ent
	var sum aggregate
	var ferr error
	err = cluster.Members(ctx, s.db, ent, 0, true, func(a btc.AddrID) bool {
		if r.Members >= uint64(s.MaxMembers) {
			r.Partial = true
			return false
		}
		r.Members++
		tot, err := s.db.AddrTotals(a)
		if err != nil {
			ferr = err
			return false
		}
		r.Received += tot.Received
		r.Sent += tot.Sent
		agg, err := s.aggregate(a)
		if err != nil {
			ferr = err
			return false
		}
		for _, f := range agg {
			sum = sum.merge(f)
		}
		return true
	})
	if errors.Is(err, cluster.ErrNotClustered) {
		err = nil
	}
	if err = errors.Join(err, ferr); err != nil {
		return nil, err
	}
	if r.Members == 0 { // alone, or not clustered
		r.Members = 1
		tot, err := s.db.AddrTotals(btc.AddrID(ent))
		if err != nil {
			return nil, err
		}
		r.Received, r.Sent = tot.Received, tot.Sent
		if sum, err = s.aggregate(btc.AddrID(ent)); err != nil {
			return nil, err
		}
	}
	if err := s.rows(r, sum); err != nil {
		return nil, err
	}
	if err := s.selfRows(ctx, r, "", btc.NoAddr, true, ent); err != nil {
		return nil, err
	}
	if err := s.assess(ctx, r, r.Exposure); err != nil {
		return nil, err
	}
	return r, nil
}

// Tx reports the exposure of a transaction: what its inputs carried in
// (the vectors of the outputs it spends), what its outputs carry out
// (including direct exposure when a labelled entity paid), and, as
// direct counterparty rows, the labels of its own input and output
// addresses (their entities'): paying a sanctioned address is direct
// sanction exposure. Hops 1 rows are "direct". An unknown txid is NotSeen.
// As of a date (SetAsOf), what its inputs carried is traced on demand and
// its outputs' onward exposure is left out.
func (s *Screener) Tx(ctx context.Context, txid btc.Hash) (*Report, error) {
	r := &Report{Query: txid.String(), TxID: txid.String(), Reasons: []string{}, Exposure: []Row{}, Status: Assessed, Method: MethodStored}
	num, err := s.db.TxNum(txid)
	if errors.Is(err, index.ErrNotFound) {
		r.Status, r.Reason, r.Method = NotSeen, s.notSeen, ""
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	var tx coinjoin.Tx
	if err := s.db.ReadTx(num, &tx); err != nil {
		return nil, err
	}
	if s.asOf != nil {
		after, err := s.asOf.after(s.db, num)
		if err != nil {
			return nil, err
		}
		if after {
			r.Status, r.Reason, r.Method = NotSeen, s.asOf.notSeen, ""
			return r, nil
		}
		r.Method = s.asOf.txMethod
	}
	for _, i := range tx.Ins {
		if i.Value > 0 {
			r.Received += uint64(i.Value)
		}
	}
	for _, o := range tx.Outs {
		r.Sent += uint64(max(o.Value, 0))
	}
	if s.asOf == nil {
		if err := s.txVectorRows(r, num, &tx); err != nil {
			return nil, err
		}
	} else if err := s.txAsOfRows(ctx, r, num, &tx); err != nil {
		return nil, err
	}
	if err := s.counterpartyRows(ctx, r, &tx); err != nil {
		return nil, err
	}
	// Rules see a transaction's rows as what it received. An input of
	// unknown value (a standalone block's) still moved funds: its
	// counterparty row counts as a nonzero amount.
	rows := slices.Clone(r.Exposure)
	for i := range rows {
		rows[i].Direction = "received"
		if rows[i].Basis == BasisCounterparty && rows[i].Sats == 0 {
			rows[i].Sats = 1
		}
	}
	if err := s.assess(ctx, r, rows); err != nil {
		return nil, err
	}
	return r, nil
}

// txVectorRows adds the stored exposure of what tx's inputs spent and
// what its outputs carry.
func (s *Screener) txVectorRows(r *Report, num btc.TxNum, tx *coinjoin.Tx) error {
	in := map[Category]*Row{}
	add := func(m map[Category]*Row, dir string, value btc.Amount, v vector) error {
		for _, x := range v {
			row := m[x.Cat]
			if row == nil {
				row = &Row{Category: x.Cat.String(), Direction: dir, Basis: BasisTransactions, MinHops: int(x.Hops)}
				m[x.Cat] = row
				if s.Explain {
					e, err := s.explain(x.Src, x.Cat)
					if err != nil {
						return err
					}
					if e != nil {
						if e.TxID, err = s.txid(x.SrcTx); err != nil {
							return err
						}
						e.Hops = int(x.Hops)
					}
					row.Explanation = e
				}
			}
			row.Sats += uint64(float64(value) * float64(x.Share) / one)
			row.MinHops = min(row.MinHops, int(x.Hops))
		}
		return nil
	}
	for _, i := range tx.Ins {
		if !i.Resolved || i.Value <= 0 {
			continue
		}
		v, err := s.vector(i.Prev)
		if err != nil {
			return err
		}
		if err := add(in, "input", i.Value, v); err != nil {
			return err
		}
	}
	out := map[Category]*Row{}
	for j, o := range tx.Outs {
		v, err := s.vector(btc.MakeOutRef(num, uint32(j)))
		if err != nil {
			return err
		}
		if err := add(out, "output", o.Value, v); err != nil {
			return err
		}
	}
	for _, m := range []map[Category]*Row{in, out} {
		for c := Category(1); c < nCategories; c++ {
			if row := m[c]; row != nil {
				row.Kind = "indirect"
				if row.MinHops == 1 {
					row.Kind = "direct"
				}
				s.share(r, row)
				r.Exposure = append(r.Exposure, *row)
			}
		}
	}
	return nil
}

// share sets row's share of what the transaction of r spent (input rows)
// or paid (output rows).
func (s *Screener) share(r *Report, row *Row) {
	den := r.Received
	if row.Direction == "output" {
		den = r.Sent
	}
	if den > 0 {
		row.Share = min(float64(row.Sats)/float64(den), 1)
	}
}

// counterpartyRows adds, per category, what tx's inputs spent from and its
// outputs paid to addresses whose entity is labelled with it: direct
// exposure, explained by the address's own label or its entity's.
func (s *Screener) counterpartyRows(ctx context.Context, r *Report, tx *coinjoin.Tx) error {
	for _, side := range []string{"input", "output"} {
		var rows [nCategories]*Row
		n := len(tx.Ins)
		if side == "output" {
			n = len(tx.Outs)
		}
		for j := 0; j < n; j++ {
			a, v := btc.NoAddr, btc.Amount(0)
			if side == "input" {
				a, v = tx.Ins[j].Addr, tx.Ins[j].Value
			} else {
				a, v = tx.Outs[j].Addr, tx.Outs[j].Value
			}
			if a == btc.NoAddr {
				continue
			}
			ent, err := cluster.EntityOf(s.db, a)
			if errors.Is(err, cluster.ErrNotClustered) {
				ent, err = uint64(a), nil
			}
			if err != nil {
				return err
			}
			re, ok, err := s.labelledEntity(ent)
			if err != nil {
				return err
			}
			if !ok || re.cats == 0 {
				continue
			}
			for c := Category(1); c < nCategories; c++ {
				if re.cats&(1<<c) == 0 {
					continue
				}
				row := rows[c]
				if row == nil {
					row = &Row{Category: c.String(), Direction: side, Kind: "direct", Basis: BasisCounterparty, MinHops: 1}
					rows[c] = row
					if err := s.counterpartyLabel(ctx, row, c, a, ent, re); err != nil {
						return err
					}
				}
				row.Sats += uint64(max(v, 0))
			}
		}
		for c := Category(1); c < nCategories; c++ {
			if row := rows[c]; row != nil {
				s.share(r, row)
				r.Exposure = append(r.Exposure, *row)
			}
		}
	}
	return nil
}

// counterpartyLabel explains a counterparty row of category c: the label
// on address a itself, else the one its entity ent carries through the
// cited member.
func (s *Screener) counterpartyLabel(ctx context.Context, row *Row, c Category, a btc.AddrID, ent uint64, re riskEntity) error {
	x, err := s.explain(a, c)
	if err != nil || x != nil {
		row.Explanation = x
		return err
	}
	if x, err = s.explain(re.rep[c], c); err != nil || x == nil {
		return err
	}
	x.Via = "entity"
	if x.Entity, err = s.entityPath(ent, a, re.rep[c], x.Address); err != nil {
		return err
	}
	row.Explanation = x
	return nil
}

// labelledEntity returns what keyspace 54 (or, as of a date, the labels
// then) says of entity ent.
func (s *Screener) labelledEntity(ent uint64) (riskEntity, bool, error) {
	if s.asOf != nil {
		re, ok := s.asOf.ents[ent]
		return re, ok, nil
	}
	v, err := s.db.StageGet(keyEntity(ent))
	if err != nil || v == nil {
		return riskEntity{}, false, err
	}
	var re riskEntity
	if err := re.decode(v); err != nil {
		return riskEntity{}, false, corrupt("entity", err)
	}
	return re, true, nil
}

func (s *Screener) vector(ref btc.OutRef) (vector, error) {
	v, err := s.db.StageGet(key64(pVector, uint64(ref)))
	if err != nil || v == nil {
		return nil, err
	}
	return decodeVector(v)
}

// PathRow explains one exposure category of an address with a trace:
// received (backward, where its funds came from) or sent (forward, where
// what it spent went): the labelled entity of the category that most of
// the traced sats came from or reached, and one transaction path between
// the address and it.
type PathRow struct {
	Category  string  `json:"category"`
	Direction string  `json:"direction"` // received, sent
	Kind      string  `json:"kind"`      // direct (MinHops 1), indirect
	Sats      int64   `json:"sats"`      // from (to) every labelled entity of the category
	Share     float64 `json:"share"`     // of the traced sats (what the address received; sent)
	Entities  int     `json:"entities"`
	MinHops   int     `json:"min_hops"` // fewest hops to any entity of the category
	// The entity of the category that most sats came from (went to).
	Entity      uint64       `json:"entity"`
	EntitySats  int64        `json:"entity_sats"`
	Hops        int          `json:"hops"` // of the biggest entity's nearest arrival
	Explanation *Explanation `json:"explanation,omitempty"`
	// Path: received, txids from the transaction paying the address back
	// to the one that created the output the labelled entity spent; sent,
	// txids from the transaction that paid the address (the spent
	// output's) forward to the one paying the labelled entity. Out is the
	// entity's output (TXID:VOUT): spent (received) or paid (sent).
	Out  string   `json:"out,omitempty"`
	Path []string `json:"path"`
}

// PathReport is the answer of Paths (received) or SentPaths (sent).
type PathReport struct {
	Address   string       `json:"address"`
	Direction string       `json:"direction"` // received (backward trace), sent (forward trace)
	Policy    string       `json:"policy"`
	Traced    int64        `json:"traced_sats"` // received: every output received; sent: every output spent
	Totals    trace.Totals `json:"totals"`
	Rows      []PathRow    `json:"paths"`
	TxsRead   int          `json:"txs_read"`
	Elapsed   float64      `json:"elapsed_seconds"`
}

// Paths explains the received exposure of address addr by a backward
// trace (package trace, Direction Backward) from every output it
// received, stopping at the labelled entities exposure knows (keyspace
// 54: any category, and services); opts sets the policy, hops and the
// rest (its Direction, Stop and Perpetrators are overwritten). The
// address's own entity is walked through, not stopped at. Unlike Screen
// it walks the chain: its cost grows with the history behind the address.
func (s *Screener) Paths(ctx context.Context, addr string, opts trace.Options) (*PathReport, error) {
	return s.paths(ctx, addr, trace.Backward, opts)
}

// SentPaths explains the sent exposure of address addr, direct and
// indirect, by a forward trace (Direction Forward) from every output of
// the address that has been spent (trace.FromAddress, keeping the outputs
// index.DB.SpentBy knows a spend of: unspent outputs were not sent),
// stopping at the same labelled entities as Paths and walking through the
// address's own entity. Traced is then what the address sent (its
// outputs spent, change to itself included, as in index.AddrTotals.Sent);
// a row's Sats are what of it reached the category's entities, Hops 1
// (direct) when the transaction spending the address's output paid the
// entity. Change paid back to the address is one of its spent outputs
// too: the trace counts its taint once (Totals.Overlap). Screen's stored
// sent exposure stays direct only; this walks the chain like Paths.
func (s *Screener) SentPaths(ctx context.Context, addr string, opts trace.Options) (*PathReport, error) {
	return s.paths(ctx, addr, trace.Forward, opts)
}

// stopEntities returns the labelled entities of keyspace 54 with a
// category or the service flag, read once per Screener.
func (s *Screener) stopEntities(ctx context.Context) (map[uint64]riskEntity, error) {
	if s.stops != nil {
		return s.stops, nil
	}
	ents := map[uint64]riskEntity{}
	err := s.db.StageScan(ctx, []byte{pEntity}, []byte{pEntity + 1}, func(k, v []byte) (bool, error) {
		if len(k) != 9 {
			return false, corrupt("entity key", fmt.Errorf("length %d", len(k)))
		}
		var re riskEntity
		if err := re.decode(v); err != nil {
			return false, corrupt("entity", err)
		}
		if re.cats != 0 || re.stop {
			ents[binary.BigEndian.Uint64(k[1:])] = re
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	s.stops = ents
	return ents, nil
}

func (s *Screener) paths(ctx context.Context, addr string, dir trace.Direction, opts trace.Options) (*PathReport, error) {
	id, err := s.db.AddrID(addr)
	if err != nil {
		return nil, err
	}
	own, err := cluster.EntityOf(s.db, id)
	if errors.Is(err, cluster.ErrNotClustered) {
		own, err = uint64(id), nil
	}
	if err != nil {
		return nil, err
	}
	ents, err := s.stopEntities(ctx)
	if err != nil {
		return nil, err
	}
	return s.tracePaths(ctx, addr, id, own, dir, opts, ents, nil, false)
}

// tracePaths traces from address id (of entity own) in direction dir,
// stopping at ents; keep, when set, chooses the source outputs (received:
// the outputs the address received; sent: those it spent).
func (s *Screener) tracePaths(ctx context.Context, addr string, id btc.AddrID, own uint64, dir trace.Direction, opts trace.Options,
	ents map[uint64]riskEntity, keep func(btc.OutRef) (bool, error), propagation bool) (*PathReport, error) {
	src, err := trace.FromAddress(s.db, id)
	if err != nil {
		return nil, err
	}
	if keep != nil {
		kept := src[:0]
		for _, t := range src {
			ok, err := keep(t.Out)
			if err != nil {
				return nil, err
			}
			if ok {
				kept = append(kept, t)
			}
		}
		src = kept
	}
	if dir == trace.Forward {
		spent := src[:0]
		for _, t := range src {
			_, ok, err := s.db.SpentBy(t.Out)
			if err != nil {
				return nil, err
			}
			if ok {
				spent = append(spent, t)
			}
		}
		src = spent
	}
	return s.traceSources(ctx, addr, src, []uint64{own}, dir, opts, ents, propagation)
}

// traceSources traces src in direction dir (received: backward; sent:
// forward), walking through the entities perps and stopping at ents, and
// sums what reached each category's entities. With propagation, as
// Update's exposure does, a category that does not propagate (exchange)
// counts only the entities reached at hop 1.
func (s *Screener) traceSources(ctx context.Context, addr string, src []trace.Taint, perps []uint64, dir trace.Direction, opts trace.Options,
	ents map[uint64]riskEntity, propagation bool) (*PathReport, error) {
	direction := "received"
	if dir == trace.Forward {
		direction = "sent"
	}
	opts.Direction = dir
	opts.Perpetrators = perps
	opts.Stop = func(e uint64) (label.Service, bool) {
		re, ok := ents[e]
		if !ok {
			return label.Service{}, false
		}
		for c := Category(1); c < nCategories; c++ {
			if re.cats&(1<<c) != 0 {
				return label.Service{Category: c.String()}, true
			}
		}
		return label.Service{Category: "service"}, true
	}
	pr := &PathReport{Address: addr, Direction: direction, Policy: opts.Policy.String(), Rows: []PathRow{}}
	if len(src) == 0 {
		return pr, nil // never spent (sent): nothing to trace
	}
	res, err := trace.Trace(ctx, s.db, src, opts)
	if err != nil {
		return nil, err
	}
	pr.Policy, pr.Traced, pr.Totals, pr.TxsRead, pr.Elapsed = res.Policy, res.Totals.Source, res.Totals, res.TxsRead, res.Elapsed
	byCat := map[Category]*PathRow{}
	for i := range res.Entities {
		e := &res.Entities[i]
		if !e.CashOut || e.CashedOut == 0 {
			continue
		}
		re := ents[e.ID]
		for c := Category(1); c < nCategories; c++ {
			if re.cats&(1<<c) == 0 || propagation && !c.propagates() && e.MinHops > 1 {
				continue
			}
			row := byCat[c]
			if row == nil {
				row = &PathRow{Category: c.String(), Direction: direction, Path: []string{}}
				byCat[c] = row
			}
			row.Sats += e.CashedOut
			row.Entities++
			if row.MinHops == 0 || e.MinHops < row.MinHops {
				row.MinHops = e.MinHops
			}
			// Entities come most sats first: the first is the biggest
			// (ties: the first listed).
			if row.EntitySats >= e.CashedOut {
				continue
			}
			row.Entity, row.EntitySats, row.Hops = e.ID, e.CashedOut, e.MinHops
			row.Out, row.Path = "", []string{}
			if len(e.Paths) > 0 {
				row.Out = e.Paths[0].Out
				row.Path = e.Paths[0].TxIDs
			}
			if row.Explanation, err = s.explain(re.rep[c], c); err != nil {
				return nil, err
			}
		}
	}
	for c := Category(1); c < nCategories; c++ {
		if row := byCat[c]; row != nil {
			row.Kind = "indirect"
			if row.MinHops == 1 {
				row.Kind = "direct"
			}
			if pr.Traced > 0 {
				row.Share = float64(row.Sats) / float64(pr.Traced)
			}
			pr.Rows = append(pr.Rows, *row)
		}
	}
	return pr, nil
}
