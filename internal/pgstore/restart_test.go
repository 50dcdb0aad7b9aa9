package pgstore

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/labelsync/labelsynctest"
	"github.com/sleuth-forensics/sleuth/internal/pgstore/pgtest"
)

// TestPostgresRestartMidRun restarts the very PostgreSQL a server runs on
// (scripts/postgres.sh restart: stopped by its PID, down two seconds,
// started again on the same data and port) while the server takes label
// writes and case notes and screens addresses, without a pause. Every
// write answers 200 or a problem+json 503 with Retry-After (never a 500),
// or, a label whose COMMIT lost its answer as PostgreSQL stopped, the
// outcome-unknown 503 without Retry-After (a CI run met one);
// each one sent while the server was down answers 503; screening answers
// 200 throughout, from the local index; every write acknowledged, before
// or after the restart, is stored afterwards; and writes land again at
// once after the restart, without restarting sleuth.
func TestPostgresRestartMidRun(t *testing.T) {
	pgtest.RestartDir(t) // first: the test becomes the server's only user
	d := freshSchema(t)
	blocks := simBlocks(t)
	srv := startServer(t, "A", d, blocks, api.Options{Cases: open(t, d).Cases()})
	if resp, v := srv.do(t, "POST", "/v1/cases", "", `{"name":"restart"}`); resp.StatusCode != 201 {
		t.Fatalf("create a case: %d %v", resp.StatusCode, v)
	}
	probe := labelsynctest.Addr(t, srv.pl, 1)

	// phase of a request: 0 answered before the server went down, 1 sent
	// after it stopped and answered before it was being started again, 2
	// sent after it was up, 3 otherwise (it overlapped the stop or the
	// start).
	type result struct {
		kind   string // "label", "note", "screen"
		what   string // the address labelled, the note's text
		status int
		retry  bool // problem+json with Retry-After
		// unknown: a problem+json 503 saying the write's outcome is
		// unknown (its COMMIT's answer was lost as PostgreSQL stopped):
		// deliberately without Retry-After, since a blind retry could
		// apply it twice.
		unknown bool
		phase   int
	}
	var (
		mu      sync.Mutex
		results []result
		r       pgtest.Restarting // zero until the restart begins
	)
	closed := func(c <-chan struct{}) bool {
		if c == nil {
			return false
		}
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	send := func(kind, what, method, path, body string) {
		mu.Lock()
		rs := r
		mu.Unlock()
		downAtStart, upAtStart := closed(rs.Down), closed(rs.Up)
		resp, v := srv.do(t, method, path, "", body)
		problem := resp.Header.Get("Content-Type") == "application/problem+json"
		typ, _ := v["type"].(string)
		res := result{kind: kind, what: what, status: resp.StatusCode,
			retry:   resp.Header.Get("Retry-After") != "" && problem,
			unknown: problem && resp.Header.Get("Retry-After") == "" && strings.HasSuffix(typ, "/outcome-unknown")}
		switch {
		case rs.Down == nil || !closed(rs.Down):
			res.phase = 0
		case upAtStart:
			res.phase = 2
		case downAtStart && !closed(rs.Starting):
			res.phase = 1
		default:
			res.phase = 3
		}
		mu.Lock()
		results = append(results, res)
		mu.Unlock()
	}
	// after counts phase-2 answers of kind with status 200.
	after := func(kind string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, r := range results {
			if r.kind == kind && r.phase == 2 && r.status == 200 {
				n++
			}
		}
		return n
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // writer: a label on a new address, then a case note
		defer wg.Done()
		for i := 2; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			a := labelsynctest.Addr(t, srv.pl, btc.AddrID(i))
			send("label", a, "POST", "/v1/labels", sanctionBody(a))
			note := fmt.Sprintf("note %d", i)
			send("note", note, "POST", "/v1/cases/1/notes", `{"text":"`+note+`"}`)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	go func() { // screening, as a client's traffic
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			send("screen", probe, "GET", "/v1/screen/"+probe, "")
			time.Sleep(5 * time.Millisecond)
		}
	}()

	time.Sleep(300 * time.Millisecond) // writes land before the restart
	rs := pgtest.Restart(t, 2*time.Second)
	mu.Lock()
	r = rs
	mu.Unlock()
	for _, c := range []<-chan struct{}{rs.Down, rs.Up} {
		select {
		case <-c:
		case <-time.After(90 * time.Second):
			close(stop)
			wg.Wait()
			t.Fatal("PostgreSQL did not stop and start again within 90 s")
		}
	}
	// Writes resume without restarting the server.
	deadline := time.Now().Add(20 * time.Second)
	for after("label") < 5 || after("note") < 5 {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	count := map[string][4]int{} // kind → answers per phase
	unknown := 0
	acked := map[string][]string{}
	for _, r := range results {
		switch {
		case r.kind == "screen" && r.status != 200:
			t.Errorf("screening answered %d (phase %d): want 200 from the local index throughout", r.status, r.phase)
		case r.kind == "label" && r.status == 503 && r.unknown && r.phase != 2:
			// The label log's COMMIT lost its answer as PostgreSQL
			// stopped (possibly before its process was gone: phase 0):
			// the client is told to read the label back, not to retry.
			unknown++
		case r.kind != "screen" && r.status == 503 && !r.retry:
			t.Errorf("%s %q (phase %d): 503 without Retry-After or problem+json", r.kind, r.what, r.phase)
		case r.kind != "screen" && r.status != 200 && r.status != 503:
			t.Errorf("%s %q answered %d (phase %d): want 200, or 503 while PostgreSQL is away", r.kind, r.what, r.status, r.phase)
		case r.kind != "screen" && r.phase == 1 && r.status != 503:
			t.Errorf("%s %q answered %d while PostgreSQL was down", r.kind, r.what, r.status)
		case r.kind != "screen" && r.phase == 2 && r.status != 200:
			t.Errorf("%s %q answered %d after PostgreSQL was back: want the write to land", r.kind, r.what, r.status)
		}
		c := count[r.kind]
		c[r.phase]++
		count[r.kind] = c
		if r.status == 200 {
			acked[r.kind] = append(acked[r.kind], r.what)
		}
	}
	t.Logf("answers per phase (before, down, after, overlapping): %v; label writes of unknown outcome: %d", count, unknown)
	for _, kind := range []string{"label", "note", "screen"} {
		if c := count[kind]; c[0] == 0 || c[1] == 0 || c[2] == 0 {
			t.Errorf("%s: %v answers before, during and after the restart: want some in each", kind, c)
		}
	}

	// Nothing acknowledged was lost: every label on the server (applied
	// from the shared log), every note in the case in PostgreSQL.
	labels := labelsynctest.Dump(t, srv.pl).Addresses
	for _, a := range acked["label"] {
		if len(labels[a]) == 0 {
			t.Errorf("the label on %s was acknowledged but is not on the server after the restart", a)
		}
	}
	resp, v := srv.do(t, "GET", "/v1/cases/1", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("read the case after the restart: %d %v", resp.StatusCode, v)
	}
	notes := map[string]bool{}
	for _, n := range v["notes"].([]any) {
		notes[n.(map[string]any)["text"].(string)] = true
	}
	for _, n := range acked["note"] {
		if !notes[n] {
			t.Errorf("%q was acknowledged but is not in the case after the restart", n)
		}
	}
}
