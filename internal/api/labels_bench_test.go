package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/pgstore"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// BenchmarkServeLabels is BenchmarkServeLoad's screening load (32 clients,
// GET /v1/screen/{address}, no ingest, SLEUTH_SERVE_QUIET long) while a
// writer adds and removes a sanction label through the API every 250 ms:
// labels=embedded edits the store itself (labelsync.Local);
// labels=shared edits through PostgreSQL's label log (TEST_PG_DSN, in a
// schema of its own; skipped without it), the server's applier polling
// and listening as sleuth serve --shared does. The shared store starts
// without the base's TagPack and takes it through the log, so both serve
// the same labels. Reports the screens' rate, p50 and p99, and the label
// writes made and their median.
func BenchmarkServeLabels(b *testing.B) {
	chainDir, work, held, _ := serveEnv(b)
	quiet := serveQuiet(b)
	base := loadBase(b, chainDir, work, simtest.SplitChain(b, chainDir, held))
	pack, err := os.ReadFile(chainDir + "/public/tagpack.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"embedded", "shared"} {
		b.Run("labels="+mode, func(b *testing.B) {
			var ext loadExt
			if mode == "shared" {
				dsn := os.Getenv("TEST_PG_DSN")
				if dsn == "" {
					b.Skip("TEST_PG_DSN is not set: run under scripts/postgres.sh run")
				}
				ext.setup = func(b *testing.B, pl *pipeline.Pipeline) labelsync.Editor {
					return sharedForBench(b, pl, benchSchema(b, dsn), pack)
				}
			}
			var mu sync.Mutex
			var writes []time.Duration
			failed := 0
			ext.during = func(u string, stop <-chan struct{}) {
				rng := rand.New(rand.NewPCG(1, 16))
				c := &http.Client{Timeout: time.Minute}
				tick := time.NewTicker(250 * time.Millisecond)
				defer tick.Stop()
				var id string
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					t0 := time.Now()
					var err error
					if id == "" {
						a := base.addrs[rng.IntN(len(base.addrs))]
						id, err = postLabel(c, u, `{"address":"`+a+`","category":"exchange","abuse":"sanction","label":"bench","source":"bench"}`)
					} else {
						err = deleteLabelReq(c, u, id)
						id = ""
					}
					mu.Lock()
					writes = append(writes, time.Since(t0))
					if err != nil {
						failed++
						b.Log(err)
					}
					mu.Unlock()
				}
			}
			for range b.N {
				r := serveLoadWith(b, base, work, nil, false, false, quiet, ext)
				r.report(b)
				slices.Sort(writes)
				b.ReportMetric(float64(len(writes)), "label-writes")
				if len(writes) > 0 {
					b.ReportMetric(float64(writes[len(writes)/2].Microseconds())/1000, "write-p50-ms")
				}
				if r.failed > 0 || failed > 0 {
					b.Errorf("%d screens and %d label writes failed", r.failed, failed)
				}
			}
		})
	}
}

// sharedForBench makes the run's store follow the label log at dsn: the
// base's TagPack goes, and comes back through the log.
func sharedForBench(b *testing.B, pl *pipeline.Pipeline, dsn string, pack []byte) labelsync.Editor {
	ctx, cancel := context.WithCancel(context.Background())
	pg, err := pgstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	err = pl.Write(func(db *index.DB) error {
		srcs, err := label.Sources(ctx, db)
		for _, s := range srcs {
			if err == nil {
				_, err = label.RemoveSource(ctx, db, s.Name)
			}
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	log := pg.LabelLog()
	sh, err := labelsync.NewShared(ctx, pl, log, labelsync.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sh.Do(ctx, "bench", labelsync.Edit{Kind: labelsync.KindImport, Import: &labelsync.Import{Name: "tagpack.yaml", Body: pack}}); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { sh.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done; log.Close(); pg.Close() })
	return sh
}

// benchSchema returns dsn with a new, empty schema as its search path.
func benchSchema(b *testing.B, dsn string) string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("bench_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func postLabel(c *http.Client, u, body string) (string, error) {
	resp, err := c.Post(u+"/v1/labels", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct {
		Added []struct {
			ID uint32 `json:"id"`
		} `json:"added"`
	}
	if err := decodeAnswer(resp, &v); err != nil {
		return "", err
	}
	if len(v.Added) != 1 {
		return "", fmt.Errorf("POST /v1/labels: %d labels added", len(v.Added))
	}
	return fmt.Sprint(v.Added[0].ID), nil
}

func deleteLabelReq(c *http.Client, u, id string) error {
	req, _ := http.NewRequest("DELETE", u+"/v1/labels/"+id, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(resp, &struct{}{})
}

// decodeAnswer decodes a 200 answer's JSON into v, or fails with its status.
func decodeAnswer(resp *http.Response, v any) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", resp.Request.Method, resp.Request.URL.Path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
