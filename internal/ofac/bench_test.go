package ofac

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses the real SDN.CSV of 2024-05-03 (3.9 MB, 14,965
// lines, 204 XBT strings; decompressed once, outside the loop) and all 19
// snapshots of the XML-derived plain list (6,833 lines), from memory.
func BenchmarkParse(b *testing.B) {
	sdn := realSeed("sdn_2024-05-03.csv.gz")
	if sdn == nil {
		realPath(b, "sdn_2024-05-03.csv.gz") // skips with the usual message
	}
	files, _ := filepath.Glob(filepath.Join(sharedData, "xbt_history", "*.txt"))
	var history [][]byte
	historyBytes := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		history = append(history, data)
		historyBytes += len(data)
	}
	b.Run("file=sdn_csv", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(sdn)))
		for b.Loop() {
			l, err := Parse("sdn_2024-05-03.csv", bytes.NewReader(sdn), SDNCSV)
			if err != nil || len(l.Entries) != sdnCSVWant.entries {
				b.Fatal(err)
			}
		}
	})
	b.Run("file=history", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(historyBytes))
		for b.Loop() {
			for i, data := range history {
				if _, err := Parse(files[i], bytes.NewReader(data), AddressList); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("file=sdn_csv+history", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(sdn) + historyBytes))
		for b.Loop() {
			if _, err := Parse("sdn_2024-05-03.csv", bytes.NewReader(sdn), SDNCSV); err != nil {
				b.Fatal(err)
			}
			for i, data := range history {
				if _, err := Parse(files[i], bytes.NewReader(data), AddressList); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
