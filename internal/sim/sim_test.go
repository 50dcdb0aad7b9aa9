package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

func paramsFor(n *btc.Network) *chaincfg.Params {
	if n == btc.Regtest {
		return &chaincfg.RegressionNetParams
	}
	return &chaincfg.MainNetParams
}

func run(t *testing.T, opts Options) (string, Summary) {
	t.Helper()
	if opts.Out == "" {
		opts.Out = t.TempDir()
	}
	sum, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return opts.Out, sum
}

// TestRunVerify generates chains and checks them with the independent reader
// in verify_test.go: btcd parses and re-serializes every record, Merkle
// roots, witness commitments and BIP34 heights hold, every input spends an
// existing unspent output once, value is conserved, coinbases pay exactly
// subsidy plus fees, revealed keys hash to the spent scripts, stale blocks
// are off the best chain, and the answer key agrees with the final UTXO set.
func TestRunVerify(t *testing.T) {
	cases := []struct {
		name  string
		scale float64
		net   *btc.Network
		xor   bool
		short bool
	}{
		{"tiny-mainnet", 0.03, btc.Mainnet, false, true},
		{"tiny-regtest-xor", 0.05, btc.Regtest, true, true},
		{"small-mainnet", 1, btc.Mainnet, false, true},
		{"medium-regtest", 3, btc.Regtest, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && !c.short {
				t.Skip("short")
			}
			out, sum := run(t, Options{Seed: 7, Scale: c.scale, Network: c.net, XOR: c.xor, MaxFileSize: 1 << 20})
			res := verifyOutput(t, out, paramsFor(c.net), c.net.Magic)
			if int64(res.blocks) != sum.Blocks || int64(res.txs) != sum.Txs || int64(res.stale) != sum.StaleBlocks ||
				int64(res.outOfOrder) != sum.OutOfOrder || res.files != sum.Files {
				t.Fatalf("reader found %+v; summary says %+v", res, sum)
			}
			if res.stale < 2 || res.outOfOrder < 1 {
				t.Fatalf("want stale and out-of-order blocks, got %d and %d", res.stale, res.outOfOrder)
			}
			for k, n := range sum.Counts {
				if res.kinds[k] != int(n) {
					t.Fatalf("kind %s: %d on chain, summary says %d", k, res.kinds[k], n)
				}
			}
			if c.scale >= 1 {
				for _, class := range []string{"pubkeyhash", "scripthash-p2wpkh", "witness_v0_keyhash", "witness_v1_taproot", "scripthash", "witness_v0_scripthash"} {
					if res.spentClasses[class] == 0 {
						t.Errorf("no spend of a %s output (spent: %v)", class, res.spentClasses)
					}
				}
				for _, k := range []string{"coinjoin_wasabi", "coinjoin_joinmarket", "coinjoin_whirlpool", "whirlpool_tx0", "peel", "theft",
					"ransom_payment", "exchange_sweep", "exchange_withdrawal", "pool_payout", "bet", "swap_deposit", "processor_settlement"} {
					if sum.Counts[k] == 0 {
						t.Errorf("no %s transaction", k)
					}
				}
			}
			if c.scale >= 1 && (sum.StolenSats < 3700e8 || sum.StolenSats > 3900e8) {
				t.Errorf("stolen %d sats, want about 3,800 BTC", sum.StolenSats)
			}
			t.Logf("%d blocks, %d txs, %d stale, %d out of order, %d files; spent classes %v",
				res.blocks, res.txs, res.stale, res.outOfOrder, res.files, res.spentClasses)
		})
	}
}

func hashTree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	m := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = sha256.Sum256(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDeterministic: the same seed and options give the same bytes in every
// file; another seed gives other blocks.
func TestDeterministic(t *testing.T) {
	opts := Options{Seed: 42, Scale: 0.5, MaxFileSize: 256 << 10}
	a, _ := run(t, opts)
	b, _ := run(t, opts)
	ha, hb := hashTree(t, a), hashTree(t, b)
	if len(ha) != len(hb) || len(ha) < 10 {
		t.Fatalf("runs wrote %d and %d files", len(ha), len(hb))
	}
	for f, h := range ha {
		if hb[f] != h {
			t.Errorf("%s differs between two runs with the same seed", f)
		}
	}
	opts.Seed = 43
	c, _ := run(t, opts)
	if hashTree(t, c)["blocks/blk00000.dat"] == ha["blocks/blk00000.dat"] {
		t.Error("seeds 42 and 43 wrote the same blk00000.dat")
	}
}

// TestXOR: an obfuscated run de-obfuscates to the plain run's bytes; the
// pre-allocated padding stays raw zeros; the answer key is unchanged.
func TestXOR(t *testing.T) {
	opts := Options{Seed: 5, Scale: 0.2, MaxFileSize: 128 << 10}
	plain, _ := run(t, opts)
	opts.XOR = true
	obf, _ := run(t, opts)
	key, err := os.ReadFile(filepath.Join(obf, "blocks", "xor.dat"))
	if err != nil || len(key) != 8 || bytes.Equal(key, make([]byte, 8)) {
		t.Fatalf("xor.dat: %x, %v", key, err)
	}
	if _, err := os.Stat(filepath.Join(plain, "blocks", "xor.dat")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("plain run wrote xor.dat: %v", err)
	}
	hp, ho := hashTree(t, plain), hashTree(t, obf)
	nfiles := 0
	for f := range hp {
		if !strings.HasPrefix(f, "blocks/blk") {
			if hp[f] != ho[f] {
				t.Errorf("%s differs between plain and XOR runs", f)
			}
			continue
		}
		nfiles++
		p, _ := os.ReadFile(filepath.Join(plain, f))
		o, _ := os.ReadFile(filepath.Join(obf, f))
		if len(p) != len(o) {
			t.Fatalf("%s: %d bytes plain, %d obfuscated", f, len(p), len(o))
		}
		same := 0
		for i := range p {
			switch {
			case p[i] == 0 && o[i] == 0 && allZero(p[i:]):
				i = len(p) // padding: raw zeros in both
			case o[i]^key[i%8] != p[i]:
				t.Fatalf("%s byte %d: %02x ^ %02x != %02x", f, i, o[i], key[i%8], p[i])
			case o[i] == p[i]:
				same++
			}
		}
		if same > len(p)/2 {
			t.Fatalf("%s is mostly not obfuscated", f)
		}
	}
	if nfiles < 2 {
		t.Fatalf("want several blk files, got %d", nfiles)
	}
}

func allZero(b []byte) bool { return !bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) }

// TestFiles checks how blocks are cut into files: the genesis block comes
// first and is the real one; a finished file is truncated to its records and
// stays below the limit; only the last file is padded, to a whole chunk.
func TestFiles(t *testing.T) {
	for _, c := range []struct {
		net  *btc.Network
		max  int64
		want int64 // chunk
	}{
		{btc.Mainnet, 64 << 10, 16 << 10},
		{btc.Regtest, 200 << 10, 16 << 10},
		{btc.Mainnet, DefaultMaxFileSize, 16 << 20},
	} {
		out, sum := run(t, Options{Seed: 3, Scale: 0.3, MaxFileSize: c.max, Network: c.net})
		recs, raws := readBlockFiles(t, filepath.Join(out, "blocks"), c.net.Magic)
		var g bytes.Buffer
		if err := paramsFor(c.net).GenesisBlock.Serialize(&g); err != nil {
			t.Fatal(err)
		}
		if recs[0].file != "blk00000.dat" || recs[0].offset != 8 || !bytes.Equal(recs[0].raw, g.Bytes()) {
			t.Fatalf("first record is not %s's genesis block", c.net.Name)
		}
		ends := map[string]int64{}
		for _, r := range recs {
			ends[r.file] = r.offset + int64(len(r.raw))
		}
		var total int64
		for i := 0; i < sum.Files; i++ {
			name := fileName(i)
			size := int64(len(raws[name]))
			total += size
			last := i == sum.Files-1
			switch {
			case !last && size != ends[name]:
				t.Errorf("%s: %d bytes, records end at %d (finished files are truncated)", name, size, ends[name])
			case !last && size >= c.max:
				t.Errorf("%s: %d bytes, limit %d", name, size, c.max)
			case last && (size%c.want != 0 || size < ends[name]):
				t.Errorf("%s: last file has %d bytes, want a multiple of %d past %d", name, size, c.want, ends[name])
			}
		}
		if total != sum.Bytes || len(raws) != sum.Files {
			t.Errorf("summary says %d files, %d bytes; disk has %d, %d", sum.Files, sum.Bytes, len(raws), total)
		}
	}
}

func fileName(i int) string { return "blk" + strings.Repeat("0", 5-len(itoa(i))) + itoa(i) + ".dat" }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// TestPublic checks the investigator's files against the answer key.
func TestPublic(t *testing.T) {
	out, sum := run(t, Options{Seed: 11, Scale: 1})
	owners := map[string][]string{}
	for _, r := range readCSV(t, filepath.Join(out, "truth", "addresses.csv")) {
		owners[r[0]] = r
	}
	kinds := readTxKinds(t, out)

	var inc struct {
		Network string `json:"network"`
		Theft   struct {
			Txids   []string `json:"txids"`
			Hot     []string `json:"victim_hot_wallets"`
			Victim  string   `json:"victim"`
			Reports float64  `json:"reported_btc"`
		} `json:"theft"`
		Ransom struct {
			Addresses []string `json:"ransom_addresses"`
		} `json:"ransomware"`
	}
	data, err := os.ReadFile(filepath.Join(out, "public", "incident.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &inc); err != nil {
		t.Fatal(err)
	}
	if len(inc.Theft.Txids) == 0 || len(inc.Ransom.Addresses) != 3 || len(inc.Theft.Hot) == 0 {
		t.Fatalf("incident.json incomplete: %+v", inc)
	}
	for _, id := range inc.Theft.Txids {
		found := false
		for h, k := range kinds {
			if h.String() == id {
				found = k == "theft"
			}
		}
		if !found {
			t.Errorf("theft txid %s is not a theft transaction in txs.csv", id)
		}
	}
	for _, a := range inc.Ransom.Addresses {
		if owners[a] == nil || owners[a][2] != "ransomware" {
			t.Errorf("ransom address %s not owned by the ransomware operator", a)
		}
	}
	if inc.Theft.Reports*1e8 < float64(sum.StolenSats)*0.98 || inc.Theft.Reports*1e8 > float64(sum.StolenSats)*1.02 {
		t.Errorf("reported %f BTC, stolen %d sats", inc.Theft.Reports, sum.StolenSats)
	}

	pack, err := os.ReadFile(filepath.Join(out, "public", "tagpack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(pack)
	for _, h := range []string{"title: ", "creator: ", "description: ", "is_public: true\n", "currency: BTC\n", "network: BTC\n", "tags:\n"} {
		if !strings.Contains(text, "\n"+h) && !strings.HasPrefix(text, h) {
			t.Errorf("tagpack header lacks %q", h)
		}
	}
	tags := strings.Split(text, "\n- address: ")[1:]
	if len(tags) < 20 {
		t.Fatalf("only %d tags", len(tags))
	}
	// An instant exchanger (swap service) is an exchange in the concept taxonomy.
	cats := map[string]string{"exchange": "exchange", "miner": "mining_pool", "gambling": "gambling", "coinjoin": "coinjoin_coordinator"}
	seen := map[string]int{}
	for _, tg := range tags {
		lines := strings.Split(tg, "\n")
		a := lines[0]
		fields := map[string]string{}
		for _, l := range lines[1:] {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), ": "); ok {
				fields[k] = v
			}
		}
		for _, f := range []string{"label", "category", "confidence", "source"} {
			if fields[f] == "" {
				t.Fatalf("tag %s lacks %s", a, f)
			}
		}
		o := owners[a]
		if o == nil {
			t.Fatalf("tagged address %s is not in addresses.csv", a)
		}
		seen[fields["category"]+"/"+fields["abuse"]]++
		if want, ok := cats[fields["category"]]; ok && o[2] != want && !(fields["category"] == "exchange" && o[2] == "swap_service") {
			t.Errorf("tag %s says %s, owner is a %s", a, fields["category"], o[2])
		}
		if fields["abuse"] == "ransomware" && o[2] != "ransomware" || fields["abuse"] == "service_hack" && o[2] != "attacker" {
			t.Errorf("tag %s says %s, owner is a %s", a, fields["abuse"], o[2])
		}
	}
	for _, k := range []string{"exchange/", "miner/", "perpetrator/ransomware", "perpetrator/service_hack"} {
		if seen[k] == 0 {
			t.Errorf("no %s tag (tags: %v)", k, seen)
		}
	}
}

// TestEncodeAddress compares the fast segwit path with address/v2.
func TestEncodeAddress(t *testing.T) {
	src := startKeySource(9)
	defer src.stop()
	h := newHasher()
	for _, params := range []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.RegressionNetParams} {
		for _, st := range []scriptType{stP2PKH, stP2SHP2WPKH, stP2WPKH, stP2TR} {
			for i := 0; i < 20; i++ {
				a := newAddr(src.next(), h, st)
				got, err := encodeAddress(&a, params)
				if err != nil {
					t.Fatal(err)
				}
				var ref address.Address
				switch st {
				case stP2PKH:
					ref, err = address.NewAddressPubKeyHash(a.prog[:20], params)
				case stP2SHP2WPKH:
					ref, err = address.NewAddressScriptHashFromHash(a.prog[:20], params)
				case stP2WPKH:
					ref, err = address.NewAddressWitnessPubKeyHash(a.prog[:20], params)
				case stP2TR:
					ref, err = address.NewAddressTaproot(a.prog[:32], params)
				}
				if err != nil {
					t.Fatal(err)
				}
				if got != ref.EncodeAddress() {
					t.Fatalf("%v: %s, address/v2 says %s", st, got, ref.EncodeAddress())
				}
			}
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []Options{
		{},
		{Out: dir, Scale: -1},
		{Out: dir, Network: btc.Testnet3},
		{Out: dir, MaxFileSize: 1000},
	} {
		if _, err := Run(context.Background(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: got %v, want ErrOptions", o, err)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Options{Out: t.TempDir(), Scale: 0.1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestPlan(t *testing.T) {
	for _, c := range []struct {
		scale    float64
		min, max int64
	}{{0.03, 250, 500}, {1, 9_500, 10_500}, {100, 990_000, 1_010_000}, {1000, 9_900_000, 10_100_000}} {
		p := makePlan(c.scale)
		got := int64(p.bootstrap) + int64(p.regular)*int64(p.perBlock+1)
		if got < c.min || got > c.max {
			t.Errorf("scale %g plans %d transactions, want [%d, %d]", c.scale, got, c.min, c.max)
		}
	}
}

// TestTheftWithSmallCoins: seed 16 at scale 1 once failed to build a theft
// transaction (a group's split left an output below dust after the fee);
// the split now falls back to one output and coins too small to pay their
// own fee are left behind.
func TestTheftWithSmallCoins(t *testing.T) {
	if testing.Short() {
		t.Skip("a scale-1 chain")
	}
	s, err := Run(context.Background(), Options{Out: t.TempDir(), Seed: 16, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	if s.StolenSats <= 0 {
		t.Fatalf("no theft: %+v", s)
	}
}
