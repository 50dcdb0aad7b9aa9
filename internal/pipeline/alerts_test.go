package pipeline

import (
	"context"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// TestAlertStage runs the alert stage inside Ingest: a store whose index
// committed blocks that the later stages never saw (an index-only ingest:
// the process died after the index commit) catches up at the next Ingest
// even though no block is new, raises the alerts of those blocks once, and
// reports them with an AlertsStored event; an ingest with nothing new
// after that runs no stage.
func TestAlertStage(t *testing.T) {
	ctx := context.Background()
	recs := bestRecords(t)
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	p := New(db, Options{})
	var stored alert.BlockSummary
	stages := map[string]int{}
	p.Subscribe(func(e Event) {
		switch e.Kind {
		case AlertsStored:
			stored.Created += e.Alerts.Created
		case StageDone:
			stages[e.Stage]++
		}
	})
	half := len(recs) / 2
	simtest.AppendRecords(t, dir, recs[:half]...)
	ingest := func(indexOnly bool) Result {
		t.Helper()
		res, err := p.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}, IndexOnly: indexOnly})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := ingest(false); res.Alerts == nil || !res.Alerts.Started {
		t.Fatalf("first ingest: alert stage %+v, want it started at the tip", res.Alerts)
	}
	// Watch every address the first blocks paid: the later blocks' spends
	// and payments of them raise alerts.
	var keys []address.Key
	for a := range db.Tip().NextAddr {
		k, err := db.AddrKey(a)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	ws := watch.NewDB(db)
	r, _ := watch.ParseRule("any", watch.Both, alert.Low)
	id, err := ws.Create(ctx, &watch.List{Name: "all", Rules: []watch.Rule{r}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.AddAddresses(ctx, id, keys); err != nil {
		t.Fatal(err)
	}
	simtest.AppendRecords(t, dir, recs[half:]...)
	ingest(true) // the index only, as if the process died after its commit
	if stages[StageAlerts] != 1 {
		t.Fatalf("the alert stage ran %d times; want once (the first ingest)", stages[StageAlerts])
	}
	res := ingest(false) // nothing new in the files, but the stages are behind
	if res.Alerts == nil || res.Alerts.Created == 0 || res.Alerts.From != int64(half) || res.Alerts.To != db.Tip().Height {
		t.Fatalf("catch-up: %+v", res.Alerts)
	}
	if stored.Created != res.Alerts.Created {
		t.Fatalf("AlertsStored events counted %d alerts, the stage %d", stored.Created, res.Alerts.Created)
	}
	all, err := p.AlertStore().List(ctx, alert.Filter{}, "", alert.MaxPage)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Alerts) != res.Alerts.Created {
		t.Fatalf("%d alerts stored, the stage says %d", len(all.Alerts), res.Alerts.Created)
	}
	for _, a := range all.Alerts {
		if b, err := db.ChainBlock(btc.Height(a.Height)); err != nil || b.Hash != a.BlockHash || a.Height < int64(half) {
			t.Fatalf("alert %d names block %s at %d", a.ID, a.BlockHash, a.Height)
		}
	}
	before := stages[StageAlerts]
	if res := ingest(false); res.Alerts != nil {
		t.Fatalf("an ingest with nothing to do ran the alert stage: %+v", res.Alerts)
	}
	if stages[StageAlerts] != before {
		t.Fatal("the alert stage ran on an ingest with nothing to do")
	}
}
