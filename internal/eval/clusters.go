package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Clustering is a predicted partition of the address ids 0..N-1 of an
// index, the truth entity of each id, and the merge log that built the
// partition.
type Clustering struct {
	// Truth is the truth entity of each address id; negative when the
	// answer key does not know the address. Only ids with Truth >= 0 count
	// in the metrics. Entity ids index count arrays, so they should be
	// dense, as the key's are.
	Truth []int32
	// Pred is the predicted cluster of each address id. Labels are
	// arbitrary (sleuth uses the smallest id of the set); two ids are in
	// the same cluster when their labels are equal. An id whose label is
	// shared with no other id is a singleton cluster.
	Pred []uint64
	// Merges are the accepted merges in the order they were applied.
	// Replaying them from singletons must give exactly the partition in
	// Pred.
	Merges []Merge
}

// Merge is one union of the address ids A and B by a heuristic.
type Merge struct {
	A, B      btc.AddrID
	Heuristic string
	// Tx is the merging transaction's number in the store (any id that
	// names a transaction; merges of one transaction share it).
	Tx uint64
}

// ErrInconsistent is returned (wrapped) by Clusters when replaying
// Clustering.Merges does not give the partition in Clustering.Pred, or a
// merge names an id outside 0..N-1.
var ErrInconsistent = errors.New("eval: merges do not yield the predicted partition")

// MaxAddresses is the most address ids Clusters accepts.
const MaxAddresses = math.MaxInt32

// TopFalseTxs is how many transactions ClusterReport.WorstTxs lists.
const TopFalseTxs = 10

// TopEntities is how many entities FalseMerge.Top lists.
const TopEntities = 5

// mixed is replay.ent of a set whose known members belong to more than one
// entity; replay.comp holds its composition.
const mixed = -2

const none = math.MaxUint32

// replay is a union-find over address ids that keeps, at each root, the
// truth-entity composition of the set's truth-known members: a set whose
// known members all belong to one entity (the common case) costs two int32
// words; a mixed set also has a map entity → members, and joining two
// mixed sets adds the smaller map into the larger (O(k log k) over all
// merges).
type replay struct {
	parent []uint32
	size   []uint32                   // at a root: members
	known  []int32                    // at a root: truth-known members
	ent    []int32                    // at a root: their one entity, -1 when none, mixed
	comp   map[uint32]map[int32]int32 // at a mixed root: known members per entity
}

func newReplay(truth []int32) *replay {
	n := len(truth)
	r := &replay{
		parent: make([]uint32, n),
		size:   make([]uint32, n),
		known:  make([]int32, n),
		ent:    make([]int32, n),
		comp:   make(map[uint32]map[int32]int32),
	}
	for i, e := range truth {
		r.parent[i] = uint32(i)
		r.size[i] = 1
		if e >= 0 {
			r.known[i] = 1
			r.ent[i] = e
		} else {
			r.ent[i] = -1
		}
	}
	return r
}

func (r *replay) find(x uint32) uint32 {
	p := r.parent
	for p[x] != x {
		p[x] = p[p[x]]
		x = p[x]
	}
	return x
}

// join unites the sets of the distinct roots a and b and returns the pairs
// of truth-known addresses the union creates and how many of them join
// different entities: |A||B| and |A||B| − Σ_e a[e]·b[e].
func (r *replay) join(a, b uint32) (pairs, falsePairs int64) {
	if r.size[a] < r.size[b] {
		a, b = b, a
	}
	r.parent[b] = a
	r.size[a] += r.size[b]
	ka, kb := r.known[a], r.known[b]
	if kb == 0 {
		return 0, 0
	}
	if ka == 0 {
		r.known[a], r.ent[a] = kb, r.ent[b]
		if r.ent[b] == mixed {
			r.comp[a] = r.comp[b]
			delete(r.comp, b)
		}
		return 0, 0
	}
	pairs = int64(ka) * int64(kb)
	var same int64
	switch ea, eb := r.ent[a], r.ent[b]; {
	case ea != mixed && eb != mixed:
		if ea == eb {
			same = pairs
		} else {
			r.comp[a] = map[int32]int32{ea: ka, eb: kb}
			r.ent[a] = mixed
		}
	case eb != mixed: // a mixed
		m := r.comp[a]
		same = int64(m[eb]) * int64(kb)
		m[eb] += kb
	case ea != mixed: // b mixed
		m := r.comp[b]
		delete(r.comp, b)
		same = int64(m[ea]) * int64(ka)
		m[ea] += ka
		r.comp[a] = m
		r.ent[a] = mixed
	default:
		ma, mb := r.comp[a], r.comp[b]
		delete(r.comp, b)
		if len(ma) < len(mb) {
			ma, mb = mb, ma
			r.comp[a] = ma
		}
		for e, c := range mb {
			same += int64(ma[e]) * int64(c)
			ma[e] += c
		}
	}
	r.known[a] = ka + kb
	return pairs, pairs - same
}

// Clusters evaluates a clustering against the truth entities: pairwise
// precision, recall and F1 over truth-known addresses, split entities,
// false merges, and what each heuristic of the merge log contributed. It
// replays the merge log and returns an error wrapping ErrInconsistent when
// the result is not the partition in Pred. names gives the name of a truth
// entity for the report; nil leaves names empty.
//
// Time and memory are linear in the number of ids (16 bytes each) plus the
// mixed sets' compositions.
func Clusters(c *Clustering, names func(entity int32) string) (*ClusterReport, error) {
	n := len(c.Truth)
	if len(c.Pred) != n {
		return nil, fmt.Errorf("eval: %d truth entities but %d predicted clusters; want one of each per address id", n, len(c.Pred))
	}
	if n > MaxAddresses {
		return nil, fmt.Errorf("eval: %d address ids exceed the %d Clusters accepts", n, MaxAddresses)
	}
	r := newReplay(c.Truth)

	// Replay the merge log and attribute each union's pairs to its heuristic.
	heur := make(map[string]*HeuristicReport)
	byTx := make(map[uint64]*FalseTx) // transactions whose merges joined entities
	var h *HeuristicReport
	for i, m := range c.Merges {
		if m.A >= btc.AddrID(n) || m.B >= btc.AddrID(n) {
			return nil, fmt.Errorf("%w: merge %d (%s) joins ids %s and %s, but ids run 0..%d",
				ErrInconsistent, i, m.Heuristic, idString(m.A), idString(m.B), n-1)
		}
		if h == nil || h.Heuristic != m.Heuristic {
			h = heur[m.Heuristic]
			if h == nil {
				h = &HeuristicReport{Heuristic: m.Heuristic}
				heur[m.Heuristic] = h
			}
		}
		h.Merges++
		a, b := r.find(uint32(m.A)), r.find(uint32(m.B))
		if a == b {
			h.Redundant++
			continue
		}
		pairs, falsePairs := r.join(a, b)
		h.Pairs += pairs
		h.FalsePairs += falsePairs
		if falsePairs > 0 {
			h.Wrong++
			ft := byTx[m.Tx]
			if ft == nil {
				ft = &FalseTx{Tx: m.Tx, Heuristic: m.Heuristic}
				byTx[m.Tx] = ft
			}
			ft.FalsePairs += falsePairs
			ft.WrongMerges++
		}
	}

	// Pairwise counts from the sets' compositions. They describe the
	// replayed partition, which the check below proves equal to Pred's.
	rep := &ClusterReport{Addresses: int64(n)}
	maxEnt := int32(-1)
	for _, e := range c.Truth {
		if e >= 0 {
			rep.KnownAddresses++
			maxEnt = max(maxEnt, e)
		}
	}
	total := make([]int64, int(maxEnt)+1)
	pieces := make([]int32, int(maxEnt)+1)
	var worst struct { // the largest false merge so far
		root              uint32
		falsePairs, known int64
	}
	worst.root = none
	for x := range uint32(n) {
		if r.parent[x] != x || r.known[x] == 0 {
			continue
		}
		k := int64(r.known[x])
		rep.Clusters++
		rep.PredictedPairs += k * (k - 1) / 2
		if e := r.ent[x]; e != mixed {
			total[e] += k
			pieces[e]++
			rep.TruePairs += k * (k - 1) / 2
			continue
		}
		var same int64
		for e, m := range r.comp[x] {
			m := int64(m)
			total[e] += m
			pieces[e]++
			same += m * (m - 1) / 2
		}
		rep.TruePairs += same
		rep.ClustersFalseMerged++
		fp := k*(k-1)/2 - same
		if worst.root == none || fp > worst.falsePairs ||
			fp == worst.falsePairs && (k > worst.known || k == worst.known && c.Pred[x] < c.Pred[worst.root]) {
			worst.root, worst.falsePairs, worst.known = x, fp, k
		}
	}
	for e, t := range total {
		if t == 0 {
			continue
		}
		rep.Entities++
		rep.TruthPairs += t * (t - 1) / 2
		if pieces[e] > 1 {
			rep.EntitiesSplit++
			rep.SplitPieces += int64(pieces[e])
		}
	}
	if worst.root != none {
		rep.LargestFalseMerge = falseMerge(r, worst.root, c.Pred[worst.root], worst.falsePairs, names)
	}

	if err := checkPartition(r, c.Pred); err != nil {
		return nil, err
	}

	rep.Precision = ratio(rep.TruePairs, rep.PredictedPairs)
	rep.Recall = ratio(rep.TruePairs, rep.TruthPairs)
	rep.F1 = f1(rep.Precision, rep.Recall)
	rep.Heuristics = make([]HeuristicReport, 0, len(heur))
	for _, h := range heur {
		h.Precision = ratio(h.Pairs-h.FalsePairs, h.Pairs)
		rep.Heuristics = append(rep.Heuristics, *h)
	}
	slices.SortFunc(rep.Heuristics, func(a, b HeuristicReport) int { return cmp.Compare(a.Heuristic, b.Heuristic) })
	rep.FalseMergeTxs = int64(len(byTx))
	for _, ft := range byTx {
		rep.WorstTxs = append(rep.WorstTxs, *ft)
	}
	slices.SortFunc(rep.WorstTxs, func(a, b FalseTx) int {
		return cmp.Or(cmp.Compare(b.FalsePairs, a.FalsePairs), cmp.Compare(a.Tx, b.Tx))
	})
	if len(rep.WorstTxs) > TopFalseTxs {
		rep.WorstTxs = rep.WorstTxs[:TopFalseTxs]
	}
	return rep, nil
}

func falseMerge(r *replay, root uint32, label uint64, falsePairs int64, names func(int32) string) *FalseMerge {
	comp := r.comp[root]
	fm := &FalseMerge{
		Cluster:    label,
		Size:       int64(r.size[root]),
		Known:      int64(r.known[root]),
		Entities:   len(comp),
		FalsePairs: falsePairs,
	}
	top := make([]EntityCount, 0, len(comp))
	for e, m := range comp {
		top = append(top, EntityCount{Entity: e, Addresses: int64(m)})
	}
	slices.SortFunc(top, func(a, b EntityCount) int {
		if c := cmp.Compare(b.Addresses, a.Addresses); c != 0 {
			return c
		}
		return cmp.Compare(a.Entity, b.Entity)
	})
	top = top[:min(len(top), TopEntities)]
	if names != nil {
		for i := range top {
			top[i].Name = names(top[i].Entity)
		}
	}
	fm.Top = top
	return fm
}

// checkPartition verifies that the replayed sets are exactly Pred's
// clusters: every member of a set has its root's label, and no two sets
// share a label. It reuses r.size, which it destroys.
func checkPartition(r *replay, pred []uint64) error {
	n := uint64(len(pred))
	owner := r.size // label < n → the root holding it
	for i := range owner {
		owner[i] = none
	}
	var far map[uint64]uint32 // labels >= n
	for x := range uint32(len(pred)) {
		root := r.find(x)
		if pred[x] != pred[root] {
			return fmt.Errorf("%w: address %d is predicted in cluster %d, but the merges join it to address %d of cluster %d",
				ErrInconsistent, x, pred[x], root, pred[root])
		}
		if root != x {
			continue
		}
		label := pred[x]
		prev := uint32(none)
		if label < n {
			prev, owner[label] = owner[label], x
		} else {
			if far == nil {
				far = make(map[uint64]uint32)
			}
			if p, ok := far[label]; ok {
				prev = p
			}
			far[label] = x
		}
		if prev != none {
			return fmt.Errorf("%w: addresses %d and %d are both predicted in cluster %d, but the merges never join them",
				ErrInconsistent, prev, x, label)
		}
	}
	return nil
}

func idString(id btc.AddrID) string {
	if id == btc.NoAddr {
		return "NoAddr"
	}
	return fmt.Sprint(uint64(id))
}

// ratio is a/b, and 1 when b is 0 (nothing was claimed, so nothing was
// wrong; nothing was to be found, so nothing was missed).
func ratio(a, b int64) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
