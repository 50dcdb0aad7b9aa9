package risk

import (
	"context"
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

// asOf is what a Screener needs to answer as of a past date.
type asOf struct {
	date   time.Time // the date, 00:00 UTC: labels that applied then (as labels show --as-of)
	cut    time.Time // the next midnight: transactions before it count
	height int64     // the last best-chain block before cut (-1: none)
	// ents are the labelled entities (current clustering) by the labels
	// that applied on date.
	ents     map[uint64]riskEntity
	maxHops  int
	notSeen  string
	method   string
	txMethod string
}

// SetAsOf makes the Screener answer as of date (a day, UTC): a label
// counts when it applied on that date (listed on or before it and not
// delisted by then, as `sleuth labels show --as-of` decides), and only
// transactions up to the end of that day count. Stored exposure covers
// the whole chain under today's labels, so an as-of answer recomputes the
// screened address's exposure on demand (package trace): a backward
// haircut trace, up to the stored MaxHops, from the outputs it received
// before the cut, and a forward trace of one hop (direct, as stored sent
// exposure is) from the outputs it spent before the cut, both stopping at
// the entities labelled on date, following CoinJoins as Update does (as
// if certain) and counting exchange exposure at hop 1 only. Report.Method
// says so. Its cost grows
// with the history behind the address, not a few point reads. Setting
// the date reads every label once.
func (s *Screener) SetAsOf(ctx context.Context, date time.Time) error {
	st, err := ReadStatus(s.db)
	if err != nil {
		return err
	}
	day := date.UTC().Truncate(24 * time.Hour)
	a := &asOf{date: day, cut: day.Add(24 * time.Hour), maxHops: max(st.MaxHops, 1), ents: map[uint64]riskEntity{}}
	services := map[string]bool{}
	for _, c := range label.ServiceCategories {
		services[c] = true
	}
	err = label.EachLabelled(ctx, s.db, func(id btc.AddrID, ent uint64, ls []label.View) error {
		for i := range ls {
			if !appliedOn(&ls[i], day) {
				continue
			}
			bits, stop := categoriesOf(ls[i].Category, ls[i].Abuse), services[ls[i].Category]
			if bits == 0 && !stop {
				continue
			}
			re := a.ents[ent]
			re.stop = re.stop || stop
			for c := Category(1); c < nCategories; c++ {
				if bits&(1<<c) != 0 && (re.cats&(1<<c) == 0 || ls[i].Confidence > re.repConf[c] || ls[i].Confidence == re.repConf[c] && id < re.rep[c]) {
					re.rep[c], re.repConf[c] = id, ls[i].Confidence
				}
			}
			re.cats |= bits
			a.ents[ent] = re
		}
		return nil
	})
	if err != nil {
		return err
	}
	if a.height, err = heightBefore(s.db, a.cut); err != nil {
		return err
	}
	d := day.Format(time.DateOnly)
	a.notSeen = fmt.Sprintf("not on the indexed chain as of %s (height %d; index tip %d, %s)", d, a.height, s.tip.Height,
		s.tipTime.Format(time.RFC3339))
	a.method = fmt.Sprintf("as of %s, traced on demand: received, backward haircut trace (at most %d hops) from the outputs received by %s; "+
		"sent, the entities paid directly (1 hop) from the outputs spent by %s; labels that applied on %s; "+
		"transactions of standalone blocks (ingest --raw-block) are not traced", d, a.maxHops, d, d, d)
	a.txMethod = fmt.Sprintf("as of %s, traced on demand: inputs, backward haircut trace (at most %d hops) from the outputs the transaction spent; "+
		"counterparties, the labels that applied on %s on its own input and output addresses; "+
		"transactions of standalone blocks (ingest --raw-block) are not traced", d, a.maxHops, d)
	s.asOf = a
	return nil
}

// appliedOn reports whether label view v applied on day (its dates are
// days: listed on or before day, not delisted on or before it).
func appliedOn(v *label.View, day time.Time) bool {
	d := day.Format(time.DateOnly)
	return (v.ListedFrom == nil || *v.ListedFrom <= d) && (v.ListedTo == nil || d < *v.ListedTo)
}

// heightBefore returns the last best-chain height whose block time is
// before cut (-1 when none), by binary search on block times (which may
// deviate from strict order by up to two hours, Bitcoin's rule).
func heightBefore(db *index.DB, cut time.Time) (int64, error) {
	lo, hi := int64(-1), db.Tip().Height // invariant: lo before cut, hi+1 not
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		b, err := db.ChainBlock(btc.Height(mid))
		if err != nil {
			return 0, err
		}
		if int64(b.Time) < cut.Unix() {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}

// after reports whether transaction num's block time is at or after the
// cut.
func (a *asOf) after(db *index.DB, num btc.TxNum) (bool, error) {
	ts, err := db.TxTime(num)
	if err != nil {
		return false, err
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return false, fmt.Errorf("risk: tx %d time %q: %w", num, ts, err)
	}
	return !t.Before(a.cut), nil
}

// counts reports whether transaction num counts as of the date: before
// the cut and on the best chain (standalone blocks' transactions have no
// place on it to trace from: they are left out, and Method says so).
func (a *asOf) counts(db *index.DB, num btc.TxNum) (bool, error) {
	if num >= index.DetachedBase {
		return false, nil
	}
	after, err := a.after(db, num)
	return !after, err
}

// screenAsOf answers Screen as of s.asOf (see SetAsOf).
func (s *Screener) screenAsOf(ctx context.Context, r *Report) (*Report, error) {
	a := s.asOf
	addr := r.Address
	id, err := s.db.AddrID(addr)
	if why, bad := invalidAddress(addr, err); bad {
		r.Status, r.Reason, r.Method = Invalid, why, ""
		return r, nil
	}
	indexed := err == nil
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return nil, err
	}
	vs, err := s.viewer.ShowAddress(ctx, addr, a.date)
	if err != nil {
		return nil, err
	}
	// Seen: the address's first transaction is before the cut.
	seen := false
	var ent uint64
	if indexed {
		tot, err := s.db.AddrTotals(id)
		if err != nil {
			return nil, err
		}
		if tot.TxCount > 0 {
			after, err := a.after(s.db, tot.First)
			if err != nil {
				return nil, err
			}
			seen = !after
		}
		if ent, err = cluster.EntityOf(s.db, id); errors.Is(err, cluster.ErrNotClustered) {
			ent, err = uint64(id), nil
		}
		if err != nil {
			return nil, err
		}
	}
	for c := Category(1); c < nCategories; c++ {
		x := bestLabel(vs, c)
		if x == nil {
			continue
		}
		row := Row{Category: c.String(), Direction: "self", Kind: "direct", Basis: BasisOwnLabel, Share: 1, Explanation: x}
		if x.Via == "entity" && seen {
			row.Basis = BasisEntity
			member, err := s.db.AddrID(x.Address)
			if err != nil {
				return nil, err
			}
			if x.Entity, err = s.entityPath(ent, id, member, x.Address); err != nil {
				return nil, err
			}
		} else if x.Via == "entity" {
			continue // the address had no entity yet
		}
		r.Exposure = append(r.Exposure, row)
	}
	if !seen {
		r.Method = ""
		if err := s.assessUnseen(ctx, r); err != nil {
			return nil, err
		}
		if r.Status == NotSeen || r.Reason != "" {
			r.Reason = a.notSeen + r.Reason[len(s.notSeen):]
		}
		return r, nil
	}
	r.Entity = &ent
	r.Method = a.method
	opts := a.traceOptions()
	received := func(o btc.OutRef) (bool, error) { return a.counts(s.db, o.Tx()) }
	pr, err := s.tracePaths(ctx, addr, id, ent, trace.Backward, opts, a.ents, received, true)
	if err != nil {
		return nil, err
	}
	opts.MaxHops = 1
	spent := func(o btc.OutRef) (bool, error) {
		in, ok, err := s.db.SpentBy(o)
		if err != nil || !ok || o.Tx() >= index.DetachedBase {
			return false, err
		}
		return a.counts(s.db, in.Tx())
	}
	spr, err := s.tracePaths(ctx, addr, id, ent, trace.Forward, opts, a.ents, spent, true)
	if err != nil {
		return nil, err
	}
	r.Received, r.Sent = uint64(max(pr.Traced, 0)), uint64(max(spr.Traced, 0))
	for _, p := range []*PathReport{pr, spr} {
		for i := range p.Rows {
			if p == spr && p.Rows[i].MinHops > 1 {
				continue
			}
			r.Exposure = append(r.Exposure, pathRow(&p.Rows[i], p.Rows[i].Direction))
		}
	}
	if err := s.assess(ctx, r, r.Exposure); err != nil {
		return nil, err
	}
	return r, nil
}

// txAsOfRows adds what transaction num (tx) spent, as of s.asOf: a
// backward haircut trace from the outputs its inputs spend, stopping at
// the entities labelled on the date (the transaction is before the cut,
// and so is everything behind it).
func (s *Screener) txAsOfRows(ctx context.Context, r *Report, num btc.TxNum, tx *coinjoin.Tx) error {
	a := s.asOf
	var src []trace.Taint
	for _, in := range tx.Ins {
		if in.Resolved && in.Value > 0 && num < index.DetachedBase && in.Prev.Tx() < index.DetachedBase {
			src = append(src, trace.Taint{Out: in.Prev, Sats: in.Value})
		}
	}
	if len(src) == 0 {
		return nil
	}
	opts := a.traceOptions()
	pr, err := s.traceSources(ctx, r.TxID, src, nil, trace.Backward, opts, a.ents, true)
	if err != nil {
		return err
	}
	for i := range pr.Rows {
		r.Exposure = append(r.Exposure, pathRow(&pr.Rows[i], "input"))
	}
	return nil
}

// pathRow turns a traced category into an exposure row of direction dir.
func pathRow(x *PathRow, dir string) Row {
	return Row{Category: x.Category, Direction: dir, Kind: x.Kind, Basis: BasisTransactions, Sats: uint64(max(x.Sats, 0)),
		Share: min(x.Share, 1), MinHops: x.MinHops, Explanation: x.Explanation, Path: slices.Clone(x.Path)}
}

// traceOptions are the as-of traces' options: haircut (as Update shares
// exposure), Update's MaxHops, transactions before the cut, CoinJoins
// followed as if certain (Update does not split them).
func (a *asOf) traceOptions() trace.Options {
	return trace.Options{Policy: trace.Haircut, MaxHops: a.maxHops, Before: a.cut, Detail: -1, FollowCoinJoins: true}
}
