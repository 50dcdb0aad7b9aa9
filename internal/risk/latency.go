package risk

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// SampleAddresses returns n addresses spread evenly over the store's
// address ids (id i·next/n for i < n): the sample issue 15's screening
// figures are measured on.
func SampleAddresses(db *index.DB, n int) ([]string, error) {
	next := uint64(db.Tip().NextAddr)
	out := make([]string, 0, n)
	for i := range uint64(n) {
		s, _, err := db.AddrString(btc.AddrID(i * next / uint64(n)))
		if err != nil {
			return nil, fmt.Errorf("risk: sample address %d of %d: %w", i, n, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Latency is one pass of screening a sample, one address at a time.
type Latency struct {
	N     int           `json:"n"`
	Total time.Duration `json:"total_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
	// Slowest are the slowest screens, slowest first: where the tail is.
	Slowest []SlowScreen `json:"slowest,omitempty"`
}

// SlowScreen is one screen of the tail: the address, its entity and
// what its answer held.
type SlowScreen struct {
	Address string        `json:"address"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Entity  uint64        `json:"entity"`
	Rows    int           `json:"rows"`
	Fired   int           `json:"fired"`
	Risk    string        `json:"risk"`
}

// MeasureScreens screens addrs one after another with s and returns the
// pass's latencies, with the keep slowest screens.
func MeasureScreens(ctx context.Context, s *Screener, addrs []string, keep int) (Latency, error) {
	lat := make([]time.Duration, 0, len(addrs))
	var slow []SlowScreen
	start := time.Now()
	for _, a := range addrs {
		t0 := time.Now()
		r, err := s.Screen(ctx, a)
		if err != nil {
			return Latency{}, fmt.Errorf("risk: screen %s: %w", a, err)
		}
		d := time.Since(t0)
		lat = append(lat, d)
		if keep > 0 && (len(slow) < keep || d > slow[len(slow)-1].Elapsed) {
			x := SlowScreen{Address: a, Elapsed: d, Rows: len(r.Exposure), Fired: len(r.Fired), Risk: r.Risk.String()}
			if r.Entity != nil {
				x.Entity = *r.Entity
			}
			i, _ := slices.BinarySearchFunc(slow, d, func(s SlowScreen, d time.Duration) int { return int(d - s.Elapsed) })
			slow = slices.Insert(slow, i, x)
			slow = slow[:min(len(slow), keep)]
		}
	}
	l := Latency{N: len(addrs), Total: time.Since(start), Slowest: slow}
	if len(lat) == 0 {
		return l, nil
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	l.P50, l.P90, l.P99, l.Max = pct(0.5), pct(0.9), pct(0.99), lat[len(lat)-1]
	return l, nil
}
