package trace

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// BenchmarkTrace traces the theft forward under each policy: on the
// small simulated store, or on TRACE_EVAL_DB/TRACE_EVAL_TRUTH when set.
func BenchmarkTrace(b *testing.B) {
	var db *index.DB
	var tdir string
	if dir := os.Getenv("TRACE_EVAL_DB"); dir != "" {
		var err error
		db, err = index.Open(dir, &index.Options{Network: btc.Mainnet, ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		tdir = os.Getenv("TRACE_EVAL_TRUTH")
	} else {
		var out string
		db, out = simStore(b)
		tdir = filepath.Join(out, "truth")
	}
	truth, err := LoadTruth(tdir)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := label.Services(context.Background(), db, nil)
	if err != nil {
		b.Fatal(err)
	}
	var src []Taint
	for _, s := range truth.Cases[0].Sources {
		num, err := db.TxNum(s.TxID)
		if err != nil {
			b.Fatal(err)
		}
		src = append(src, Taint{Out: btc.MakeOutRef(num, s.Vout), Sats: btc.Amount(s.Tainted)})
	}
	for _, p := range []Policy{FIFO, Haircut, TIHO} {
		b.Run("policy="+p.String(), func(b *testing.B) {
			b.ReportAllocs()
			var r *Result
			for b.Loop() {
				r, err = Trace(context.Background(), db, src, Options{Policy: p, Stop: StopAt(svc)})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(r.TxsRead), "txs/op")
		})
	}
}
