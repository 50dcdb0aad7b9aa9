package watch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// Assessor answers the exposure questions of Exposure and Sanctioned
// rules, for hits only (never on the matching hot path).
type Assessor interface {
	// Exposure is the transaction's largest exposure to category.
	Exposure(ctx context.Context, txid btc.Hash, category string) (alert.Exposure, error)
	// Sanctioned reports a sanctioned counterparty of the transaction.
	Sanctioned(ctx context.Context, txid btc.Hash) (alert.Exposure, bool, error)
}

// RiskAssessor answers from the risk stage's stored exposure
// (risk.Screener.Tx), caching one report per transaction.
type RiskAssessor struct {
	S     *risk.Screener
	cache map[btc.Hash]*risk.Report
}

func (r *RiskAssessor) report(ctx context.Context, txid btc.Hash) (*risk.Report, error) {
	if rep, ok := r.cache[txid]; ok {
		return rep, nil
	}
	rep, err := r.S.Tx(ctx, txid)
	if err != nil {
		return nil, fmt.Errorf("exposure of tx %s: %w", txid, err)
	}
	if r.cache == nil || len(r.cache) > 4096 {
		r.cache = map[btc.Hash]*risk.Report{}
	}
	r.cache[txid] = rep
	return rep, nil
}

func rowExposure(row *risk.Row) alert.Exposure {
	e := alert.Exposure{Category: row.Category, SharePPM: uint32(min(max(row.Share, 0), 1)*1e6 + 0.5), Value: row.Sats}
	var b strings.Builder
	fmt.Fprintf(&b, "%.2f%% of the transaction's %s (%d sat) is %s exposure, %s via %s, %d hop(s)",
		row.Share*100, row.Direction, row.Sats, row.Category, row.Kind, row.Basis, row.MinHops)
	if x := row.Explanation; x != nil {
		fmt.Fprintf(&b, "; biggest source: %s (%s, %s)", x.Address, x.Label, x.Source)
		if x.TxID != "" {
			fmt.Fprintf(&b, " in tx %s", x.TxID)
		}
	}
	e.Explanation = b.String()
	return e
}

// Exposure implements Assessor: the row of category with the largest
// share (the inputs' exposure, what the watched address was paid with,
// and the outputs').
func (r *RiskAssessor) Exposure(ctx context.Context, txid btc.Hash, category string) (alert.Exposure, error) {
	rep, err := r.report(ctx, txid)
	if err != nil {
		return alert.Exposure{}, err
	}
	var best *risk.Row
	for i := range rep.Exposure {
		row := &rep.Exposure[i]
		if row.Category == category && (best == nil || row.Share > best.Share) {
			best = row
		}
	}
	if best == nil {
		return alert.Exposure{Category: category}, nil
	}
	return rowExposure(best), nil
}

// Sanctioned implements Assessor: a direct sanction row (a counterparty
// address of the transaction is listed).
func (r *RiskAssessor) Sanctioned(ctx context.Context, txid btc.Hash) (alert.Exposure, bool, error) {
	rep, err := r.report(ctx, txid)
	if err != nil {
		return alert.Exposure{}, false, err
	}
	for i := range rep.Exposure {
		row := &rep.Exposure[i]
		if row.Category == risk.Sanction.String() && row.Kind == "direct" {
			return rowExposure(row), true, nil
		}
	}
	return alert.Exposure{}, false, nil
}

// ErrNoAssessor means a list has exposure rules but no Assessor was given.
var ErrNoAssessor = errors.New("exposure rules need the risk stage")

// Alerts turns one block's hits into alerts: one per hit and rule that
// fires. as may be nil when no list has Exposure or Sanctioned rules.
func (s *Set) Alerts(ctx context.Context, b *index.ChainBlock, hits []Hit, as Assessor) ([]alert.Alert, error) {
	var out []alert.Alert
	for _, h := range hits {
		l := &s.Lists[h.List]
		var txid btc.Hash
		var addr string
		for _, r := range l.EffectiveRules() {
			if r.Direction&h.Dir == 0 {
				continue
			}
			if txid.IsZero() {
				var err error
				if txid, err = s.db.TxID(h.Tx); err != nil {
					return nil, err
				}
				if addr, _, err = s.db.AddrString(h.Addr); err != nil {
					return nil, err
				}
			}
			a := alert.Alert{Level: r.Level, Rule: fmt.Sprintf("watch:%s/%s/%s", l.Name, r, h.Dir), TxID: txid, Address: addr,
				Value: h.Value, Height: int64(b.Height), BlockHash: b.Hash}
			fire := false
			switch r.Kind {
			case Activity:
				fire = true
			case Value:
				fire = h.Value >= r.MinValue
			case Exposure:
				if as == nil {
					return nil, fmt.Errorf("watchlist %q rule %s: %w", l.Name, r, ErrNoAssessor)
				}
				e, err := as.Exposure(ctx, txid, r.Category)
				if err != nil {
					return nil, err
				}
				a.Exposure = e
				fire = (r.MinSharePPM > 0 && e.SharePPM >= r.MinSharePPM) || (r.MinValue > 0 && e.Value >= r.MinValue)
			case Sanctioned:
				if as == nil {
					return nil, fmt.Errorf("watchlist %q rule %s: %w", l.Name, r, ErrNoAssessor)
				}
				e, ok, err := as.Sanctioned(ctx, txid)
				if err != nil {
					return nil, err
				}
				a.Exposure, fire = e, ok
			}
			if fire {
				out = append(out, a)
			}
		}
	}
	return out, nil
}
