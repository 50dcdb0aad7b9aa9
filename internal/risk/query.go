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
	if len(st.Config) >= 2 {
		s.MaxHops = int(st.Config[0])
	}
	return s, nil
}

// Row is one line of an exposure report.
type Row struct {
	Category    string       `json:"category"`
	Direction   string       `json:"direction"` // received, sent, self (the screened address's own attribution), input, output (a transaction)
	Kind        string       `json:"kind"`      // direct, indirect
	Sats        uint64       `json:"sats"`
	Share       float64      `json:"share"` // of the total received (sent; the tx's inputs or outputs)
	MinHops     int          `json:"min_hops"`
	Explanation *Explanation `json:"explanation,omitempty"`
}

// Explanation names the label behind an exposure figure: the labelled
// address at the far end of the biggest contributing path, the label
// (with its source and confidence), and the transaction in which that
// entity paid or was paid (hop 1).
type Explanation struct {
	Label      string `json:"label"`
	Concept    string `json:"concept"` // the label's category or abuse that maps to the exposure category
	Source     string `json:"source"`
	List       string `json:"list"`
	Confidence int    `json:"confidence"`
	Address    string `json:"address"` // the labelled address
	Via        string `json:"via"`     // the label's scope: address or entity
	TxID       string `json:"txid,omitempty"`
	Hops       int    `json:"hops,omitempty"` // of the biggest contribution
	Sats       uint64 `json:"sats,omitempty"` // of the biggest contribution
}

// Report is the answer for one address, entity or transaction.
type Report struct {
	Query    string   `json:"query"`
	Address  string   `json:"address,omitempty"`
	Entity   *uint64  `json:"entity,omitempty"`
	TxID     string   `json:"txid,omitempty"`
	Members  uint64   `json:"members,omitempty"` // entity: members summed
	Partial  bool     `json:"partial,omitempty"` // entity: more members than the bound
	Risk     Level    `json:"risk"`
	Reasons  []string `json:"reasons"`
	Received uint64   `json:"received"`
	Sent     uint64   `json:"sent"`
	Exposure []Row    `json:"exposure"`
	Error    string   `json:"error,omitempty"` // screening many: this address's problem
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
	labels  map[btc.AddrID][]label.View
	viewer  *label.Viewer         // the label sources and entity index, read once
	stops   map[uint64]riskEntity // keyspace 54's stopping entities, read once by Paths
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
	return &Screener{db: db, rules: rules, MaxMembers: 100_000, Explain: true, labels: map[btc.AddrID][]label.View{}, viewer: viewer}, nil
}

// Screen reports the exposure and risk of address s: point reads of its
// id, entity, totals and aggregate, plus its own labels.
func (s *Screener) Screen(ctx context.Context, addr string) (*Report, error) {
	r := &Report{Query: addr, Address: addr, Reasons: []string{}, Exposure: []Row{}}
	id, err := s.db.AddrID(addr)
	if errors.Is(err, index.ErrNotFound) {
		// Not on chain: only its own labels can say anything.
		if err := s.ownRows(ctx, r, addr); err != nil {
			return nil, err
		}
		r.Risk, r.Reasons = s.rules.Assess(r.Exposure)
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	ent, err := cluster.EntityOf(s.db, id)
	if errors.Is(err, cluster.ErrNotClustered) {
		ent, err = uint64(id), nil
	}
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
	if err := s.selfRows(ctx, r, addr, false, ent); err != nil {
		return nil, err
	}
	r.Risk, r.Reasons = s.rules.Assess(r.Exposure)
	return r, nil
}

// ownRows adds the attribution carried by the labels on address addr
// itself (an address not on chain has no entity).
func (s *Screener) ownRows(ctx context.Context, r *Report, addr string) error {
	vs, err := s.viewer.Own(ctx, addr)
	if err != nil {
		return err
	}
	for c := Category(1); c < nCategories; c++ {
		if x := bestLabel(vs, c); x != nil {
			r.Exposure = append(r.Exposure, Row{Category: c.String(), Direction: "self", Kind: "direct", Share: 1, Explanation: x})
		}
	}
	return nil
}

// ScreenMany screens each address; an address that cannot be screened
// (bad checksum, wrong network) gets a report with Error set.
func (s *Screener) ScreenMany(ctx context.Context, addrs []string, fn func(*Report) error) error {
	for i, a := range addrs {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r, err := s.Screen(ctx, a)
		if err != nil {
			if errors.Is(err, errCorrupt) || errors.Is(err, context.Canceled) {
				return err
			}
			r = &Report{Query: a, Address: a, Reasons: []string{}, Exposure: []Row{}, Error: err.Error()}
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
		row := Row{Category: f.Cat.String(), Direction: f.Dir.String(), Kind: "direct", Sats: f.Sats, MinHops: int(f.MinHops)}
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
		Address: best.Address, Via: best.Via}
}

// selfRows adds the attribution of the address (or entity) itself.
func (s *Screener) selfRows(ctx context.Context, r *Report, addr string, entity bool, ent uint64) error {
	var vs []label.View
	var err error
	if entity {
		vs, err = label.ShowEntity(ctx, s.db, ent, time.Time{})
	} else {
		// What the address's entity is: one read of the labelled
		// entities Update stored, then the cited address's own labels.
		var v []byte
		if v, err = s.db.StageGet(keyEntity(ent)); err != nil || v == nil {
			return err
		}
		var re riskEntity
		if err := re.decode(v); err != nil {
			return corrupt("entity", err)
		}
		for c := Category(1); c < nCategories; c++ {
			if re.cats&(1<<c) == 0 {
				continue
			}
			x, err := s.explain(re.rep[c], c)
			if err != nil {
				return err
			}
			if x != nil {
				if x.Address != addr {
					x.Via = "entity" // carried by another address of the entity
				}
				r.Exposure = append(r.Exposure, Row{Category: c.String(), Direction: "self", Kind: "direct", Share: 1, Explanation: x})
			}
		}
		return nil
	}
	if err != nil {
		return err
	}
	seen := uint16(0)
	for c := Category(1); c < nCategories; c++ {
		x := bestLabel(vs, c)
		if x == nil || seen&(1<<c) != 0 {
			continue
		}
		seen |= 1 << c
		r.Exposure = append(r.Exposure, Row{Category: c.String(), Direction: "self", Kind: "direct", Share: 1, Explanation: x})
	}
	return nil
}

// Entity reports the exposure of entity id (any member's address id): the
// sum of its members' aggregates, at most MaxMembers of them (Partial
// then). Transfers between members count at each member they reach.
func (s *Screener) Entity(ctx context.Context, id uint64) (*Report, error) {
	ent, err := cluster.EntityOf(s.db, btc.AddrID(id))
	if errors.Is(err, cluster.ErrNotClustered) {
		ent, err = id, nil
	}
	if err != nil {
		return nil, err
	}
	r := &Report{Query: fmt.Sprint(id), Entity: &ent, Reasons: []string{}, Exposure: []Row{}}
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
	if err := s.selfRows(ctx, r, "", true, ent); err != nil {
		return nil, err
	}
	r.Risk, r.Reasons = s.rules.Assess(r.Exposure)
	return r, nil
}

// Tx reports the exposure of a transaction: what its inputs carried in
// (the vectors of the outputs it spends) and what its outputs carry out
// (including direct exposure when a labelled entity paid). Hops 1 rows
// are "direct".
func (s *Screener) Tx(ctx context.Context, txid btc.Hash) (*Report, error) {
	num, err := s.db.TxNum(txid)
	if err != nil {
		return nil, err
	}
	var tx coinjoin.Tx
	if err := s.db.ReadTx(num, &tx); err != nil {
		return nil, err
	}
	r := &Report{Query: txid.String(), TxID: txid.String(), Reasons: []string{}, Exposure: []Row{}}
	in := map[Category]*Row{}
	add := func(m map[Category]*Row, dir string, value btc.Amount, v vector) error {
		for _, x := range v {
			row := m[x.Cat]
			if row == nil {
				row = &Row{Category: x.Cat.String(), Direction: dir, MinHops: int(x.Hops)}
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
		if i.Value > 0 {
			r.Received += uint64(i.Value)
		}
		if !i.Resolved || i.Value <= 0 {
			continue
		}
		v, err := s.vector(i.Prev)
		if err != nil {
			return nil, err
		}
		if err := add(in, "input", i.Value, v); err != nil {
			return nil, err
		}
	}
	out := map[Category]*Row{}
	for j, o := range tx.Outs {
		r.Sent += uint64(max(o.Value, 0))
		v, err := s.vector(btc.MakeOutRef(num, uint32(j)))
		if err != nil {
			return nil, err
		}
		if err := add(out, "output", o.Value, v); err != nil {
			return nil, err
		}
	}
	for _, m := range []map[Category]*Row{in, out} {
		for c := Category(1); c < nCategories; c++ {
			if row := m[c]; row != nil {
				row.Kind = "indirect"
				if row.MinHops == 1 {
					row.Kind = "direct"
				}
				den := r.Received
				if row.Direction == "output" {
					den = r.Sent
				}
				if den > 0 {
					row.Share = min(float64(row.Sats)/float64(den), 1)
				}
				r.Exposure = append(r.Exposure, *row)
			}
		}
	}
	// Rules see a transaction's outputs as what it received.
	rows := slices.Clone(r.Exposure)
	for i := range rows {
		rows[i].Direction = "received"
	}
	r.Risk, r.Reasons = s.rules.Assess(rows)
	return r, nil
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
	src, err := trace.FromAddress(s.db, id)
	if err != nil {
		return nil, err
	}
	direction := "received"
	if dir == trace.Forward {
		direction = "sent"
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
	opts.Direction = dir
	opts.Perpetrators = []uint64{own}
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
			if re.cats&(1<<c) == 0 {
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
