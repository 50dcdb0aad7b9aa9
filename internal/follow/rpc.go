package follow

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Errors of the node client. Transient ones (ErrUnreachable, ErrWarmingUp,
// ErrNodeStatus, and ErrAuth with a cookie file, which a restarting node
// rewrites) are retried with backoff by Follower.Run; the others stop it.
var (
	ErrUnreachable  = errors.New("node unreachable")
	ErrAuth         = errors.New("node refused the credentials (HTTP 401)")
	ErrWarmingUp    = errors.New("node is starting up")
	ErrNodeStatus   = errors.New("node answered with an HTTP error")
	ErrWrongNetwork = errors.New("node is on another network")
	ErrBadReply     = errors.New("malformed node reply")
	ErrReorgTooDeep = errors.New("reorg deeper than the allowed depth")
)

// RPCError is an error object returned by a JSON-RPC call.
type RPCError struct {
	Method  string
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("node: %s: error %d: %s", e.Method, e.Code, e.Message)
}

// rpcInWarmup is bitcoind's RPC_IN_WARMUP code (loading the block index,
// verifying blocks, ...).
const rpcInWarmup = -28

// RPCConfig configures a node client.
type RPCConfig struct {
	// URL of the node's JSON-RPC endpoint, e.g. http://127.0.0.1:8332.
	URL string
	// User and Pass authenticate when set; otherwise CookieFile (Bitcoin
	// Core's .cookie, "user:password"), read on first use and again
	// whenever the node answers 401, since bitcoind rewrites it on restart.
	User, Pass string
	CookieFile string
	// REST fetches blocks from /rest/block/<hash>.bin (bitcoind -rest)
	// instead of getblock <hash> 0.
	REST bool
	// Timeout bounds one request. Default 30 s.
	Timeout time.Duration
	// Client is the HTTP client. Default: one with Timeout.
	Client *http.Client
}

// RPC is a Bitcoin Core (or btcd) JSON-RPC and REST client. It is safe for
// concurrent use.
type RPC struct {
	cfg    RPCConfig
	client *http.Client

	mu     sync.Mutex
	cookie string // "user:pass" last read from CookieFile
}

// NewRPC returns a client for the node at cfg.URL.
func NewRPC(cfg RPCConfig) (*RPC, error) {
	if cfg.URL == "" {
		return nil, errors.New("node: no RPC URL")
	}
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, fmt.Errorf("node: RPC URL %q: want http://host:port", cfg.URL)
	}
	if cfg.CookieFile != "" && (cfg.User != "" || cfg.Pass != "") {
		return nil, errors.New("node: give a cookie file or a user and password, not both")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	c := cfg.Client
	if c == nil {
		c = &http.Client{Timeout: cfg.Timeout}
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return &RPC{cfg: cfg, client: c}, nil
}

// credentials returns the user and password to send; reread forces the
// cookie file to be read again.
func (c *RPC) credentials(reread bool) (user, pass string, err error) {
	if c.cfg.CookieFile == "" {
		return c.cfg.User, c.cfg.Pass, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cookie == "" || reread {
		b, err := os.ReadFile(c.cfg.CookieFile)
		if err != nil {
			// A restarting bitcoind deletes the cookie and writes a new one.
			return "", "", fmt.Errorf("%w: read cookie file %s: %w", ErrAuth, c.cfg.CookieFile, err)
		}
		c.cookie = strings.TrimSpace(string(b))
	}
	u, p, ok := strings.Cut(c.cookie, ":")
	if !ok {
		return "", "", fmt.Errorf("node: cookie file %s: want user:password", c.cfg.CookieFile)
	}
	return u, p, nil
}

// do sends one request built by mk and returns the body of a 200 answer
// (or of a JSON-RPC error answer, rpcErr set). A 401 rereads the cookie
// and tries once more.
func (c *RPC) do(ctx context.Context, what string, mk func() (*http.Request, error)) (body []byte, rpcErr bool, err error) {
	for attempt := 0; ; attempt++ {
		user, pass, err := c.credentials(attempt > 0)
		if err != nil {
			return nil, false, err
		}
		req, err := mk()
		if err != nil {
			return nil, false, fmt.Errorf("node: %s: %w", what, err)
		}
		req = req.WithContext(ctx)
		if user != "" || pass != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			return nil, false, fmt.Errorf("%w: %s at %s: %w", ErrUnreachable, what, c.cfg.URL, err)
		}
		body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s at %s: reading the answer: %w", ErrUnreachable, what, c.cfg.URL, err)
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			if attempt == 0 && c.cfg.CookieFile != "" {
				continue // the node may have restarted with a new cookie
			}
			src := "--rpc-user/--rpc-pass"
			if c.cfg.CookieFile != "" {
				src = "cookie file " + c.cfg.CookieFile
			}
			return nil, false, fmt.Errorf("%w: %s at %s with %s", ErrAuth, what, c.cfg.URL, src)
		case resp.StatusCode == http.StatusOK:
			return body, false, nil
		case resp.StatusCode == http.StatusServiceUnavailable && bytes.Contains(body, []byte("-28")):
			return nil, false, fmt.Errorf("%w: %s: %s", ErrWarmingUp, what, snippet(body))
		case resp.StatusCode >= 400 && resp.StatusCode < 600 && len(body) > 0 && body[0] == '{':
			// bitcoind answers JSON-RPC errors with 404/500 and a JSON body.
			return body, true, nil
		default:
			return nil, false, fmt.Errorf("%w: %s at %s: %s: %s", ErrNodeStatus, what, c.cfg.URL, resp.Status, snippet(body))
		}
	}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Call invokes a JSON-RPC method and decodes its result into out.
func (c *RPC) Call(ctx context.Context, method string, out any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	payload, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		ID      int    `json:"id"`
		Method  string `json:"method"`
		Params  []any  `json:"params"`
	}{"1.0", 1, method, params})
	if err != nil {
		return fmt.Errorf("node: %s: %w", method, err)
	}
	body, _, err := c.do(ctx, method, func() (*http.Request, error) {
		r, err := http.NewRequest(http.MethodPost, c.cfg.URL+"/", bytes.NewReader(payload))
		if err == nil {
			r.Header.Set("Content-Type", "application/json")
		}
		return r, err
	})
	if err != nil {
		return err
	}
	return decodeReply(method, body, out)
}

// decodeReply decodes a JSON-RPC answer to method into out (nil to
// discard the result).
func decodeReply(method string, body []byte, out any) error {
	var reply struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return fmt.Errorf("%w: %s: %v: %s", ErrBadReply, method, err, snippet(body))
	}
	if reply.Error != nil {
		reply.Error.Method = method
		if reply.Error.Code == rpcInWarmup {
			return fmt.Errorf("%w: %w", ErrWarmingUp, reply.Error)
		}
		return reply.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(reply.Result, out); err != nil {
		return fmt.Errorf("%w: %s result: %v: %s", ErrBadReply, method, err, snippet(reply.Result))
	}
	return nil
}

// ChainInfo is the part of getblockchaininfo the follower uses.
type ChainInfo struct {
	Chain         string `json:"chain"`
	Blocks        int64  `json:"blocks"`
	Headers       int64  `json:"headers"`
	BestBlockHash string `json:"bestblockhash"`
	IBD           bool   `json:"initialblockdownload"`
}

// ChainInfo calls getblockchaininfo.
func (c *RPC) ChainInfo(ctx context.Context) (ChainInfo, error) {
	var ci ChainInfo
	err := c.Call(ctx, "getblockchaininfo", &ci)
	return ci, err
}

// BestBlockHash calls getbestblockhash.
func (c *RPC) BestBlockHash(ctx context.Context) (btc.Hash, error) {
	var s string
	if err := c.Call(ctx, "getbestblockhash", &s); err != nil {
		return btc.Hash{}, err
	}
	return parseHash("getbestblockhash", s)
}

// BlockHash calls getblockhash: the best-chain block at height.
func (c *RPC) BlockHash(ctx context.Context, height int64) (btc.Hash, error) {
	var s string
	if err := c.Call(ctx, "getblockhash", &s, height); err != nil {
		return btc.Hash{}, err
	}
	return parseHash("getblockhash", s)
}

// Header is the part of getblockheader the follower uses.
type Header struct {
	Hash          string `json:"hash"`
	Height        int64  `json:"height"`
	Confirmations int64  `json:"confirmations"` // -1 off the best chain
	Prev          string `json:"previousblockhash"`
}

// Header calls getblockheader <hash> true.
func (c *RPC) Header(ctx context.Context, hash btc.Hash) (Header, error) {
	var h Header
	err := c.Call(ctx, "getblockheader", &h, hash.String(), true)
	return h, err
}

// Block returns the serialized block with hash, from REST when enabled,
// else from getblock <hash> 0 (hex; btcd answers the same).
func (c *RPC) Block(ctx context.Context, hash btc.Hash) ([]byte, error) {
	if c.cfg.REST {
		url := c.cfg.URL + "/rest/block/" + hash.String() + ".bin"
		body, rpcErr, err := c.do(ctx, "REST block "+hash.String(), func() (*http.Request, error) {
			return http.NewRequest(http.MethodGet, url, nil)
		})
		if err != nil {
			return nil, err
		}
		if rpcErr {
			return nil, fmt.Errorf("%w: REST block %s: %s", ErrNodeStatus, hash, snippet(body))
		}
		return body, nil
	}
	var s string
	if err := c.Call(ctx, "getblock", &s, hash.String(), 0); err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: getblock %s: hex: %v", ErrBadReply, hash, err)
	}
	return b, nil
}

func parseHash(method, s string) (btc.Hash, error) {
	h, err := btc.ParseHash(s)
	if err != nil {
		return h, fmt.Errorf("%w: %s: %v", ErrBadReply, method, err)
	}
	return h, nil
}

// chainNames maps the chain names of bitcoind (getblockchaininfo "chain")
// and btcd (its network names) to sleuth's network names.
var chainNames = map[string]string{
	"main": "mainnet", "mainnet": "mainnet",
	"test": "testnet3", "testnet3": "testnet3", "testnet": "testnet3",
	"testnet4": "testnet4",
	"signet":   "signet",
	"regtest":  "regtest", "simnet": "simnet",
}

// CheckNetwork returns ErrWrongNetwork unless the node's chain name is net.
func CheckNetwork(chain string, net *btc.Network) error {
	if got := chainNames[chain]; got != net.Name {
		return fmt.Errorf("%w: the node follows %q, the store holds %s", ErrWrongNetwork, chain, net.Name)
	}
	return nil
}

// ZMQNotification is one entry of getzmqnotifications.
type ZMQNotification struct {
	Type    string `json:"type"` // pubsequence, pubhashblock, pubrawblock, ...
	Address string `json:"address"`
}

// DiscoverZMQ asks the node (getzmqnotifications, Bitcoin Core 0.17+) where
// it publishes block notifications, preferring the sequence topic to
// hashblock. A wildcard bind address (0.0.0.0, *) is replaced by the RPC
// URL's host. It returns "" when the node publishes neither; btcd, which
// has no ZMQ, answers method-not-found, which is returned as an *RPCError.
func (c *RPC) DiscoverZMQ(ctx context.Context) (string, error) {
	var ns []ZMQNotification
	if err := c.Call(ctx, "getzmqnotifications", &ns); err != nil {
		return "", err
	}
	best := ""
	for _, pref := range []string{"pubhashblock", "pubsequence"} {
		for _, n := range ns {
			if n.Type == pref {
				best = n.Address
			}
		}
	}
	if best == "" {
		return "", nil
	}
	u, err := url.Parse(c.cfg.URL)
	if err != nil {
		return best, nil
	}
	for _, wild := range []string{"//0.0.0.0:", "//*:", "//[::]:"} {
		if i := strings.Index(best, wild); i >= 0 {
			best = best[:i+2] + u.Hostname() + best[i+len(wild)-1:]
		}
	}
	return best, nil
}
