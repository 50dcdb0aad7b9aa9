package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// Basis is what the server's screening answers stand on (the basis its
// GET /v1/status states); risk.ErrNotComputed until it has exposure.
func (c *Client) Basis(ctx context.Context) (*risk.Basis, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	if st.Basis == nil {
		return nil, fmt.Errorf("sleuth serve at %s: %w", c.base, risk.ErrNotComputed)
	}
	return st.Basis, nil
}

// ScreenInputs answers batch rows as risk.Screener.ScreenInput does, one
// report per row in order: a bad row is risk.InvalidRow, a txid (64
// characters) is GET /v1/exposure/{txid}, and the addresses go to
// POST /v1/screen together.
func (c *Client) ScreenInputs(ctx context.Context, ins []*risk.Input) ([]*risk.Report, error) {
	out := make([]*risk.Report, len(ins))
	var addrs []string
	var at []int
	for i, in := range ins {
		switch {
		case in.Err != "":
			out[i] = risk.InvalidRow(in)
		case len(in.Query) == 64:
			r, err := c.exposureReport(ctx, in.Query)
			if err != nil {
				return nil, err
			}
			out[i] = r
		default:
			addrs = append(addrs, in.Query)
			at = append(at, i)
		}
	}
	reps, err := c.Screen(ctx, addrs)
	if err != nil {
		return nil, err
	}
	for j, r := range reps {
		out[at[j]] = r
	}
	return out, nil
}

// Query answers an address, entity id or txid as risk.Screener.Query
// (with entities) does, through GET /v1/exposure/{ref}. The server
// refuses a malformed query with a 400; its report is then rebuilt: an
// address's from POST /v1/screen (which answers it as a row), an entity
// id's or txid's from the server's reason.
func (c *Client) Query(ctx context.Context, q string) (*risk.Report, error) {
	if len(q) == 64 || q != "" && strings.Trim(q, "0123456789") == "" {
		return c.exposureReport(ctx, q)
	}
	if q != "" {
		a, err := c.Exposure(ctx, q, false)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
			if err != nil {
				return nil, err
			}
			return a.Exposure, nil
		}
	}
	return c.screenOne(ctx, q)
}

func (c *Client) screenOne(ctx context.Context, q string) (*risk.Report, error) {
	reps, err := c.Screen(ctx, []string{q})
	if err != nil {
		return nil, err
	}
	return reps[0], nil
}

// exposureReport is GET /v1/exposure/{q}'s report; a 400 for an entity
// id or txid becomes the Invalid report risk.Screener.Query gives.
func (c *Client) exposureReport(ctx context.Context, q string) (*risk.Report, error) {
	a, err := c.Exposure(ctx, q, false)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest && e.Field == "path:ref" {
		return &risk.Report{Query: q, Reasons: []string{}, Exposure: []risk.Row{}, Status: risk.Invalid, Reason: e.Reason()}, nil
	}
	if err != nil {
		return nil, err
	}
	return a.Exposure, nil
}

// Paths is GET /v1/exposure/{addr}?paths=true: the received and sent
// paths of an address, traced with the server's defaults (policy fifo,
// trace.DefaultMaxHops).
func (c *Client) Paths(ctx context.Context, addr string) (received, sent *risk.PathReport, err error) {
	a, err := c.Exposure(ctx, addr, true)
	if err != nil {
		return nil, nil, err
	}
	if a.Received == nil || a.Sent == nil {
		return nil, nil, fmt.Errorf("sleuth serve: GET /v1/exposure/%s?paths=true: no paths in the answer (status %s)", addr, a.Exposure.Status)
	}
	return a.Received, a.Sent, nil
}
