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

// AlertStore returns the process's one alert store: Options.Alerts when
// set (shared), else the one in the pipeline's index store. The alert
// stage writes through it, and the server's routes and webhook worker
// must use it too (the embedded store's lock orders the event sequence).
func (p *Pipeline) AlertStore() alert.Store { return p.alerts }

// SharedAlerts reports whether the alert store is Options.Alerts.
func (p *Pipeline) SharedAlerts() bool { return p.opts.Alerts != nil }

// AlertProgress returns the alert stage's progress (kept in the index's
// store even when the alerts are shared) and whether it has run.
func (p *Pipeline) AlertProgress() (alert.Progress, bool, error) { return p.alertDB.ReadProgress() }

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
