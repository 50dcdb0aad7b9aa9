package ofac

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const maxFuzzInput = 1 << 20

// realSeed reads a real data file (gunzipping .gz), or returns nil when the
// data set is absent: fuzzing then starts from testdata and the tables.
func realSeed(name string) []byte {
	b, err := os.ReadFile(filepath.Join(sharedData, name))
	if err != nil {
		return nil
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil
		}
	}
	return b
}

// checkParse runs Parse on data and checks what every outcome must satisfy:
// a List or an error, never both (O1); a List that keeps the invariants
// (O2–O4); an *Error wrapping ErrFormat or ErrAddress (O5).
func checkParse(t *testing.T, data []byte, f Format) *List {
	l, err := Parse("fuzz", bytes.NewReader(data), f)
	if (l == nil) == (err == nil) {
		t.Fatalf("O1: Parse returned %v and %v", l, err)
	}
	checkKeepDamaged(t, data, f, l, err)
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) || pe.Path != "fuzz" || pe.Line < 0 {
			t.Fatalf("O5: %v (%T) is not an *Error for the input", err, err)
		}
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrAddress) {
			t.Fatalf("O5: %v wraps neither sentinel", err)
		}
		return nil
	}
	checkList(t, l)
	return l
}

// checkKeepDamaged: with KeepDamaged, a list Parse accepts comes out the
// same with nothing damaged; a list Parse refuses for a damaged string
// either comes out with at least one damaged string, each at a line and
// wrapping ErrAddress, or fails for a format problem.
func checkKeepDamaged(t *testing.T, data []byte, f Format, strict *List, strictErr error) {
	l, err := ParseWith("fuzz", bytes.NewReader(data), f, Options{KeepDamaged: true})
	switch {
	case strictErr == nil:
		if err != nil || len(l.Damaged) != 0 || !slices.Equal(pairs(l), pairs(strict)) {
			t.Fatalf("KeepDamaged on an accepted list: %v, %d damaged", err, len(l.Damaged))
		}
	case errors.Is(strictErr, ErrAddress) && err == nil:
		if len(l.Damaged) == 0 {
			t.Fatalf("KeepDamaged accepted a list Parse refused (%v) with nothing damaged", strictErr)
		}
		for _, d := range l.Damaged {
			if d.Line < 1 || !errors.Is(d.Reason, ErrAddress) {
				t.Fatalf("damaged entry %+v", d)
			}
		}
		checkList(t, l)
	case err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrAddress):
		t.Fatalf("KeepDamaged: %v wraps neither sentinel", err)
	}
}

// pairs returns the (address, entity) pairs of l, sorted.
func pairs(l *List) []string {
	var out []string
	for _, e := range l.Entries {
		out = append(out, e.Address+" "+strconv.Itoa(e.EntNum))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func FuzzSDNCSV(f *testing.F) {
	for _, name := range []string{"sdn_3rows.csv", "sdn_unbalanced_quote.csv", "sdn_empty.csv"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	if rows := realSeed("sdn_2024-05-03_xbt_rows.csv"); rows != nil {
		f.Add(rows)
		for _, line := range bytes.SplitAfter(rows, []byte("\r\n")) {
			if len(line) > 0 {
				f.Add(line) // every real XBT row alone, the cut ones included
			}
		}
	}
	if full := realSeed("sdn_2024-05-03.csv.gz"); full != nil {
		f.Add(full[:4096])
		f.Add(full[len(full)-4096:]) // the DOS end-of-file byte
	}
	xbt := "Digital Currency Address - XBT "
	f.Add([]byte(csvRow("1", "A", "P", remarksOf(RemarksLimit, "; alt. "+xbt+addrA[:30]))))
	f.Add([]byte(csvRow("1", "A", "P", xbt+addrTRON+"; "+xbt+strings.ToUpper(addrBech)+".")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		l := checkParse(t, data, SDNCSV)
		if l == nil {
			return
		}
		// Round trip: the entries written back as SDN.CSV rows, one
		// address each, read back as the same (address, entity) pairs.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.UseCRLF = true
		for _, e := range l.Entries {
			w.Write([]string{strconv.Itoa(e.EntNum), "n", "-0- ", "p", "-0- ", "-0- ", "-0- ", "-0- ", "-0- ", "-0- ", "-0- ", xbt + e.Address + "."})
		}
		w.Write([]string{"999999", "n", "-0- ", "p", "-0- ", "-0- ", "-0- ", "-0- ", "-0- ", "-0- ", "-0- ", "-0- "})
		w.Flush()
		l2, err := Parse("round trip", &buf, SDNCSV)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if !slices.Equal(pairs(l), pairs(l2)) || len(l2.Truncated)+len(l2.Rejected) != 0 {
			t.Fatalf("round trip: %v, then %v", pairs(l), pairs(l2))
		}
	})
}

func FuzzAddressList(f *testing.F) {
	if b, err := os.ReadFile("testdata/list_bad_checksum.txt"); err == nil {
		f.Add(b)
	}
	if b := realSeed("xbt_history/sanctioned_addresses_XBT_2023-10-04.txt"); b != nil {
		f.Add(b)
		f.Add(b[:512])
	}
	if b := realSeed("sanctioned_addresses_XBT.json"); b != nil {
		f.Add(b)
		f.Add(append(b[:400:400], []byte("\"\n]\n")...))
	}
	f.Add([]byte(addrA + "\r\n" + strings.ToUpper(addrBech) + "\r\n" + addrBech + "\r\n"))
	f.Add([]byte("[\"" + addrTRON + "\", \"" + addrTest + "\"]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		l := checkParse(t, data, AddressList)
		if l == nil {
			return
		}
		// Round trip through both plain formats.
		var txt bytes.Buffer
		for _, a := range l.Addresses() {
			txt.WriteString(a + "\n")
		}
		js, _ := json.Marshal(l.Addresses())
		for _, in := range [][]byte{txt.Bytes(), js} {
			if len(l.Entries) == 0 {
				break // only foreign lines: nothing to write back
			}
			l2, err := Parse("round trip", bytes.NewReader(in), AddressList)
			if err != nil {
				t.Fatalf("round trip of %q: %v", in, err)
			}
			if !slices.Equal(l.Addresses(), l2.Addresses()) {
				t.Fatalf("round trip: %q, then %q", l.Addresses(), l2.Addresses())
			}
		}
	})
}

func FuzzAdvancedXML(f *testing.F) {
	for _, name := range []string{"sdn_advanced_excerpt.xml", "sdn_advanced_broken.xml"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	head := `<Sanctions xmlns="http://www.un.org/sanctions/1.0"><DateOfIssue><Year>2024</Year><Month>5</Month><Day>3</Day></DateOfIssue>` +
		`<ReferenceValueSets><FeatureTypeValues><FeatureType ID="1">Digital Currency Address - XBT</FeatureType></FeatureTypeValues>` +
		`<SanctionsTypeValues><SanctionsType ID="2">Program</SanctionsType></SanctionsTypeValues></ReferenceValueSets>`
	f.Add([]byte(head + `<DistinctParties><DistinctParty FixedRef="7"><Profile ID="7"><Identity><Alias Primary="true"><DocumentedName>` +
		`<DocumentedNamePart><NamePartValue>X</NamePartValue></DocumentedNamePart></DocumentedName></Alias></Identity>` +
		`<Feature FeatureTypeID="1"><FeatureVersion><VersionDetail>` + addrA + `</VersionDetail><VersionDetail>` + addrTRON + `</VersionDetail></FeatureVersion></Feature>` +
		`</Profile></DistinctParty></DistinctParties><SanctionsEntries><SanctionsEntry ProfileID="7"><SanctionsMeasure SanctionsTypeID="2"><Comment>P</Comment></SanctionsMeasure></SanctionsEntry></SanctionsEntries></Sanctions>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		l := checkParse(t, data, SDNAdvancedXML)
		if l == nil {
			return
		}
		if len(l.Truncated) != 0 {
			t.Fatalf("XML has no truncation, got %+v", l.Truncated)
		}
		// Detect must agree with Parse on what a well-formed file is.
		if got, err := Detect("fuzz.xml", data[:min(len(data), headSize)]); err == nil && got != SDNAdvancedXML {
			t.Fatalf("Detect = %q for a file Parse reads as XML", got)
		}
	})
}
