package pace

import (
	"context"
	"sync"
	"testing"
	"time"
)

// spin runs background work for as long as d, calling Yield between
// items, and returns how long it took.
func spin(p *Pacer, d time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < d {
		p.Yield()
	}
	return time.Since(start)
}

func TestNilAndIdleNeverRest(t *testing.T) {
	var nilP *Pacer
	nilP.Enter()
	nilP.Leave()
	nilP.Yield()
	if From(context.Background()) != nil {
		t.Fatal("a context without a pacer carries one")
	}
	for _, p := range []*Pacer{nil, New(time.Millisecond, 0.5), New(time.Millisecond, 1)} {
		spin(p, 20*time.Millisecond)
		if st := p.Stats(); st.Rested != 0 || st.Rests != 0 {
			t.Errorf("pacer %v rested %v (%d times) with no foreground work", p, st.Rested, st.Rests)
		}
	}
}

// TestRestsForForeground: while foreground work is in flight, background
// work rests in every period's rest, for no longer than the rest; once the
// foreground has left (a slice ago), it stops resting.
func TestRestsForForeground(t *testing.T) {
	cases := []struct {
		share float64
		slice time.Duration
	}{
		{0.5, time.Millisecond},
		{0.25, 2 * time.Millisecond},
	}
	for _, c := range cases {
		p := New(c.slice, c.share)
		rest := time.Duration(float64(c.slice) * (1 - c.share) / c.share)
		ctx := With(context.Background(), p)
		if From(ctx) != p {
			t.Fatal("With/From lost the pacer")
		}
		p.Enter()
		if st := p.Stats(); st.Active != 1 || st.Entered != 1 {
			t.Fatalf("%+v after Enter", st)
		}
		// Background work until it has rested ten times (bounded).
		start := time.Now()
		for n := int64(0); n < 10 && time.Since(start) < 10*time.Second; n = p.Stats().Rests {
			From(ctx).Yield()
		}
		ran := time.Since(start)
		p.Leave()
		rested, n := p.Stats().Rested, p.Stats().Rests
		if n < 10 {
			t.Fatalf("share %.2f: %d rests in %v of background work with foreground in flight", c.share, n, ran)
		}
		if rested > time.Duration(n)*rest {
			t.Errorf("share %.2f: rested %v in %d rests of at most %v", c.share, rested, n, rest)
		}
		// Rests fall only in a period's rest: at most one per period.
		if periods := int64(ran/(c.slice+rest)) + 1; n > periods {
			t.Errorf("share %.2f: %d rests in %v, %d periods", c.share, n, ran, periods)
		}
		time.Sleep(c.slice)
		before := p.Stats().Rested
		spin(p, 20*time.Millisecond)
		if after := p.Stats().Rested; after != before {
			t.Errorf("share %.2f: rested %v after the foreground left", c.share, after-before)
		}
	}
}

// TestConcurrent: many background and foreground goroutines at once (go
// test -race), and every background goroutine rests.
func TestConcurrent(t *testing.T) {
	p := New(time.Millisecond, 0.5)
	stop := make(chan struct{})
	var fg sync.WaitGroup
	for range 4 {
		fg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p.Enter()
				time.Sleep(50 * time.Microsecond)
				p.Leave()
			}
		})
	}
	var bg sync.WaitGroup
	for range 3 {
		bg.Go(func() {
			d := spin(p, 50*time.Millisecond)
			if d < 50*time.Millisecond {
				t.Errorf("background ran %v", d)
			}
		})
	}
	bg.Wait()
	close(stop)
	fg.Wait()
	if st := p.Stats(); st.Active != 0 {
		t.Errorf("%d foreground in flight after all left", st.Active)
	}
	if n := p.Stats().Rests; n == 0 {
		t.Error("no background goroutine rested while foreground work ran")
	}
}
