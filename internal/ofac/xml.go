package ofac

import (
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The namespaces sdn_advanced.xml has been published under.
var advancedNamespaces = []string{
	"https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML",
	"http://www.un.org/sanctions/1.0",
}

const (
	maxXMLDepth = 64      // the schema nests about a dozen deep
	maxXMLText  = 4 << 10 // longest name part or address kept
)

// advancedParser is the state of one streaming pass over sdn_advanced.xml.
// What it keeps is bounded by the reference values it needs and the XBT
// entries it finds, not by the size of the file.
//
// The schema orders the root's children: DateOfIssue, ReferenceValueSets,
// Locations, IDRegDocuments, DistinctParties, ProfileRelationships,
// SanctionsEntries. The parser needs ReferenceValueSets before any party
// (to know the XBT FeatureType ID) and reads programs from SanctionsEntries
// for the profiles it has already seen with an XBT address.
type advancedParser struct {
	path  string
	d     *xml.Decoder
	c     *collector
	stack []string // local names from the root down

	date           [3]int // year, month, day of DateOfIssue
	dateSeen       bool
	refsSeen       bool
	xbtTypes       map[string]bool // FeatureType IDs for "Digital Currency Address - XBT"
	programTypes   map[string]bool // SanctionsType IDs for "Program"
	lastNameTypes  map[string]bool // NamePartType IDs for "Last Name"
	typeID         string          // ID of the reference value (or NamePartGroupID of the name part) being read
	text           strings.Builder // text of the element being collected
	collecting     bool
	textLine       int
	party          party
	xbtProfiles    map[int]bool     // entity numbers with an entry
	programs       map[int][]string // programs of those, from SanctionsEntries
	entryProfile   int              // ProfileID of the SanctionsEntry being read
	programMeasure bool             // inside a SanctionsMeasure of a program type
}

// party is what is kept of the DistinctParty being read.
type party struct {
	entNum       int
	nameDone     bool            // the primary alias's first DocumentedName was read
	inPrimary    bool            // inside <Alias Primary="true">
	inDocName    bool            // inside its first DocumentedName
	nameParts    []namePart      // NamePartValues of that DocumentedName
	lastGroups   map[string]bool // NamePartGroup IDs of last-name parts
	inXBTFeature bool
	values       []Entry // XBT VersionDetails, judged at the party's end
}

// namePart is one NamePartValue and the NamePartGroup it belongs to.
type namePart struct{ group, text string }

// fullName composes a party's name from its primary alias, as SDN.CSV
// writes it: "LAST, Other Parts" when a part is a last name (individuals),
// otherwise the parts joined by spaces (entities, vessels, aircraft). Parts
// keep document order.
func (pt *party) fullName() string {
	var last, rest []string
	for _, np := range pt.nameParts {
		if pt.lastGroups[np.group] {
			last = append(last, np.text)
		} else {
			rest = append(rest, np.text)
		}
	}
	switch {
	case len(last) == 0:
		return strings.Join(rest, " ")
	case len(rest) == 0:
		return strings.Join(last, " ")
	}
	return strings.Join(last, " ") + ", " + strings.Join(rest, " ")
}

// parseAdvancedXML reads sdn_advanced.xml as a stream of tokens.
func parseAdvancedXML(path string, r io.Reader, c *collector) (*List, error) {
	p := &advancedParser{
		path:          path,
		d:             xml.NewDecoder(errReader{r}),
		c:             c,
		xbtTypes:      map[string]bool{},
		programTypes:  map[string]bool{},
		lastNameTypes: map[string]bool{},
		xbtProfiles:   map[int]bool{},
		programs:      map[int][]string{},
	}
	if err := p.run(); err != nil {
		return nil, err
	}
	l := &p.c.l
	for i := range l.Entries {
		l.Entries[i].Program = strings.Join(p.programs[l.Entries[i].EntNum], "] [")
	}
	if p.dateSeen {
		l.Date = time.Date(p.date[0], time.Month(p.date[1]), p.date[2], 0, 0, 0, 0, time.UTC)
	}
	return l, nil
}

func (p *advancedParser) line() int {
	line, _ := p.d.InputPos()
	return line
}

func (p *advancedParser) fail(format string, args ...any) error {
	return errAt(p.path, p.line(), ErrFormat, format, args...)
}

func (p *advancedParser) run() error {
	rootDone := false
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			if !rootDone {
				return errAt(p.path, p.line(), ErrFormat, "no <Sanctions> document")
			}
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return errAt(p.path, se.Line, ErrFormat, "XML: %s", se.Msg)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return p.fail("XML: unexpected end of file")
			}
			var re readError
			if errors.As(err, &re) {
				return readErr(p.path, p.line(), re.err)
			}
			return p.fail("XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return p.fail("content after the <Sanctions> document")
			}
			if len(p.stack) == 0 {
				if t.Name.Local != "Sanctions" {
					return p.fail("root element <%s>, want <Sanctions>", t.Name.Local)
				}
				if !slices.Contains(advancedNamespaces, t.Name.Space) {
					return p.fail("namespace %q is not sdn_advanced.xml's", t.Name.Space)
				}
			}
			if len(p.stack) >= maxXMLDepth {
				return p.fail("elements nested deeper than %d", maxXMLDepth)
			}
			p.stack = append(p.stack, t.Name.Local)
			if err := p.start(t); err != nil {
				return err
			}
		case xml.EndElement:
			if err := p.end(t.Name.Local); err != nil {
				return err
			}
			p.stack = p.stack[:len(p.stack)-1]
			if len(p.stack) == 0 {
				rootDone = true
			}
		case xml.CharData:
			if p.collecting {
				if p.text.Len()+len(t) > maxXMLText {
					return p.fail("<%s> text longer than %d bytes", p.stack[len(p.stack)-1], maxXMLText)
				}
				p.text.Write(t)
			}
		}
	}
}

// under reports whether the element path ends with names (the last being
// the current element).
func (p *advancedParser) under(names ...string) bool {
	if len(p.stack) < len(names) {
		return false
	}
	return slices.Equal(p.stack[len(p.stack)-len(names):], names)
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (p *advancedParser) collect() {
	p.text.Reset()
	p.collecting = true
	p.textLine = p.line()
}

func (p *advancedParser) collected() string {
	p.collecting = false
	return strings.TrimSpace(p.text.String())
}

func (p *advancedParser) start(t xml.StartElement) error {
	depth := len(p.stack)
	switch name := t.Name.Local; {
	case depth == 2 && name == "DistinctParties" && !p.refsSeen:
		return p.fail("<DistinctParties> before <ReferenceValueSets>: the XBT feature type is not known yet")
	case depth == 2 && name == "ReferenceValueSets":
		p.refsSeen = true
	case depth == 3 && p.under("Sanctions", "DateOfIssue", name) && (name == "Year" || name == "Month" || name == "Day"):
		p.collect()
	case p.under("ReferenceValueSets", "FeatureTypeValues", "FeatureType"),
		p.under("ReferenceValueSets", "SanctionsTypeValues", "SanctionsType"),
		p.under("ReferenceValueSets", "NamePartTypeValues", "NamePartType"):
		p.typeID = attr(t, "ID")
		p.collect()
	case p.under("DistinctParties", "DistinctParty"):
		p.party = party{entNum: entNum(attr(t, "FixedRef"))}
	case p.under("DistinctParty", "Profile"):
		if n := entNum(attr(t, "ID")); n != 0 {
			p.party.entNum = n
		}
	case name == "Alias" && p.inParty():
		p.party.inPrimary = !p.party.nameDone && attr(t, "Primary") == "true"
	case name == "DocumentedName" && p.party.inPrimary && !p.party.nameDone:
		p.party.inDocName, p.party.nameParts = true, nil
	case name == "NamePartValue" && p.party.inDocName:
		p.typeID = attr(t, "NamePartGroupID")
		p.collect()
	case name == "NamePartGroup" && p.inParty() && p.lastNameTypes[attr(t, "NamePartTypeID")]:
		if p.party.lastGroups == nil {
			p.party.lastGroups = map[string]bool{}
		}
		p.party.lastGroups[attr(t, "ID")] = true
	case name == "Feature" && p.inParty():
		p.party.inXBTFeature = p.xbtTypes[attr(t, "FeatureTypeID")]
	case name == "VersionDetail" && p.party.inXBTFeature:
		p.collect()
	case p.under("SanctionsEntries", "SanctionsEntry"):
		p.entryProfile = entNum(attr(t, "ProfileID"))
	case p.under("SanctionsEntry", "SanctionsMeasure"):
		p.programMeasure = p.xbtProfiles[p.entryProfile] && p.programTypes[attr(t, "SanctionsTypeID")]
	case p.under("SanctionsMeasure", "Comment") && p.programMeasure:
		p.collect()
	}
	return nil
}

func (p *advancedParser) end(name string) error {
	switch {
	case len(p.stack) == 3 && p.under("Sanctions", "DateOfIssue", name) && (name == "Year" || name == "Month" || name == "Day"):
		n, err := strconv.Atoi(p.collected())
		if err != nil {
			return p.fail("DateOfIssue: %s is not a number", name)
		}
		switch name {
		case "Year":
			p.date[0] = n
		case "Month":
			p.date[1] = n
		default:
			p.date[2] = n
		}
	case len(p.stack) == 2 && name == "DateOfIssue":
		y, m, d := p.date[0], p.date[1], p.date[2]
		t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		if y < 1990 || y > 9999 || t.Year() != y || int(t.Month()) != m || t.Day() != d {
			return p.fail("DateOfIssue %04d-%02d-%02d is not a date", y, m, d)
		}
		p.dateSeen = true
	case p.under("ReferenceValueSets", "FeatureTypeValues", "FeatureType"):
		if p.collected() == xbtLabel {
			p.xbtTypes[p.typeID] = true
		}
	case p.under("ReferenceValueSets", "SanctionsTypeValues", "SanctionsType"):
		if p.collected() == "Program" {
			p.programTypes[p.typeID] = true
		}
	case p.under("ReferenceValueSets", "NamePartTypeValues", "NamePartType"):
		if p.collected() == "Last Name" {
			p.lastNameTypes[p.typeID] = true
		}
	case name == "NamePartValue" && p.party.inDocName:
		if v := p.collected(); v != "" {
			p.party.nameParts = append(p.party.nameParts, namePart{group: p.typeID, text: v})
		}
	case name == "DocumentedName" && p.party.inDocName:
		p.party.inDocName, p.party.nameDone = false, true
	case name == "Alias" && p.inParty():
		p.party.inPrimary = false
	case name == "VersionDetail" && p.party.inXBTFeature:
		p.party.values = append(p.party.values, Entry{Address: p.collected(), Line: p.textLine})
	case name == "Feature" && p.inParty():
		p.party.inXBTFeature = false
	case p.under("DistinctParties", "DistinctParty"):
		name := p.party.fullName()
		for _, e := range p.party.values {
			e.EntNum, e.Name = p.party.entNum, name
			v, err := p.c.judge(e)
			if err != nil {
				return err
			}
			if v == isEntry && e.EntNum != 0 {
				p.xbtProfiles[e.EntNum] = true
			}
		}
		p.party = party{}
	case p.under("SanctionsMeasure", "Comment") && p.programMeasure:
		if v := p.collected(); v != "" && !slices.Contains(p.programs[p.entryProfile], v) {
			p.programs[p.entryProfile] = append(p.programs[p.entryProfile], v)
		}
	case p.under("SanctionsEntry", "SanctionsMeasure"):
		p.programMeasure = false
	}
	return nil
}

// inParty reports whether the current element is inside a DistinctParty.
func (p *advancedParser) inParty() bool {
	return len(p.stack) > 3 && p.stack[1] == "DistinctParties" && p.stack[2] == "DistinctParty"
}

// entNum parses an ID attribute as an entity number, 0 if it is not one.
func entNum(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// readError marks an error from the underlying reader, so that it is not
// mistaken for malformed XML.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

// errReader wraps the reader errors of r (other than io.EOF) in readError.
type errReader struct{ r io.Reader }

func (e errReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF {
		err = readError{err}
	}
	return n, err
}
