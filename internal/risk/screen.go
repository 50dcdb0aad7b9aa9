package risk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/invariants"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// ScreenStatus says whether an answer assessed its query.
type ScreenStatus string

const (
	// Assessed: the query was screened; Report.Risk holds its level.
	Assessed ScreenStatus = "assessed"
	// NotSeen: a valid address, txid or entity id the indexed chain (as of
	// the answer) does not hold; Report.Reason gives the tip it was
	// checked against. No level: the index cannot speak for it.
	NotSeen ScreenStatus = "not_seen"
	// Invalid: the query cannot be an address, txid or entity id of the
	// store's network; Report.Reason says why.
	Invalid ScreenStatus = "invalid"
)

// Row bases (Row.Basis).
const (
	BasisOwnLabel     = "own_label"
	BasisEntity       = "entity"
	BasisTransactions = "transactions"
	BasisCounterparty = "counterparty"
)

// MethodStored is Report.Method for answers read from the exposure
// Update precomputed.
const MethodStored = "precomputed exposure (sleuth risk update)"

// EntityPath explains a label reaching an address through its entity: the
// entity's id and size, the labelled member, and the merges (transaction,
// heuristic, evidence) that joined the screened address to that member.
type EntityPath struct {
	ID     uint64         `json:"id"`
	Size   uint64         `json:"size"`
	Member string         `json:"member"`
	Merges []cluster.Step `json:"merges,omitempty"`
	// Note says why Merges is missing: found only for the rows that set
	// the level (sleuth entity --explain finds any).
	Note string `json:"note,omitempty"`

	from, member btc.AddrID // the screened address and the member, for the merge search
}

// invalidAddress reports whether err (from decoding addr) says that addr
// cannot be an address of the store's network, and why.
func invalidAddress(addr string, err error) (string, bool) {
	if addr == "" {
		return "empty address", true
	}
	if err == nil {
		return "", false
	}
	for _, bad := range []error{address.ErrChecksum, address.ErrWrongNetwork, address.ErrLength, address.ErrFormat} {
		if errors.Is(err, bad) {
			return err.Error(), true
		}
	}
	return "", false
}

// checked panics, under the invariants build tag, when r breaks R3.
func checked(r *Report, err error) (*Report, error) {
	if !invariants.Enabled || err != nil {
		return r, err
	}
	ok := r.Status == Assessed && r.RiskJSON != nil && *r.RiskJSON == r.Risk ||
		(r.Status == NotSeen || r.Status == Invalid) && r.RiskJSON == nil && r.Reason != ""
	for _, f := range r.Fired {
		ok = ok && f.Row >= 0 && f.Row < len(r.Exposure)
	}
	if !ok {
		panic(fmt.Sprintf("risk: report breaks R3: status %q, risk %v, reason %q, %d rows, fired %+v", r.Status, r.RiskJSON, r.Reason, len(r.Exposure), r.Fired))
	}
	return r, nil
}

// Query screens q: a txid (64 hexadecimal characters), an entity id (a
// decimal number, when entities), else an address. Malformed input is an
// Invalid report, not an error.
func (s *Screener) Query(ctx context.Context, q string, entities bool) (*Report, error) {
	return checked(s.query(ctx, q, entities))
}

func (s *Screener) query(ctx context.Context, q string, entities bool) (*Report, error) {
	if entities && q != "" && strings.Trim(q, "0123456789") == "" {
		id, err := strconv.ParseUint(q, 10, 64)
		if err != nil {
			return &Report{Query: q, Reasons: []string{}, Exposure: []Row{}, Status: Invalid,
				Reason: "entity id " + q + " out of range"}, nil
		}
		return s.Entity(ctx, id)
	}
	if len(q) == 64 {
		h, err := btc.ParseHash(q)
		if err != nil {
			return &Report{Query: q, Reasons: []string{}, Exposure: []Row{}, Status: Invalid, Reason: "txid: " + err.Error()}, nil
		}
		return s.Tx(ctx, h)
	}
	return s.Screen(ctx, q)
}

// Basis is what an answer stands on: the chain the index holds, how far
// exposure was computed, each label source with its latest publication,
// and the as-of date when one was asked.
type Basis struct {
	TipHeight      int64       `json:"tip_height"`
	TipHash        string      `json:"tip_hash"`
	TipTime        string      `json:"tip_time"`
	ExposureHeight int64       `json:"exposure_height"` // Update's last block (below the tip: run sleuth risk update)
	MaxHops        int         `json:"max_hops"`
	Lists          []ListBasis `json:"lists"`
	// AsOf (YYYY-MM-DD) and the last block on or before it: the answer
	// counts lists as of that date and transactions up to its end.
	AsOf       string `json:"as_of,omitempty"`
	AsOfHeight *int64 `json:"as_of_height,omitempty"`
	// Date is the one date that sums the basis up (the CSV's basis_date):
	// the as-of date, else the latest publication or import of any list.
	Date string `json:"date"`
}

// ListBasis is one label source in a Basis.
type ListBasis struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // tagpack, ofac, own
	// Published is the latest dated publication of a list (on or before
	// the as-of date); nil for sources without dated publications
	// (TagPacks, own labels), whose Imported date is then their date.
	Published *string `json:"published"`
	Imported  string  `json:"imported"`
	Labels    int     `json:"labels"`
}

// Basis returns what the Screener's answers stand on.
func (s *Screener) Basis(ctx context.Context) (*Basis, error) {
	return basis(ctx, s.db, s.tip, s.tipTime, s.asOf)
}

// ReadBasis returns what the answers of a Screener made now (without an
// as-of date) stand on: the Basis a server states with its status, so a
// client prints the same header. ErrNotComputed when no exposure is
// stored.
func ReadBasis(ctx context.Context, db *index.DB) (*Basis, error) {
	tip := db.Tip()
	at, err := tipTime(db, tip)
	if err != nil {
		return nil, err
	}
	return basis(ctx, db, tip, at, nil)
}

func basis(ctx context.Context, db *index.DB, tip index.Tip, tipTime time.Time, asOf *asOf) (*Basis, error) {
	st, err := ReadStatus(db)
	if err != nil {
		return nil, err
	}
	srcs, err := label.Sources(ctx, db)
	if err != nil {
		return nil, err
	}
	b := &Basis{TipHeight: tip.Height, TipHash: tip.Hash.String(), TipTime: tipTime.Format(time.RFC3339),
		ExposureHeight: st.Height, MaxHops: st.MaxHops, Lists: []ListBasis{}}
	cut := ""
	if asOf != nil {
		b.AsOf, cut = asOf.date.Format(time.DateOnly), asOf.date.Format(time.DateOnly)
		h := asOf.height
		b.AsOfHeight = &h
		b.Date = b.AsOf
	}
	for _, src := range srcs {
		lb := ListBasis{Name: src.Name, Kind: src.Kind, Imported: src.Imported.UTC().Format(time.DateOnly), Labels: src.Labels}
		for _, p := range src.Publications { // oldest first
			if cut == "" || p <= cut {
				lb.Published = &p
			}
		}
		d := lb.Imported
		if lb.Published != nil {
			d = *lb.Published
		}
		if cut == "" && d > b.Date {
			b.Date = d
		}
		b.Lists = append(b.Lists, lb)
	}
	return b, nil
}

// ParseAsOf reads an --as-of date (YYYY-MM-DD).
func ParseAsOf(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("as-of date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// String formats a Basis as the header line of human output.
func (b *Basis) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "basis: chain tip %d (%s, %s), exposure to height %d", b.TipHeight, b.TipHash, b.TipTime, b.ExposureHeight)
	if b.AsOf != "" {
		fmt.Fprintf(&sb, "; as of %s (height %d)", b.AsOf, *b.AsOfHeight)
	}
	sb.WriteString("; lists:")
	if len(b.Lists) == 0 {
		sb.WriteString(" none imported")
	}
	for i, l := range b.Lists {
		if i > 0 {
			sb.WriteByte(',')
		}
		if l.Published != nil {
			fmt.Fprintf(&sb, " %s published %s", l.Name, *l.Published)
		} else {
			fmt.Fprintf(&sb, " %s imported %s", l.Name, l.Imported)
		}
	}
	return sb.String()
}
