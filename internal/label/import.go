package label

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/ofac"
	"github.com/sleuth-forensics/sleuth/internal/tagpack"
)

// ImportOptions tune ImportFile.
type ImportOptions struct {
	// Format forces a format: tagpack, actorpack, sdn_csv, address_list,
	// sdn_advanced_xml. Empty: detected from the content.
	Format string
	// Date is a sanctions list's publication date when the file does not
	// state it (a plain list without a date in its name).
	Date time.Time
	// Strict refuses a file with any invalid entry. Without it, as the
	// tagpack tool does, a file whose structure is sound is imported
	// without its invalid entries, each reported at path:line in
	// FileResult.Rejected: a TagPack tag whose Bitcoin address does not
	// decode (a bad checksum, another chain's address), an OFAC entry that
	// is another chain's address or cut off. A structurally broken file
	// (bad YAML, schema or taxonomy violations, a malformed list) is
	// refused whole either way.
	Strict bool
}

// FileResult says what importing one file did.
type FileResult struct {
	Result
	Format string `json:"format"`
	// Rejected lists entries of an authority's list that cannot be
	// imported (a cut-off address in SDN.CSV, an address of another
	// chain), each as path:line: reason. The rest of the list is imported:
	// the publication is what it is.
	Rejected []string `json:"rejected,omitempty"`
	Skipped  int      `json:"skipped_other_chains,omitempty"` // TagPack tags of other currencies
	Actors   int      `json:"actors,omitempty"`
}

// OFACSource is the source name every OFAC publication is imported into.
const OFACSource = "OFAC SDN (XBT)"

// readFile returns the file's bytes, gunzipped when it is gzip.
func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
	}
	return b, nil
}

// detect names the file's format from its content.
func detect(path string, b []byte) (string, error) {
	ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(path, ".gz")))
	if ext == ".yaml" || ext == ".yml" {
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "actors:") {
				return "actorpack", nil
			}
		}
		return "tagpack", nil
	}
	f, err := ofac.Detect(path, b)
	return string(f), err
}

// ImportFile imports one TagPack, ActorPack or OFAC publication, whole or
// not at all.
func ImportFile(ctx context.Context, db *index.DB, path string, opts ImportOptions) (*FileResult, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ImportBytes(ctx, db, path, b, opts)
}

// ImportBytes imports the content b of one TagPack, ActorPack or OFAC
// publication (not gzipped), whole or not at all, as ImportFile does; path
// names it in errors, in the source of a TagPack without a title, and for
// format detection (a .yaml or .yml name is a TagPack or ActorPack).
func ImportBytes(ctx context.Context, db *index.DB, path string, b []byte, opts ImportOptions) (*FileResult, error) {
	if err := guard(ctx, db); err != nil {
		return nil, err
	}
	res, batch, ap, err := parseImport(path, b, opts)
	if err != nil {
		return nil, &InputError{err}
	}
	if ap != nil {
		n, err := storeActors(ctx, db, ap)
		if err != nil {
			return nil, err
		}
		res.Actors = n
		return res, nil
	}
	r, err := Apply(ctx, db, batch)
	if err != nil {
		return nil, err
	}
	res.Result = r
	return res, nil
}

// CheckImport parses what ImportBytes would import, without a store, and
// fails as ImportBytes would on the content (an *InputError), or when a
// list's publication date is unknown.
func CheckImport(path string, b []byte, opts ImportOptions) error {
	_, batch, _, err := parseImport(path, b, opts)
	if err != nil {
		return &InputError{err}
	}
	if batch != nil && batch.Kind == "ofac" && batch.Date.IsZero() {
		return errNoDate(path)
	}
	return nil
}

// errNoDate refuses a list publication without a date.
func errNoDate(file string) error {
	return &InputError{fmt.Errorf("%s: the list's publication date is unknown: give it with --date YYYY-MM-DD", file)}
}

// InputError is an import's content error: the file is not a well-formed
// TagPack, ActorPack or OFAC publication (or the strict mode refuses it).
// Its message is the parser's, naming the file and line.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// parseImport reads an import's content into the batch to apply (or, for
// an ActorPack, the actors to store), without the store.
func parseImport(path string, b []byte, opts ImportOptions) (*FileResult, *Batch, *tagpack.ActorPack, error) {
	var err error
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	format := opts.Format
	if format == "" {
		if format, err = detect(path, b); err != nil {
			return nil, nil, nil, err
		}
	}
	res := &FileResult{Format: format}
	var batch *Batch
	switch format {
	case "tagpack":
		p, err := tagpack.Parse(path, bytes.NewReader(b), tagpack.DefaultTaxonomy())
		if err != nil {
			// A pack whose only problems are undecodable addresses comes
			// back with those tags dropped: imported unless strict.
			if p == nil || opts.Strict {
				return nil, nil, nil, err
			}
			res.Rejected = append(res.Rejected, strings.Split(err.Error(), "\n")...)
		}
		batch = &Batch{Kind: "tagpack", Source: packSource(path, p.Title), File: path, Digest: digest}
		for i := range p.Tags {
			t := &p.Tags[i]
			lastmod := t.LastMod
			if lastmod.IsZero() {
				lastmod = p.LastMod
			}
			category, abuse, definer := t.Category, t.Abuse, t.IsClusterDefiner
			if SanctionsSource(t.Source) {
				// A sanctions authority's list is one whatever category
				// the pack declares (GraphSense's ofac.yaml says "user").
				category, abuse, definer = sanctionConcepts(category, abuse)
			}
			if t.Network == "BTC" && t.TxHash != "" {
				cat := abuse
				if cat == "" {
					cat = category
				}
				batch.Incidents = append(batch.Incidents, Incident{TxID: t.TxHash, Vout: AllOutputs, Category: cat,
					Name: t.Label, Source: t.Source, Added: lastmod})
				continue
			}
			if t.Network != "BTC" || t.Address == "" {
				res.Skipped++
				continue
			}
			k, err := address.Decode(t.Address, btc.Mainnet)
			if err != nil { // tagpack validated it; a mismatch is a bug, not bad input
				return nil, nil, nil, fmt.Errorf("%s:%d: %w", path, t.Line, err)
			}
			batch.Labels = append(batch.Labels, Label{Address: k, Label: t.Label, Category: category, Abuse: abuse,
				Actor: t.Actor, Source: t.Source, Confidence: t.ConfidenceLevel, ConfidenceID: t.Confidence,
				Context: t.Context, ClusterDefiner: definer, ListedFrom: lastmod})
		}
	case "actorpack":
		ap, err := tagpack.ParseActorPack(path, bytes.NewReader(b), tagpack.DefaultTaxonomy())
		if err != nil {
			return nil, nil, nil, err
		}
		res.Source, res.File, res.Kind = "actors", path, "actorpack"
		return res, nil, ap, nil
	default:
		list, err := ofac.ParseWith(path, bytes.NewReader(b), ofac.Format(format), ofac.Options{KeepDamaged: !opts.Strict})
		if err != nil {
			return nil, nil, nil, err
		}
		date := list.Date
		if !opts.Date.IsZero() {
			date = opts.Date
		}
		if date.IsZero() { // (Apply refuses it too; here it is the file's fault)
			return nil, nil, nil, fmt.Errorf("%s: the list's publication date is unknown: give it with --date YYYY-MM-DD", path)
		}
		// A publication missing a damaged entry is partial: its absence
		// from it must not end the listing of the address it stood for.
		batch = &Batch{Kind: "ofac", Source: OFACSource, File: path, Digest: digest, Date: date,
			Complete: list.Format != ofac.SDNCSV && len(list.Damaged) == 0}
		for _, d := range list.Damaged {
			res.Rejected = append(res.Rejected, fmt.Sprintf("%s:%d: %q: %v: not imported (the publication counts as partial)", path, d.Line, d.Value, d.Reason))
		}
		if opts.Strict && len(list.Truncated)+len(list.Rejected) > 0 {
			return nil, nil, nil, fmt.Errorf("%s: %d entries are not Bitcoin addresses (cut off or another chain's) and --strict refuses the file; without it they are reported and the rest imported", path, len(list.Truncated)+len(list.Rejected))
		}
		for _, tr := range list.Truncated {
			res.Rejected = append(res.Rejected, fmt.Sprintf("%s:%d: cut-off address %q (SDN entry %d %s): not imported", path, tr.Line, tr.Fragment, tr.EntNum, tr.Name))
		}
		for _, rj := range list.Rejected {
			res.Rejected = append(res.Rejected, fmt.Sprintf("%s:%d: %q: %s: not imported", path, rj.Line, rj.Value, rj.Reason))
		}
		for _, e := range list.Entries {
			k, err := address.Decode(e.Address, btc.Mainnet)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s:%d: %w", path, e.Line, err)
			}
			name := "OFAC SDN list"
			if e.Name != "" {
				name = "OFAC SDN: " + e.Name
			}
			ctxt := ""
			if e.Program != "" {
				ctxt = "program " + e.Program
			}
			batch.Labels = append(batch.Labels, Label{Address: k, Label: name, Category: "sanction", Abuse: "sanction",
				Source: "https://sanctionssearch.ofac.treas.gov", Confidence: 60, ConfidenceID: "authority_data",
				Context: ctxt, ClusterDefiner: true})
		}
	}
	return res, batch, nil, nil
}

// sanctionsHosts are where sanctions authorities publish their lists.
var sanctionsHosts = []string{"treasury.gov/ofac", "ofac.treasury.gov", "ofac.treas.gov", "home.treasury.gov/policy-issues/financial-sanctions"}

// SanctionsSource reports whether a tag's source is a sanctions authority's
// list (OFAC's SDN list and its search, on any of its hosts).
func SanctionsSource(source string) bool {
	s := strings.ToLower(source)
	for _, h := range sanctionsHosts {
		if strings.Contains(s, h) {
			return true
		}
	}
	return false
}

// sanctionConcepts returns the concepts of a tag from a sanctions list: the
// abuse becomes "sanction" (when the tag gives another abuse, the category
// does instead), and a listing defines the entity, as an OFAC list import's
// does.
func sanctionConcepts(category, abuse string) (string, string, bool) {
	switch {
	case abuse == "" || abuse == "sanction":
		return category, "sanction", true
	default:
		return "sanction", abuse, true
	}
}

// packSource names a pack's source: its title and file name (titles repeat
// across packs).
func packSource(path, title string) string {
	base := filepath.Base(path)
	if title == "" {
		return base
	}
	return title + " (" + base + ")"
}

// Export writes the investigator's own labels as a TagPack.
func Export(ctx context.Context, db *index.DB, w io.Writer) error {
	own, err := Own(ctx, db)
	if err != nil {
		return err
	}
	p := &tagpack.Pack{Title: "sleuth investigator labels", Creator: "sleuth",
		Description: "Labels added with sleuth label add", LastMod: time.Now().UTC().Truncate(24 * time.Hour)}
	for i := range own {
		l := &own[i]
		s, ok := address.Encode(l.Address, db.Network())
		if !ok {
			continue
		}
		conf := l.ConfidenceID
		if conf == "" {
			conf = confidenceID(l.Confidence)
		}
		p.Tags = append(p.Tags, tagpack.Tag{Address: s, Currency: "BTC", Label: l.Label, Source: l.Source,
			Category: l.Category, Abuse: l.Abuse, Actor: l.Actor, Confidence: conf, Context: l.Context,
			IsClusterDefiner: l.Scope == OnEntity || l.ClusterDefiner, LastMod: l.ListedFrom})
	}
	return tagpack.Write(w, p)
}

// confidenceID maps a 0..100 confidence to the GraphSense confidence
// taxonomy entry with the nearest level not above it.
func confidenceID(level int) string {
	switch {
	case level >= 100:
		return "ownership"
	case level >= 90:
		return "manual_transaction"
	case level >= 70:
		return "forensic_investigation"
	case level >= 60:
		return "authority_data"
	case level >= 50:
		return "forensic"
	case level >= 40:
		return "untrusted_transaction"
	case level >= 20:
		return "web_crawl"
	case level >= 10:
		return "heuristic"
	}
	return "unknown"
}

// ActorView is an actor as an ActorPack describes it.
type ActorView struct {
	ID            string   `json:"id"`
	Label         string   `json:"label"`
	Categories    []string `json:"categories"`
	Jurisdictions []string `json:"jurisdictions"`
	URIs          []string `json:"uris"`
}

// actor record: <uvarint-bytes label> then three lists, each <uvarint n> n × <uvarint-bytes>
func encodeActor(a *tagpack.Actor) []byte {
	var e encoding.Encbuf
	e.PutUvarintBytes([]byte(a.Label))
	for _, list := range [][]string{a.Categories, a.Jurisdictions, a.URIs} {
		e.PutUvarint(uint64(len(list)))
		for _, x := range list {
			e.PutUvarintBytes([]byte(x))
		}
	}
	return e.Get()
}

// storeActors writes an ActorPack's actors (and their aliases, to the same
// record) in one batch.
func storeActors(ctx context.Context, db *index.DB, ap *tagpack.ActorPack) (int, error) {
	wb := db.NewStageBatch()
	defer wb.Close()
	for i := range ap.Actors {
		a := &ap.Actors[i]
		rec := encodeActor(a)
		wb.Set(append([]byte{pActor}, a.ID...), rec)
		for _, alias := range a.Aliases {
			if alias != a.ID {
				wb.Set(append([]byte{pActor}, alias...), rec)
			}
		}
	}
	if err := commitEdit(ctx, db, wb); err != nil {
		return 0, fmt.Errorf("label: actors of %s: %w", ap.Path, err)
	}
	return len(ap.Actors), nil
}

// Actor returns the stored actor id (or alias), or nil.
func Actor(db *index.DB, id string) (*ActorView, error) {
	v, err := db.StageGet(append([]byte{pActor}, id...))
	if err != nil || v == nil {
		return nil, err
	}
	d := encoding.Decbuf{B: v}
	a := &ActorView{ID: id, Label: string(d.UvarintBytes())}
	for _, list := range []*[]string{&a.Categories, &a.Jurisdictions, &a.URIs} {
		n := d.Uvarint()
		if n > uint64(d.Len()) {
			return nil, corrupt("actor", fmt.Errorf("%d entries in %d bytes", n, d.Len()))
		}
		for i := uint64(0); i < n; i++ {
			*list = append(*list, string(d.UvarintBytes()))
		}
	}
	if d.Err() != nil {
		return nil, corrupt("actor", d.Err())
	}
	return a, nil
}
