package risk

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/invariants"
	"github.com/sleuth-forensics/sleuth/internal/pace"
)

// Bounds of an incremental update. It reads each transaction it touches
// by a point lookup, about 3 times the cost per transaction of a rebuild's
// sequential scan (docs/BENCHMARKS.md), so past a third of the chain a
// rebuild is cheaper: the budget of transactions touched (recomputed plus
// re-aggregated) is a third of those processed, and no less than
// minTouchBudget (small chains), and the seeds alone may take an eighth.
const maxAffectedAddrs = 1 << 20 // members of the changed entities

// The budget: a share (1/budgetDivisor) of the processed transactions,
// at least minTouchBudget; vars so that tests can force the fallback.
var (
	budgetDivisor  = 3
	minTouchBudget = 50_000
)

// touchBudget returns how many transactions an incremental update may
// touch in all (vectors and aggregates) and how many seeds it may start
// from (3/8 of that).
func (e *engine) touchBudget() (all, seeds int) {
	n := int(e.st.NextTx) + int(e.st.DetachedDone)
	all = max(n/budgetDivisor, minTouchBudget)
	return all, all * 3 / 8
}

// incremental brings the exposure of the transactions already processed
// (below the state's NextTx, and the standalone ones done) up to a changed
// attribution without recomputing the rest:
//
//  1. The changed entities are those whose record in 54 (categories,
//     service flag, cited addresses, members below the bound) differs
//     from the current attribution, and the changed incident outputs those
//     whose record in 55 differs. Their addresses are affected: when the
//     forest 54 was computed with is known (the state's LogSum equals the
//     merge log's below NextTx, e.old), only the members whose
//     attribution differs from the one they had in it (a block that adds
//     an address to an exchange affects that address, not the exchange);
//     else every member.
//  2. Every processed transaction of an affected address, the spender of
//     every changed incident output and every processed standalone
//     transaction (whose spends the index does not record, X4) is
//     recomputed in transaction order; when an output's vector changes,
//     the transaction spending it is queued too, so changes propagate
//     forward along the spends only as far as they reach.
//  3. Every output address of a recomputed transaction, and its input
//     addresses when it paid an affected address, gets its aggregate
//     updated: the recomputed transactions' flows are computed under the
//     old attribution and vectors (54, 55 and the store before this
//     batch) and under the new ones, and the difference applied, when
//     taking the old flows back is exact (aggregate.remove: the sats
//     always are, the fewest hops and biggest contribution when they came
//     from elsewhere); otherwise, or after a clustering change, the
//     aggregate is recomputed from all of the address's transactions.
//
// The result equals a rebuild (R1): a vector depends only on the
// transaction's inputs (their entities, vectors and incidents), and an
// aggregate is an order-independent sum over the address's transactions.
// Everything is written in one batch with the state, so an interrupted
// update leaves the store as it was. ok is false, with the reason, when
// the change is too large for that (the caller rebuilds).
func (e *engine) incremental(ctx context.Context) (ok bool, why string, err error) {
	oldEnts, oldInc, ok, err := e.storedAttribution(ctx)
	if err != nil || !ok {
		return false, "no per-entity record of the previous attribution", err
	}
	bound := e.st.Bound
	// 1. What changed.
	var roots []uint32
	// An entity's members changed, or a rollback recomputed aggregates
	// under today's attribution: old flows cannot be taken back.
	reclustered := e.rolledBack
	for r, re := range e.ents {
		if btc.AddrID(r) >= bound {
			continue
		}
		cur := *re
		cur.n, cur.hasN = e.membersBelow(r, bound), true
		old, ok := oldEnts[r]
		if !ok || !old.same(&cur) {
			roots = append(roots, r)
		}
		reclustered = reclustered || ok && old.n != cur.n
	}
	for r := range oldEnts {
		if _, ok := e.ents[r]; !ok && btc.AddrID(r) < bound {
			roots = append(roots, r)
			reclustered = reclustered || uint64(r) >= uint64(e.f.Len()) || e.f.Find(r) != r
		}
	}
	var refs []btc.OutRef
	for ref, x := range e.inc {
		if oldInc[ref] != x {
			refs = append(refs, ref)
		}
	}
	for ref := range oldInc {
		if _, ok := e.inc[ref]; !ok {
			refs = append(refs, ref)
		}
	}
	// The affected addresses: the members of the changed entities whose
	// attribution (categories, service flag, cited addresses) differs from
	// the stored one. Without the forest the stored attribution was
	// computed with (e.old), every member: a block that adds one address
	// to an exchange would otherwise recompute all of the exchange's
	// transactions.
	affected := map[btc.AddrID]bool{}
	done := map[uint32]bool{}
	// With the earlier forest, a changed entity's members are the old
	// entities the merges since then joined into it (and new addresses):
	// only those whose attribution differs are read, not every member of
	// the entity (an exchange of millions a block used to walk whole).
	joined, err := e.joinedSince(ctx, roots)
	if err != nil {
		return false, "", err
	}
	for _, r := range roots {
		if uint64(r) >= uint64(e.f.Len()) {
			continue
		}
		root := e.f.Find(r)
		if done[root] {
			continue
		}
		done[root] = true
		cur := e.ents[root]
		if joined != nil {
			if !e.affectedJoined(root, cur, joined[root], oldEnts, affected) {
				return false, fmt.Sprintf("more than %d addresses affected", maxAffectedAddrs), nil
			}
			if invariants.Enabled {
				e.checkAffectedJoined(root, cur, oldEnts, affected)
			}
			continue
		}
		e.f.Members(root, func(m uint32) bool {
			if e.old != nil && uint64(m) < uint64(e.old.Len()) {
				var was *riskEntity
				if o, ok := oldEnts[e.old.Find(m)]; ok {
					was = &o
				}
				if sameAttribution(was, cur) {
					return true
				}
			}
			affected[btc.AddrID(m)] = true
			return len(affected) <= maxAffectedAddrs
		})
		if len(affected) > maxAffectedAddrs {
			return false, fmt.Sprintf("more than %d addresses affected", maxAffectedAddrs), nil
		}
	}
	// After a rollback members can have left a changed entity (the undone
	// blocks' merges are gone): its members in the forest the stored
	// attribution was computed with are affected too, where theirs differs.
	if e.rolledBack && e.old != nil {
		for _, r := range roots {
			if uint64(r) >= uint64(e.old.Len()) {
				continue
			}
			was, ok := oldEnts[e.old.Find(r)]
			e.old.Members(r, func(m uint32) bool {
				if uint64(m) >= uint64(e.f.Len()) {
					return true // the reorg deleted it
				}
				var w *riskEntity
				if ok {
					w = &was
				}
				if !sameAttribution(w, e.ents[e.f.Find(m)]) && !affected[btc.AddrID(m)] {
					affected[btc.AddrID(m)] = true
					e.sum.Departed++
				}
				return len(affected) <= maxAffectedAddrs
			})
			if len(affected) > maxAffectedAddrs {
				return false, fmt.Sprintf("more than %d addresses affected", maxAffectedAddrs), nil
			}
		}
	}
	e.sum.Incremental = true
	e.sum.Changed = len(roots) + len(refs)
	e.sum.Affected = len(affected)

	// 2. Recompute vectors forward from the seeds.
	budget, seedBudget := e.touchBudget()
	q := &txQueue{queued: map[btc.TxNum]bool{}}
	for a := range affected {
		if err := e.db.AddrTxNums(a, func(n btc.TxNum) bool {
			if e.processed(n) {
				q.add(n)
			}
			return len(q.queued) <= seedBudget
		}); err != nil {
			return false, "", err
		}
		if len(q.queued) > seedBudget {
			return false, fmt.Sprintf("more than %d transactions of the changed entities", seedBudget), nil
		}
	}
	for _, ref := range refs {
		if err := e.queueSpender(q, ref); err != nil {
			return false, "", err
		}
	}
	if len(roots)+len(refs) > 0 {
		for i := btc.TxNum(0); i < btc.TxNum(e.st.DetachedDone); i++ {
			q.add(index.DetachedBase + i)
		}
	}
	e.b = e.db.NewStageBatch()
	defer func() {
		e.b.Close()
		e.b = nil
		e.only, e.upd, e.aggs, e.fresh = nil, nil, nil, nil
	}()
	e.upd = map[btc.OutRef]vector{}
	e.since = btc.TxNum(math.MaxUint64) // every vector is in the store (or upd)
	dirty := map[btc.AddrID]bool{}
	var popped []btc.TxNum
	var tx coinjoin.Tx
	p := pace.From(ctx)
	for q.Len() > 0 {
		if len(q.queued) > budget {
			return false, fmt.Sprintf("more than %d transactions to recompute", budget), nil
		}
		n := heap.Pop(q).(btc.TxNum)
		p.Yield()
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return false, "", err
			}
		}
		if err := e.db.ReadTx(n, &tx); err != nil {
			return false, "", err
		}
		e.sum.Recomputed++
		popped = append(popped, n)
		// What the outputs' addresses received may change; what the
		// inputs' addresses sent (direct only) only when an output's
		// entity changed.
		payee := false
		for _, o := range tx.Outs {
			if o.Addr != btc.NoAddr {
				dirty[o.Addr] = true
				payee = payee || affected[o.Addr]
			}
		}
		for _, in := range tx.Ins {
			if in.Addr != btc.NoAddr && payee {
				dirty[in.Addr] = true
			}
		}
		if err := e.revector(q, &tx); err != nil {
			return false, "", err
		}
	}

	// 3. Update the aggregates of every address those transactions
	// touched: by the difference of their old and new flows where that is
	// exact, else from all of the address's transactions.
	// After merges (an entity's members changed) the old flows are known
	// when the forest the stored aggregates were computed with is (e.old):
	// they are computed with it. Not after a rollback, whose aggregates
	// were recomputed under today's attribution.
	byDelta := !reclustered || e.old != nil && !e.rolledBack
	if byDelta {
		if dirty, err = e.reaggregateByDelta(ctx, popped, dirty, oldEnts, oldInc); err != nil {
			return false, "", err
		}
	}
	if ok, err := e.reaggregate(ctx, dirty, budget); err != nil || !ok {
		return false, fmt.Sprintf("more than %d transactions to recompute and re-aggregate", budget), err
	}
	if e.opts.ListChanged {
		if err := e.changedAddresses(); err != nil {
			return false, "", err
		}
	}
	switch {
	case !byDelta:
		e.sum.Aggregation = AggregatesRecomputed
	case len(dirty) > 0:
		e.sum.Aggregation = AggregatesMixed
	default:
		e.sum.Aggregation = AggregatesByDifference
	}
	e.fresh = nil
	e.only, e.upd = nil, nil

	// The attribution these records now reflect, and the state.
	e.putAttribution(e.b, bound)
	e.st.Fingerprint = e.fingerprint(bound)
	// This attribution was computed with today's forest, not the one the
	// state's log sum describes: until writeAttribution stores the sum
	// again, the next update takes every member.
	e.st.HasLog = false
	e.b.Set([]byte{pState}, e.st.encode())
	if err := e.b.Commit(); err != nil {
		return false, "", fmt.Errorf("risk: incremental update: %w", err)
	}
	e.log.Info("exposure updated incrementally", "changed", e.sum.Changed, "affected_addresses", len(affected),
		"recomputed_txs", e.sum.Recomputed, "reaggregated_txs", e.sum.Reaggregated, "addresses", len(dirty))
	return true, "", nil
}

// processed reports whether transaction n has exposure computed.
func (e *engine) processed(n btc.TxNum) bool {
	if n >= index.DetachedBase {
		return n-index.DetachedBase < btc.TxNum(e.st.DetachedDone)
	}
	return n < e.st.NextTx
}

// queueSpender queues the processed transaction that spends ref, if any.
func (e *engine) queueSpender(q *txQueue, ref btc.OutRef) error {
	in, ok, err := e.db.SpentBy(ref)
	if err != nil || !ok {
		return err
	}
	if n := in.Tx(); e.processed(n) {
		q.add(n)
	}
	return nil
}

// revector recomputes the vector of tx's outputs; when it differs from
// the stored one it is rewritten and the outputs' spenders are queued.
func (e *engine) revector(q *txQueue, tx *coinjoin.Tx) error {
	total, anyRisk, err := e.inputs(tx)
	if err != nil || total <= 0 {
		return err
	}
	var vec vector
	if anyRisk {
		vec, _ = e.vector(tx, total)
	}
	first := -1
	for j, o := range tx.Outs {
		if carries(o) {
			first = j
			break
		}
	}
	if first < 0 {
		return nil
	}
	old, err := e.vectorOf(btc.MakeOutRef(tx.Num, uint32(first)))
	if err != nil {
		return err
	}
	if slices.Equal(old, vec) {
		return nil
	}
	var val []byte
	if len(vec) > 0 {
		e.enc.Reset()
		vec.encode(&e.enc)
		val = slices.Clone(e.enc.Get())
	}
	for j, o := range tx.Outs {
		if !carries(o) {
			continue
		}
		ref := btc.MakeOutRef(tx.Num, uint32(j))
		e.upd[ref] = vec
		if vec == nil {
			e.b.Delete(key64(pVector, uint64(ref)))
		} else {
			e.b.Set(key64(pVector, uint64(ref)), val)
		}
		if err := e.queueSpender(q, ref); err != nil {
			return err
		}
	}
	e.sum.Revectored++
	return nil
}

// storedAttribution reads keyspaces 54 and 55: the attribution the stored
// exposure reflects. ok is false when a record predates the member counts.
func (e *engine) storedAttribution(ctx context.Context) (map[uint32]riskEntity, map[btc.OutRef]incidentOut, bool, error) {
	ents := map[uint32]riskEntity{}
	ok := true
	err := e.db.StageScan(ctx, []byte{pEntity}, []byte{pEntity + 1}, func(k, v []byte) (bool, error) {
		if len(k) != 9 {
			return false, corrupt("entity key", fmt.Errorf("length %d", len(k)))
		}
		var re riskEntity
		if err := re.decode(v); err != nil {
			return false, corrupt("entity", err)
		}
		ok = ok && re.hasN
		ents[uint32(binary.BigEndian.Uint64(k[1:]))] = re
		return true, nil
	})
	if err != nil || !ok {
		return nil, nil, false, err
	}
	inc := map[btc.OutRef]incidentOut{}
	err = e.db.StageScan(ctx, []byte{pIncident}, []byte{pIncident + 1}, func(k, v []byte) (bool, error) {
		if len(k) != 9 {
			return false, corrupt("incident key", fmt.Errorf("length %d", len(k)))
		}
		x, err := decodeIncident(v)
		if err != nil {
			return false, err
		}
		inc[btc.OutRef(binary.BigEndian.Uint64(k[1:]))] = x
		return true, nil
	})
	return ents, inc, err == nil, err
}

// txQueue is a min-heap of transaction numbers, each queued once.
type txQueue struct {
	h      []btc.TxNum
	queued map[btc.TxNum]bool
}

func (q *txQueue) add(n btc.TxNum) {
	if !q.queued[n] {
		q.queued[n] = true
		heap.Push(q, n)
	}
}

func (q *txQueue) Len() int           { return len(q.h) }
func (q *txQueue) Less(i, j int) bool { return q.h[i] < q.h[j] }
func (q *txQueue) Swap(i, j int)      { q.h[i], q.h[j] = q.h[j], q.h[i] }
func (q *txQueue) Push(x any)         { q.h = append(q.h, x.(btc.TxNum)) }
func (q *txQueue) Pop() any {
	n := q.h[len(q.h)-1]
	q.h = q.h[:len(q.h)-1]
	return n
}

// txFlows returns, by address of dirty, what the recomputed transactions
// contributed to its aggregate under the engine's current attribution and
// vectors (each address's contributions merged).
func (e *engine) txFlows(popped []btc.TxNum, dirty map[btc.AddrID]bool) (map[btc.AddrID]aggregate, error) {
	e.only = dirty
	e.aggs = map[btc.AddrID]aggregate{}
	e.fresh = map[btc.AddrID]bool{} // start every address from nothing
	var tx coinjoin.Tx
	for _, n := range popped {
		if err := e.db.ReadTx(n, &tx); err != nil {
			return nil, err
		}
		if err := e.flows(&tx, false); err != nil {
			return nil, err
		}
	}
	out := e.aggs
	e.aggs, e.fresh = nil, nil
	return out, nil
}

// reaggregateByDelta updates, in e.aggs, the aggregate of each dirty
// address as stored minus what the recomputed transactions contributed
// under the old attribution and vectors plus what they contribute now. A
// sum takes a contribution back exactly, but the fewest hops and the
// biggest contribution only when they came from elsewhere: an address
// for which that cannot be told is returned, to be recomputed from all of
// its transactions.
func (e *engine) reaggregateByDelta(ctx context.Context, popped []btc.TxNum, dirty map[btc.AddrID]bool,
	oldEnts map[uint32]riskEntity, oldInc map[btc.OutRef]incidentOut) (map[btc.AddrID]bool, error) {
	now, err := e.txFlows(popped, dirty)
	if err != nil {
		return nil, err
	}
	// The old attribution, and the vectors as stored (the batch holds the
	// new ones), with the forest they were computed with when it is known
	// (the entities as the block's merges found them).
	ents, inc, upd, f := e.ents, e.inc, e.upd, e.f
	e.ents = make(map[uint32]*riskEntity, len(oldEnts))
	for r := range oldEnts {
		re := oldEnts[r]
		e.ents[r] = &re
	}
	e.inc, e.upd = oldInc, nil
	if e.old != nil && !e.rolledBack {
		e.f = e.old
	}
	before, err := e.txFlows(popped, dirty)
	e.ents, e.inc, e.upd, e.f = ents, inc, upd, f
	if err != nil {
		return nil, err
	}
	rest := map[btc.AddrID]bool{}
	e.aggs = map[btc.AddrID]aggregate{}
	p := pace.From(ctx)
	for a := range dirty {
		p.Yield()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		old, cur := before[a], now[a]
		if slices.Equal(old, cur) {
			continue // the change left its flows alone
		}
		v, err := e.db.StageGet(key64(pAgg, uint64(a)))
		if err != nil {
			return nil, err
		}
		var agg aggregate
		if v != nil {
			if agg, err = decodeAggregate(v); err != nil {
				return nil, err
			}
		}
		// Only the slots (category, direction, kind) whose flows changed
		// are taken back and added again: an unchanged slot's stored value
		// is already right, and taking it back may be inexact (a retail
		// address labelled ransomware adds a ransomware slot to the
		// exchanges it paid, whose exchange slots would otherwise need a
		// recomputation over all of their transactions).
		ok := true
		for _, f := range old {
			if cur.has(f) {
				continue
			}
			if agg, ok = agg.remove(f); !ok {
				break
			}
		}
		if !ok {
			rest[a] = true
			continue
		}
		for _, f := range cur {
			if !old.has(f) {
				agg = agg.merge(f)
			}
		}
		e.aggs[a] = agg
	}
	e.sum.Delta = len(e.aggs)
	return rest, nil
}

// reaggregate recomputes the aggregates of addrs from all of their
// processed transactions, under the current attribution and the vectors
// in the store (or upd), into the open batch. ok is false when the
// transactions recomputed so far and those to read would pass budget.
func (e *engine) reaggregate(ctx context.Context, addrs map[btc.AddrID]bool, budget int) (ok bool, err error) {
	txs := map[btc.TxNum]bool{}
	for a := range addrs {
		if err := e.db.AddrTxNums(a, func(n btc.TxNum) bool {
			if e.processed(n) {
				txs[n] = true
			}
			return int(e.sum.Recomputed)+len(txs) <= budget
		}); err != nil {
			return false, err
		}
		if int(e.sum.Recomputed)+len(txs) > budget {
			return false, nil
		}
	}
	order := make([]btc.TxNum, 0, len(txs))
	for n := range txs {
		order = append(order, n)
	}
	slices.Sort(order)
	e.only = addrs
	if e.aggs == nil {
		e.aggs = make(map[btc.AddrID]aggregate, len(addrs))
	}
	for a := range addrs {
		e.aggs[a] = aggregate{}
	}
	var tx coinjoin.Tx
	p := pace.From(ctx)
	for i, n := range order {
		p.Yield()
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		if err := e.db.ReadTx(n, &tx); err != nil {
			return false, err
		}
		if err := e.flows(&tx, false); err != nil {
			return false, err
		}
	}
	e.sum.Reaggregated += uint64(len(order))
	e.sum.Addresses += uint64(len(e.aggs))
	e.putAggregates()
	return true, nil
}

// MaxChangedAddresses bounds the addresses an incremental update lists
// (Summary.ChangedAddresses); ChangedTotal counts them all.
const MaxChangedAddresses = 1000

// changedAddresses lists, in Summary, the addresses whose aggregate the
// open batch changes (e.aggs against the store): a label change touching
// a few addresses reports those few.
func (e *engine) changedAddresses() error {
	var ids []btc.AddrID
	for a, agg := range e.aggs {
		v, err := e.db.StageGet(key64(pAgg, uint64(a)))
		if err != nil {
			return err
		}
		if len(agg) == 0 && v == nil || v != nil && slices.Equal(v, agg.encode()) {
			continue
		}
		ids = append(ids, a)
	}
	slices.Sort(ids)
	e.sum.ChangedTotal = len(ids)
	e.sum.ChangedAddresses = nil
	for _, a := range ids[:min(len(ids), MaxChangedAddresses)] {
		s, _, err := e.db.AddrString(a)
		if err != nil {
			return err
		}
		if s == "" {
			s = fmt.Sprintf("#%d", a) // no standard encoding (a bare multisig): its id
		}
		e.sum.ChangedAddresses = append(e.sum.ChangedAddresses, s)
	}
	return nil
}

// joinedSince returns, when the earlier forest (e.old) is known and no
// rollback intervened, the merges' endpoints since it (transactions from
// the state's NextTx on, standalone ones included) grouped by their root
// in the current forest, for the roots of roots; nil otherwise. Every old
// entity now inside a changed entity other than its root's own was joined
// to it by one of these merges, so it holds one of the endpoints.
func (e *engine) joinedSince(ctx context.Context, roots []uint32) (map[uint32][]uint32, error) {
	if e.old == nil || e.rolledBack {
		return nil, nil
	}
	want := map[uint32]bool{}
	for _, r := range roots {
		if uint64(r) < uint64(e.f.Len()) {
			want[e.f.Find(r)] = true
		}
	}
	joined := map[uint32][]uint32{}
	add := func(m uint32) {
		if uint64(m) >= uint64(e.f.Len()) {
			return
		}
		if r := e.f.Find(m); want[r] {
			joined[r] = append(joined[r], m)
		}
	}
	err := cluster.MergesIn(ctx, e.db, e.st.NextTx, btc.TxNum(math.MaxUint64), func(a, b btc.AddrID) {
		add(uint32(a))
		add(uint32(b))
	})
	if err != nil {
		return nil, fmt.Errorf("risk: merges since the stored attribution: %w", err)
	}
	return joined, nil
}

// affectedJoined adds to affected the members of root (attribution cur)
// whose stored attribution differs: whole old entities among root's own
// and those its endpoints (joinedSince) were in, and the endpoints new
// since the earlier forest. It reports false past maxAffectedAddrs.
func (e *engine) affectedJoined(root uint32, cur *riskEntity, ends []uint32, oldEnts map[uint32]riskEntity, affected map[btc.AddrID]bool) bool {
	olds := map[uint32]bool{}
	consider := func(m uint32) {
		if uint64(m) >= uint64(e.old.Len()) {
			affected[btc.AddrID(m)] = true
			return
		}
		olds[e.old.Find(m)] = true
	}
	consider(root)
	for _, m := range ends {
		consider(m)
	}
	for o := range olds {
		var was *riskEntity
		if x, ok := oldEnts[o]; ok {
			was = &x
		}
		if sameAttribution(was, cur) {
			continue
		}
		e.old.Members(o, func(m uint32) bool {
			affected[btc.AddrID(m)] = true
			return len(affected) <= maxAffectedAddrs
		})
	}
	return len(affected) <= maxAffectedAddrs
}

// checkAffectedJoined (invariants builds) walks every member of root as
// the general path does and panics if affectedJoined missed one whose
// attribution changed or took one whose did not.
func (e *engine) checkAffectedJoined(root uint32, cur *riskEntity, oldEnts map[uint32]riskEntity, affected map[btc.AddrID]bool) {
	e.f.Members(root, func(m uint32) bool {
		want := true
		if uint64(m) < uint64(e.old.Len()) {
			var was *riskEntity
			if o, ok := oldEnts[e.old.Find(m)]; ok {
				was = &o
			}
			want = !sameAttribution(was, cur)
		}
		if want != affected[btc.AddrID(m)] {
			panic(fmt.Sprintf("risk: invariant: member %d of entity %d: affected %v by the merges since the stored attribution, %v by its members", m, root, affected[btc.AddrID(m)], want))
		}
		return true
	})
}
