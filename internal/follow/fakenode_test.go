package follow

import (
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// fakeNode is a bitcoind stand-in speaking the real JSON-RPC (bitcoind's
// error codes and HTTP statuses) and REST block endpoint over a chain of
// real serialized blocks that the test can switch to another branch.
type fakeNode struct {
	t    testing.TB
	addr string

	mu      sync.Mutex
	chain   string              // getblockchaininfo "chain"
	blocks  map[btc.Hash][]byte // every block it knows
	best    []btc.Hash          // its best chain by height
	user    string              // expected basic auth ("" = none)
	pass    string
	cookie  string // when set, pass is rotated by restart() and written here
	zmq     string // getzmqnotifications' pubsequence address
	warmup  bool   // answer every call with RPC_IN_WARMUP, as a starting bitcoind
	srv     *http.Server
	lis     net.Listener
	counter int
}

func newFakeNode(t testing.TB, chain string) *fakeNode {
	n := &fakeNode{t: t, chain: chain, blocks: map[btc.Hash][]byte{}}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *fakeNode) url() string { return "http://" + n.addr }

// start listens (on the same address after a stop, as a restarted node).
func (n *fakeNode) start() {
	addr := n.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		n.t.Fatalf("fake node: listen: %v", err)
	}
	n.mu.Lock()
	n.addr, n.lis = lis.Addr().String(), lis
	n.srv = &http.Server{Handler: n}
	srv := n.srv
	n.mu.Unlock()
	go srv.Serve(lis)
}

// stop closes the listener and every connection: the node is down.
func (n *fakeNode) stop() {
	n.mu.Lock()
	srv := n.srv
	n.srv = nil
	n.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// setChain makes records (framed, in height order from genesis) the best
// chain; earlier blocks stay known, as stale ones.
func (n *fakeNode) setChain(records [][]byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.best = n.best[:0]
	for _, r := range records {
		blk := r[blockfile.FrameSize:]
		h := blockfile.HeaderHash(blk[:blockfile.HeaderSize])
		n.blocks[h] = blk
		n.best = append(n.best, h)
	}
}

func (n *fakeNode) tip() btc.Hash {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.best[len(n.best)-1]
}

// useCookie makes the node require cookie auth with a fresh secret written
// to path, as bitcoind does at every start.
func (n *fakeNode) useCookie(path string) {
	n.mu.Lock()
	n.counter++
	n.user, n.pass, n.cookie = "__cookie__", strings.Repeat("ab", 16)+string(rune('a'+n.counter)), path
	content := n.user + ":" + n.pass
	n.mu.Unlock()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		n.t.Fatal(err)
	}
}

// setZMQ sets the address getzmqnotifications gives for pubsequence.
func (n *fakeNode) setZMQ(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.zmq = addr
}

// setWarmup makes the node answer as a starting bitcoind (or not).
func (n *fakeNode) setWarmup(on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.warmup = on
}

// setAuth makes the node require a user and password.
func (n *fakeNode) setAuth(user, pass string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.user, n.pass = user, pass
}

func (n *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if hash, ok := strings.CutPrefix(r.URL.Path, "/rest/block/"); ok && r.Method == http.MethodGet {
		// REST is unauthenticated in bitcoind.
		h, err := btc.ParseHash(strings.TrimSuffix(hash, ".bin"))
		blk, known := n.blocks[h]
		if err != nil || !known {
			http.Error(w, hash+" not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(blk)
		return
	}
	if n.user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != n.user || p != n.pass {
			w.WriteHeader(http.StatusUnauthorized) // bitcoind: empty body
			return
		}
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params []json.RawMessage
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		n.reply(w, req.ID, nil, -32700, "Parse error")
		return
	}
	param := func(i int, v any) bool {
		return i < len(req.Params) && json.Unmarshal(req.Params[i], v) == nil
	}
	height := func(h btc.Hash) int {
		for i, b := range n.best {
			if b == h {
				return i
			}
		}
		return -1
	}
	lookup := func() (btc.Hash, bool) {
		var s string
		if !param(0, &s) {
			return btc.Hash{}, false
		}
		h, err := btc.ParseHash(s)
		_, known := n.blocks[h]
		return h, err == nil && known
	}
	if n.warmup {
		n.reply(w, req.ID, nil, -28, "Loading block index…")
		return
	}
	switch req.Method {
	case "getblockchaininfo":
		tip := len(n.best) - 1
		n.reply(w, req.ID, map[string]any{"chain": n.chain, "blocks": tip, "headers": tip,
			"bestblockhash": n.best[tip].String(), "initialblockdownload": false}, 0, "")
	case "getzmqnotifications":
		ns := []map[string]any{}
		if n.zmq != "" {
			ns = append(ns, map[string]any{"type": "pubsequence", "address": n.zmq, "hwm": 1000})
		}
		n.reply(w, req.ID, ns, 0, "")
	case "getbestblockhash":
		n.reply(w, req.ID, n.best[len(n.best)-1].String(), 0, "")
	case "getblockhash":
		var h int
		if !param(0, &h) || h < 0 || h >= len(n.best) {
			n.reply(w, req.ID, nil, -8, "Block height out of range")
			return
		}
		n.reply(w, req.ID, n.best[h].String(), 0, "")
	case "getblockheader":
		h, ok := lookup()
		if !ok {
			n.reply(w, req.ID, nil, -5, "Block not found")
			return
		}
		hdr, _ := blockfile.ParseHeader(n.blocks[h][:blockfile.HeaderSize])
		conf, ht := -1, height(h)
		if ht >= 0 {
			conf = len(n.best) - ht
		}
		n.reply(w, req.ID, map[string]any{"hash": h.String(), "height": ht, "confirmations": conf,
			"previousblockhash": hdr.Prev.String()}, 0, "")
	case "getblock":
		h, ok := lookup()
		var verbosity int
		if !ok {
			n.reply(w, req.ID, nil, -5, "Block not found")
			return
		}
		if !param(1, &verbosity) || verbosity != 0 {
			n.reply(w, req.ID, nil, -8, "fake node serves verbosity 0 only")
			return
		}
		n.reply(w, req.ID, hex.EncodeToString(n.blocks[h]), 0, "")
	default:
		n.reply(w, req.ID, nil, -32601, "Method not found")
	}
}

// reply writes a JSON-RPC 1.0 answer with bitcoind's statuses: 200, or
// 404 for an unknown method and 500 for other errors.
func (n *fakeNode) reply(w http.ResponseWriter, id json.RawMessage, result any, code int, msg string) {
	body := map[string]any{"result": result, "error": nil, "id": id}
	status := http.StatusOK
	if code != 0 {
		body["error"] = map[string]any{"code": code, "message": msg}
		status = http.StatusInternalServerError
		if code == -32601 {
			status = http.StatusNotFound
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
