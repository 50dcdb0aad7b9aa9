package eval

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

func rep(c string) btc.Hash { return btc.MustParseHash(strings.Repeat(c, 64)) }

func TestLoadTruth(t *testing.T) {
	for _, dir := range []string{"testdata/sim", "testdata/sim/truth"} {
		tr, err := LoadTruth(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if want := filepath.Join("testdata", "sim", "truth"); tr.Dir != want {
			t.Errorf("%s: Dir = %q, want %q", dir, tr.Dir, want)
		}
		if len(tr.Entities) != 5 || tr.Entities[3] != (Entity{3, "Smith | Sons, Ltd", "merchant"}) {
			t.Errorf("%s: entities %+v", dir, tr.Entities)
		}
		if tr.NumAddresses() != 8 {
			t.Errorf("%s: %d addresses, want 8", dir, tr.NumAddresses())
		}
		var all []Address
		for a := range tr.Addresses() {
			all = append(all, a)
			if b, ok := tr.Lookup(a.Addr); !ok || b != a {
				t.Errorf("%s: Lookup(%s) = %+v, %v; want %+v", dir, a.Addr, b, ok, a)
			}
		}
		if len(all) != 8 || all[0] != (Address{"1PoolAddrAAAAAAAAAAAAAAAAAAAAAAAAA", 0, "coinbase"}) ||
			all[7] != (Address{"bc1qwasabicoordinatorfee00000000000000000", 4, "coordinator_fee"}) ||
			tr.Address(2) != all[2] {
			t.Errorf("%s: addresses %+v", dir, all)
		}
		if a, ok := tr.Lookup("1DepositDDDDDDDDDDDDDDDDDDDDDDDDDD"); !ok || a.Entity != 1 || a.Role != "deposit" {
			t.Errorf("%s: Lookup(deposit) = %+v, %v", dir, a, ok)
		}
		if e := tr.EntityOf("bc1qretailchange00000000000000000000000000"); e != 2 {
			t.Errorf("%s: EntityOf(change) = %d, want 2", dir, e)
		}
		if e := tr.EntityOf("1NotInTheKey"); e != -1 {
			t.Errorf("%s: EntityOf(unknown) = %d, want -1", dir, e)
		}
		if tr.Name(3) != "Smith | Sons, Ltd" || tr.Name(5) != "" || tr.Name(-1) != "" {
			t.Errorf("%s: Name", dir)
		}
		if tr.NumTxs() != 10 || tr.NumChange() != 5 {
			t.Errorf("%s: %d txs, %d with change; want 10, 5", dir, tr.NumTxs(), tr.NumChange())
		}
		for _, c := range []struct {
			id   btc.Hash
			info TxInfo
			ok   bool
		}{
			{rep("1"), TxInfo{"coinbase", -1}, true},
			{rep("4"), TxInfo{"exchange_withdrawal", 2}, true},
			{rep("7"), TxInfo{"whirlpool_tx0", 6}, true},
			{btc.MustParseHash(strings.Repeat("00", 31) + "ab"), TxInfo{"payment", 1}, true},
			{btc.MustParseHash("ab" + strings.Repeat("00", 31)), TxInfo{"exchange_deposit", -1}, true},
			{rep("9"), TxInfo{}, false},
			{btc.Hash{}, TxInfo{}, false},
		} {
			if info, ok := tr.Tx(c.id); info != c.info || ok != c.ok {
				t.Errorf("%s: Tx(%s) = %+v, %v; want %+v, %v", dir, c.id, info, ok, c.info, c.ok)
			}
		}
		n := 0
		var prev btc.Hash
		for id, info := range tr.Txs() {
			if n > 0 && string(prev[:]) >= string(id[:]) {
				t.Errorf("%s: Txs out of order at %s", dir, id)
			}
			if got, _ := tr.Tx(id); got != info {
				t.Errorf("%s: Txs yields %s %+v, Tx says %+v", dir, id, info, got)
			}
			prev = id
			n++
		}
		if n != 10 {
			t.Errorf("%s: Txs yielded %d", dir, n)
		}
		if len(tr.CoinJoins) != 2 || tr.CoinJoins[rep("5")] != "coinjoin_wasabi" || tr.CoinJoins[rep("6")] != "coinjoin_whirlpool" {
			t.Errorf("%s: CoinJoins %v", dir, tr.CoinJoins)
		}
		if got := strings.Join(tr.TxKinds(), ","); got != "coinbase,coinjoin_wasabi,coinjoin_whirlpool,consolidation,exchange_deposit,exchange_withdrawal,payment,whirlpool_tx0" {
			t.Errorf("%s: TxKinds = %s", dir, got)
		}
	}
}

// TestLoadTruthBare reads a truth directory on its own whose columns are in
// another order, with extra columns and without n_out.
func TestLoadTruthBare(t *testing.T) {
	tr, err := LoadTruth("testdata/bare")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Entities[1] != (Entity{1, "Bob", "retail"}) {
		t.Errorf("entity 1 = %+v", tr.Entities[1])
	}
	if a, _ := tr.Lookup("addrB"); a != (Address{"addrB", 1, "change"}) {
		t.Errorf("addrB = %+v", a)
	}
	if info, _ := tr.Tx(rep("c")); info != (TxInfo{"payment", 0}) {
		t.Errorf("tx c = %+v", info)
	}
	if tr.CoinJoins[rep("d")] != "coinjoin_joinmarket" {
		t.Errorf("CoinJoins = %v", tr.CoinJoins)
	}
}

// TestLoadTruthErrors breaks one file of testdata/sim at a time; each error
// must name the file and line (and the column when one is to blame).
func TestLoadTruthErrors(t *testing.T) {
	good := map[string]string{}
	for _, f := range []string{entitiesFile, addressesFile, txsFile, coinjoinsFile} {
		b, err := os.ReadFile(filepath.Join("testdata/sim/truth", f))
		if err != nil {
			t.Fatal(err)
		}
		good[f] = string(b)
	}
	txid := func(c string) string { return strings.Repeat(c, 64) }
	const txHeader = "txid,height,index,kind,spender_entity,change_vout,n_in,n_out,fee\n"
	for i, c := range []struct {
		name, file, content string
		line                int    // 0: no line
		want                string // in the message, after "file:line: "
	}{
		{"empty file", entitiesFile, "", 1, "empty file, want a header row"},
		{"missing column", entitiesFile, "entity_id,type,software,country\n0,retail,core,\n", 1,
			`missing column "name" (header: entity_id,type,software,country)`},
		{"bad entity id", entitiesFile, "entity_id,name,type\n0,a,retail\nx1,b,retail\n", 3,
			`entity_id: "x1" is not an integer`},
		{"entity ids out of sequence", entitiesFile, "entity_id,name,type\n0,a,retail\n2,b,retail\n", 3,
			"entity_id: 2 out of sequence, want 1"},
		{"negative entity id", entitiesFile, "entity_id,name,type\n-1,a,retail\n", 2,
			"entity_id: -1 out of range 0..2147483647"},
		{"wrong field count", entitiesFile, "entity_id,name,type\n0,a,retail\n1,b\n", 3,
			"wrong number of fields"},
		{"bare quote", entitiesFile, "entity_id,name,type\n0,a\"b,retail\n", 2,
			`bare " in non-quoted-field`},
		{"address entity not an integer", addressesFile, "address,entity_id,role\na1,0,receive\na2,one,receive\n", 3,
			`entity_id: "one" is not an integer`},
		{"address entity unknown", addressesFile, "address,entity_id,role\na1,5,receive\n", 2,
			"entity_id: 5 out of range 0..4"},
		{"address unowned", addressesFile, "address,entity_id,role\na1,-1,receive\n", 2,
			"entity_id: -1 out of range 0..4"},
		{"address twice", addressesFile, "address,entity_id,role\na1,0,receive\na2,0,receive\na1,1,hot\n", 4,
			"address: a1 listed twice"},
		{"empty address", addressesFile, "address,entity_id,role\n,0,receive\n", 2, "address: empty"},
		{"missing role", addressesFile, "address,entity_id\na1,0\n", 1, `missing column "role"`},
		{"short txid", txsFile, txHeader + txid("1") + ",1,0,coinbase,-1,-1,1,1,0\nabc,2,0,coinbase,-1,-1,1,1,0\n", 3,
			`txid: "abc": hash must be 64 hex characters: got 3 characters`},
		{"txid not hex", txsFile, txHeader + txid("g") + ",1,0,coinbase,-1,-1,1,1,0\n", 2,
			`txid: "` + txid("g") + `": hash is not hexadecimal`},
		{"change vout not an integer", txsFile, txHeader + txid("1") + ",1,0,payment,2,one,1,2,0\n", 2,
			`change_vout: "one" is not an integer`},
		{"change vout past n_out", txsFile, txHeader + txid("1") + ",1,0,payment,2,2,1,2,0\n", 2,
			"change_vout: 2 out of range -1..1"},
		{"change vout below -1", txsFile, txHeader + txid("1") + ",1,0,payment,2,-2,1,2,0\n", 2,
			"change_vout: -2 out of range -1..1"},
		{"bad n_out", txsFile, txHeader + txid("1") + ",1,0,payment,2,0,1,x,0\n", 2, `n_out: "x" is not a count`},
		{"empty kind", txsFile, txHeader + txid("1") + ",1,0,,2,0,1,2,0\n", 2, "kind: empty"},
		{"txid twice", txsFile, txHeader + txid("1") + ",1,0,coinbase,-1,-1,1,1,0\n" + txid("1") + ",2,0,coinbase,-1,-1,1,1,0\n", 0,
			"txid " + txid("1") + " listed twice"},
		{"coinjoin bad txid", coinjoinsFile, "txid,kind\n" + txid("5") + ",coinjoin_wasabi\n" + txid("z") + ",coinjoin_wasabi\n", 3,
			`txid: "` + txid("z") + `": hash is not hexadecimal`},
		{"coinjoin not a tx", coinjoinsFile, "txid,kind\n" + txid("9") + ",coinjoin_wasabi\n", 2,
			"txid: " + txid("9") + " is not in txs.csv"},
		{"coinjoin twice", coinjoinsFile, "txid,kind\n" + txid("5") + ",coinjoin_wasabi\n" + txid("5") + ",coinjoin_wasabi\n", 3,
			"txid: " + txid("5") + " listed twice"},
		{"coinjoin missing kind", coinjoinsFile, "txid,denomination\n" + txid("5") + ",1\n", 1, `missing column "kind"`},
	} {
		dir := t.TempDir()
		for f, s := range good {
			if f == c.file {
				s = c.content
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := LoadTruth(dir)
		var le *LoadError
		if !errors.As(err, &le) {
			t.Errorf("#%d %s: error %v, want a *LoadError", i, c.name, err)
			continue
		}
		path := filepath.Join(dir, c.file)
		prefix := path + ": "
		if c.line > 0 {
			prefix = path + ":" + strconv.Itoa(c.line) + ": "
		}
		if le.Path != path || le.Line != c.line || !strings.HasPrefix(err.Error(), prefix+c.want) {
			t.Errorf("#%d %s:\n got %q (line %d)\nwant %q", i, c.name, err, le.Line, prefix+c.want)
		}
	}
}

func TestLoadTruthMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadTruth(dir); err == nil || !strings.Contains(err.Error(), "no answer key in "+dir) {
		t.Errorf("empty dir: %v", err)
	}
	for _, f := range []string{entitiesFile, addressesFile, txsFile} {
		b, _ := os.ReadFile(filepath.Join("testdata/sim/truth", f))
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	_, err := LoadTruth(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, coinjoinsFile)) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no coinjoins.csv: %v", err)
	}
}
