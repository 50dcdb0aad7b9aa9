package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// Sentinels an *Error unwraps to (besides index.ErrNotFound and
// cluster.ErrNotJoined).
var (
	// ErrBadRequest: the server refused the request's input (400).
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthorized: the server needs an API key, or a key of another
	// scope (401, 403).
	ErrUnauthorized = errors.New("not authorized")
	// ErrStale: the store's SERVER file names a process that is gone.
	ErrStale = errors.New("stale SERVER file: its process is gone")
)

// Options configure a Client; the zero value is usable.
type Options struct {
	// Timeout bounds each call (request and response). Default 2 minutes.
	Timeout time.Duration
	// MaxResponse bounds the bytes read of one response. Default 256 MiB
	// (10,000 screening reports with long explanations fit).
	MaxResponse int64
	// MaxBatch is the most addresses Screen sends in one request. Default
	// 10,000, the server's bound.
	MaxBatch int
	// MaxBatchBytes bounds one screening request's body. Default 1 MiB,
	// half the server's default body limit.
	MaxBatchBytes int
	// HTTP is the transport. Default: a client of its own.
	HTTP *http.Client
}

// EnsureDefaults fills zero fields.
func (o *Options) EnsureDefaults() *Options {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.MaxResponse <= 0 {
		o.MaxResponse = 256 << 20
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 10_000
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 1 << 20
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{}
	}
	return o
}

// Client calls one sleuth server. It is safe for concurrent use.
type Client struct {
	base string
	key  string
	opts Options
}

// New returns a client of the server at base (http://host:port), sending
// key as X-API-Key when it is not empty.
func New(base, key string, opts Options) *Client {
	opts.EnsureDefaults()
	return &Client{base: strings.TrimRight(base, "/"), key: key, opts: opts}
}

// URL is the server's base URL.
func (c *Client) URL() string { return c.base }

// Connect returns a client of the server a store's SERVER file names
// (internal/api's ServerInfo: url and pid): ErrStale when process pid is
// not running, an error naming the server when it does not answer
// /healthz.
func Connect(ctx context.Context, url string, pid int, key string, opts Options) (*Client, error) {
	if !Alive(pid) {
		return nil, fmt.Errorf("%w (pid %d, %s)", ErrStale, pid, url)
	}
	c := New(url, key, opts)
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var h map[string]string
	if err := c.get(hctx, "/healthz", nil, &h); err != nil {
		return nil, fmt.Errorf("sleuth serve (pid %d) owns the store but does not answer at %s: %w", pid, url, err)
	}
	return c, nil
}

// Alive reports whether process pid exists (signal 0: EPERM means it
// exists under another user).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Error is a server's problem+json answer (or any non-2xx answer).
type Error struct {
	Method, Path string // the request
	Status       int
	Title        string
	Detail       string
	Field        string // the bad parameter of a 400
	RequestID    string
	// Apart is the view of a 422: two addresses in different entities.
	Apart *query.Apart
}

func (e *Error) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "sleuth serve: %s %s: %d %s", e.Method, e.Path, e.Status, e.Title)
	if e.Detail != "" {
		sb.WriteString(": " + e.Detail)
	}
	if e.RequestID != "" {
		sb.WriteString(" (request " + e.RequestID + ")")
	}
	return sb.String()
}

// Unwrap maps the status to a sentinel callers test with errors.Is.
func (e *Error) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound:
		return index.ErrNotFound
	case http.StatusUnprocessableEntity:
		return cluster.ErrNotJoined
	case http.StatusBadRequest:
		return ErrBadRequest
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	}
	return nil
}

// Reason is the detail of a 400 without the field the server prefixes it
// with ("path:ref: txid: …" → "txid: …").
func (e *Error) Reason() string {
	if e.Field != "" {
		return strings.TrimPrefix(e.Detail, e.Field+": ")
	}
	return e.Detail
}

// problem is the part of internal/api's problem+json body a client reads
// (RFC 9457, plus the field and the apart view).
type problem struct {
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	RequestID string       `json:"request_id"`
	Field     string       `json:"field"`
	Apart     *query.Apart `json:"apart"`
}

// page is one page of a paged route (internal/api's Page).
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// ExposureAnswer is GET /v1/exposure/{ref}'s answer (internal/api's
// ExposureAnswer): the report, and with paths=true the traces behind an
// address's exposure.
type ExposureAnswer struct {
	Exposure *risk.Report     `json:"exposure"`
	Received *risk.PathReport `json:"received_paths"`
	Sent     *risk.PathReport `json:"sent_paths"`
}

// decodeError turns a non-2xx answer into an *Error: a problem+json body
// gives its fields, anything else its status and the start of its body.
func decodeError(method, path string, status int, contentType string, body []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status, Title: http.StatusText(status)}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/problem+json" || mt == "application/json" {
		var p problem
		if json.Unmarshal(body, &p) == nil && (p.Status != 0 || p.Detail != "" || p.Title != "") {
			if p.Title != "" {
				e.Title = p.Title
			}
			e.Detail, e.Field, e.RequestID, e.Apart = p.Detail, p.Field, p.RequestID, p.Apart
			return e
		}
	}
	const maxShown = 200
	d := strings.TrimSpace(strings.ToValidUTF8(string(body[:min(len(body), maxShown)]), "?"))
	if len(body) > maxShown {
		d += "…"
	}
	e.Detail = d
	return e
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("sleuth serve: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("sleuth serve: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponse+1))
	if err != nil {
		return fmt.Errorf("sleuth serve: %s %s: read the answer: %w", method, path, err)
	}
	if int64(len(b)) > c.opts.MaxResponse {
		return fmt.Errorf("sleuth serve: %s %s: answer larger than %d bytes", method, path, c.opts.MaxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(method, path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("sleuth serve: %s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, nil, out)
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// Status is GET /v1/status.
func (c *Client) Status(ctx context.Context) (*query.StatusView, error) {
	var v query.StatusView
	return &v, c.get(ctx, "/v1/status", nil, &v)
}

// Address is GET /v1/addresses/{address}.
func (c *Client) Address(ctx context.Context, addr string) (*query.AddressView, error) {
	var v query.AddressView
	return &v, c.get(ctx, "/v1/addresses/"+seg(addr), nil, &v)
}

// maxPage is the server's largest page (limit=).
const maxPage = 1000

// pages fetches up to limit (0: all) items from a paged route, following
// next_cursor from cursor after.
func pages[T any](ctx context.Context, c *Client, path string, limit int, after string) ([]T, error) {
	out := []T{}
	for {
		n := maxPage
		if limit > 0 {
			n = min(n, limit-len(out))
		}
		q := url.Values{"limit": {strconv.Itoa(n)}}
		if after != "" {
			q.Set("cursor", after)
		}
		var p page[T]
		if err := c.get(ctx, path, q, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" || len(p.Items) == 0 || limit > 0 && len(out) >= limit {
			return out, nil
		}
		after = p.NextCursor
	}
}

// AddressTxs is GET /v1/addresses/{address}/transactions, page after
// page: up to limit rows (0: all), newest first, after txid after.
func (c *Client) AddressTxs(ctx context.Context, addr string, limit int, after string) ([]index.AddressTxView, error) {
	return pages[index.AddressTxView](ctx, c, "/v1/addresses/"+seg(addr)+"/transactions", limit, after)
}

// Tx is GET /v1/transactions/{txid}.
func (c *Client) Tx(ctx context.Context, id btc.Hash) (*query.TxView, error) {
	var v query.TxView
	return &v, c.get(ctx, "/v1/transactions/"+id.String(), nil, &v)
}

// Block is GET /v1/blocks/{ref}.
func (c *Client) Block(ctx context.Context, ref string) (*index.BlockView, error) {
	var v index.BlockView
	return &v, c.get(ctx, "/v1/blocks/"+seg(ref), nil, &v)
}

// Entity is GET /v1/entities/{id} (an entity id or an address).
func (c *Client) Entity(ctx context.Context, arg string) (*cluster.EntityView, error) {
	var v cluster.EntityView
	return &v, c.get(ctx, "/v1/entities/"+seg(arg), nil, &v)
}

// Members is GET /v1/entities/{id}/addresses, page after page: up to
// limit addresses (0: all) after address after.
func (c *Client) Members(ctx context.Context, arg string, limit int, after string) ([]query.Member, error) {
	return pages[query.Member](ctx, c, "/v1/entities/"+seg(arg)+"/addresses", limit, after)
}

// Explain is GET /v1/entities/{from}/explain?other=to; two addresses in
// different entities give a *query.NotJoinedError, as query.Explain does.
func (c *Client) Explain(ctx context.Context, from, to string) ([]cluster.Step, error) {
	steps := []cluster.Step{}
	err := c.get(ctx, "/v1/entities/"+seg(from)+"/explain", url.Values{"other": {to}}, &steps)
	var e *Error
	if errors.As(err, &e) && e.Apart != nil {
		return nil, &query.NotJoinedError{From: from, To: to, Apart: *e.Apart}
	}
	return steps, err
}

// Labels is GET /v1/labels/{ref}[?as_of=]; a zero asOf asks for all.
func (c *Client) Labels(ctx context.Context, arg string, asOf time.Time) ([]label.View, error) {
	var q url.Values
	if !asOf.IsZero() {
		q = url.Values{"as_of": {asOf.Format(time.DateOnly)}}
	}
	views := []label.View{}
	return views, c.get(ctx, "/v1/labels/"+seg(arg), q, &views)
}

// Screen is POST /v1/screen: one report per address, in order, sent in
// requests of at most MaxBatch addresses and MaxBatchBytes.
func (c *Client) Screen(ctx context.Context, addrs []string) ([]*risk.Report, error) {
	out := make([]*risk.Report, 0, len(addrs))
	for len(addrs) > 0 {
		n, size := 0, 2
		for n < len(addrs) && n < c.opts.MaxBatch {
			size += len(addrs[n]) + 3
			if n > 0 && size > c.opts.MaxBatchBytes {
				break
			}
			n++
		}
		body, err := json.Marshal(addrs[:n])
		if err != nil {
			return nil, err
		}
		var reps []*risk.Report
		if err := c.do(ctx, http.MethodPost, "/v1/screen", nil, body, &reps); err != nil {
			return nil, err
		}
		if len(reps) != n {
			return nil, fmt.Errorf("sleuth serve: POST /v1/screen: %d reports for %d addresses", len(reps), n)
		}
		for _, r := range reps {
			if r == nil {
				return nil, fmt.Errorf("sleuth serve: POST /v1/screen: a null report")
			}
			fillRisk(r)
		}
		out = append(out, reps...)
		addrs = addrs[n:]
	}
	return out, nil
}

// Exposure is GET /v1/exposure/{ref}[?paths=true].
func (c *Client) Exposure(ctx context.Context, ref string, paths bool) (*ExposureAnswer, error) {
	var q url.Values
	if paths {
		q = url.Values{"paths": {"true"}}
	}
	var a ExposureAnswer
	if err := c.get(ctx, "/v1/exposure/"+seg(ref), q, &a); err != nil {
		return nil, err
	}
	if a.Exposure == nil {
		return nil, fmt.Errorf("sleuth serve: GET /v1/exposure/%s: no exposure in the answer", ref)
	}
	fillRisk(a.Exposure)
	return &a, nil
}

// fillRisk sets Risk from the JSON "risk" (Risk itself is not encoded).
func fillRisk(r *risk.Report) {
	if r.RiskJSON != nil {
		r.Risk = *r.RiskJSON
		r.RiskJSON = &r.Risk
	}
}

var _ query.Reader = (*Client)(nil)
