package risk

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// Level is a risk level. Higher is worse.
type Level int

const (
	Low Level = iota
	Medium
	High
	Severe
)

var levelNames = []string{"Low", "Medium", "High", "Severe"}

func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a level's name (any case).
func (l *Level) UnmarshalText(b []byte) error {
	for i, n := range levelNames {
		if equalFold(n, string(b)) {
			*l = Level(i)
			return nil
		}
	}
	return fmt.Errorf("risk: unknown level %q (want Low, Medium, High or Severe)", b)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// Rule raises the risk to Level when an exposure row matches: any of
// Categories (empty: any), the direction ("received", "sent", "self" for
// the screened address's own attribution, "" any), the kind ("direct",
// "indirect", "" any), share at least MinShare (0..1, of the address's
// total received or sent) and sats at least MinSats, and MaxHops (0: any).
// A rule with all thresholds zero matches any nonzero exposure.
type Rule struct {
	Level      Level    `json:"level"`
	Categories []string `json:"categories,omitempty"`
	Direction  string   `json:"direction,omitempty"`
	Kind       string   `json:"kind,omitempty"`
	MinShare   float64  `json:"min_share,omitempty"`
	MinSats    uint64   `json:"min_sats,omitempty"`
	MaxHops    int      `json:"max_hops,omitempty"`
	Why        string   `json:"why,omitempty"` // shown with the level
}

// Rules decide a risk level: the highest level of any matching rule, else
// Low.
type Rules struct {
	Rules []Rule `json:"rules"`
}

var (
	severeCats = []string{"sanction"}
	highCats   = []string{"ransomware", "theft", "darknet_market"}
	riskyCats  = []string{"sanction", "ransomware", "theft", "darknet_market", "scam"}
)

// DefaultRules are the rules used without --rules:
//
//	Severe  the address's entity is sanctioned; any direct sanction exposure;
//	        indirect sanction exposure of at least 1%
//	High    the entity is labelled ransomware, theft or darknet market;
//	        direct exposure to those of at least 1%; any indirect sanction
//	        exposure
//	Medium  the entity is a mixer or a scam; mixer exposure of at least 10%;
//	        any direct ransomware, theft, darknet-market or scam exposure;
//	        indirect exposure to those of at least 1%
//	Low     anything else (exchange and gambling exposure are shown but do
//	        not raise the level)
func DefaultRules() *Rules {
	return &Rules{Rules: []Rule{
		{Level: Severe, Categories: severeCats, Direction: "self", Why: "sanctioned entity"},
		{Level: Severe, Categories: severeCats, Kind: "direct", Why: "direct sanction exposure"},
		{Level: Severe, Categories: severeCats, Kind: "indirect", MinShare: 0.01, Why: "indirect sanction exposure ≥ 1%"},
		{Level: High, Categories: highCats, Direction: "self", Why: "labelled ransomware, theft or darknet market"},
		{Level: High, Categories: highCats, Kind: "direct", MinShare: 0.01, Why: "direct ransomware/theft/darknet exposure ≥ 1%"},
		{Level: High, Categories: severeCats, Kind: "indirect", Why: "indirect sanction exposure"},
		{Level: Medium, Categories: []string{"mixer", "scam"}, Direction: "self", Why: "labelled mixer or scam"},
		{Level: Medium, Categories: []string{"mixer"}, MinShare: 0.10, Why: "mixer exposure ≥ 10%"},
		{Level: Medium, Categories: riskyCats, Kind: "direct", Why: "direct exposure to a risky category"},
		{Level: Medium, Categories: riskyCats, Kind: "indirect", MinShare: 0.01, Why: "indirect risky exposure ≥ 1%"},
	}}
}

// LoadRules reads a JSON rules file ({"rules": [Rule…]}).
func LoadRules(path string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Rules
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("risk: rules %s: %w", path, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("risk: rules %s: %w", path, err)
	}
	return &r, nil
}

// Validate checks every rule's names and ranges.
func (r *Rules) Validate() error {
	for i, x := range r.Rules {
		for _, c := range x.Categories {
			if _, err := ParseCategory(c); err != nil {
				return fmt.Errorf("rule %d: %w", i+1, err)
			}
		}
		if !slices.Contains([]string{"", "received", "sent", "self"}, x.Direction) {
			return fmt.Errorf("rule %d: direction %q: want received, sent or self", i+1, x.Direction)
		}
		if !slices.Contains([]string{"", "direct", "indirect"}, x.Kind) {
			return fmt.Errorf("rule %d: kind %q: want direct or indirect", i+1, x.Kind)
		}
		if x.MinShare < 0 || x.MinShare > 1 || x.MaxHops < 0 || x.Level < Low || x.Level > Severe {
			return fmt.Errorf("rule %d: min_share in 0..1, max_hops ≥ 0, a level", i+1)
		}
	}
	return nil
}

func (x *Rule) matches(r *Row) bool {
	if len(x.Categories) > 0 && !slices.Contains(x.Categories, r.Category) {
		return false
	}
	if x.Direction != "" && x.Direction != r.Direction || x.Direction == "" && r.Direction == "self" {
		return false
	}
	if x.Kind != "" && x.Kind != r.Kind {
		return false
	}
	if x.MaxHops > 0 && r.MinHops > x.MaxHops {
		return false
	}
	return r.Share >= x.MinShare && r.Sats >= x.MinSats && (r.Sats > 0 || r.Direction == "self")
}

// Assess returns the level of rows and the reasons of the rules that set it.
func (r *Rules) Assess(rows []Row) (Level, []string) {
	level := Low
	var why []string
	for _, x := range r.Rules {
		for i := range rows {
			if !x.matches(&rows[i]) {
				continue
			}
			if x.Level > level {
				level, why = x.Level, nil
			}
			if x.Level == level && !slices.Contains(why, x.Why) && x.Why != "" {
				why = append(why, x.Why)
			}
		}
	}
	return level, why
}
