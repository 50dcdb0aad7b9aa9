package watch

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// ScanResult says what Scan did.
type ScanResult struct {
	From, To btc.Height
	Blocks   int
	Hits     int
	Alerts   int
}

// Scan matches the best-chain blocks from height from to the tip against
// set and stores the alerts in st, one atomic Create per block: the offline
// form of what the follower does per connected block. Scanning a range
// twice stores its alerts twice.
func Scan(ctx context.Context, db *index.DB, set *Set, st alert.Store, as Assessor, from btc.Height) (ScanResult, error) {
	tip := db.Tip()
	res := ScanResult{From: from}
	if tip.Height < 0 || int64(from) > tip.Height {
		return res, fmt.Errorf("scan from height %d: the index ends at height %d", from, tip.Height)
	}
	res.To = btc.Height(tip.Height)
	err := set.MatchBlocks(ctx, from, res.To, func(b *index.ChainBlock, hits []Hit) error {
		res.Blocks++
		res.Hits += len(hits)
		if len(hits) == 0 {
			return nil
		}
		alerts, err := set.Alerts(ctx, b, hits, as)
		if err != nil {
			return fmt.Errorf("block %d: %w", b.Height, err)
		}
		if len(alerts) == 0 {
			return nil
		}
		if _, err := st.Create(ctx, alerts); err != nil {
			return fmt.Errorf("block %d: %w", b.Height, err)
		}
		res.Alerts += len(alerts)
		return nil
	})
	return res, err
}

// NeedsAssessor reports whether any list has an exposure or sanction rule.
func (s *Set) NeedsAssessor() bool {
	for i := range s.Lists {
		for _, r := range s.Lists[i].Rules {
			if r.Kind == Exposure || r.Kind == Sanctioned {
				return true
			}
		}
	}
	return false
}

// ReadAddresses decodes one address per line of r (blank lines and lines
// starting with # are skipped); an invalid one is an error naming its line.
func ReadAddresses(r io.Reader, name string, net *btc.Network) ([]address.Key, error) {
	var out []address.Key
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		k, err := address.Decode(s, net)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
