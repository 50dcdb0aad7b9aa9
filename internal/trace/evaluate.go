package trace

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// Truth is the part of a simulator answer key (DIR/truth/, see
// docs/SIMULATOR.md) that scores a trace.
type Truth struct {
	Cases   []TruthCase
	addrEnt map[string]int32
	entType map[int32]string
	entName map[int32]string
}

// TruthCase is one taint case of the key: its sources and who received
// its taint.
type TruthCase struct {
	Case       string // theft, ransomware
	Sources    []TruthSource
	Origin     int64
	ReceivedBy map[int32]int64 // truth entity → sats
}

// TruthSource is a taint.csv row of role stolen or origin.
type TruthSource struct {
	TxID    btc.Hash
	Vout    uint32
	Tainted int64
}

// PerpetratorTypes are the truth entity types whose outputs the
// simulator's taint keeps following.
var PerpetratorTypes = map[string]bool{"attacker": true, "ransomware": true}

// LoadTruth reads entities.csv, addresses.csv, taint.csv and
// taint_summary.json of a simulator answer key. addresses.csv is held in
// memory (about 100 bytes an address).
func LoadTruth(dir string) (*Truth, error) {
	t := &Truth{addrEnt: map[string]int32{}, entType: map[int32]string{}, entName: map[int32]string{}}
	err := eachRow(filepath.Join(dir, "entities.csv"), []string{"entity_id", "name", "type"}, func(f []string) error {
		id, err := strconv.ParseInt(f[0], 10, 32)
		t.entName[int32(id)], t.entType[int32(id)] = f[1], f[2]
		return err
	})
	if err != nil {
		return nil, err
	}
	err = eachRow(filepath.Join(dir, "addresses.csv"), []string{"address", "entity_id"}, func(f []string) error {
		id, err := strconv.ParseInt(f[1], 10, 32)
		t.addrEnt[f[0]] = int32(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	byCase := map[string]*TruthCase{}
	var order []string
	err = eachRow(filepath.Join(dir, "taint.csv"), []string{"case", "role", "txid", "vout", "tainted"}, func(f []string) error {
		if f[1] != "stolen" && f[1] != "origin" {
			return nil
		}
		c := byCase[f[0]]
		if c == nil {
			c = &TruthCase{Case: f[0], ReceivedBy: map[int32]int64{}}
			byCase[f[0]] = c
			order = append(order, f[0])
		}
		h, err := btc.ParseHash(f[2])
		if err != nil {
			return err
		}
		v, err := strconv.ParseUint(f[3], 10, 32)
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			return err
		}
		c.Sources = append(c.Sources, TruthSource{TxID: h, Vout: uint32(v), Tainted: n})
		return nil
	})
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "taint_summary.json"))
	if err != nil {
		return nil, err
	}
	var sum []struct {
		Case       string `json:"case"`
		Origin     int64  `json:"origin_sats"`
		ReceivedBy []struct {
			Entity int32 `json:"entity_id"`
			Sats   int64 `json:"sats"`
		} `json:"received_by"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		return nil, fmt.Errorf("taint_summary.json: %w", err)
	}
	for _, s := range sum {
		c := byCase[s.Case]
		if c == nil {
			continue
		}
		c.Origin = s.Origin
		for _, r := range s.ReceivedBy {
			c.ReceivedBy[r.Entity] += r.Sats
		}
	}
	for _, n := range order {
		t.Cases = append(t.Cases, *byCase[n])
	}
	return t, nil
}

// eachRow streams a CSV with a header, calling fn with the named columns.
func eachRow(path string, cols []string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = -1
		for j, h := range head {
			if h == c {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return fmt.Errorf("%s: no column %q", path, c)
		}
	}
	sel := make([]string, len(cols))
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i, j := range idx {
			sel[i] = rec[j]
		}
		if err := fn(sel); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
}

// StopMode chooses the cash-out points of an evaluation.
type StopMode string

const (
	// StopLabels stops at label.Services: what an investigator knows.
	StopLabels StopMode = "labels"
	// StopOracle stops at every entity whose oldest address the key gives
	// to anyone but a perpetrator: the simulator's own rule, so the score
	// measures the policy and the clustering, not label coverage.
	StopOracle StopMode = "oracle"
)

// Score is one case traced under one policy, against the key.
type Score struct {
	Case           string  `json:"case"`
	Policy         string  `json:"policy"`
	Stop           string  `json:"stop"`
	Source         int64   `json:"source_sats"`
	TruthReceived  int64   `json:"truth_received_sats"`
	Attributed     int64   `json:"attributed_sats"` // cashed out at entities mapped to a truth entity
	Correct        int64   `json:"correct_sats"`    // Σ min(attributed, truth) over truth receivers
	Recall         float64 `json:"recall"`          // Correct / TruthReceived
	FalseExposure  int64   `json:"false_exposure_sats"`
	FalseShare     float64 `json:"false_exposure_share"` // FalseExposure / Source
	OverAttributed int64   `json:"over_attributed_sats"` // Σ max(0, attributed − truth) at true receivers
	Held           int64   `json:"held_sats"`
	Fee            int64   `json:"fee_sats"`
	Lost           int64   `json:"lost_sats"`
	CoinJoin       int64   `json:"coinjoin_uncertain_sats"` // not followed: see Totals.CoinJoin
	TxsRead        int     `json:"txs_read"`
	Seconds        float64 `json:"seconds"`
}

// Evaluate traces every case of the key forward under each policy and
// scores the cash-outs. A traced entity is mapped to the truth entity that
// owns most of the sats it received (by its reached addresses).
func Evaluate(ctx context.Context, db *index.DB, truth *Truth, policies []Policy, stop StopMode, opts Options) ([]Score, error) {
	if stop == StopLabels {
		svc, err := label.Services(ctx, db, nil)
		if err != nil {
			return nil, err
		}
		opts.Stop = StopAt(svc)
	} else if opts.Stop = evalStop(db, truth, stop); opts.Stop == nil {
		return nil, fmt.Errorf("trace: unknown stop mode %q", stop)
	}
	var out []Score
	for _, c := range truth.Cases {
		var src []Taint
		for _, s := range c.Sources {
			num, err := db.TxNum(s.TxID)
			if err != nil {
				return nil, err
			}
			src = append(src, Taint{Out: btc.MakeOutRef(num, s.Vout), Sats: btc.Amount(s.Tainted)})
		}
		for _, p := range policies {
			o := opts
			o.Policy = p
			r, err := Trace(ctx, db, src, o)
			if err != nil {
				return nil, fmt.Errorf("trace: evaluate %s/%s: %w", c.Case, p, err)
			}
			sc, err := truth.score(db, c, r, stop)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
		}
	}
	return out, nil
}

// evalStop returns the oracle stop function (nil for another mode).
func evalStop(db *index.DB, truth *Truth, stop StopMode) func(uint64) (label.Service, bool) {
	if stop != StopOracle {
		if stop == StopLabels {
			svc, err := label.Services(context.Background(), db, nil)
			if err == nil {
				return StopAt(svc)
			}
		}
		return nil
	}
	cache := map[uint64]bool{}
	return func(e uint64) (label.Service, bool) {
		stop, ok := cache[e]
		if !ok {
			s, _, err := db.AddrString(btc.AddrID(e))
			te, known := truth.addrEnt[s]
			stop = err == nil && known && !PerpetratorTypes[truth.entType[te]]
			cache[e] = stop
		}
		if !stop {
			return label.Service{}, false
		}
		s, _, _ := db.AddrString(btc.AddrID(e))
		te := truth.addrEnt[s]
		return label.Service{Label: truth.entName[te], Category: truth.entType[te], Source: "answer key"}, true
	}
}

func (t *Truth) score(db *index.DB, c TruthCase, r *Result, stop StopMode) (Score, error) {
	s := Score{Case: c.Case, Policy: r.Policy, Stop: string(stop), Source: r.Totals.Source, Held: r.Totals.Held,
		Fee: r.Totals.Fee, Lost: r.Totals.Lost(), CoinJoin: r.Totals.CoinJoin, TxsRead: r.TxsRead, Seconds: r.Elapsed}
	attr := map[int32]int64{}
	for _, e := range r.Entities {
		if e.CashedOut == 0 {
			continue
		}
		votes := map[int32]int64{}
		for _, a := range e.Addresses {
			as := a.Address
			if as == "" {
				var err error
				if as, _, err = db.AddrString(btc.AddrID(a.ID)); err != nil {
					return Score{}, err
				}
			}
			if te, ok := t.addrEnt[as]; ok {
				votes[te] += a.Sats
			}
		}
		best, bestV := int32(-1), int64(-1)
		for te, v := range votes {
			if v > bestV || (v == bestV && te < best) {
				best, bestV = te, v
			}
		}
		attr[best] += e.CashedOut
		s.Attributed += e.CashedOut
	}
	for te, v := range c.ReceivedBy {
		s.TruthReceived += v
		s.Correct += min(attr[te], v)
		s.OverAttributed += max(attr[te]-v, 0)
	}
	for te, v := range attr {
		if _, ok := c.ReceivedBy[te]; !ok {
			s.FalseExposure += v
		}
	}
	s.Recall = share(s.Correct, s.TruthReceived)
	s.FalseShare = share(s.FalseExposure, s.Source)
	return s, nil
}

// SortScores orders scores by case, then policy.
func SortScores(s []Score) {
	sort.SliceStable(s, func(i, j int) bool { return s[i].Case < s[j].Case })
}
