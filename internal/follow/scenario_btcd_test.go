//go:build unix

package follow

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/regtest"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// submit hands blocks to the node with submitblock and fails the test on
// any answer but null (btcd's acceptance).
func submit(t *testing.T, rpc *RPC, blocks []regtest.Block) {
	t.Helper()
	ctx := context.Background()
	for _, b := range blocks {
		var res *string
		if err := rpc.Call(ctx, "submitblock", &res, hex.EncodeToString(b.Raw)); err != nil {
			t.Fatalf("submitblock %d (%s): %v", b.Height, b.Hash, err)
		}
		if res != nil {
			t.Fatalf("btcd rejected block %d (%s): %s", b.Height, b.Hash, *res)
		}
	}
}

// bestHash is the node's getbestblockhash.
func bestHash(t *testing.T, rpc *RPC) btc.Hash {
	t.Helper()
	var s string
	if err := rpc.Call(context.Background(), "getbestblockhash", &s); err != nil {
		t.Fatal(err)
	}
	return mustHash(t, s)
}

// hook is a webhook receiver that verifies every signature with
// alert.Verify and keeps the verified events.
type hook struct {
	t   *testing.T
	key []byte
	mu  sync.Mutex
	got []hookEvent
	bad int // requests whose signature did not verify
}

type hookEvent struct {
	ID    string // webhook-id
	Type  string `json:"type"`
	Alert struct {
		ID          uint64 `json:"id"`
		TxID        string `json:"txid"`
		Address     string `json:"address"`
		Value       uint64 `json:"value_sat"`
		Height      int64  `json:"block_height"`
		BlockHash   string `json:"block_hash"`
		Invalidated bool   `json:"invalidated"`
	} `json:"data"`
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := alert.Verify(h.key, r.Header, body, time.Now(), 5*time.Minute); err != nil {
		h.bad++
		h.t.Errorf("webhook signature: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var ev hookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		h.t.Errorf("webhook body %s: %v", body, err)
	}
	ev.ID = r.Header.Get(alert.HeaderID)
	h.got = append(h.got, ev)
}

func (h *hook) take() []hookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.got
	h.got = nil
	return e
}

// TestScenarioBtcd submits the validly signed regtest theft scenario
// (internal/sim/regtest) to a real btcd, which must accept every block.
// The follower indexes it over RPC, with clustering and exposure after
// each ingest as sleuth follow runs them, and the theft recorded as an
// incident. The index must hold every scenario transaction with its values
// and spends. When the block with the deposit arrives, a watchlist on the
// exchange deposit address raises two alerts (activity, and theft
// exposure above 10%), delivered to a webhook receiver that verifies
// every signature. A longer branch without the deposit block then
// reorganises the node; the follower disconnects the block and
// alert.DB.Invalidate sends alert.invalidated for both. The original chain
// then outgrows the branch: the deposit is mined again and both alerts
// are revalidated (alert.revalidated), not raised twice. Finally the same
// blocks written as a Core blocks directory and ingested offline (with
// the same stages) give the same store.
//
// Alerts come from the pipeline's alert stage, as in sleuth serve; the
// webhook worker delivers them.
func TestScenarioBtcd(t *testing.T) {
	rpc, dir := startBtcd(t)
	ctx := context.Background()
	sc, err := regtest.Build(1)
	if err != nil {
		t.Fatal(err)
	}
	truth := &sc.Truth
	// Everything up to the fork first: the deposit arrives while sleuth
	// follows.
	before, after := sc.Best[:sc.Fork], sc.Best[sc.Fork:]
	submit(t, rpc, before)
	if got := bestHash(t, rpc); got != before[len(before)-1].Hash {
		t.Fatalf("btcd's best block is %s, want the scenario's %s", got, before[len(before)-1].Hash)
	}

	db := openRegtest(t, filepath.Join(dir, "db"))
	// The pipeline runs every stage after each ingest, the alert stage
	// last: it matches each connected block against the watchlists,
	// invalidates the alerts of disconnected blocks and revalidates those
	// of blocks mined again. Its alert store is the one to use (it orders
	// the event sequence).
	pl := pipeline.New(db, pipeline.Options{})
	lists, alerts := watch.NewDB(db), pl.AlertStore()
	// The theft is reported as an incident before its coins move: its
	// outputs become a source of theft exposure once it is indexed.
	if _, err := label.AddIncident(ctx, db, theftIncident(truth)); err != nil {
		t.Fatal(err)
	}
	var rules []watch.Rule
	for _, r := range []string{"any", "exposure:theft>=10%"} {
		rule, err := watch.ParseRule(r, watch.In, alert.High)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, rule)
	}
	list, err := lists.Create(ctx, &watch.List{Name: "exchange-deposits", Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	depKey, err := address.Decode(truth.Deposit.Address, btc.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lists.AddAddresses(ctx, list, []address.Key{depKey}); err != nil {
		t.Fatal(err)
	}
	h := &hook{t: t}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ep, err := alerts.AddEndpoint(ctx, srv.URL+"/hook", "")
	if err != nil {
		t.Fatal(err)
	}
	if h.key, err = alert.ParseSecret(ep.Secret); err != nil {
		t.Fatal(err)
	}

	l := newEventLog()
	onEvent := func(e Event) { l.add(e) }
	// No polling: the test wakes the follower after each submitblock,
	// which returns once btcd has connected the block (and made any
	// reorg), so no round runs while btcd reorganises. (A round that
	// does can see getblockhash fail with "Block number out of range"
	// between getblockchaininfo and the fetch, which stops Run.)
	f, errc, stop := followBtcd(t, rpc, db, Config{SpoolDir: filepath.Join(dir, "spool"), OnEvent: onEvent,
		Store: NewPipelineStore(pl, db), Poll: time.Hour})
	waitTip(t, before[len(before)-1].Hash, l, errc)
	if page, err := alerts.List(ctx, alert.Filter{}, "", 100); err != nil || len(page.Alerts) != 0 {
		t.Fatalf("alerts before the deposit: %+v, %v", page.Alerts, err)
	}
	// advance submits blocks, which btcd must make its best chain, wakes
	// the follower and waits until it has connected the last one; it
	// returns the follower's events.
	advance := func(blocks []regtest.Block) []Event {
		t.Helper()
		l.take()
		submit(t, rpc, blocks)
		tip := blocks[len(blocks)-1].Hash
		if got := bestHash(t, rpc); got != tip {
			t.Fatalf("btcd's best block is %s, want %s", got, tip)
		}
		f.Wake()
		waitTip(t, tip, l, errc)
		return l.take()
	}
	advance(after)

	// The index holds every scenario transaction with its values and
	// spends.
	checkScenarioTxs(t, db, truth)

	// Two alerts, both on the deposit in its block: activity, and theft
	// exposure with the risk stage's share and explanation.
	page, err := alerts.List(ctx, alert.Filter{}, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Alerts) != 2 {
		t.Fatalf("%d alerts, want 2 (activity and theft exposure of the deposit): %+v", len(page.Alerts), page.Alerts)
	}
	ids := map[uint64]bool{}
	exposed := 0
	for _, a := range page.Alerts {
		if a.TxID != truth.Deposit.Txid || a.Address != truth.Deposit.Address || a.Value != uint64(truth.Deposit.Value) ||
			a.Height != truth.Deposit.Height || a.BlockHash != truth.Deposit.Block || a.Invalidated {
			t.Fatalf("alert %+v, want the deposit %+v", a, truth.Deposit)
		}
		if strings.Contains(a.Rule, "exposure:theft") {
			exposed++
			// The risk stage's share is the answer key's haircut share.
			want := uint32(math.Round(truth.TheftShare(truth.Deposit.Txid) * 1e6))
			if a.Exposure.Category != "theft" || a.Exposure.SharePPM+1 < want || a.Exposure.SharePPM > want+1 ||
				!strings.Contains(a.Exposure.Explanation, "theft") {
				t.Fatalf("theft exposure alert %+v, want a share of %d ppm", a.Exposure, want)
			}
			t.Logf("deposit's theft exposure: %d ppm (%s)", a.Exposure.SharePPM, a.Exposure.Explanation)
		}
		ids[a.ID] = true
	}
	if exposed != 1 {
		t.Fatalf("%d theft exposure alerts, want 1: %+v", exposed, page.Alerts)
	}
	worker := &alert.Worker{Store: alerts, AllowLoopback: true, Log: slog.New(slog.NewTextHandler(testWriter{t, nil}, nil))}
	deliver := func() []hookEvent {
		t.Helper()
		if n, err := worker.RunOnce(ctx); err != nil || n == 0 {
			t.Fatalf("webhook worker: %d delivered, %v", n, err)
		}
		return h.take()
	}
	checkHook(t, deliver(), alert.EventCreated, ids)
	// Reorg: the branch from the block before the deposit, one block
	// longer, makes btcd drop the deposit block.
	var disc []btc.Hash
	for _, e := range advance(sc.Branch) {
		if e.Kind == BlockDisconnected {
			disc = append(disc, e.Hash)
		}
	}
	if want := int64(len(sc.Best)) - sc.Fork; int64(len(disc)) != want || !containsHash(disc, truth.Deposit.Block) {
		t.Fatalf("disconnected %v; want the %d blocks after the fork, the deposit's %s among them", disc, want, truth.Deposit.Block)
	}
	checkHook(t, deliver(), alert.EventInvalidated, ids)
	for id := range ids {
		if a, err := alerts.Get(ctx, id); err != nil || !a.Invalidated {
			t.Fatalf("alert after the reorg: %+v, %v", a, err)
		}
	}
	if tv, err := db.Tx(truth.Deposit.Txid); err == nil && tv.BestChain {
		t.Fatalf("the deposit is still on the best chain after the reorg: %+v", tv)
	}

	// The original chain outgrows the branch: btcd reorganises back, the
	// deposit is mined again and its alerts are revalidated, not raised
	// twice.
	advance(sc.Rejoin)
	checkHook(t, deliver(), alert.EventRevalidated, ids)
	page, err = alerts.List(ctx, alert.Filter{}, "", 100)
	if err != nil || len(page.Alerts) != len(ids) {
		t.Fatalf("alerts after the rejoin: %+v, %v; want the %d alerts again", page.Alerts, err, len(ids))
	}
	for _, a := range page.Alerts {
		if !ids[a.ID] || a.Invalidated {
			t.Fatalf("alert after the rejoin: %+v", a)
		}
	}
	if tv, err := db.Tx(truth.Deposit.Txid); err != nil || !tv.BestChain || *tv.Height != truth.Deposit.Height {
		t.Fatalf("the deposit after the rejoin: %+v, %v", tv, err)
	}
	h.mu.Lock()
	bad := h.bad
	h.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d webhook requests failed verification", bad)
	}

	// Offline equivalence: the same blocks as a Core blocks directory,
	// ingested from scratch, give the same index.
	stop()
	blocks := t.TempDir()
	if err := sc.WriteBlocksDir(blocks, sc.Best, sc.Branch, sc.Rejoin); err != nil {
		t.Fatal(err)
	}
	fresh := openRegtest(t, t.TempDir())
	if _, err := label.AddIncident(ctx, fresh, theftIncident(truth)); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.New(fresh, pipeline.Options{}).Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: blocks}}); err != nil {
		t.Fatal(err)
	}
	if indexDigest(t, fresh) != indexDigest(t, db) || fresh.Stats() != db.Stats() {
		t.Fatalf("followed store differs from an offline ingest of the scenario: %+v vs %+v", db.Stats(), fresh.Stats())
	}
}

// indexDigest is the digest of what the index and the later stages
// (entities, labels, exposure) derived from the chain: chainDigest without
// the watchlists and alerts the test stored beside them.
func indexDigest(t *testing.T, db *index.DB) [32]byte {
	t.Helper()
	skip := append([]byte(nil), index.ReadKeyspaces...)
	for p := index.StageAlert; p < index.StageAlert+0x10; p++ {
		skip = append(skip, p)
	}
	d, err := db.Digest(context.Background(), skip...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// theftIncident is the scenario's theft as an investigator records it
// (every output of the sweep), with a fixed time so stores compare.
func theftIncident(truth *regtest.Truth) label.Incident {
	return label.Incident{TxID: truth.Theft.String(), Vout: label.AllOutputs, Category: "theft", Name: "hot wallet theft",
		Source: "scenario", Added: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// checkHook asserts that the webhook received one verified event of typ
// for each alert of ids, each under its own webhook-id.
func checkHook(t *testing.T, got []hookEvent, typ string, ids map[uint64]bool) {
	t.Helper()
	seen := map[uint64]bool{}
	whIDs := map[string]bool{}
	for _, e := range got {
		if e.Type != typ || !ids[e.Alert.ID] || seen[e.Alert.ID] || whIDs[e.ID] || e.Alert.Invalidated != (typ == alert.EventInvalidated) {
			t.Fatalf("webhook got %+v, want one %s for each of alerts %v", got, typ, ids)
		}
		seen[e.Alert.ID], whIDs[e.ID] = true, true
	}
	if len(seen) != len(ids) {
		t.Fatalf("webhook got %+v, want one %s for each of alerts %v", got, typ, ids)
	}
}

func containsHash(hs []btc.Hash, h btc.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// checkScenarioTxs asserts that the index holds every transaction of the
// answer key in its block, with each output's address and value, each
// input's spent output, and each output spent by the transaction the key
// says spends it.
func checkScenarioTxs(t *testing.T, db *index.DB, truth *regtest.Truth) {
	t.Helper()
	spentBy := map[[2]any]string{}
	for _, tx := range truth.Txs {
		for _, in := range tx.Inputs {
			spentBy[[2]any{in.Txid, in.Vout}] = tx.Txid.String()
		}
	}
	for _, tx := range truth.Txs {
		v, err := db.Tx(tx.Txid)
		if err != nil {
			t.Fatalf("%s %s: %v", tx.Role, tx.Txid, err)
		}
		if v.Height == nil || *v.Height != tx.Height || v.BlockHash != tx.Block.String() || !v.BestChain {
			t.Fatalf("%s %s: in block %v %s, want %d %s", tx.Role, tx.Txid, v.Height, v.BlockHash, tx.Height, tx.Block)
		}
		if v.Fee == nil || *v.Fee != tx.Fee() || len(v.Inputs) != len(tx.Inputs) || len(v.Outputs) != len(tx.Outputs) {
			t.Fatalf("%s %s: fee %v, %d inputs, %d outputs; want %d, %d, %d", tx.Role, tx.Txid, v.Fee, len(v.Inputs), len(v.Outputs), tx.Fee(), len(tx.Inputs), len(tx.Outputs))
		}
		for i, in := range tx.Inputs {
			got := v.Inputs[i]
			if got.TxID != in.Txid.String() || got.Vout == nil || *got.Vout != in.Vout || got.Value == nil || *got.Value != in.Value ||
				got.Address == nil || *got.Address != in.Address {
				t.Fatalf("%s %s input %d: %+v, want %+v", tx.Role, tx.Txid, i, got, in)
			}
		}
		for i, o := range tx.Outputs {
			got := v.Outputs[i]
			if got.Address == nil || *got.Address != o.Address || got.Value != o.Value {
				t.Fatalf("%s %s output %d: %+v, want %+v", tx.Role, tx.Txid, i, got, o)
			}
			by, spent := spentBy[[2]any{tx.Txid, uint32(i)}]
			if spent != (got.SpentBy != nil) || (spent && got.SpentBy.TxID != by) {
				t.Fatalf("%s %s output %d spent by %+v, want %q", tx.Role, tx.Txid, i, got.SpentBy, by)
			}
		}
	}
}

// TestScenarioBtcdZMQ: btcd publishes nothing over ZMQ, so a real ZMQ PUB
// socket (zmq4, on loopback) announces each block the test submits to
// btcd, as bitcoind's zmqpubsequence and zmqpubhashblock do. With polling
// every hour only the wake-ups bring the follower along: it follows the
// scenario's last 120 blocks one by one (the story among them). (The
// reorg is left to TestScenarioBtcd: a round that a repeated announcement
// starts while btcd reorganises can stop Run, see there.) Each
// block's delay from submitblock's answer to the follower's connected
// event is logged (median and maximum), not asserted.
func TestScenarioBtcdZMQ(t *testing.T) {
	rpc, dir := startBtcd(t)
	sc, err := regtest.Build(1)
	if err != nil {
		t.Fatal(err)
	}
	pre := sc.Best[:len(sc.Best)-120] // the rest (120 blocks) are announced one by one
	submit(t, rpc, pre)
	pub, endpoint := newPublisher(t)
	db := openRegtest(t, filepath.Join(dir, "db"))
	l := newEventLog()
	const poll = time.Hour
	_, errc, _ := followBtcd(t, rpc, db, Config{SpoolDir: filepath.Join(dir, "spool"), OnEvent: l.add, ZMQ: endpoint, Poll: poll})
	waitTip(t, pre[len(pre)-1].Hash, l, errc) // Run's first round, before any wake-up
	l.take()

	var delays []time.Duration
	announce := func(b regtest.Block) {
		t.Helper()
		submit(t, rpc, []regtest.Block{b})
		start := time.Now()
		pub.block(t, b.Hash)
		deadline := time.After(60 * time.Second) // a hang guard, far below poll
		for !l.connected(b.Hash) {
			select {
			case <-l.ch:
			case <-time.After(250 * time.Millisecond):
				// A PUB socket drops messages until the subscription
				// has reached it: announce again, as a new message.
				pub.block(t, b.Hash)
			case err := <-errc:
				t.Fatalf("follower stopped: %v", err)
			case <-deadline:
				t.Fatalf("block %d (%s) not connected after ZMQ announcements", b.Height, b.Hash)
			}
		}
		delays = append(delays, time.Since(start))
	}
	for _, b := range sc.Best[len(pre):] {
		announce(b)
	}
	conn := 0
	for _, e := range l.take() {
		if e.Kind == BlockConnected {
			conn++
		}
	}
	if conn != len(delays) {
		t.Fatalf("%d blocks connected for %d announced", conn, len(delays))
	}
	slices.Sort(delays)
	t.Logf("submitblock to connected over ZMQ (poll %s): %d blocks, median %s, p90 %s, max %s",
		poll, len(delays), delays[len(delays)/2], delays[len(delays)*9/10], delays[len(delays)-1])
}

// TestScenarioBtcdForged: btcd's acceptance of the scenario means
// something only if it checks the signatures. Before each block with
// spends is submitted, every one of its signatures is forged in turn
// (one bit flipped, the block otherwise made valid again: Merkle root,
// witness commitment, proof of work); btcd must reject each forgery, then
// accept the genuine block.
func TestScenarioBtcdForged(t *testing.T) {
	rpc, _ := startBtcd(t)
	ctx := context.Background()
	sc, err := regtest.Build(1)
	if err != nil {
		t.Fatal(err)
	}
	forged := map[regtest.Kind]int{}
	for _, b := range sc.Best {
		for ti, tx := range b.Msg.Transactions[1:] {
			for in := range tx.TxIn {
				bad, kind, err := regtest.Tamper(b, ti+1, in)
				if err != nil {
					t.Fatal(err)
				}
				var res *string
				if err := rpc.Call(ctx, "submitblock", &res, hex.EncodeToString(bad.Raw)); err != nil {
					t.Fatalf("submitblock: %v", err)
				}
				if res == nil {
					t.Fatalf("btcd accepted block %d with the %s signature of tx %d input %d forged", b.Height, kind, ti+1, in)
				}
				if forged[kind] == 0 {
					t.Logf("forged %s signature: %s", kind, *res)
				}
				forged[kind]++
			}
		}
		submit(t, rpc, []regtest.Block{b})
	}
	if got := bestHash(t, rpc); got != sc.Tip().Hash {
		t.Fatalf("btcd's best block is %s, want the scenario's tip %s", got, sc.Tip().Hash)
	}
	for _, k := range []regtest.Kind{regtest.P2PKH, regtest.P2WPKH, regtest.P2TR} {
		if forged[k] == 0 {
			t.Errorf("no forged %s signature submitted", k)
		}
	}
	t.Logf("btcd rejected %d forged signatures: %v", forged[regtest.P2PKH]+forged[regtest.P2WPKH]+forged[regtest.P2TR], forged)
}
