package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
)

// The /v1/webhooks routes: webhook endpoints (Standard Webhooks; the
// secret is shown once, when the endpoint is added) and their recent
// deliveries. The alert worker delivers; these routes only configure and
// show.

func (s *Server) handleWebhooks() {
	s.handle("GET", "/v1/webhooks", s.listWebhooks)
	s.handle("POST", "/v1/webhooks", s.addWebhook)
	s.handle("DELETE", "/v1/webhooks/{id}", s.deleteWebhook)
	s.handle("GET", "/v1/webhooks/{id}/deliveries", s.getWebhookDeliveries)
}

// NewWebhook is the body of POST /v1/webhooks: a URL and, optionally, a
// whsec_ secret (one is generated when absent).
type NewWebhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

// CreatedWebhook is POST /v1/webhooks's answer: the endpoint and its
// secret, which no later answer shows.
type CreatedWebhook struct {
	alert.Endpoint
	Secret string `json:"secret"`
}

// errUnprocessable is a 422 about field.
type errUnprocessable struct {
	field string
	err   error
}

func (e *errUnprocessable) Error() string { return e.field + ": " + e.err.Error() }
func (e *errUnprocessable) Unwrap() error { return e.err }

// checkWebhookURL applies the worker's SSRF guard (alert.CheckDestination)
// when the endpoint is added, to every address the host resolves to now;
// the worker checks again at each dial, after DNS.
func (s *Server) checkWebhookURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || len(raw) > 2048 {
		return badInputf("body.url", "want an http:// or https:// URL with a host (at most 2048 bytes), got %q", truncate(raw, 100))
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		ips = []netip.Addr{ip}
	} else {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if ips, err = net.DefaultResolver.LookupNetIP(rctx, "ip", u.Hostname()); err != nil {
			return &errUnprocessable{"body.url", err}
		}
	}
	for _, ip := range ips {
		if err := alert.CheckDestination(net.JoinHostPort(ip.Unmap().String(), port), s.opts.LoopbackWebhooks); err != nil {
			return &errUnprocessable{"body.url", err}
		}
	}
	return nil
}

func (s *Server) addWebhook(w http.ResponseWriter, r *http.Request) error {
	var in NewWebhook
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	if in.Secret != "" {
		if _, err := alert.ParseSecret(in.Secret); err != nil {
			return badInput("body.secret", err)
		}
	}
	if err := s.checkWebhookURL(r.Context(), in.URL); err != nil {
		return err
	}
	var ep alert.Endpoint
	err := s.alertWrite(func(st alert.Store) (err error) {
		ep, err = st.AddEndpoint(r.Context(), in.URL, in.Secret)
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/webhooks/"+strconv.FormatUint(uint64(ep.ID), 10))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	return writeJSON(w, CreatedWebhook{Endpoint: ep, Secret: ep.Secret})
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	eps, err := s.pl.AlertStore().Endpoints(r.Context())
	if err != nil {
		return err
	}
	if eps == nil {
		eps = []alert.Endpoint{}
	}
	return writeJSON(w, Page[alert.Endpoint]{Items: eps})
}

// webhookID parses the {id} path parameter.
func webhookID(r *http.Request) (uint32, error) {
	id, err := idParam(r, "a webhook", 32)
	return uint32(id), err
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	if err := s.alertWrite(func(st alert.Store) error { return st.RemoveEndpoint(r.Context(), id) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Attempt is one POST of an event to an endpoint.
type Attempt struct {
	Time   time.Time `json:"time"`
	Status int       `json:"status,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// DeliveryView is one event's delivery to one endpoint.
type DeliveryView struct {
	Event     uint64     `json:"event"`
	WebhookID string     `json:"webhook_id"`
	Type      string     `json:"type"`
	Alert     uint64     `json:"alert"`
	State     string     `json:"state"`
	Attempts  uint32     `json:"attempts"`
	NextAt    *time.Time `json:"next_attempt,omitempty"`
	Log       []Attempt  `json:"log"`
}

const defaultDeliveryLimit = 50

// getWebhookDeliveries answers an endpoint's most recent deliveries,
// newest event first.
func (s *Server) getWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(r, defaultDeliveryLimit)
	if err != nil {
		return err
	}
	out := Page[DeliveryView]{Items: []DeliveryView{}}
	err = func() error {
		st := s.pl.AlertStore()
		eps, err := st.Endpoints(r.Context())
		if err != nil {
			return err
		}
		found := false
		for _, ep := range eps {
			found = found || ep.ID == id
		}
		if !found {
			return fmt.Errorf("webhook endpoint %d: %w", id, alert.ErrNotFound)
		}
		// The outbox is in (event, endpoint) order: keep the last limit.
		ring := make([]alert.Delivery, 0, limit)
		next := 0
		if err := st.Deliveries(r.Context(), func(d *alert.Delivery) (bool, error) {
			if d.Endpoint != id {
				return true, nil
			}
			if len(ring) < limit {
				ring = append(ring, *d)
			} else {
				ring[next] = *d
			}
			next = (next + 1) % limit
			return true, nil
		}); err != nil {
			return err
		}
		for i := range ring {
			d := &ring[(next-1-i+2*len(ring))%len(ring)]
			ev, err := st.Event(r.Context(), d.Event)
			if err != nil {
				return err
			}
			v := DeliveryView{Event: d.Event, WebhookID: ev.WebhookID(), Type: ev.Type, Alert: ev.Alert, State: d.State.String(),
				Attempts: d.Attempts, Log: make([]Attempt, 0, len(d.Log))}
			if d.State == alert.Pending {
				v.NextAt = &d.NextAt
			}
			for _, a := range d.Log {
				v.Log = append(v.Log, Attempt{Time: a.Time, Status: a.Status, Error: a.Error})
			}
			out.Items = append(out.Items, v)
		}
		return nil
	}()
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}
