package api

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// TestCachesFollowTheView: a reader that still holds the view from before
// an update (listing w.addr) builds a screener after the update's
// generation was counted and returns it to the pool; the next request reads the new view and must not be answered by
// that screener (it reads the old, now closed, view): the cache key is the
// view, not the generation alone.
func TestCachesFollowTheView(t *testing.T) {
	w := newWorld(t, 10)
	ctx := context.Background()
	before := screenAddr(t, w, w.addr)
	if before["status"] != "assessed" {
		t.Fatalf("screen before: %v", before)
	}
	list := filepath.Join(t.TempDir(), "more.txt")
	if err := os.WriteFile(list, []byte(w.addr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	entered, updated := make(chan struct{}), make(chan struct{})
	stale := make(chan *pooledScreener, 1)
	go func() {
		err := w.pl.Read(func(db *index.DB) error {
			close(entered)
			<-updated
			p, err := w.srv.screener(db)
			stale <- p
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-entered
	err := w.pl.Write(func(db *index.DB) error {
		_, err := label.ImportFile(ctx, db, list, label.ImportOptions{Format: "address_list", Date: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.pl.AttributionChanged(ctx, false); err != nil {
		t.Fatal(err)
	}
	close(updated)
	w.srv.putScreener(<-stale) // built on the old view after the new generation
	after := screenAddr(t, w, w.addr)
	if after["risk"] != "Severe" {
		t.Errorf("screen after listing it: risk %v (before: %v); a stale screener answered?", after["risk"], before["risk"])
	}
	t.Logf("before %v, after %v", before["risk"], after["risk"])
}

func screenAddr(t *testing.T, w *world, addr string) map[string]any {
	t.Helper()
	resp := w.do(t, "GET", "/v1/screen/"+addr, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("screen %s: %s", addr, resp.Status)
	}
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
