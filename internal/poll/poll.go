// Package poll keeps an in-memory copy of shared state current: Every runs
// a refresh on a ticker until its context ends (apikey.Set.Follow,
// watch.Snapshot.Follow).
//
// # Owns
//
// The loop and its failure reporting: the first failure of each run of
// failures is reported once, and a refresh that fails leaves the copy to
// the caller (which keeps its last one) until the next tick.
//
// # Does not touch
//
// What is refreshed, or any store.
package poll

import (
	"context"
	"time"
)

// DefaultInterval is Every's interval when given none: a change made
// elsewhere is seen within it plus one refresh.
const DefaultInterval = 250 * time.Millisecond

// Every calls refresh every interval (DefaultInterval when ≤ 0) until ctx
// ends. onErr, when set, hears of the first failure after a success (or
// at the start), not of each failing tick, and not of ctx's end.
func Every(ctx context.Context, interval time.Duration, refresh func(context.Context) error, onErr func(error)) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := refresh(ctx)
		if err != nil && ctx.Err() == nil && !failing && onErr != nil {
			onErr(err)
		}
		failing = err != nil
	}
}
