package trace

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/invariants"
)

// Result is what a trace found. Amounts are satoshis; shares are of
// Totals.Source. Under Poison the amounts after the source are output
// values, not taint, and overstate.
type Result struct {
	Policy     string      `json:"policy"`
	Direction  string      `json:"direction"`
	MaxHops    int         `json:"max_hops"`
	MinSats    int64       `json:"min_sats"`
	Sources    []SourceOut `json:"sources"`
	Totals     Totals      `json:"totals"`
	Entities   []Entity    `json:"entities"` // most sats first
	CoinJoins  []CoinJoin  `json:"coinjoins"`
	PeelChains []PeelChain `json:"peel_chains"`
	TxsRead    int         `json:"txs_read"`
	Truncated  bool        `json:"truncated"` // Options.MaxTxs was reached
	Elapsed    float64     `json:"elapsed_seconds"`
	Graph      Graph       `json:"-"` // built when Options.Graph; printed by --graph
}

// SourceOut is one source output.
type SourceOut struct {
	Out     string `json:"out"` // TXID:VOUT
	Address string `json:"address"`
	Entity  uint64 `json:"entity"`
	Sats    int64  `json:"sats"`

	ref  btc.OutRef
	addr btc.AddrID
}

// Totals account for every tainted sat of the source. For a conserving
// policy (all but Poison):
//
//	Source = CashedOut + Held + Beyond + Fee + BelowMin + BeyondHops + OutsideWindow + NoAddress + Overlap + Truncated + CoinJoin + Mined + Unknown
//
// A backward trace uses CashedOut for "came from a labelled source"
// (Options.Stop: e.g. an exchange withdrawal), Mined and Unknown; Held,
// Beyond, Fee and NoAddress stay 0.
type Totals struct {
	Source    int64 `json:"source"`
	CashedOut int64 `json:"cashed_out"` // reached a cash-out point
	Held      int64 `json:"held"`       // unspent at the tip
	// Beyond: on outputs of standalone blocks that no indexed input
	// spends: the blocks after them are not indexed, so where it went is
	// unknown (not "held").
	Beyond        int64 `json:"beyond_indexed"`
	Fee           int64 `json:"fee"`            // paid to miners
	BelowMin      int64 `json:"below_min"`      // spent on, but under Options.MinSats: not followed
	BeyondHops    int64 `json:"beyond_hops"`    // spent on, but Options.MaxHops away: not followed
	OutsideWindow int64 `json:"outside_window"` // spent outside [After, Before)
	NoAddress     int64 `json:"no_address"`     // to outputs without an address (OP_RETURN)
	Overlap       int64 `json:"overlap"`        // sources overlapping each other (counted once)
	Truncated     int64 `json:"truncated"`      // pending when Options.MaxTxs was reached
	// CoinJoin: taint a CoinJoin's participant split could not attribute
	// (a share of outputs that cannot be told apart): uncertain, not
	// followed and not exposure (unless Options.FollowCoinJoins).
	CoinJoin int64 `json:"coinjoin_uncertain"`
	// Backward only: Mined is taint that came from a coinbase; Unknown is
	// taint from inputs whose spent output is not indexed, or that the
	// inputs' known values cannot cover.
	Mined   int64 `json:"mined,omitempty"`
	Unknown int64 `json:"unknown,omitempty"`
}

// Lost is what was not followed to its end: below MinSats, beyond
// MaxHops, outside the window or truncated.
func (t Totals) Lost() int64 { return t.BelowMin + t.BeyondHops + t.OutsideWindow + t.Truncated }

// Ended is what of the taint ended at an entity or address: cashed out,
// held, beyond the indexed range or untracked there.
func (a *addrAcc) ended() int64 { return a.cashed + a.held + a.beyond + a.untracked }

// Denominator is what shares are of: Source, or Accounted when it is
// larger (Poison creates taint: its amounts overstate).
func (t Totals) Denominator() int64 { return max(t.Source, t.Accounted()) }

// Accounted is the sum of every destination; equal to Source for a
// conserving policy.
func (t Totals) Accounted() int64 {
	return t.CashedOut + t.Held + t.Beyond + t.Fee + t.NoAddress + t.Overlap + t.CoinJoin + t.Mined + t.Unknown + t.Lost()
}

// Entity is one entity that tainted sats reached (outside the sources).
type Entity struct {
	ID          uint64 `json:"entity"`
	Label       string `json:"label,omitempty"`
	Category    string `json:"category,omitempty"`
	LabelSource string `json:"label_source,omitempty"`
	CashOut     bool   `json:"cash_out"` // a service: followed no further
	Perpetrator bool   `json:"perpetrator,omitempty"`
	// Sats: tainted sats received from outside the entity. Its own taint
	// coming back in one transaction (change, a self-transfer, a peel
	// chain's remainder) is not received again; taint that leaves and
	// comes back later is. Pass-through included.
	Sats int64 `json:"sats"`
	// Share: of the trace's taint, what ended at the entity: cashed out,
	// held, beyond the indexed range or untracked here (never more than 1,
	// and the shares of all entities sum to at most 1; see Denominator).
	Share        float64 `json:"share"`
	CashedOut    int64   `json:"cashed_out"`
	Held         int64   `json:"held"`
	Beyond       int64   `json:"beyond_indexed"` // on standalone blocks' outputs whose spend is not indexed
	Untracked    int64   `json:"untracked"`      // stopped here by MinSats or MaxHops
	MinHops      int     `json:"min_hops"`
	MaxHops      int     `json:"max_hops"`
	First        string  `json:"first"`
	Last         string  `json:"last"`
	NumAddresses int     `json:"num_addresses"` // addresses reached
	// Addresses: most sats first, at most Options.MaxAddresses; their
	// strings only for the first Options.Detail entities (ids always).
	Addresses []Addr `json:"addresses"`
	// Paths: the largest arrivals, each from a source; only for the
	// first Options.Detail entities.
	Paths []Path `json:"paths"`
}

// Addr is one address of an Entity that tainted sats reached; Sats and
// Share as the Entity's, for the address alone.
type Addr struct {
	Address   string  `json:"address"`
	ID        uint64  `json:"id"`
	Sats      int64   `json:"sats"`
	Share     float64 `json:"share"`
	CashedOut int64   `json:"cashed_out"`
	Held      int64   `json:"held"`
	Beyond    int64   `json:"beyond_indexed"`
	Untracked int64   `json:"untracked"`
	MinHops   int     `json:"min_hops"`
	MaxHops   int     `json:"max_hops"`
	First     string  `json:"first"`
	Last      string  `json:"last"`
}

// Path is an example of how tainted sats got to an entity: the txids
// from a source's transaction to the one paying the entity, each step
// following the transaction's largest tainted input.
type Path struct {
	Out   string   `json:"out"` // the output reached, TXID:VOUT
	Sats  int64    `json:"sats"`
	TxIDs []string `json:"txids"`
}

// CoinJoin is a CoinJoin that taint went through, split per participant.
type CoinJoin struct {
	TxID         string `json:"txid"`
	Kind         string `json:"kind"`
	Denomination int64  `json:"denomination"`
	Participants int    `json:"participants"`
	TaintIn      int64  `json:"taint_in"`
	Hop          int    `json:"hop"`
	// Method is how the tainted participants' outputs were found:
	// MixCluster, MixChange or MixNone.
	Method string `json:"method"`
	// Certain: taint on outputs attributed to the tainted participants
	// (followed); Uncertain: taint shared over UncertainOutputs outputs
	// that cannot be told apart (Totals.CoinJoin unless followed).
	Certain          int64 `json:"taint_certain"`
	Uncertain        int64 `json:"taint_uncertain"`
	UncertainOutputs int   `json:"uncertain_outputs"`

	num btc.TxNum
}

// PeelChain is a run of peel-shaped transactions (1–2 inputs, two outputs,
// the smaller at most PeelShare), each spending the previous one's
// remainder. Only runs of at least MinPeelRun transactions are reported.
type PeelChain struct {
	TxIDs  []string `json:"txids"`
	Start  int64    `json:"start"`  // tainted sats entering the first transaction
	Peeled int64    `json:"peeled"` // tainted sats in the peels
}

// MinPeelRun is the shortest run of peels reported as a chain.
const MinPeelRun = 3

func fmtTime(t uint32) string {
	if t == 0 {
		return ""
	}
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}

func (w *walker) txid(num btc.TxNum, cache map[btc.TxNum]string) (string, error) {
	if s, ok := cache[num]; ok {
		return s, nil
	}
	h, err := w.db.TxID(num)
	if err != nil {
		return "", fmt.Errorf("trace: txid of %d: %w", num, err)
	}
	cache[num] = h.String()
	return cache[num], nil
}

func (w *walker) outString(ref btc.OutRef, cache map[btc.TxNum]string) (string, error) {
	id, err := w.txid(ref.Tx(), cache)
	return fmt.Sprintf("%s:%d", id, ref.Vout()), err
}

func (w *walker) addrString(a btc.AddrID) (string, error) {
	if a == btc.NoAddr {
		return "", nil
	}
	s, _, err := w.db.AddrString(a)
	if err != nil {
		return "", fmt.Errorf("trace: address %d: %w", a, err)
	}
	return s, nil
}

func share(x, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(x) / float64(total)
}

// result turns the walk's accumulators into a Result.
func (w *walker) result(sources []SourceOut) (*Result, error) {
	ids := map[btc.TxNum]string{}
	r := &Result{Policy: w.opts.Policy.String(), Direction: w.opts.Direction.String(), MaxHops: w.opts.MaxHops,
		MinSats: int64(w.opts.MinSats), Totals: w.totals, TxsRead: w.visited, Truncated: w.totals.Truncated > 0}
	den := r.Totals.Denominator()
	for _, s := range sources {
		var err error
		if s.Out, err = w.outString(s.ref, ids); err != nil {
			return nil, err
		}
		if s.Address, err = w.addrString(s.addr); err != nil {
			return nil, err
		}
		r.Sources = append(r.Sources, s)
	}
	for id, ea := range w.ents {
		e := Entity{ID: id, Label: ea.svc.Label, Category: ea.svc.Category, LabelSource: ea.svc.Source,
			CashOut: ea.cashOut, Perpetrator: ea.perp, Sats: ea.sats, Share: share(ea.ended(), den),
			CashedOut: ea.cashed, Held: ea.held, Beyond: ea.beyond, Untracked: ea.untracked,
			MinHops: int(ea.minHop), MaxHops: int(ea.maxHop), First: fmtTime(ea.first), Last: fmtTime(ea.last)}
		e.NumAddresses = len(ea.addrs)
		r.Entities = append(r.Entities, e)
	}
	sort.Slice(r.Entities, func(i, j int) bool {
		a, b := &r.Entities[i], &r.Entities[j]
		if a.CashOut != b.CashOut {
			return a.CashOut
		}
		if a.Sats != b.Sats {
			return a.Sats > b.Sats
		}
		return a.ID < b.ID
	})
	// Addresses (ids and numbers) for every entity; strings and paths,
	// a store read each, only for the first Options.Detail.
	for i := range r.Entities {
		e := &r.Entities[i]
		ea := w.ents[e.ID]
		for a, x := range ea.addrs {
			e.Addresses = append(e.Addresses, Addr{ID: uint64(a), Sats: x.sats, Share: share(x.ended(), den),
				CashedOut: x.cashed, Held: x.held, Beyond: x.beyond, Untracked: x.untracked, MinHops: int(x.minHop), MaxHops: int(x.maxHop),
				First: fmtTime(x.first), Last: fmtTime(x.last)})
		}
		sort.Slice(e.Addresses, func(i, j int) bool {
			if e.Addresses[i].Sats != e.Addresses[j].Sats {
				return e.Addresses[i].Sats > e.Addresses[j].Sats
			}
			return e.Addresses[i].ID < e.Addresses[j].ID
		})
		e.Addresses = e.Addresses[:min(len(e.Addresses), w.opts.MaxAddresses)]
		if w.opts.Detail >= 0 && i >= w.opts.Detail {
			continue
		}
		for i := range e.Addresses {
			s, err := w.addrString(btc.AddrID(e.Addresses[i].ID))
			if err != nil {
				return nil, err
			}
			e.Addresses[i].Address = s
		}
		sort.Slice(ea.examples, func(i, j int) bool { return ea.examples[i].sats > ea.examples[j].sats })
		for _, ex := range ea.examples {
			p, err := w.path(ex, ids)
			if err != nil {
				return nil, err
			}
			e.Paths = append(e.Paths, p)
		}
	}
	for _, c := range w.cjs {
		var err error
		if c.TxID, err = w.txid(c.num, ids); err != nil {
			return nil, err
		}
		r.CoinJoins = append(r.CoinJoins, c)
	}
	for _, pr := range w.peels {
		if len(pr.txs) < MinPeelRun {
			continue
		}
		pc := PeelChain{Start: pr.start, Peeled: pr.peels}
		for _, n := range pr.txs {
			s, err := w.txid(n, ids)
			if err != nil {
				return nil, err
			}
			pc.TxIDs = append(pc.TxIDs, s)
		}
		r.PeelChains = append(r.PeelChains, pc)
	}
	if invariants.Enabled {
		checkShares(r, w.ents)
	}
	if w.opts.Graph {
		g, err := w.graph(r)
		if err != nil {
			return nil, err
		}
		r.Graph = g
	}
	return r, nil
}

// path follows parents from the arrival's transaction back to a source's.
func (w *walker) path(a arrival, ids map[btc.TxNum]string) (Path, error) {
	out, err := w.outString(a.out, ids)
	if err != nil {
		return Path{}, err
	}
	p := Path{Out: out, Sats: a.sats}
	var nums []btc.TxNum
	n := a.out.Tx()
	if w.opts.Direction == Backward {
		// From the funding transaction through the one that spent it
		// back up to a source's transaction; printed source first.
		nums = append(nums, n)
		n = a.via
		for {
			nums = append(nums, n)
			par, ok := w.parent[n]
			if !ok || par == noParent || len(nums) > w.opts.MaxHops+1 {
				break
			}
			n = par
		}
		for _, m := range nums {
			s, err := w.txid(m, ids)
			if err != nil {
				return Path{}, err
			}
			p.TxIDs = append(p.TxIDs, s)
		}
		slices.Reverse(p.TxIDs)
		return p, nil
	}
	for {
		nums = append(nums, n)
		par, ok := w.parent[n]
		if !ok || len(nums) > w.opts.MaxHops+1 {
			break
		}
		n = par
	}
	for i := len(nums) - 1; i >= 0; i-- {
		s, err := w.txid(nums[i], ids)
		if err != nil {
			return Path{}, err
		}
		p.TxIDs = append(p.TxIDs, s)
	}
	return p, nil
}

// checkShares panics unless every share is in [0, 1], the entities'
// shares sum to at most 1, and what ended at entities and addresses adds
// up to no more than the totals (T5).
func checkShares(r *Result, ents map[uint64]*entAcc) {
	const eps = 1e-9
	t := r.Totals
	var sum float64
	var all, addrs addrAcc
	for _, e := range r.Entities {
		if e.Share < 0 || e.Share > 1+eps {
			panic(fmt.Sprintf("trace: assertion failed: entity %d share %v outside [0, 1]", e.ID, e.Share))
		}
		sum += e.Share
		for _, a := range e.Addresses {
			if a.Share < 0 || a.Share > e.Share+eps {
				panic(fmt.Sprintf("trace: assertion failed: address %d share %v outside [0, entity %d's %v]", a.ID, a.Share, e.ID, e.Share))
			}
		}
		ea := ents[e.ID]
		all.cashed, all.held, all.beyond, all.untracked = all.cashed+ea.cashed, all.held+ea.held, all.beyond+ea.beyond, all.untracked+ea.untracked
		for _, x := range ea.addrs {
			addrs.cashed, addrs.held, addrs.beyond, addrs.untracked = addrs.cashed+x.cashed, addrs.held+x.held, addrs.beyond+x.beyond, addrs.untracked+x.untracked
		}
	}
	if sum > 1+1e-6 {
		panic(fmt.Sprintf("trace: assertion failed: entity shares sum to %v > 1", sum))
	}
	if all != addrs || all.cashed != t.CashedOut || all.held > t.Held || all.beyond > t.Beyond || all.untracked > t.Lost() {
		panic(fmt.Sprintf("trace: assertion failed: entities end %+v, their addresses %+v, totals %+v", all, addrs, t))
	}
}
