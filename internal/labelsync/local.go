package labelsync

import (
	"context"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// Local is the Editor of the embedded store: edits apply under the
// pipeline's writer guard, then the attribution update runs.
type Local struct{ pl *pipeline.Pipeline }

// NewLocal returns the embedded store's Editor.
func NewLocal(pl *pipeline.Pipeline) *Local { return &Local{pl} }

// Do applies edits in order, stopping at the first that fails (those
// before it stay applied), then brings labels and exposure up to date
// even when an edit failed, so the derived state never lags the labels.
func (l *Local) Do(ctx context.Context, by string, edits ...Edit) (Result, error) {
	var res Result
	for i := range edits {
		if err := edits[i].Check(); err != nil {
			return res, err
		}
	}
	err := l.pl.Write(func(db *index.DB) error {
		for i := range edits {
			o, err := apply(ctx, db, &edits[i])
			if err != nil {
				if len(edits) > 1 {
					err = fmt.Errorf("edit %d of %d (%d applied): %w", i+1, len(edits), i, err)
				}
				return err
			}
			res.Outcomes = append(res.Outcomes, o)
		}
		return nil
	})
	// The update runs on its own context: a client that hangs up must not
	// leave the labels' entity index stale.
	sum, uerr := l.pl.AttributionChanged(context.WithoutCancel(ctx), false)
	if err != nil {
		return res, err
	}
	if uerr != nil {
		return res, fmt.Errorf("labels written, but updating exposure: %w", uerr)
	}
	res.Exposure = sum
	return res, nil
}
