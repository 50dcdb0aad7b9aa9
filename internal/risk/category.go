package risk

import (
	"fmt"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/tagpack"
)

// Category is an exposure category. The numeric values are stored on disk:
// never reorder.
type Category uint8

const (
	Sanction      Category = 1
	Ransomware    Category = 2
	Theft         Category = 3 // hacks, exploits, account takeovers
	Mixer         Category = 4
	DarknetMarket Category = 5
	Scam          Category = 6
	Gambling      Category = 7
	Exchange      Category = 8
	nCategories            = 9 // one past the last
)

var categoryNames = [nCategories]string{"", "sanction", "ransomware", "theft", "mixer", "darknet_market", "scam", "gambling", "exchange"}

func (c Category) String() string {
	if c < nCategories {
		return categoryNames[c]
	}
	return fmt.Sprintf("category(%d)", uint8(c))
}

// CategoryNames returns the categories' names in order.
func CategoryNames() []string { return append([]string(nil), categoryNames[1:]...) }

// ParseCategory returns the category named s.
func ParseCategory(s string) (Category, error) {
	for i, n := range categoryNames {
		if i > 0 && n == strings.ToLower(s) {
			return Category(i), nil
		}
	}
	return 0, fmt.Errorf("risk: unknown category %q (want one of %s)", s, strings.Join(categoryNames[1:], ", "))
}

// propagates reports whether exposure to c flows on beyond the first hop.
// Exchange exposure is counterparty information only: funds an exchange
// paid out are not "exposed to exchanges" two hops later.
func (c Category) propagates() bool { return c != Exchange }

// Concepts maps GraphSense concept ids (a label's category or abuse) to
// exposure categories. A label counts for every category its category and
// abuse map to.
var Concepts = map[string]Category{
	"sanction": Sanction,

	"ransomware": Ransomware,
	"extortion":  Ransomware,

	"service_hack": Theft,
	"hacking":      Theft,
	"account_hack": Theft,
	"exploit":      Theft,

	"mixing_service": Mixer,
	"coinjoin":       Mixer,
	"mixing":         Mixer,

	"market":   DarknetMarket,
	"dark_web": DarknetMarket,
	"drugs":    DarknetMarket,
	"weapons":  DarknetMarket,

	"scam":             Scam,
	"ponzi_scheme":     Scam,
	"pyramid_scheme":   Scam,
	"phishing":         Scam,
	"investment_fraud": Scam,
	"sextortion":       Scam,

	"gambling": Gambling,
	"exchange": Exchange,
}

// conceptCategory maps a concept id to an exposure category through the
// GraphSense concept taxonomy: the concept itself if Concepts names it,
// else its nearest broader concept that does (data_breach → hacking →
// theft, pyramid_scheme → ponzi_scheme → scam).
func conceptCategory(id string) (Category, bool) {
	tax := tagpack.DefaultTaxonomy()
	for depth := 0; id != "" && depth < 64; depth++ {
		if c, ok := Concepts[id]; ok {
			return c, true
		}
		cn, ok := tax.Concept(id)
		if !ok {
			return 0, false
		}
		id = cn.Broader
	}
	return 0, false
}

// categoriesOf returns the categories a label's concepts map to, as bits
// (1 << Category).
func categoriesOf(concepts ...string) uint16 {
	var bits uint16
	for _, c := range concepts {
		if cat, ok := conceptCategory(c); ok {
			bits |= 1 << cat
		}
	}
	return bits
}

// IncidentCategory returns the categories an incident's category (an
// exposure category name or a concept id) stands for, as bits, or an error
// naming the choices.
func IncidentCategory(s string) (uint16, error) {
	if c, err := ParseCategory(s); err == nil {
		return 1 << c, nil
	}
	if bits := categoriesOf(s); bits != 0 {
		return bits, nil
	}
	return 0, fmt.Errorf("incident category %q: want one of %s, or a concept of the GraphSense taxonomy that maps to one (service_hack, extortion, …)",
		s, strings.Join(categoryNames[1:], ", "))
}
