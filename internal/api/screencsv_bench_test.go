package api

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// BenchmarkScreenBatch: one POST /v1/screen of 1,000 on-chain addresses
// of the simulated chain, as a JSON array answered as JSON (the existing
// path, Screener.ScreenMany), as a CSV body, and as a CSV body answered as
// CSV (risk.ReadCSV, ScreenInput, CSVWriter). Reports addresses/s.
func BenchmarkScreenBatch(b *testing.B) {
	w := newWorld(b, 0)
	addrs := w.addresses(2000)
	addrs = addrs[:min(len(addrs), 1000)]
	js, _ := json.Marshal(addrs)
	csvBody := "address\n" + strings.Join(addrs, "\n") + "\n"
	for _, c := range []struct {
		name, body string
		hdr        []string
	}{
		{"in=json/out=json", string(js), []string{"Content-Type", "application/json"}},
		{"in=csv/out=json", csvBody, []string{"Content-Type", "text/csv"}},
		{"in=csv/out=csv", csvBody, []string{"Content-Type", "text/csv", "Accept", "text/csv"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("POST", "/v1/screen", strings.NewReader(c.body))
				for i := 0; i+1 < len(c.hdr); i += 2 {
					req.Header.Set(c.hdr[i], c.hdr[i+1])
				}
				rec := httptest.NewRecorder()
				w.srv.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%d %.300s", rec.Code, rec.Body.Bytes())
				}
			}
			b.ReportMetric(float64(len(addrs))*float64(b.N)/b.Elapsed().Seconds(), "addresses/s")
		})
	}
}

// BenchmarkTraceRoute: POST /v1/trace forward from one transaction of
// the simulated chain (default hops, the graph included).
func BenchmarkTraceRoute(b *testing.B) {
	w := newWorld(b, 0)
	body := `{"sources":["` + w.txid + `"]}`
	for b.Loop() {
		rec := httptest.NewRecorder()
		w.srv.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/trace", strings.NewReader(body)))
		if rec.Code != 200 {
			b.Fatalf("%d %.300s", rec.Code, rec.Body.Bytes())
		}
	}
}

// addresses returns the address strings of the world's first n address
// ids (fewer: those without a string are left out).
func (w *world) addresses(n int) []string {
	var out []string
	for id := range btc.AddrID(min(w.db.Tip().NextAddr, btc.AddrID(n))) {
		if s, _, err := w.db.AddrString(id); err == nil && s != "" {
			out = append(out, s)
		}
	}
	return out
}
