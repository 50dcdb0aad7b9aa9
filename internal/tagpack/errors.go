package tagpack

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Every error Parse and ParseActorPack return is an *Error
// (or an [ErrorList] of them) wrapping exactly one of these.
var (
	// ErrSyntax: the file is not well-formed YAML (or holds more than one
	// document).
	ErrSyntax = errors.New("YAML syntax error")
	// ErrSchema: the file breaks the pack schema: a mandatory field is
	// missing after inheritance, a field is not allowed where it stands, a
	// value has the wrong type or is empty, a key is repeated.
	ErrSchema = errors.New("schema violation")
	// ErrTaxonomy: a value that must come from a taxonomy does not: an
	// unknown concept (category, abuse, concepts, actor categories),
	// confidence, tag type or country.
	ErrTaxonomy = errors.New("not in taxonomy")
	// ErrAddress: the address of a Bitcoin tag does not decode for mainnet.
	// The error also wraps the address package's error (address.ErrChecksum,
	// address.ErrWrongNetwork, ...).
	ErrAddress = errors.New("bad address")
)

// MaxErrors is the most errors one Parse or ParseActorPack call reports; the
// rest of the file is still checked but further errors are dropped, and the
// list ends with a note saying how many.
const MaxErrors = 20

// Error locates one problem in a pack: the file, the 1-based line (0 when the
// problem has no line, e.g. an empty file), the field to blame (empty when
// none is), and the problem, which wraps one of the sentinels above.
type Error struct {
	Path  string
	Line  int
	Field string
	Err   error
}

// Error formats e as "path:line: field: problem", leaving out the line when
// it is 0 and the field when it is empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("unknown error")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorList is what Parse and ParseActorPack return when a pack has more
// than one problem: the problems in file order, at most [MaxErrors] of them.
// errors.Is and errors.As see every element.
type ErrorList struct {
	Errs    []*Error
	Dropped int // problems found beyond MaxErrors
}

// Error prints one problem per line.
func (l *ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l.Errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	if l.Dropped > 0 {
		b.WriteString("\n... and ")
		b.WriteString(strconv.Itoa(l.Dropped))
		b.WriteString(" more")
	}
	return b.String()
}

// Unwrap returns the elements, for errors.Is and errors.As.
func (l *ErrorList) Unwrap() []error {
	out := make([]error, len(l.Errs))
	for i, e := range l.Errs {
		out[i] = e
	}
	return out
}

// collector gathers the errors of one file.
type collector struct {
	path    string
	errs    []*Error
	dropped int
	// nAddr and nOther count all problems (dropped ones too): those that
	// wrap ErrAddress and the rest.
	nAddr, nOther int
	// jsonNodes is the work budget spent on contexts (see maxJSONNodes).
	jsonNodes int
}

func (c *collector) add(line int, field string, err error) {
	if errors.Is(err, ErrAddress) {
		c.nAddr++
	} else {
		c.nOther++
	}
	if len(c.errs) >= MaxErrors {
		c.dropped++
		return
	}
	c.errs = append(c.errs, &Error{Path: c.path, Line: line, Field: field, Err: err})
}

// err returns nil, the single *Error, or an *ErrorList, sorted by line so
// that header problems found late (inherited values) still come in file
// order.
func (c *collector) err() error {
	switch len(c.errs) {
	case 0:
		return nil
	case 1:
		if c.dropped == 0 {
			return c.errs[0]
		}
	}
	sortErrors(c.errs)
	return &ErrorList{Errs: c.errs, Dropped: c.dropped}
}

func sortErrors(errs []*Error) {
	// Insertion sort: lists are short and mostly sorted already; stable.
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Line < errs[j-1].Line; j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}
