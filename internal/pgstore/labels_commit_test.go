package pgstore

import (
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/labelsync/labelsynctest"
	"github.com/sleuth-forensics/sleuth/internal/pgstore/pgtest"
)

// TestLabelWriteCommitLost: the connection to PostgreSQL is cut at the
// COMMIT of a label write's append, the COMMIT reaching PostgreSQL or
// not (pgtest.Proxy.CutOn). Either way the server cannot know, and its
// answer says so: a problem+json 503 of type outcome-unknown whose detail
// says the edit may or may not be stored and to read it back, never
// "nothing was stored", and no Retry-After (a blind retry could apply it
// twice). Reading back tells the two apart: the COMMIT that reached
// PostgreSQL is in the log and changes the server's screening answer;
// the other left nothing.
func TestLabelWriteCommitLost(t *testing.T) {
	d := freshSchema(t)
	px := pgtest.NewProxy(t, d)
	a := startLabelServer(t, "A", px.Via(t, d), simBlocks(t))
	log := open(t, d).LabelLog()
	t.Cleanup(log.Close)
	last := func() uint64 { t.Helper(); return labelsynctest.Last(t, log) }
	for _, c := range []struct {
		name    string
		forward bool // the COMMIT reaches PostgreSQL
	}{
		{"COMMIT reached PostgreSQL", true},
		{"COMMIT lost", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := labelsynctest.Addr(t, a.pl, 1)
			if !c.forward {
				x = labelsynctest.Addr(t, a.pl, 2)
			}
			before, n := a.screen(t, x), last()
			px.CutOn("commit\x00", c.forward)
			resp, v := a.do(t, "POST", "/v1/labels", "", sanctionBody(x))
			detail, _ := v["detail"].(string)
			typ, _ := v["type"].(string)
			if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.HasSuffix(typ, "/outcome-unknown") {
				t.Fatalf("label write whose COMMIT lost its answer: %d %q %v, want a problem+json 503 of type outcome-unknown",
					resp.StatusCode, resp.Header.Get("Content-Type"), v)
			}
			if !strings.Contains(detail, "may or may not") || !strings.Contains(detail, "read it back") || strings.Contains(detail, "nothing was stored") {
				t.Errorf("503 detail %q: want it to say the outcome is unknown and how to check, not that nothing was stored", detail)
			}
			if ra := resp.Header.Get("Retry-After"); ra != "" {
				t.Errorf("Retry-After %q on a write that may have been stored", ra)
			}
			t.Logf("the answer: %s", detail)
			if c.forward {
				// The proxy closes the client's side before it forwards the
				// COMMIT, so the answer can come back before PostgreSQL has
				// acted on it: wait for the entry, not a fixed time.
				got := last()
				for deadline := time.Now().Add(10 * time.Second); got == n && time.Now().Before(deadline); got = last() {
					time.Sleep(20 * time.Millisecond)
				}
				if got != n+1 {
					t.Fatalf("the log holds %d entries, want %d: the COMMIT reached PostgreSQL", got, n+1)
				}
				a.await(t, x, 5*time.Second, func(s string) bool { return s != before }, "the label whose COMMIT lost its answer")
				return
			}
			if got := last(); got != n {
				t.Fatalf("the log holds %d entries, want %d: the COMMIT never reached PostgreSQL", got, n)
			}
			time.Sleep(time.Second) // two polls of the applier
			if got := a.screen(t, x); got != before {
				t.Errorf("screening %s answers %q, %q before: nothing was stored", x, got, before)
			}
		})
	}
}
