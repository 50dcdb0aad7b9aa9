package coinjoin

import (
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// Test-only ports of the anchors' CoinJoin rules, to hold ours to them on
// every shape: GraphSense's REST heuristics (graphsense-lib
// src/graphsenselib/db/asynchronous/services/heuristics_service.py:
// _joinmarket_heuristic, _wasabi_20_heuristic, _is_stonewall) and
// BlockSci's isCoinjoin (our generic rule, ported in detect.go).
// Addresses stand in for output scripts; inputs without an address do not
// count, as GraphSense drops them.

func gsInputs(tx *Tx) (n, distinct int, top int) {
	counts := map[btc.AddrID]int{}
	for _, in := range tx.Ins {
		if in.Addr != btc.NoAddr {
			n++
			counts[in.Addr]++
		}
	}
	for _, c := range counts {
		top = max(top, c)
	}
	return n, len(counts), top
}

func gsOutputs(tx *Tx) (vals []btc.Amount, distinct int) {
	seen := map[btc.AddrID]bool{}
	for _, o := range tx.Outs {
		if o.Addr != btc.NoAddr {
			vals = append(vals, o.Value)
			seen[o.Addr] = true
		}
	}
	return vals, len(seen)
}

func gsJoinMarket(tx *Tx) bool {
	nIn, inScripts, _ := gsInputs(tx)
	vals, outScripts := gsOutputs(tx)
	if nIn == 0 || len(vals) == 0 {
		return false
	}
	freq := map[btc.Amount]int{}
	for _, v := range vals {
		if v > 2730 {
			freq[v]++
		}
	}
	var d btc.Amount
	n := 0
	for v, c := range freq {
		if c > n || (c == n && v > d) {
			d, n = v, c
		}
	}
	if n == 0 || float64(n) < float64(len(vals))/2 || n < 3 || n > inScripts || outScripts != len(vals) {
		return false
	}
	other := false
	for _, v := range vals {
		other = other || v != d
	}
	if !other {
		return false
	}
	if nIn >= 50 && (float64(nIn)/float64(n) > 20 || float64(len(vals))/float64(n) < 1.7) {
		return false
	}
	return true
}

func gsWasabi20(tx *Tx) bool {
	nIn, _, top := gsInputs(tx)
	vals, outScripts := gsOutputs(tx)
	if nIn < 20 || len(vals) == 0 || float64(top)/float64(nIn) > 0.1 || outScripts != len(vals) {
		return false
	}
	freq := map[btc.Amount]int{}
	for _, v := range vals {
		if v < 5000 {
			return false
		}
		freq[v]++
	}
	denoms, nDenom := 0, 0
	for _, c := range freq {
		if c >= 2 {
			denoms++
			nDenom += c
		}
	}
	return denoms >= 3 && float64(nDenom) >= float64(len(vals)-1)/2 && nDenom != len(vals)
}

func gsStonewall(tx *Tx) bool {
	nIn, _, _ := gsInputs(tx)
	vals, outScripts := gsOutputs(tx)
	if (len(vals) != 3 && len(vals) != 4) || nIn < 2 || outScripts != len(vals) {
		return false
	}
	freq := map[btc.Amount]int{}
	for _, v := range vals {
		freq[v]++
	}
	var d btc.Amount
	pairs := 0
	for v, c := range freq {
		if c == 2 {
			d = v
			pairs++
		}
	}
	if pairs != 1 || d < 5000 {
		return false
	}
	if len(vals) == 4 {
		var rest []btc.Amount
		for _, v := range vals {
			if v != d {
				rest = append(rest, v)
			}
		}
		if rest[0] == rest[1] {
			return false
		}
	}
	return true
}

// anchors reports whether any anchor rule takes tx as a CoinJoin
// (Whirlpool is the same rule in GraphSense and here, so it is ours).
func anchors(tx *Tx) bool {
	if DetectWith(tx, FamGeneric|FamWhirlpool).Kind != NotCoinJoin {
		return true
	}
	return gsJoinMarket(tx) || gsWasabi20(tx) || gsStonewall(tx)
}

// TestAtLeastAsGoodAsAnchors: on every kind of collaborative transaction
// the simulator makes, the value-structure families find at least as many
// as BlockSci's and GraphSense's rules together, and take no more
// single-spender transactions for CoinJoins. (PayJoins and batches have
// no value structure: neither finds them; the clustering's input tests do
// what they can.)
func TestAtLeastAsGoodAsAnchors(t *testing.T) {
	scale := 1.0
	if testing.Short() {
		scale = 0.3
	}
	for _, seed := range []int64{2, 5} {
		out := simtest.Chain(t, seed, scale)
		txs := readSimChain(t, filepath.Join(out, "blocks"))
		kindOf := map[string]string{}
		for _, row := range simtest.ReadCSV(t, filepath.Join(out, "truth", "coinjoins.csv")) {
			kindOf[row["txid"]] = row["kind"]
		}
		ours, theirs, total := map[string]int{}, map[string]int{}, map[string]int{}
		for txid, tx := range txs {
			k := kindOf[txid]
			if k == "" {
				k = "single spender"
			}
			total[k]++
			if DetectWith(tx, AllFamilies).Kind != NotCoinJoin {
				ours[k]++
			}
			if anchors(tx) {
				theirs[k]++
			}
		}
		for k, n := range total {
			t.Logf("seed %d %-20s %6d txs: ours %5d, BlockSci+GraphSense %5d", seed, k, n, ours[k], theirs[k])
			if k == "single spender" {
				if ours[k] > theirs[k] {
					t.Errorf("seed %d: %d single-spender transactions taken as CoinJoins, the anchors take %d", seed, ours[k], theirs[k])
				}
				continue
			}
			if ours[k] < theirs[k] {
				t.Errorf("seed %d, %s: ours find %d, the anchors %d", seed, k, ours[k], theirs[k])
			}
		}
	}
}
