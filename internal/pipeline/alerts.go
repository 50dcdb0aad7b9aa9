package pipeline

import (
	"context"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// StageAlerts is the alert stage's name in events and metrics: after
// exposure, each connected block is matched against the watchlists and
// its alerts stored with their outbox deliveries (watch.Stage).
const StageAlerts = "alerts"

// AlertStore returns the process's one alert store of the pipeline's
// store: the alert stage writes through it, and the server's routes and
// webhook worker must use it too (its lock orders the event sequence).
func (p *Pipeline) AlertStore() *alert.DB { return p.alertDB }

// alertStage runs the alert stage and announces what it stored
// (AlertsStored) when it stored anything.
func (p *Pipeline) alertStage(ctx context.Context) (*watch.StageSummary, error) {
	var sum watch.StageSummary
	err := p.stage(StageAlerts, func() (err error) {
		sum, err = p.alertStg.Update(ctx)
		return err
	})
	if err != nil {
		return &sum, &StageError{StageAlerts, err}
	}
	if sum.BlockSummary != (alert.BlockSummary{}) {
		p.emit(Event{Kind: AlertsStored, Height: sum.To, Alerts: sum.BlockSummary})
	}
	return &sum, nil
}

// alertsCurrent reports whether the alert stage has matched the index's
// tip (so a restart after a crash between exposure and alerts still runs
// it).
func (p *Pipeline) alertsCurrent() bool {
	pr, ok, err := p.alertDB.ReadProgress()
	tip := p.db.Tip()
	return err == nil && ok && pr.Height == tip.Height && pr.Hash == tip.Hash
}
