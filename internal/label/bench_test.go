package label

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkShowAddress: a label lookup on a store holding every real
// TagPack and OFAC snapshot (about 18,000 labels on 10,000 addresses) is
// a prefix read of one address key plus the source table.
func BenchmarkShowAddress(b *testing.B) {
	db := openTest(b)
	ctx := context.Background()
	packs, _ := filepath.Glob(filepath.Join(need(b, "graphsense-tagpacks/packs"), "*.yaml"))
	snaps, _ := filepath.Glob(filepath.Join(need(b, "ofac/xbt_history"), "*.txt"))
	for _, f := range append(packs, snaps...) {
		if _, err := ImportFile(ctx, db, f, ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	addrs := []string{"115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn", "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ShowAddress(ctx, db, addrs[i%len(addrs)], time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}
