package cluster

import (
	"context"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// realBlocks are the standalone real blocks in ../shared/data.
var realBlocks = []string{"block-277647.dat.bz2", "block-357238.hex", "block-540107.raw", "block-574200.raw",
	"bitcoin-s/block-514485.raw", "bitcoin-s/block-514492.raw"}

// TestRealMerges clusters the real chain (heights 0–14131) and the real
// standalone blocks of 2013–2019, and pins multi-input merges checked by
// hand against the transactions (sleuth tx shows their inputs).
func TestRealMerges(t *testing.T) {
	db := indextest.Open(t, t.TempDir())
	var raws []string
	for _, f := range realBlocks {
		p := filepath.Join(sharedData, f)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("real data %s not found: %v", p, err)
		}
		raws = append(raws, p)
	}
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: realChainDir(t), RawBlocks: raws})
	sum := update(t, db, Options{})
	if sum.Txs != 14247 || sum.Standalone != 7336 {
		t.Fatalf("clustered %d chain and %d standalone txs, want 14247 and 7336", sum.Txs, sum.Standalone)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		addrs []string
		path  []string // txids of Explain(addrs[0], addrs[len-1])
	}{
		// Height 496: three inputs (50, 1 and 10 BTC) paid into one 61 BTC output.
		{"height 496", []string{"18SH9vwx24L5cTabfkgtGMjF8A56pD9AUJ", "15NUwyBYrZcnUgTagsm1A7M2yL2GntpuaZ", "1ByLSV2gLRcuqUmfdYcpPQH8Npm8cccsFg"},
			[]string{"a3b0e9e7cddbbe78270fa4182a7675ff00b92872d8df7d14265a2b1e379a9d33"}},
		// Height 546: 28204cad… spends from 1DZTzaBH… and 1DCbY2GY…; 6b0f8a73…
		// then spends its outputs to 1KAD5Enz… and 1DZTzaBH… together.
		{"height 546 chain", []string{"1KAD5EnzzLtrSo2Da2G4zzD7uZrjk8zRAv", "1DZTzaBHUDM7T3QvUKBz4qXMRpkg8jsfB5", "1DCbY2GYVaAMCBpuBNN5GVg3a47pNK1wdi"},
			[]string{"6b0f8a73a56c04b519f1883e8aafda643ba61a30bd1439969df21bea5f4e27e2", "28204cad1d7fc1d199e8ef4fa22f182de6258a3eaafe1bbe56ebdcacd3069a5f"}},
		// Block 574200 (standalone): three P2SH inputs, addresses read from
		// their redeem scripts, into two outputs.
		{"block 574200", []string{"32eVXJtEKCqgNqbSJBWvj471jxy6RmouEP", "3PMevbCNbY5ptWJJmRpDmUkVhS9zkiRi5z", "3JT55CTpDHRkmQsQ6Tzq295znURjForjyd"},
			[]string{"5dc4ee0295f8a5f5e8cd04673c5dd264bd00a7381f733bb007b3872dd14c597e"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ids []btc.AddrID
			var ent uint64
			for i, s := range c.addrs {
				a, err := db.AddrID(s)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, a)
				e, err := EntityOf(db, a)
				if err != nil {
					t.Fatal(err)
				}
				if i > 0 && e != ent {
					t.Fatalf("%s is in entity %d, %s in %d", s, e, c.addrs[0], ent)
				}
				ent = e
			}
			steps, err := Explain(ctx, db, ids[0], ids[len(ids)-1], 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range steps {
				if s.Heuristic != "multi_input" {
					t.Fatalf("step %+v: want multi_input", s)
				}
				got = append(got, s.TxID)
			}
			if len(got) != len(c.path) {
				t.Fatalf("explain path %v, want %v", got, c.path)
			}
			for i := range got {
				if got[i] != c.path[i] {
					t.Fatalf("explain path %v, want %v", got, c.path)
				}
			}
			v, err := Entity(ctx, db, uint64(ids[1]))
			if err != nil {
				t.Fatal(err)
			}
			if v.ID != ent || v.Size < uint64(len(c.addrs)) || v.TxCount == 0 {
				t.Fatalf("entity view %+v", v)
			}
		})
	}
	// Issue 10's costs on real data. The general tests refuse no real
	// co-spend and the largest entities (the 3,804-address sweeping
	// wallet of blocks 514485/514492, P2SH deposit addresses swept
	// together) stay whole; the equal-output rule takes exactly two real
	// transactions as collaborative, both of mixing shape: 13c5ba96… (block
	// 357238, 2015: 11 inputs from 11 addresses, ten 1 BTC outputs and
	// one other, as SharedCoin built its rounds) and 3bd9dd77… (block
	// 514485: 3 inputs, a 0.12 BTC pair among 6 outputs, a Stonewall
	// shape).
	refused := 0
	if err := Refused(ctx, db, func(*RefusedMerge) error { refused++; return nil }); err != nil {
		t.Fatal(err)
	}
	if refused != 0 {
		t.Errorf("%d real co-spends refused, want 0", refused)
	}
	top, err := Largest(ctx, db, 2)
	if err != nil || len(top) != 2 || top[0].Size != 3804 || top[1].Size != 1312 {
		t.Errorf("largest entities %+v (%v), want 3,804 and 1,312 addresses", top, err)
	}
	var general []string
	err = CoinJoins(ctx, db, func(n btc.TxNum, v coinjoin.Verdict) error {
		if v.Kind == coinjoin.EqualOutputs || v.Kind == coinjoin.Denominations {
			id, err := db.TxID(n)
			general = append(general, v.Kind.String()+" "+id.String())
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(general)
	want := []string{"equal_outputs 13c5ba96bfb855c4ede2e6cc221218b0586c98d46ac135be48e832ea56ec3192",
		"equal_outputs 3bd9dd77fa56190b95a4893411eb174e9d582babc231798e561961014f646f12"}
	if !slices.Equal(general, want) {
		t.Errorf("general rules on real blocks: %v, want %v", general, want)
	}
	// The genesis address was never spent: alone.
	g, _ := db.AddrID("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
	v, err := Entity(ctx, db, uint64(g))
	if err != nil || v.Size != 1 || v.ID != uint64(g) || *v.Balance != 50_0000_0000 {
		t.Fatalf("genesis entity %+v, %v", v, err)
	}
}
