package eval

import (
	"cmp"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// unknownKind labels a false positive whose txid is not in the answer key.
const unknownKind = "(not in key)"

// CoinJoins scores detected CoinJoins against the answer key. detected
// maps every txid the detector flagged to the kind it named (the
// detector's own names; they need not match the key's). Every entry is a
// detection.
func CoinJoins(t *Truth, detected map[btc.Hash]string) CoinJoinReport {
	rep := CoinJoinReport{Truth: int64(len(t.CoinJoins)), Detected: int64(len(detected))}
	byKind := make(map[string]*CoinJoinKind)
	for _, k := range t.CoinJoins {
		ck := byKind[k]
		if ck == nil {
			ck = &CoinJoinKind{Kind: k, DetectedAs: make(map[string]int64)}
			byKind[k] = ck
		}
		ck.Truth++
	}
	fpDetected := make(map[string]int64)
	fpTruth := make(map[string]int64)
	for id, dk := range detected {
		if k, ok := t.CoinJoins[id]; ok {
			ck := byKind[k]
			ck.Found++
			ck.DetectedAs[dk]++
			rep.Found++
			continue
		}
		rep.FalsePositives++
		fpDetected[dk]++
		tk := unknownKind
		if r := t.find(id); r != nil {
			tk = t.kinds[r.kind]
		}
		fpTruth[tk]++
	}
	for _, ck := range byKind {
		ck.Recall = ratio(ck.Found, ck.Truth)
		rep.Kinds = append(rep.Kinds, *ck)
	}
	slices.SortFunc(rep.Kinds, func(a, b CoinJoinKind) int { return cmp.Compare(a.Kind, b.Kind) })
	rep.FalsePositivesByDetectedKind = sortedCounts(fpDetected)
	rep.FalsePositivesByTxKind = sortedCounts(fpTruth)
	rep.Precision = ratio(rep.Found, rep.Detected)
	rep.Recall = ratio(rep.Found, rep.Truth)
	return rep
}

// sortedCounts lists m by count, largest first, then by kind.
func sortedCounts(m map[string]int64) []KindCount {
	out := make([]KindCount, 0, len(m))
	for k, n := range m {
		out = append(out, KindCount{Kind: k, Count: n})
	}
	slices.SortFunc(out, compareCounts)
	return out
}

// compareCounts orders counts largest first, then by kind.
func compareCounts(a, b KindCount) int {
	if c := cmp.Compare(b.Count, a.Count); c != 0 {
		return c
	}
	return cmp.Compare(a.Kind, b.Kind)
}
