package tagpack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParseAll parses the 44 public packs, as an import of all of them
// would (files read beforehand).
func BenchmarkParseAll(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(realData(b), "packs", "*.yaml"))
	var data [][]byte
	size := 0
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d)
		size += len(d)
	}
	tax := DefaultTaxonomy()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	tags := 0
	for b.Loop() {
		tags = 0
		for i, d := range data {
			p, _ := Parse(files[i], bytes.NewReader(d), tax)
			if p == nil {
				b.Fatalf("%s does not parse", files[i])
			}
			tags += len(p.Tags)
		}
	}
	b.ReportMetric(float64(tags), "tags/op")
}

// BenchmarkParseActorPack parses the public ActorPack (1.5 MB).
func BenchmarkParseActorPack(b *testing.B) {
	path := filepath.Join(realData(b), "actors", "graphsense.actorpack.yaml")
	d, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	tax := DefaultTaxonomy()
	b.SetBytes(int64(len(d)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseActorPack(path, bytes.NewReader(d), tax); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrite writes the largest public pack (ransomwhere.yaml).
func BenchmarkWrite(b *testing.B) {
	p, err := parseFile(b, filepath.Join(realData(b), "packs", "ransomwhere.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
