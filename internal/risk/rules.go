package risk

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
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

// Fired is a rule that set an answer's level: its level, why, the
// thresholds it applies (Rule.Threshold) and the exposure row it matched.
type Fired struct {
	Level     Level  `json:"level"`
	Why       string `json:"why"`
	Threshold string `json:"threshold"`
	Row       int    `json:"row"` // index in Report.Exposure
}

// Threshold describes what the rule requires of a row, e.g.
// "sanction, indirect, share ≥ 1%".
func (x *Rule) Threshold() string {
	var parts []string
	if len(x.Categories) > 0 {
		parts = append(parts, strings.Join(x.Categories, "/"))
	} else {
		parts = append(parts, "any category")
	}
	if x.Direction != "" {
		parts = append(parts, x.Direction)
	}
	if x.Kind != "" {
		parts = append(parts, x.Kind)
	}
	if x.MinShare > 0 {
		parts = append(parts, "share ≥ "+strconv.FormatFloat(100*x.MinShare, 'g', -1, 64)+"%")
	}
	if x.MinSats > 0 {
		parts = append(parts, "sats ≥ "+strconv.FormatUint(x.MinSats, 10))
	}
	if x.MaxHops > 0 {
		parts = append(parts, "hops ≤ "+strconv.Itoa(x.MaxHops))
	}
	if x.MinShare == 0 && x.MinSats == 0 && x.Direction != "self" {
		parts = append(parts, "any amount")
	}
	return strings.Join(parts, ", ")
}

// Assess returns the level of rows and the reasons of the rules that set it.
func (r *Rules) Assess(rows []Row) (Level, []string) {
	level, fired := r.assess(rows, nil)
	var why []string
	for _, f := range fired {
		if f.Why != "" && !slices.Contains(why, f.Why) {
			why = append(why, f.Why)
		}
	}
	return level, why
}

// assess returns the level of rows and, for each rule at that level, the
// first row it matched. thresholds, when set, are the rules' Threshold
// worked out beforehand. It allocates only when a rule matches.
func (r *Rules) assess(rows []Row, thresholds []string) (Level, []Fired) {
	level := Low
	var fired []Fired
	for i := range r.Rules {
		x := &r.Rules[i]
		if x.Level < level {
			continue
		}
		for j := range rows {
			if !x.matches(&rows[j]) {
				continue
			}
			if x.Level > level {
				level, fired = x.Level, fired[:0]
			}
			var th string
			if i < len(thresholds) {
				th = thresholds[i]
			} else {
				th = x.Threshold()
			}
			fired = append(fired, Fired{Level: x.Level, Why: x.Why, Threshold: th, Row: j})
			break
		}
	}
	return level, fired
}
