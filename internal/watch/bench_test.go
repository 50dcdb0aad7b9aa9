package watch

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
)

// synthetic builds a Set of n watched addresses in one list: half already
// on chain (ids spread over a mainnet-sized id space of 3·10⁹), half not
// yet seen (random key fingerprints). The watermark is above every id, so
// MatchTx measures the seen path, the one every input and output takes.
func synthetic(n int) (*Set, []uint64) {
	r := rand.New(rand.NewPCG(1, 2))
	s := &Set{Lists: []List{{ID: 1, Name: "deposits", Rules: []Rule{{Kind: Activity, Direction: Both, Level: alert.Medium}}}},
		watermark: 1 << 40, seen: make([]uint64, 0, n/2), unseen: make([]uint64, 0, n-n/2)}
	ids := make([]uint64, 0, n/2)
	for range n / 2 {
		id := r.Uint64N(3e9)
		ids = append(ids, id)
		s.seen = append(s.seen, id<<16)
	}
	for range n - n/2 {
		s.unseen = append(s.unseen, r.Uint64N(1<<48)<<16)
	}
	s.finish()
	return s, ids
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func rssBytes() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkMatch10M: memory of 10 million watched addresses (heap bytes
// per address, process RSS) and the cost of matching a transaction of 2
// inputs and 2 outputs against them, 1% of whose addresses are watched.
func BenchmarkMatch10M(b *testing.B) {
	const n = 10_000_000
	before := heap()
	s, ids := synthetic(n)
	after := heap()
	heapPer, setPer, rss := float64(after-before-uint64(8*cap(ids)))/n, float64(s.Bytes())/n, rssBytes()/(1<<20)
	r := rand.New(rand.NewPCG(3, 4))
	txs := make([]coinjoin.Tx, 1024)
	for i := range txs {
		addr := func() btc.AddrID {
			if r.IntN(100) == 0 {
				return btc.AddrID(ids[r.IntN(len(ids))])
			}
			return btc.AddrID(r.Uint64N(3e9))
		}
		txs[i] = coinjoin.Tx{Num: btc.TxNum(i),
			Ins:  []coinjoin.In{{Addr: addr(), Value: 5000, Resolved: true}, {Addr: addr(), Value: 7000, Resolved: true}},
			Outs: []coinjoin.Out{{Addr: addr(), Value: 9000}, {Addr: addr(), Value: 2000}}}
	}
	hits := make([]Hit, 0, 64)
	nhits := 0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var err error
		hits, err = s.MatchTx(&txs[i%len(txs)], hits[:0])
		if err != nil {
			b.Fatal(err)
		}
		nhits += len(hits)
		i++
	}
	if nhits == 0 && i > 1000 {
		b.Fatal("no hits: the benchmark does not reach the watched addresses")
	}
	// After the loop: b.Loop's first call resets the timer, which drops
	// metrics reported before it.
	b.ReportMetric(heapPer, "heap-B/addr")
	b.ReportMetric(setPer, "set-B/addr")
	b.ReportMetric(rss, "RSS-MiB")
	runtime.KeepAlive(s)
}

// TestSyntheticSetFinds checks the benchmark's set: every seen id is
// found, and a random id mostly is not.
func TestSyntheticSetFinds(t *testing.T) {
	s, ids := synthetic(20_000)
	for _, id := range ids[:1000] {
		tx := coinjoin.Tx{Outs: []coinjoin.Out{{Addr: btc.AddrID(id), Value: 1}}}
		hits, err := s.MatchTx(&tx, nil)
		if err != nil || len(hits) != 1 || hits[0].Addr != btc.AddrID(id) || hits[0].Dir != In {
			t.Fatalf("id %d: hits %+v, %v", id, hits, err)
		}
	}
	// An address paid twice in one transaction is one hit with the sum.
	tx := coinjoin.Tx{Outs: []coinjoin.Out{{Addr: btc.AddrID(ids[0]), Value: 3}, {Addr: btc.AddrID(ids[0]), Value: 4}},
		Ins: []coinjoin.In{{Addr: btc.AddrID(ids[0]), Value: 10}}}
	hits, _ := s.MatchTx(&tx, nil)
	if len(hits) != 2 || hits[0].Dir != Out || hits[0].Value != 10 || hits[1].Dir != In || hits[1].Value != 7 {
		t.Fatalf("hits %+v", hits)
	}
	if s.Bytes() != 8*20_000 {
		t.Fatalf("Set holds %d bytes for 20,000 addresses", s.Bytes())
	}
}
