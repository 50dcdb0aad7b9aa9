package watch

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/risk/risktest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rule
		err  string
	}{
		{"any", Rule{Kind: Activity}, ""},
		{"sanctioned", Rule{Kind: Sanctioned}, ""},
		{"value>=100000", Rule{Kind: Value, MinValue: 100000}, ""},
		{"exposure:theft>=10%", Rule{Kind: Exposure, Category: "theft", MinSharePPM: 100_000}, ""},
		{"exposure:sanction>=0.5%", Rule{Kind: Exposure, Category: "sanction", MinSharePPM: 5_000}, ""},
		{"exposure:mixer>=5000", Rule{Kind: Exposure, Category: "mixer", MinValue: 5000}, ""},
		{"exposure:theft>=0%", Rule{}, "percentage"},
		{"exposure:theft>=101%", Rule{}, "percentage"},
		{"exposure:pizza>=1%", Rule{}, "pizza"},
		{"exposure:theft", Rule{}, "want exposure"},
		{"value>=-1", Rule{}, "satoshis"},
		{"value>=1.5", Rule{}, "satoshis"},
		{"everything", Rule{}, "want any"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRule(tc.in, In, alert.High)
			if tc.err != "" {
				if !errors.Is(err, ErrRule) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrRule mentioning %q", err, tc.err)
				}
				return
			}
			tc.want.Direction, tc.want.Level = In, alert.High
			if err != nil || got != tc.want {
				t.Fatalf("ParseRule = %+v, %v; want %+v", got, err, tc.want)
			}
			back, err := ParseRule(got.String(), In, alert.High)
			if err != nil || back != got {
				t.Fatalf("String %q does not parse back: %+v %v", got.String(), back, err)
			}
		})
	}
}

// An exchange watches its deposit addresses on a simulated chain; the
// theft's coins arrive at some of them. Half of the chain is indexed when
// the watchlist is compiled, so deposits first seen later are matched
// through the not-yet-seen path. Every deposit of stolen coins in the
// answer key must raise an activity alert with its txid, and the theft
// exposure rule must fire with the risk stage's share and explanation.
func TestTheftDeposits(t *testing.T) {
	ctx := context.Background()
	out := simtest.Chain(t, 1, 0.3)
	blocks := simtest.Blocks(t, out)

	type dep struct{ txid, addr string }
	want := map[dep]uint64{} // the answer key's theft deposits at exchanges, with the value
	var keys []address.Key
	var heights []int
	for _, r := range simtest.ReadCSV(t, filepath.Join(out, "truth", "taint.csv")) {
		if r["case"] != "theft" || r["role"] != "received" || r["entity_type"] != "exchange" {
			continue
		}
		v, _ := strconv.ParseUint(r["value"], 10, 64)
		want[dep{r["txid"], r["address"]}] += v
		k, err := address.Decode(r["address"], btc.Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		h, _ := strconv.Atoi(r["height"])
		heights = append(heights, h)
	}
	if len(want) < 5 {
		t.Fatalf("only %d theft deposits in the answer key: the test proves little", len(want))
	}
	// Index the blocks written before the median deposit's height.
	slices.Sort(heights)
	split := slices.IndexFunc(blocks, func(b simtest.Block) bool { return b.Height >= heights[0]/2 })
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	simtest.AppendRecords(t, dir, recs(blocks[:split])...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	half := db.Tip().Height
	// Three addresses already on chain are watched too (the seen path).
	for a := range btc.AddrID(3) {
		k, err := db.AddrKey(a)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}

	st := NewDB(db)
	any, _ := ParseRule("any", In, alert.Medium)
	theft, _ := ParseRule("exposure:theft>=1%", In, alert.High)
	id, err := st.Create(ctx, &List{Name: "exchange-deposits", Rules: []Rule{any, theft}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAddresses(ctx, id, keys); err != nil {
		t.Fatal(err)
	}
	set, err := Compile(ctx, db, st)
	if err != nil {
		t.Fatal(err)
	}
	total, unseen := set.Len()
	if unseen == 0 || total-unseen != 3 {
		t.Fatalf("%d of %d watched addresses unseen at height %d: want some of each", unseen, total, half)
	}

	// The rest of the chain arrives; exposure is computed on it.
	simtest.AppendRecords(t, dir, recs(blocks[split:])...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	risktest.Prepare(t, db, filepath.Join(out, "public", "tagpack.yaml"))
	scr, err := risk.NewScreener(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	as := &RiskAssessor{S: scr}

	got := map[dep]alert.Alert{}
	exposed := map[dep]alert.Alert{}
	err = set.MatchBlocks(ctx, 0, btc.Height(db.Tip().Height), func(b *index.ChainBlock, hits []Hit) error {
		alerts, err := set.Alerts(ctx, b, hits, as)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if bb, _ := db.ChainBlock(btc.Height(a.Height)); bb.Hash != a.BlockHash {
				t.Errorf("alert on tx %s names block %s at %d", a.TxID, a.BlockHash, a.Height)
			}
			d := dep{a.TxID.String(), a.Address}
			if strings.Contains(a.Rule, "exposure") {
				exposed[d] = a
			} else {
				got[d] = a
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for d, v := range want {
		a, ok := got[d]
		if !ok {
			t.Errorf("no alert for theft deposit %s to %s", d.txid, d.addr)
			continue
		}
		if a.Value < v {
			t.Errorf("deposit %s to %s: alert value %d, answer key %d", d.txid, d.addr, a.Value, v)
		}
	}
	nExposed := 0
	for d, a := range exposed {
		if a.Exposure.Category != "theft" || a.Exposure.SharePPM < 10_000 || !strings.Contains(a.Exposure.Explanation, "theft") {
			t.Errorf("exposure alert %s to %s: %+v", d.txid, d.addr, a.Exposure)
		}
		if _, ok := want[d]; ok {
			nExposed++
		}
	}
	// The risk stage's haircut need not reach every deposit the answer
	// key taints (it may dilute below 1%); most must be caught.
	if nExposed*2 < len(want) {
		t.Errorf("theft exposure ≥ 1%% on %d of %d true theft deposits", nExposed, len(want))
	}
	t.Logf("%d theft deposits in the answer key; %d activity alerts on watched deposits, %d theft-exposure alerts (%d on true theft deposits); %d of %d watched addresses unseen at compile",
		len(want), len(got), len(exposed), nExposed, unseen, total)
}

func recs(bs []simtest.Block) [][]byte {
	out := make([][]byte, len(bs))
	for i, b := range bs {
		out[i] = b.Record
	}
	return out
}
