package export

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/demo"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

var sqlBlock = regexp.MustCompile("(?s)```sql\n(.*?)```")

// recipes returns the named queries of a cookbook: every fenced sql block
// must start with "-- name: NAME" and names are unique.
func recipes(doc string) (map[string]string, error) {
	out := map[string]string{}
	for i, m := range sqlBlock.FindAllStringSubmatch(doc, -1) {
		first, _, _ := strings.Cut(m[1], "\n")
		name, ok := strings.CutPrefix(first, "-- name: ")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("sql block %d starts with %q: want -- name: NAME", i+1, first)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("sql block %d: name %s used twice", i+1, name)
		}
		out[name] = m[1]
	}
	return out, nil
}

// FuzzRecipes: the cookbook parser never panics, and every query it
// returns is a named sql block of its input.
func FuzzRecipes(f *testing.F) {
	f.Add("```sql\n-- name: a\nSELECT 1;\n```\n")
	f.Add("```sql\nSELECT 1;\n```")
	f.Add("text ```sql\n-- name: a\n```sql\n-- name: a\n```")
	f.Fuzz(func(t *testing.T, doc string) {
		rs, err := recipes(doc)
		if err != nil {
			return
		}
		for name, q := range rs {
			if !strings.HasPrefix(q, "-- name: ") || !strings.Contains(doc, q) || strings.Contains(name, "\n") {
				t.Fatalf("recipe %q = %q not a named block of the input", name, q)
			}
		}
	})
}

// rows runs q and returns its rows as strings (NULL for null, dates as
// YYYY-MM-DD, times in RFC 3339 UTC).
func rows(t *testing.T, tg *Target, q string, args ...any) [][]string {
	t.Helper()
	rs, err := tg.pool.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rs.Close()
	var out [][]string
	for rs.Next() {
		vs, err := rs.Values()
		if err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vs))
		for i, v := range vs {
			switch x := v.(type) {
			case nil:
				row[i] = "NULL"
			case time.Time:
				if x.Equal(x.Truncate(24*time.Hour)) && x.Location() == time.UTC {
					row[i] = x.Format(time.DateOnly)
				} else {
					row[i] = x.UTC().Format(time.RFC3339)
				}
			default:
				row[i] = fmt.Sprint(x)
			}
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return out
}

func row(vs ...any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprint(v)
	}
	return out
}

func sameRows(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if len(want) == 0 {
		t.Errorf("%s: the expected answer is empty: the test proves nothing", what)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// world is what the checks compare the SQL answers with: the store, its
// entities and one pass over its transactions.
type world struct {
	db     *index.DB
	tg     *Target
	forest *cluster.Forest
	out    string // simulator directory ("" for the real blocks)
}

func (w *world) ent(a btc.AddrID) uint64 { return uint64(w.forest.Find(uint32(a))) }

func (w *world) addr(t *testing.T, a btc.AddrID) string {
	s, _, err := w.db.AddrString(a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *world) txid(t *testing.T, n btc.TxNum) string {
	h, err := w.db.TxID(n)
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// scan calls fn for every best-chain transaction with its block.
func (w *world) scan(t *testing.T, fn func(tx *coinjoin.Tx, b index.ChainBlock)) {
	t.Helper()
	tip := w.db.Tip()
	var b index.ChainBlock
	err := w.db.ScanTxs(context.Background(), 0, tip.NextTx, func(tx *coinjoin.Tx) error {
		if b.NTx == 0 || tx.Num >= b.FirstTx+btc.TxNum(b.NTx) {
			var err error
			if b, err = w.db.ChainBlock(tx.Height); err != nil {
				return err
			}
		}
		fn(tx, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) largest(t *testing.T) []cluster.EntitySize {
	top, err := cluster.Largest(context.Background(), w.db, 10)
	if err != nil || len(top) == 0 {
		t.Fatalf("largest entities: %v %v", top, err)
	}
	return top
}

// subject is the entity the entity recipes ask about: the largest of a
// simulated chain, and for the real blocks the entity the demo explains
// (the largest ones there were made in the standalone block, which is
// not exported).
func (w *world) subject(t *testing.T) uint64 {
	if w.out != "" {
		return w.largest(t)[0].ID
	}
	id, err := w.db.AddrID(demo.DemoEntityFrom)
	if err != nil {
		t.Fatal(err)
	}
	return w.ent(id)
}

// checks holds, per recipe of docs/SQL.md, the test of its answers.
var checks = map[string]func(t *testing.T, w *world, q string){
	"largest_entities": func(t *testing.T, w *world, q string) {
		var want [][]string
		for _, e := range w.largest(t) {
			want = append(want, row(e.ID, e.Size, w.addr(t, btc.AddrID(e.ID))))
		}
		sameRows(t, "largest entities", rows(t, w.tg, q, 10), want)
	},
	"entity_flows": func(t *testing.T, w *world, q string) {
		// Every payer-payee pair, then the largest flow between two
		// entities, the payer's flow to itself and the reverse flow.
		type flow struct {
			txs, sats   int64
			first, last btc.TxNum
		}
		flows := map[[2]uint64]*flow{}
		w.scan(t, func(tx *coinjoin.Tx, _ index.ChainBlock) {
			var payers []uint64
			for _, in := range tx.Ins {
				if in.Addr != btc.NoAddr && !slices.Contains(payers, w.ent(in.Addr)) {
					payers = append(payers, w.ent(in.Addr))
				}
			}
			for _, a := range payers {
				for _, o := range tx.Outs {
					if o.Addr == btc.NoAddr {
						continue
					}
					k := [2]uint64{a, w.ent(o.Addr)}
					f := flows[k]
					if f == nil {
						f = &flow{first: tx.Num}
						flows[k] = f
					}
					if f.last != tx.Num || f.txs == 0 {
						f.txs++
					}
					f.sats += int64(o.Value)
					f.last = tx.Num
				}
			}
		})
		var best [2]uint64
		for k, f := range flows {
			b := flows[best]
			if k[0] != k[1] && (b == nil || f.sats > b.sats || f.sats == b.sats && (k[0] < best[0] || k[0] == best[0] && k[1] < best[1])) {
				best = k
			}
		}
		if flows[best] == nil {
			t.Fatal("no entity paid another")
		}
		for _, k := range [][2]uint64{best, {best[0], best[0]}, {best[1], best[0]}} {
			want := [][]string{row(0, 0, "NULL", "NULL")}
			if f := flows[k]; f != nil {
				want = [][]string{row(f.txs, f.sats, f.first, f.last)}
			}
			sameRows(t, fmt.Sprintf("flows from entity %d to %d", k[0], k[1]), rows(t, w.tg, q, int64(k[0]), int64(k[1])), want)
		}
	},
	"top_payers": func(t *testing.T, w *world, q string) {
		x := w.subject(t)
		type payer struct {
			ent       uint64
			txs, sats int64
		}
		by := map[uint64]*payer{}
		w.scan(t, func(tx *coinjoin.Tx, _ index.ChainBlock) {
			var paid int64
			for _, o := range tx.Outs {
				if o.Addr != btc.NoAddr && w.ent(o.Addr) == x {
					paid += int64(o.Value)
				}
			}
			if paid == 0 || tx.Ins[0].Addr == btc.NoAddr || w.ent(tx.Ins[0].Addr) == x {
				return
			}
			e := w.ent(tx.Ins[0].Addr)
			if by[e] == nil {
				by[e] = &payer{ent: e}
			}
			by[e].txs++
			by[e].sats += paid
		})
		ps := slices.SortedFunc(maps.Values(by), func(a, b *payer) int {
			return cmp.Or(cmp.Compare(b.sats, a.sats), cmp.Compare(a.ent, b.ent))
		})
		var want [][]string
		for _, p := range ps[:min(5, len(ps))] {
			want = append(want, row(p.ent, p.txs, p.sats))
		}
		sameRows(t, fmt.Sprintf("top payers of entity %d", x), rows(t, w.tg, q, int64(x), 5), want)
	},
	"first_funding": func(t *testing.T, w *world, q string) {
		addrs := []string{demo.HalAddress}
		var truth []map[string]string
		if w.out != "" {
			truth = simtest.ReadCSV(t, filepath.Join(w.out, "truth", "ransom_victims.csv"))
			addrs = nil
			for _, r := range truth {
				if !slices.Contains(addrs, r["ransom_address"]) {
					addrs = append(addrs, r["ransom_address"])
				}
			}
		}
		for _, s := range addrs {
			id, err := w.db.AddrID(s)
			if err != nil {
				t.Fatal(err)
			}
			tot, err := w.db.AddrTotals(id)
			if err != nil {
				t.Fatal(err)
			}
			var tx coinjoin.Tx
			if err := w.db.ReadTx(tot.First, &tx); err != nil {
				t.Fatal(err)
			}
			b, err := w.db.ChainBlock(tx.Height)
			if err != nil {
				t.Fatal(err)
			}
			n := slices.IndexFunc(tx.Outs, func(o coinjoin.Out) bool { return o.Addr == id })
			var payers []string
			for _, in := range tx.Ins {
				if in.Addr != btc.NoAddr && !slices.Contains(payers, w.addr(t, in.Addr)) {
					payers = append(payers, w.addr(t, in.Addr))
				}
			}
			slices.Sort(payers)
			funded := "NULL"
			if len(payers) > 0 {
				funded = strings.Join(payers, ",")
			}
			txid, value := w.txid(t, tot.First), tx.Outs[n].Value
			want := [][]string{row(txid, tx.Height, time.Unix(int64(b.Time), 0).UTC().Format(time.RFC3339), n, value, funded)}
			sameRows(t, "first funding of "+s, rows(t, w.tg, q, s), want)
			// The known answers: Hal Finney's 10 BTC at height 170, and
			// each ransom address's first payment in the answer key.
			if w.out == "" && (txid != demo.HalTxID || value != 10e8 || tx.Height != 170) {
				t.Errorf("first funding of %s: %s %d at %d, want %s, 10 BTC at 170", s, txid, value, tx.Height, demo.HalTxID)
			}
			if w.out != "" && !slices.ContainsFunc(truth, func(r map[string]string) bool {
				return r["txid"] == txid && r["ransom_address"] == s && r["value"] == strconv.FormatInt(int64(value), 10)
			}) {
				t.Errorf("first funding of ransom address %s: %s (%d sats) is no ransom payment of the answer key", s, txid, value)
			}
		}
	},
	"sanctioned_deposits": func(t *testing.T, w *world, q string) {
		if w.out == "" {
			t.Skip("no sanctioned address among the bundled blocks' addresses")
		}
		truth := simtest.ReadCSV(t, filepath.Join(w.out, "truth", "ransom_victims.csv"))
		sanctioned := map[uint64]bool{}
		for _, r := range truth {
			id, err := w.db.AddrID(r["ransom_address"])
			if err != nil {
				t.Fatal(err)
			}
			sanctioned[w.ent(id)] = true
		}
		var want [][]string
		w.scan(t, func(tx *coinjoin.Tx, _ index.ChainBlock) {
			for n, o := range tx.Outs {
				if o.Addr == btc.NoAddr || !sanctioned[w.ent(o.Addr)] {
					continue
				}
				e := w.ent(o.Addr)
				if slices.ContainsFunc(tx.Ins, func(in coinjoin.In) bool { return in.Addr != btc.NoAddr && w.ent(in.Addr) == e }) {
					continue
				}
				want = append(want, row(w.txid(t, tx.Num), tx.Height, e, w.addr(t, o.Addr), n, o.Value))
			}
		})
		got := rows(t, w.tg, q, "sanction")
		sameRows(t, "deposits of sanctioned entities", got, want)
		for _, r := range truth {
			if !slices.ContainsFunc(got, func(g []string) bool {
				return g[0] == r["txid"] && g[3] == r["ransom_address"] && g[5] == r["value"]
			}) {
				t.Errorf("ransom payment %s of %s sats to %s is not among the sanctioned entity's deposits", r["txid"], r["value"], r["ransom_address"])
			}
		}
	},
	"peel_chain": func(t *testing.T, w *world, q string) {
		if w.out == "" {
			t.Skip("the answer key of peel chains is the simulator's")
		}
		chains := map[string][]map[string]string{}
		for _, r := range simtest.ReadCSV(t, filepath.Join(w.out, "truth", "peel_chains.csv")) {
			k := r["case"] + "/" + r["chain"]
			chains[k] = append(chains[k], r)
		}
		if len(chains) == 0 {
			t.Fatal("the answer key has no peel chain")
		}
		for k, hops := range chains {
			slices.SortFunc(hops, func(a, b map[string]string) int {
				x, _ := strconv.Atoi(a["hop"])
				y, _ := strconv.Atoi(b["hop"])
				return x - y
			})
			got := rows(t, w.tg, q, hops[0]["txid"], 50)
			if len(got) != len(hops) {
				t.Errorf("peel chain %s: walked %d hops, the answer key has %d", k, len(got), len(hops))
				continue
			}
			for i, h := range hops {
				if got[i][0] != strconv.Itoa(i) || got[i][1] != h["txid"] || got[i][2] != h["height"] || got[i][3] != h["peel_vout"] {
					t.Errorf("peel chain %s hop %d: %q, want %s at %s peeling vout %s", k, i, got[i], h["txid"], h["height"], h["peel_vout"])
				}
			}
		}
	},
	"daily_volume": func(t *testing.T, w *world, q string) {
		x := w.subject(t)
		type day struct {
			recv, sent, txs int64
		}
		days := map[string]*day{}
		w.scan(t, func(tx *coinjoin.Tx, b index.ChainBlock) {
			d := time.Unix(int64(b.Time), 0).UTC().Format(time.DateOnly)
			var in day
			for _, o := range tx.Outs {
				if o.Addr != btc.NoAddr && w.ent(o.Addr) == x {
					in.recv += int64(o.Value)
					in.txs = 1
				}
			}
			for _, i := range tx.Ins {
				if i.Addr != btc.NoAddr && w.ent(i.Addr) == x {
					in.sent += int64(i.Value)
					in.txs = 1
				}
			}
			if in.txs > 0 {
				if days[d] == nil {
					days[d] = &day{}
				}
				days[d].recv, days[d].sent, days[d].txs = days[d].recv+in.recv, days[d].sent+in.sent, days[d].txs+1
			}
		})
		var want [][]string
		for _, d := range slices.Sorted(maps.Keys(days)) {
			want = append(want, row(d, days[d].recv, days[d].sent, days[d].txs))
		}
		sameRows(t, fmt.Sprintf("daily volume of entity %d", x), rows(t, w.tg, q, int64(x)), want)
	},
	"most_exposed": func(t *testing.T, w *world, q string) {
		if w.out == "" {
			t.Skip("the demo computes no exposure")
		}
		type exp struct {
			id   btc.AddrID
			sats int64
			hops uint8
		}
		var all []exp
		err := risk.EachAggregate(context.Background(), w.db, func(a btc.AddrID, fs []risk.Flow) error {
			e := exp{id: a, hops: 255}
			for _, f := range fs {
				if f.Category == risk.Ransomware && f.Direction == risk.Received {
					e.sats += int64(f.Sats)
					e.hops = min(e.hops, f.MinHops)
				}
			}
			if e.sats > 0 {
				all = append(all, e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(all, func(a, b exp) int { return cmp.Or(cmp.Compare(b.sats, a.sats), cmp.Compare(a.id, b.id)) })
		var want [][]string
		for _, e := range all[:min(10, len(all))] {
			want = append(want, row(w.addr(t, e.id), e.id, e.sats, e.hops))
		}
		sameRows(t, "most exposed to ransomware", rows(t, w.tg, q, "ransomware", 10), want)
	},
}

// TestCookbook runs every query of docs/SQL.md against exports of a
// simulated chain (with its answer key) and of the real blocks 0–500
// bundled with sleuth, and checks each answer.
func TestCookbook(t *testing.T) {
	doc, err := os.ReadFile("../../docs/SQL.md")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := recipes(string(doc))
	if err != nil {
		t.Fatalf("docs/SQL.md: %v", err)
	}
	for name := range rs {
		if checks[name] == nil {
			t.Errorf("docs/SQL.md: recipe %s has no check in TestCookbook", name)
		}
	}
	for name := range checks {
		if rs[name] == "" {
			t.Errorf("TestCookbook checks recipe %s, which docs/SQL.md lacks", name)
		}
	}
	for _, name := range []string{"largest_entities", "entity_flows", "first_funding", "sanctioned_deposits", "peel_chain", "daily_volume"} {
		if rs[name] == "" {
			t.Errorf("docs/SQL.md lacks the %s recipe the issue asks for", name)
		}
	}
	dsn(t)
	ctx := context.Background()

	// A simulated chain whose ransom addresses an investigator labelled
	// as sanctioned.
	db, out := simStore(t, 1, 0.2)
	for _, r := range simtest.ReadCSV(t, filepath.Join(out, "truth", "ransom_victims.csv")) {
		_, err := label.AddOwn(ctx, db, r["ransom_address"], false, label.Label{Label: "sanctioned ransomware", Category: "perpetrator",
			Abuse: "sanction", Source: "test", Confidence: 100})
		if err != nil && !strings.Contains(err.Error(), "already") {
			t.Fatal(err)
		}
	}
	if err := label.Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := risk.Update(ctx, db, risk.Options{}); err != nil {
		t.Fatal(err)
	}
	sim := &world{db: db, tg: open(t, freshSchema(t)), out: out}
	// The real blocks, clustered as the demo does.
	work := t.TempDir()
	if err := demo.Run(ctx, work, filepath.Join(work, "index"), io.Discard); err != nil {
		t.Fatal(err)
	}
	real := &world{db: indextest.Open(t, filepath.Join(work, "index")), tg: open(t, freshSchema(t))}
	for _, w := range []*world{sim, real} {
		export(t, w.tg, w.db, Options{})
		if w.forest, err = cluster.Load(ctx, w.db); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rs)) {
		check := checks[name]
		if check == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Run("sim", func(t *testing.T) { check(t, sim, rs[name]) })
			t.Run("real", func(t *testing.T) { check(t, real, rs[name]) })
		})
	}
}
