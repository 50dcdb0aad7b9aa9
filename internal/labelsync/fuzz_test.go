package labelsync

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
)

// FuzzApplyEdit: any log row decodes (DecodeEdit) and applies to a store
// without a panic; an edit that fails does so on its content (rejected:
// the log goes on) or is well formed.
func FuzzApplyEdit(f *testing.F) {
	for _, s := range []string{
		`{"kind":"add","add":{"address":"115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn","label":{"label":"x","category":"exchange","source":"s","confidence":70},"listed_from":"2024-01-01T00:00:00Z","listed_to":"0001-01-01T00:00:00Z"}}`,
		`{"kind":"add","add":{"address":"115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn","label":{"label":"","category":"nope","confidence":700}}}`,
		`{"kind":"import","import":{"name":"l.txt","options":{"Format":"address_list","Date":"2024-01-01T00:00:00Z"}}}`,
		`{"kind":"import"}`,
		`{"kind":"remove","remove":{"Import":1}}`,
		`{"kind":"remove","remove":{"Address":"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"}}`,
		`{"kind":"remove","remove":{}}`,
		`{"kind":"remove_source","source":"investigator"}`,
		`{"kind":"incident","incident":{"txid":"` + "0000000000000000000000000000000000000000000000000000000000000001" + `","vout":-1,"category":"theft","source":"s"}}`,
		`{"kind":"incident","incident":{"txid":"zz","vout":-7}}`,
		`{"kind":"what"}`, `not json`, ``,
	} {
		f.Add([]byte(s), []byte("115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n"))
	}
	db := indextest.Open(f, f.TempDir())
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, row, file []byte) {
		if len(row) > 4096 || len(file) > 4096 {
			return
		}
		e := DecodeEdit(row)
		if e.Import != nil {
			e.Import.Body = file
		}
		_, err := apply(ctx, db, &e)
		if err != nil && !rejected(err) {
			// On a sound store an edit may fail only on its content.
			t.Fatalf("edit %q: %v (not a content failure: the log would stall on it)", row, err)
		}
		if err == nil && e.Kind == "invalid" {
			t.Fatalf("an undecodable row applied: %q", row)
		}
		if _, err := json.Marshal(&e); err != nil {
			t.Fatalf("edit %q does not encode: %v", row, err)
		}
	})
}
