package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestEvery: refresh runs on each tick until ctx ends; a run of failures
// is reported once, and again after a success.
func TestEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	results := []error{nil, errors.New("down"), errors.New("still down"), nil, errors.New("down again")}
	calls := 0
	var reported []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, time.Millisecond, func(context.Context) error {
			calls++
			if calls == len(results) {
				cancel()
			}
			return results[calls-1]
		}, func(err error) { reported = append(reported, err.Error()) })
	}()
	<-done
	if calls != len(results) {
		t.Errorf("%d refreshes, want %d", calls, len(results))
	}
	// The last failure came as ctx ended: not reported.
	if len(reported) != 1 || reported[0] != "down" {
		t.Errorf("reported %q, want the first failure of the outage only", reported)
	}
}
