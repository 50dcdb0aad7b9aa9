package eval

import (
	"cmp"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Change scores predicted change outputs against the answer key.
// predicted maps a txid to the output predicted to be the spender's change;
// entries with a negative vout are not predictions and are skipped.
func Change(t *Truth, predicted map[btc.Hash]int32) ChangeReport {
	kinds := make([]ChangeKind, len(t.kinds))
	for code, k := range t.kinds {
		kinds[code] = ChangeKind{Kind: k, Txs: t.kindTxs[code], WithChange: t.kindChange[code]}
	}
	rep := ChangeReport{TruthTxs: int64(t.NumTxs())}
	for id, vout := range predicted {
		if vout < 0 {
			continue
		}
		rep.Predicted++
		r := t.find(id)
		if r == nil {
			rep.UnknownTx++
			continue
		}
		k := &kinds[r.kind]
		k.Predicted++
		switch truth := r.changeVout(); {
		case truth < 0:
			k.NoChange++
		case truth == vout:
			k.Correct++
		default:
			k.WrongVout++
		}
	}
	for i := range kinds {
		k := &kinds[i]
		k.Precision = ratio(k.Correct, k.Predicted)
		k.Coverage = ratio(k.Correct, k.WithChange)
		rep.TruthWithChange += k.WithChange
		rep.Correct += k.Correct
		rep.WrongVout += k.WrongVout
		rep.NoChange += k.NoChange
	}
	rep.Precision = ratio(rep.Correct, rep.Predicted-rep.UnknownTx)
	rep.Coverage = ratio(rep.Correct, rep.TruthWithChange)
	slices.SortFunc(kinds, func(a, b ChangeKind) int { return cmp.Compare(a.Kind, b.Kind) })
	rep.Kinds = kinds
	return rep
}
