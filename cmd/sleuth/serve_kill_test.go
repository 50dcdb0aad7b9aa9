package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// serveChildEnv carries a child's command line (separated by \x1f) when this
// test binary re-runs itself as `sleuth serve` (TestServeChild).
const serveChildEnv = "SLEUTH_SERVE_CHILD"

// TestServeChild is not a test: it is how TestServeKillNine runs `sleuth
// serve` in a process it can kill. It skips unless serveChildEnv is set.
func TestServeChild(t *testing.T) {
	args := os.Getenv(serveChildEnv)
	if args == "" {
		t.Skip("runs only as TestServeKillNine's child")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	code := runWith(ctx, strings.Split(args, "\x1f"), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// TestServeKillNine starts `sleuth serve --blocks DIR` while blocks keep
// arriving in DIR, kills it with SIGKILL at random moments of its
// ingests (every stage: index, entities, labels, exposure), restarts it
// until it has caught up with the last block, stops it with SIGTERM, and
// compares the store with one that ingested the same blocks without
// interruption: every stage's keyspace digest equal, Check clean (X1, X2 in
// internal/index).
func TestServeKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test skipped in -short mode")
	}
	recs := simtest.BestRecords(t, simtest.Chain(t, 9, 0.2))
	blocks, dir := t.TempDir(), t.TempDir()+"/db"
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLEUTH_CRASH_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (replay with SLEUTH_CRASH_SEED); %d blocks", seed, len(recs))
	rng := rand.New(rand.NewPCG(seed, 2))

	// Blocks arrive ten at a time, whether a server runs or not.
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i := 0; i < len(recs); i += 10 {
			simtest.AppendRecords(t, blocks, recs[i:min(len(recs), i+10)]...)
			time.Sleep(150 * time.Millisecond)
		}
	}()
	args := []string{"serve", "--db", dir, "--create", "--blocks", blocks, "--listen", "127.0.0.1:0", "--poll", "20ms"}
	kills, between := 0, 0
	for ; kills < 8; kills++ {
		child := startServe(t, args)
		// Early runs die fast; later ones get longer, so some updates
		// commit between kills.
		time.Sleep(time.Duration(50+rng.IntN(100+150*kills)) * time.Millisecond)
		child.kill(t)
		h := stageHeights(t, dir)
		if h[0] != h[1] || h[0] != h[2] {
			between++
		}
		t.Logf("kill %d: index, cluster, exposure at %v", kills+1, h)
	}
	<-fed
	child := startServe(t, args)
	last := int64(len(recs) - 1)
	deadline := time.Now().Add(5 * time.Minute)
	for !caughtUp(child.url, last) {
		if time.Now().After(deadline) {
			child.kill(t)
			t.Fatalf("the restarted server did not reach height %d", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
	child.stop(t)

	ctx := context.Background()
	ref := indextest.Open(t, t.TempDir())
	if _, err := pipeline.New(ref, pipeline.Options{}).Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: blocks}}); err != nil {
		t.Fatal(err)
	}
	db := indextest.Open(t, dir)
	if r, err := db.Check(ctx); err != nil || !r.OK() {
		t.Fatalf("check after %d kills: %v %v", kills, err, r)
	}
	if db.Stats() != ref.Stats() {
		t.Fatalf("after %d kills: %+v, uninterrupted: %+v", kills, db.Stats(), ref.Stats())
	}
	for _, ks := range []struct {
		name   string
		lo, hi byte
	}{
		{"index", 0x00, index.StageCluster}, {"cluster", index.StageCluster, index.StageLabel},
		{"labels", index.StageLabel, index.StageRisk}, {"exposure", index.StageRisk, index.StageAlert},
		{"alerts, watchlists, keys", index.StageAlert, 0xff},
	} {
		got, err := db.StageDigest(ctx, ks.lo, ks.hi)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ref.StageDigest(ctx, ks.lo, ks.hi)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s keyspace differs from an uninterrupted ingest after %d kills", ks.name, kills)
		}
	}
	t.Logf("%d kills (%d left the stages at different heights), then caught up to height %d: every keyspace equals an uninterrupted ingest", kills, between, last)
}

// stageHeights opens the store of a killed server and returns the heights
// of the index, the clustering and the exposure (-1: not run yet).
func stageHeights(t *testing.T, dir string) [3]int64 {
	t.Helper()
	h := [3]int64{-1, -1, -1}
	db, err := index.Open(dir, &index.Options{ReadOnly: true, CacheSize: 8 << 20})
	if errors.Is(err, index.ErrNoIndex) {
		return h // killed before it created the store
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h[0] = db.Tip().Height
	if cs, err := cluster.ReadStatus(db); err == nil {
		h[1] = cs.Height
	}
	if rs, err := risk.ReadStatus(db); err == nil {
		h[2] = rs.Height
	}
	return h
}

// serveChild is a running `sleuth serve` child.
type serveChild struct {
	cmd    *exec.Cmd
	url    string
	done   chan error
	stderr *strings.Builder
}

var serveURL = regexp.MustCompile(`sleuth serve: (http://\S+) `)

// startServe runs `sleuth serve` as a child and waits until it listens.
func startServe(t *testing.T, args []string) *serveChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+strings.Join(args, "\x1f"))
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &serveChild{cmd: cmd, done: make(chan error, 1), stderr: &strings.Builder{}}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			c.stderr.WriteString(sc.Text() + "\n")
			if m := serveURL.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		c.done <- cmd.Wait()
	}()
	select {
	case c.url = <-urlc:
	case err := <-c.done:
		t.Fatalf("sleuth serve exited before listening: %v\n%s", err, c.stderr)
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("sleuth serve did not listen within 2 minutes\n%s", c.stderr)
	}
	return c
}

// kill sends SIGKILL and waits for the child to be gone.
func (c *serveChild) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

// stop sends SIGTERM and expects a clean exit.
func (c *serveChild) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-c.done; err != nil {
		t.Fatalf("sleuth serve after SIGTERM: %v\n%s", err, c.stderr)
	}
}

// caughtUp reports whether the server's status shows the index and every
// stage at height h.
func caughtUp(url string, h int64) bool {
	resp, err := http.Get(url + "/v1/status")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct {
		Height int64 `json:"height"`
		Stages []struct {
			Name   string `json:"name"`
			Height *int64 `json:"height"`
		} `json:"stages"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil || st.Height != h || len(st.Stages) == 0 {
		return false
	}
	for _, s := range st.Stages {
		if s.Height == nil || *s.Height != h {
			return false
		}
	}
	return true
}
