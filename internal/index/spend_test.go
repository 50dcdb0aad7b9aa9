package index

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestSpendStatus pins the tri-state spend of real outputs: a best-chain
// output is spent or unspent, and an output of a standalone block (block
// 574200, whose successors are not indexed) that no indexed input spends
// is unknown, in Tx, Spend, Address and their JSON.
func TestSpendStatus(t *testing.T) {
	blocks := t.TempDir()
	writeBlk(t, blocks, 0, realRecords(t)[:201], 0)
	db := openTest(t, t.TempDir())
	ingest(t, db, IngestOptions{BlocksDir: blocks, RawBlocks: []string{needShared(t, "block-574200.raw")}})

	for _, c := range []struct {
		name string
		txid string
		vout uint32
		want SpendStatus
	}{
		{"block 9 coinbase, spent by the Hal tx at 170", "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9", 0, Spent},
		{"block 1 coinbase, never spent", "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098", 0, Unspent},
		{"block 574200, later blocks not indexed", "5dc4ee0295f8a5f5e8cd04673c5dd264bd00a7381f733bb007b3872dd14c597e", 0, SpendUnknown},
		{"block 574200, second output", "5dc4ee0295f8a5f5e8cd04673c5dd264bd00a7381f733bb007b3872dd14c597e", 1, SpendUnknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := btc.MustParseHash(c.txid)
			num, err := db.TxNum(id)
			if err != nil {
				t.Fatal(err)
			}
			_, st, err := db.Spend(btc.MakeOutRef(num, c.vout))
			if err != nil || st != c.want {
				t.Fatalf("Spend: %v, %v; want %v", st, err, c.want)
			}
			v, err := db.Tx(id)
			if err != nil {
				t.Fatal(err)
			}
			o := v.Outputs[c.vout]
			if o.Spent != c.want || (o.SpentBy != nil) != (c.want == Spent) {
				t.Fatalf("output %+v, want spent %v", o, c.want)
			}
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			if want := `"spent":"` + c.want.String() + `"`; !strings.Contains(string(b), want) {
				t.Errorf("JSON %s lacks %s", b, want)
			}
		})
	}

	// Every output of the standalone block: spent within the block, or
	// unknown; never "no".
	ids, err := db.BlockTxIDs("574200")
	if err != nil {
		t.Fatal(err)
	}
	count := map[SpendStatus]int{}
	for _, id := range ids {
		v, err := db.Tx(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range v.Outputs {
			count[o.Spent]++
			if (o.Spent == Spent) != (o.SpentBy != nil) {
				t.Fatalf("%s:%d: spent %v, spent by %v", id, o.N, o.Spent, o.SpentBy)
			}
		}
	}
	if count[Unspent] != 0 || count[Spent] == 0 || count[SpendUnknown] == 0 {
		t.Errorf("block 574200 outputs by status %v: want some spent in the block, the rest unknown, none unspent", count)
	}

	// An address paid in the standalone block: balance unknown.
	for _, c := range []struct {
		addr        string
		unknown     uint64
		wantBalance bool
	}{
		{"35hYK4GknXfLzSdH7fGvAeteQBsX4cSc5N", 1, false},
		{"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", 0, true}, // Hal's, best chain only
	} {
		a, err := db.Address(c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if a.SpendUnknown != c.unknown || (a.Balance != nil) != c.wantBalance {
			t.Errorf("%s: %d outputs of unknown spend, balance %v; want %d, balance known %v", c.addr, a.SpendUnknown, a.Balance, c.unknown, c.wantBalance)
		}
	}
}

// TestSpendStatusText: a spend status reads back what it writes (API
// clients decode transaction views), and anything else is refused.
func TestSpendStatusText(t *testing.T) {
	for _, s := range []SpendStatus{Unspent, Spent, SpendUnknown} {
		b, _ := s.MarshalText()
		var got SpendStatus
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("%q: %v, %v", b, got, err)
		}
	}
	var s SpendStatus
	for _, bad := range []string{"", "invalid", "Yes", "2"} {
		if err := s.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
