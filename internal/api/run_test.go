package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/follow"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		listen string
		ok     bool
	}{
		{"127.0.0.1:8334", true}, {"[::1]:0", true}, {"localhost:80", true}, {"127.9.9.9:1", true},
		{"0.0.0.0:8334", false}, {":8334", false}, {"192.168.1.2:8334", false}, {"example.com:80", false}, {"nonsense", false},
	} {
		err := CheckListen(c.listen, nil)
		if (err == nil) != c.ok {
			t.Errorf("CheckListen(%q) = %v, want ok=%v", c.listen, err, c.ok)
		}
		if !c.ok && c.listen != "nonsense" && !errors.Is(err, ErrNotLoopback) {
			t.Errorf("CheckListen(%q) = %v, want ErrNotLoopback", c.listen, err)
		}
	}
}

// TestServeFollow runs the server on a real listener while new blocks are
// appended to its blocks directory and 8 goroutines query it: 0 errors,
// tips never go down, the server catches up to the last block, records
// itself in the store and removes the record on shutdown.
func TestServeFollow(t *testing.T) {
	w := newWorld(t, 60)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urlc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, w.pl, w.db, RunOptions{Listen: "127.0.0.1:0", Follow: &follow.Config{BlocksDir: w.blocksDir, Poll: 20 * time.Millisecond},
			Ready: func(u string) { urlc <- u }})
	}()
	var base string
	select {
	case base = <-urlc:
	case err := <-done:
		t.Fatal(err)
	}
	si, err := ReadServerInfo(w.db.Dir())
	if err != nil || si.URL != base || si.PID != os.Getpid() {
		t.Fatalf("SERVER file: %+v, %v; want %s", si, err, base)
	}
	start := w.db.Tip().Height
	final := start + int64(len(w.held))
	var errs, queries atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(-1)
			paths := []string{"/v1/status", "/v1/screen/" + w.addr, "/v1/addresses/" + w.addr, "/api/v1/address/" + w.sanctioned}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := paths[(g+i)%len(paths)]
				resp, err := http.Get(base + p)
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("%s: %d %s", p, resp.StatusCode, b)
					}
					if err == nil && p == "/v1/status" {
						var st struct{ Height int64 }
						if err = json.Unmarshal(b, &st); err == nil && st.Height < last {
							err = fmt.Errorf("tip went down from %d to %d", last, st.Height)
						}
						last = st.Height
					}
				}
				queries.Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.Do(func() { t.Error(err) })
				}
			}
		}()
	}
	for i := 0; i < len(w.held); i += 6 {
		simtest.AppendRecords(t, w.blocksDir, w.held[i:min(len(w.held), i+6)]...)
		time.Sleep(30 * time.Millisecond)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var h int64
		_ = w.pl.Read(func(db *index.DB) error { h = db.Tip().Height; return nil })
		if h == final {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %d, want %d", h, final)
		}
		time.Sleep(20 * time.Millisecond)
	}
	during := queries.Load()
	for queries.Load() < during+1000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // and some with the server idle
	}
	close(stop)
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(w.db.Dir(), ServerFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SERVER file left after shutdown: %v", err)
	}
	checkStore(t, w.db)
	t.Logf("%d blocks followed from %d to %d; %d queries by 8 clients (%d while following), %d errors", len(w.held), start, final, queries.Load(), during, errs.Load())
	if errs.Load() != 0 {
		t.Fatalf("%d of %d queries failed", errs.Load(), queries.Load())
	}
}
