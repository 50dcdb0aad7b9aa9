package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// DefaultSchedule is the delay before each retry after a failed attempt:
// the Standard Webhooks example schedule, about 75 hours in all. A delivery
// that fails after the last one ends as Failed.
var DefaultSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// Worker delivers the outbox: it signs each due event, POSTs it to its
// endpoint and records the attempt. A delivery is marked Delivered only
// after a 2xx, so a worker stopped mid-request delivers again on restart,
// with the same webhook-id (at least once).
type Worker struct {
	Store       Store
	Concurrency int             // parallel requests; default 4
	Timeout     time.Duration   // per request; default 20 s
	Schedule    []time.Duration // retry delays; default DefaultSchedule
	Poll        time.Duration   // how often to look for due deliveries; default 1 s
	// Shared says the store leases what Due returns to this worker
	// (pgstore.Alerts: several servers deliver one outbox). The worker
	// then claims Concurrency deliveries at a time, so that none waits in
	// its queue while its lease runs out (another server would send it
	// too) and the servers share the work.
	Shared bool
	// Batch is how many deliveries one Due call claims; default
	// Concurrency when Shared, else 1024.
	Batch int
	// AllowLoopback lets deliveries reach loopback addresses (tests, CI).
	// Private, link-local and unspecified destinations are always refused.
	AllowLoopback bool
	Log           *slog.Logger
	Now           func() time.Time
	// OnAttempt, if set, is called after each attempt is recorded, with
	// the delivery's new state (metrics).
	OnAttempt func(d *Delivery)

	once   sync.Once
	client *http.Client
	wake   chan struct{}
}

// Wake makes a running worker look for due deliveries now instead of at
// its next poll (the pipeline's AlertsStored event calls it, so a new
// alert leaves without waiting for the poll).
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) init() {
	w.once.Do(func() {
		if w.Concurrency <= 0 {
			w.Concurrency = 4
		}
		if w.Timeout <= 0 {
			w.Timeout = 20 * time.Second
		}
		if w.Schedule == nil {
			w.Schedule = DefaultSchedule
		}
		if w.Poll <= 0 {
			w.Poll = time.Second
		}
		if w.Batch <= 0 {
			w.Batch = 1024
			if w.Shared {
				w.Batch = w.Concurrency
			}
		}
		if w.Log == nil {
			w.Log = slog.Default()
		}
		if w.Now == nil {
			w.Now = time.Now
		}
		w.wake = make(chan struct{}, 1)
		allow := w.AllowLoopback
		d := &net.Dialer{Timeout: w.Timeout, Control: func(_, address string, _ syscall.RawConn) error {
			return CheckDestination(address, allow)
		}}
		w.client = &http.Client{
			Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, MaxIdleConnsPerHost: w.Concurrency,
				TLSHandshakeTimeout: w.Timeout, ResponseHeaderTimeout: w.Timeout},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       w.Timeout,
		}
	})
}

// ErrDestination means a webhook would reach an address sleuth refuses to
// call (SSRF protection).
var ErrDestination = errors.New("webhook destination refused")

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// CheckDestination refuses a dialled "ip:port" that is loopback (unless
// allowLoopback), private, link-local, CGNAT, multicast or unspecified. The
// worker checks at dial time, after DNS, so a name that resolves to an
// internal address is refused too.
func CheckDestination(address string, allowLoopback bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q is not ip:port", ErrDestination, address)
	}
	ip := ap.Addr().Unmap()
	switch {
	case ip.IsLoopback():
		if allowLoopback {
			return nil
		}
		return fmt.Errorf("%w: %s is a loopback address (allow with --webhook-allow-loopback)", ErrDestination, ip)
	case ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(),
		ip.IsMulticast(), ip.IsUnspecified(), cgnat.Contains(ip):
		return fmt.Errorf("%w: %s is a private or local address", ErrDestination, ip)
	}
	return nil
}

// Run delivers until ctx ends, then returns ctx's error.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.Log.Error("webhook outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce makes one attempt at each delivery due now (at most
// Concurrency at a time), claiming Batch at a time, and returns how many
// it attempted.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	total := 0
	for {
		n, err := w.runBatch(ctx)
		total += n
		if err != nil || n < w.Batch || ctx.Err() != nil {
			return total, err
		}
	}
}

// runBatch claims up to Batch due deliveries and attempts each once.
func (w *Worker) runBatch(ctx context.Context) (int, error) {
	due, err := w.Store.Due(ctx, w.Now(), w.Batch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	eps, err := w.Store.Endpoints(ctx)
	if err != nil {
		return 0, err
	}
	byID := make(map[uint32]*Endpoint, len(eps))
	for i := range eps {
		byID[eps[i].ID] = &eps[i]
	}
	sem := make(chan struct{}, w.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func(d *Delivery) {
			defer func() { <-sem; wg.Done() }()
			if err := w.deliver(ctx, d, byID[d.Endpoint]); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(&due[i])
	}
	wg.Wait()
	return len(due), first
}

func (w *Worker) deliver(ctx context.Context, d *Delivery, ep *Endpoint) error {
	if ep == nil || ep.Disabled != "" {
		d.State = Disabled
		return w.Store.Record(ctx, d)
	}
	ev, err := w.Store.Event(ctx, d.Event)
	if err != nil {
		return err
	}
	key, err := ParseSecret(ep.Secret)
	if err != nil {
		return fmt.Errorf("webhook endpoint %d: %w", ep.ID, err)
	}
	now := w.Now().UTC()
	status, retryAfter, err := w.post(ctx, ep, &ev, key, now)
	if ctx.Err() != nil {
		return nil // stopped mid-request: the delivery stays due and is sent again, same webhook-id
	}
	d.Attempts++
	at := Attempt{Time: now, Status: status}
	if err != nil {
		at.Error = err.Error()
	}
	d.Log = append(d.Log, at)
	log := w.Log.With("endpoint", ep.ID, "url", ep.URL, "webhook_id", ev.WebhookID(), "attempt", d.Attempts, "status", status)
	switch {
	case err == nil && status >= 200 && status < 300:
		d.State = Delivered
		log.Debug("webhook delivered")
	case status == http.StatusGone:
		d.State = Disabled
		log.Warn("webhook endpoint answered 410 Gone: disabled")
		if err := w.Store.DisableEndpoint(ctx, ep.ID, fmt.Sprintf("410 Gone at %s", now.Format(time.RFC3339))); err != nil {
			return err
		}
	case int(d.Attempts) > len(w.Schedule):
		d.State = Failed
		log.Error("webhook delivery failed for good", "err", err)
	default:
		delay := w.Schedule[d.Attempts-1]
		delay += rand.N(delay/10 + 1) // jitter spreads a recovering receiver's load
		if retryAfter > delay {
			delay = retryAfter
		}
		d.NextAt = now.Add(delay)
		log.Warn("webhook delivery failed; will retry", "err", err, "retry_in", delay)
	}
	if err := w.Store.Record(ctx, d); err != nil {
		return err
	}
	if w.OnAttempt != nil {
		w.OnAttempt(d)
	}
	return nil
}

// post sends one signed attempt and returns the status (0 without a
// response) and a Retry-After delay when the receiver gave one.
func (w *Worker) post(ctx context.Context, ep *Endpoint, ev *Event, key []byte, now time.Time) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(ev.Body))
	if err != nil {
		return 0, 0, err
	}
	id, ts := ev.WebhookID(), now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(key, id, ts, ev.Body))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	var ra time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		ra = time.Duration(s) * time.Second
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp.StatusCode, ra, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, ra, nil
}
