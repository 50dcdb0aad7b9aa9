package watch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// Direction is which side of a transaction a watched item is on.
type Direction uint8

const (
	In   Direction = 1 // receives (an output pays it)
	Out  Direction = 2 // sends (an input spends from it)
	Both           = In | Out
)

func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	case Both:
		return "both"
	}
	return fmt.Sprintf("direction(%d)", d)
}

// ParseDirection parses "in", "out" or "both".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "in":
		return In, nil
	case "out":
		return Out, nil
	case "both", "":
		return Both, nil
	}
	return 0, fmt.Errorf("direction %q: want in, out or both", s)
}

// RuleKind is what a rule tests about a hit.
type RuleKind uint8

const (
	Activity   RuleKind = 1 // any payment to or from a watched item
	Value      RuleKind = 2 // the watched item's value in the tx ≥ MinValue
	Exposure   RuleKind = 3 // the tx's exposure to Category ≥ MinSharePPM (or ≥ MinValue sat)
	Sanctioned RuleKind = 4 // any sanctioned counterparty in the tx
)

// Rule fires an alert of Level for a hit in Direction that passes its test.
type Rule struct {
	Kind        RuleKind
	Direction   Direction
	Category    string // Exposure
	MinSharePPM uint32 // Exposure
	MinValue    uint64 // Value; Exposure (exposed value)
	Level       alert.Level
}

// String is the rule as ParseRule reads it (without direction and level).
func (r Rule) String() string {
	switch r.Kind {
	case Activity:
		return "any"
	case Value:
		return "value>=" + strconv.FormatUint(r.MinValue, 10)
	case Exposure:
		if r.MinSharePPM > 0 {
			return fmt.Sprintf("exposure:%s>=%s%%", r.Category, strconv.FormatFloat(float64(r.MinSharePPM)/1e4, 'f', -1, 64))
		}
		return fmt.Sprintf("exposure:%s>=%d", r.Category, r.MinValue)
	case Sanctioned:
		return "sanctioned"
	}
	return fmt.Sprintf("rule(%d)", r.Kind)
}

// ErrRule wraps every rule syntax error.
var ErrRule = errors.New("bad watch rule")

// ParseRule reads a rule: "any", "value>=SATS", "exposure:CATEGORY>=PCT%",
// "exposure:CATEGORY>=SATS" or "sanctioned".
func ParseRule(s string, dir Direction, level alert.Level) (Rule, error) {
	r := Rule{Direction: dir, Level: level}
	if dir < In || dir > Both {
		return r, fmt.Errorf("%w %q: direction %d", ErrRule, s, dir)
	}
	if level < alert.Low || level > alert.Critical {
		return r, fmt.Errorf("%w %q: level %d", ErrRule, s, level)
	}
	switch {
	case s == "any":
		r.Kind = Activity
	case s == "sanctioned":
		r.Kind = Sanctioned
	case strings.HasPrefix(s, "value>="):
		v, err := strconv.ParseUint(s[len("value>="):], 10, 64)
		if err != nil {
			return r, fmt.Errorf("%w %q: want value>=SATS (an integer number of satoshis)", ErrRule, s)
		}
		r.Kind, r.MinValue = Value, v
	case strings.HasPrefix(s, "exposure:"):
		cat, thr, ok := strings.Cut(s[len("exposure:"):], ">=")
		if !ok {
			return r, fmt.Errorf("%w %q: want exposure:CATEGORY>=PCT%% or exposure:CATEGORY>=SATS", ErrRule, s)
		}
		if _, err := risk.ParseCategory(cat); err != nil {
			return r, fmt.Errorf("%w %q: %w", ErrRule, s, err)
		}
		r.Kind, r.Category = Exposure, cat
		if pct, isPct := strings.CutSuffix(thr, "%"); isPct {
			f, err := strconv.ParseFloat(pct, 64)
			if err != nil || !(f > 0 && f <= 100) {
				return r, fmt.Errorf("%w %q: share %q is not a percentage in (0, 100]", ErrRule, s, thr)
			}
			r.MinSharePPM = uint32(f*1e4 + 0.5)
			if r.MinSharePPM == 0 {
				r.MinSharePPM = 1
			}
		} else {
			v, err := strconv.ParseUint(thr, 10, 64)
			if err != nil || v == 0 {
				return r, fmt.Errorf("%w %q: %q is neither PCT%% nor a positive number of satoshis", ErrRule, s, thr)
			}
			r.MinValue = v
		}
	default:
		return r, fmt.Errorf("%w %q: want any, value>=SATS, exposure:CATEGORY>=PCT%%, exposure:CATEGORY>=SATS or sanctioned", ErrRule, s)
	}
	return r, nil
}

// List is a named watchlist: its rules, and the entities and addresses
// (kept apart, see Store.AddAddresses) they apply to. A list without rules
// alerts on any activity (Activity, Both, medium).
type List struct {
	ID       uint32
	Name     string
	Rules    []Rule
	Entities []uint64
}

// EffectiveRules returns the list's rules, or the default one.
func (l *List) EffectiveRules() []Rule {
	if len(l.Rules) == 0 {
		return []Rule{{Kind: Activity, Direction: Both, Level: alert.Medium}}
	}
	return l.Rules
}

// ErrCorrupt wraps every decoding failure of a stored record.
var ErrCorrupt = errors.New("watch: corrupt record")

const (
	maxRules    = 256
	maxEntities = 1 << 16
)

func (l *List) encode(e *encoding.Encbuf) {
	e.PutByte(1)
	e.PutUvarintBytes([]byte(l.Name))
	e.PutUvarint(uint64(len(l.Rules)))
	for _, r := range l.Rules {
		e.PutByte(byte(r.Kind))
		e.PutByte(byte(r.Direction))
		e.PutByte(byte(r.Level))
		e.PutUvarintBytes([]byte(r.Category))
		e.PutUvarint(uint64(r.MinSharePPM))
		e.PutUvarint(r.MinValue)
	}
	e.PutUvarint(uint64(len(l.Entities)))
	for _, x := range l.Entities {
		e.PutUvarint(x)
	}
}

func (l *List) decode(v []byte) error {
	d := encoding.Decbuf{B: v}
	if ver := d.Byte(); d.E == nil && ver != 1 {
		return fmt.Errorf("%w: list record version %d", ErrCorrupt, ver)
	}
	l.Name = string(d.UvarintBytes())
	n := d.Uvarint()
	if d.E == nil && n > maxRules {
		return fmt.Errorf("%w: list %q: %d rules", ErrCorrupt, l.Name, n)
	}
	l.Rules = nil
	for i := uint64(0); i < n && d.E == nil; i++ {
		r := Rule{Kind: RuleKind(d.Byte()), Direction: Direction(d.Byte()), Level: alert.Level(d.Byte())}
		r.Category = string(d.UvarintBytes())
		ppm := d.Uvarint()
		r.MinValue = d.Uvarint()
		if d.E == nil && (r.Kind < Activity || r.Kind > Sanctioned || r.Direction < In || r.Direction > Both ||
			r.Level < alert.Low || r.Level > alert.Critical || ppm > 1_000_000) {
			return fmt.Errorf("%w: list %q rule %d: kind %d direction %d level %d share %d ppm", ErrCorrupt, l.Name, i, r.Kind, r.Direction, r.Level, ppm)
		}
		r.MinSharePPM = uint32(ppm)
		l.Rules = append(l.Rules, r)
	}
	n = d.Uvarint()
	if d.E == nil && n > maxEntities {
		return fmt.Errorf("%w: list %q: %d entities", ErrCorrupt, l.Name, n)
	}
	l.Entities = nil
	for i := uint64(0); i < n && d.E == nil; i++ {
		l.Entities = append(l.Entities, d.Uvarint())
	}
	if d.E == nil && d.Len() != 0 {
		return fmt.Errorf("%w: list %q: %d trailing bytes", ErrCorrupt, l.Name, d.Len())
	}
	if d.E != nil {
		return fmt.Errorf("%w: list: %w", ErrCorrupt, d.E)
	}
	return nil
}
