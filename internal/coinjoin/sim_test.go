package coinjoin

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// simOut is what a simulated output looks like to Detect.
type simOut struct {
	value btc.Amount
	typ   address.Type
	addr  btc.AddrID
}

// readSimChain parses every block of the simulator's blk files (stale ones
// included: they repeat best-chain transactions or hold coinbases) and
// returns the transactions as Txs with every input resolved against the
// outputs of all blocks, keyed by txid.
func readSimChain(t *testing.T, dir string) map[string]*Tx {
	t.Helper()
	files, err := blockfile.ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	r := blockfile.NewReader(blockfile.XORKey{})
	defer r.Close()
	for _, f := range files {
		_, err := blockfile.Scan(context.Background(), f, 0, blockfile.ScanOptions{Magic: btc.Mainnet.Magic}, func(rec blockfile.Record) error {
			raw, err := r.ReadBlock(rec.File, rec.Offset, rec.Size, nil)
			if err != nil {
				return err
			}
			raws = append(raws, raw)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	type outpoint struct {
		txid btc.Hash
		vout uint32
	}
	id := newIDs()
	prev := map[outpoint]simOut{}
	var b blockfile.Block
	for _, raw := range raws {
		if err := b.Parse(raw); err != nil {
			t.Fatal(err)
		}
		for i := range b.Txs {
			for v, o := range b.Txs[i].Outs {
				typ, k := address.Classify(o.Script)
				prev[outpoint{b.Txs[i].TxID, uint32(v)}] = simOut{btc.Amount(o.Value), typ, id(k)}
			}
		}
	}
	txs := map[string]*Tx{}
	for _, raw := range raws {
		if err := b.Parse(raw); err != nil {
			t.Fatal(err)
		}
		for i := range b.Txs {
			bt := &b.Txs[i]
			tx := &Tx{Version: uint32(bt.Version), LockTime: bt.LockTime}
			for _, in := range bt.Ins {
				ti := In{Coinbase: bt.IsCoinbase(), Value: btc.UnknownAmount, Addr: btc.NoAddr}
				if p, ok := prev[outpoint{in.PrevTxID, in.PrevVout}]; ok && !ti.Coinbase {
					ti.Resolved, ti.Value, ti.Type, ti.Addr = true, p.value, p.typ, p.addr
				}
				tx.Ins = append(tx.Ins, ti)
			}
			for v := range bt.Outs {
				p := prev[outpoint{bt.TxID, uint32(v)}]
				tx.Outs = append(tx.Outs, Out{Value: p.value, Type: p.typ, Addr: p.addr})
			}
			txs[bt.TxID.String()] = tx
		}
	}
	return txs
}

// TestSimulatedCoinJoins runs Detect over a simulated chain with inputs
// resolved and compares with the simulator's answer key
// (truth/coinjoins.csv, truth/txs.csv). The simulator's CoinJoins are its
// own models of the protocols, so this checks that the detectors recognise
// them; it does not check the rules against the real protocols (see
// detect.go for their sources). It pins:
//
//   - every Whirlpool mix is detected as Whirlpool (the simulator gives
//     each mix at least one remixer and one new entrant, as the real
//     coordinator does);
//   - every JoinMarket round is detected as JoinMarket;
//   - every Wasabi round is detected as Wasabi 1 (every participant gets
//     a base-denomination output, and rounds have at least 10);
//   - no transaction the key calls a payment of a single spender
//     (anything but a CoinJoin) is detected as Whirlpool, Wasabi or
//     JoinMarket.
//
// The chain has Scale 3 (about 30,000 transactions; 0.3 with -short);
// SLEUTH_CJ_SIM_SCALE overrides it.
func TestSimulatedCoinJoins(t *testing.T) {
	scale := 3.0
	if s := os.Getenv("SLEUTH_CJ_SIM_SCALE"); s != "" {
		scale, _ = strconv.ParseFloat(s, 64)
	}
	if testing.Short() {
		scale = 0.3
	}
	out := simtest.Chain(t, 7, scale)
	txs := readSimChain(t, filepath.Join(out, "blocks"))
	truthKind := map[string]string{}
	for _, row := range simtest.ReadCSV(t, filepath.Join(out, "truth", "txs.csv")) {
		truthKind[row["txid"]] = row["kind"]
	}
	cjRows := simtest.ReadCSV(t, filepath.Join(out, "truth", "coinjoins.csv"))
	got := map[string]map[Kind]int{} // truth kind -> verdicts
	unknownMissed := 0
	for _, row := range cjRows {
		tx, ok := txs[row["txid"]]
		if !ok {
			t.Fatalf("coinjoin %s of the answer key is in no block", row["txid"])
		}
		v := Detect(tx)
		k := row["kind"]
		if got[k] == nil {
			got[k] = map[Kind]int{}
		}
		switch k {
		case "coinjoin_unknown", "payjoin", "collab_batch":
			// Shapes no protocol detector knows: the general tests
			// of value structure must see the unknown coordinators'
			// rounds; PayJoins and batches have no value structure
			// (the clustering's input-structure tests judge them).
			all := DetectWith(tx, AllFamilies)
			got[k][all.Kind]++
			if k == "coinjoin_unknown" && all.Kind == NotCoinJoin {
				unknownMissed++
			}
			continue
		}
		got[k][v.Kind]++
		want := map[string]Kind{"coinjoin_whirlpool": Whirlpool, "coinjoin_joinmarket": JoinMarket, "coinjoin_wasabi": Wasabi1}[k]
		if want == NotCoinJoin {
			t.Fatalf("answer key kind %q has no detector", k)
		}
		if v.Kind != want {
			t.Errorf("%s %s (denomination %s, %s participants, %s in, %s out, %s equal): detected %+v, want %s",
				k, row["txid"], row["denomination"], row["participants"], row["n_in"], row["n_out"], row["n_equal"], v, want)
		}
	}
	kinds := make([]string, 0, len(got))
	for k := range got {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		var parts []string
		for v := NotCoinJoin; v <= Denominations; v++ {
			if n := got[k][v]; n > 0 {
				name := v.String()
				if v == NotCoinJoin {
					name = "none"
				}
				parts = append(parts, name+" "+strconv.Itoa(n))
			}
		}
		t.Logf("answer key %s: detected as %s", k, strings.Join(parts, ", "))
	}

	unknown := 0
	for _, n := range got["coinjoin_unknown"] {
		unknown += n
	}
	if unknown == 0 || unknownMissed*20 > unknown {
		t.Errorf("the general tests miss %d of %d rounds of unknown coordinators (want at most 5%%)", unknownMissed, unknown)
	}

	// Transactions outside the answer key's CoinJoins.
	isCJ := map[string]bool{}
	for _, row := range cjRows {
		isCJ[row["txid"]] = true
	}
	fp := map[string]map[Kind]int{}
	general := map[string]int{} // single-spender txs the general tests take as collaborative
	generalFP := 0
	for txid, tx := range txs {
		if isCJ[txid] {
			continue
		}
		if w := DetectWith(tx, AllFamilies); w.Kind == EqualOutputs || w.Kind == Denominations {
			general[truthKind[txid]]++
			generalFP++
		}
		v := Detect(tx)
		if v.Kind == NotCoinJoin {
			continue
		}
		k := truthKind[txid]
		if fp[k] == nil {
			fp[k] = map[Kind]int{}
		}
		fp[k][v.Kind]++
		if v.Kind != Generic {
			t.Errorf("%s tx %s detected as %+v", k, txid, v)
		}
	}
	for k, m := range fp {
		t.Logf("not a CoinJoin in the key: %s detected as generic %d, protocols %d", k, m[Generic], m[Whirlpool]+m[Wasabi1]+m[Wasabi2]+m[JoinMarket])
	}
	t.Logf("single-spender transactions the general tests take as collaborative: %d %v", generalFP, general)
	if generalFP*1000 > len(txs) {
		t.Errorf("the general tests refuse %d single-spender transactions of %d (want at most 0.1%%)", generalFP, len(txs))
	}
	t.Logf("%d transactions, %d CoinJoins in the answer key", len(txs), len(cjRows))
}
