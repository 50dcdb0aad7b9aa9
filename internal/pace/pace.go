package pace

import (
	"context"
	"sync/atomic"
	"time"
)

// Defaults of a Pacer.
const (
	DefaultSlice = 2 * time.Millisecond
	DefaultShare = 0.5
)

// Pacer paces background work against foreground work. The zero value is
// not usable; use New. A nil *Pacer never rests.
type Pacer struct {
	slice, rest time.Duration
	epoch       time.Time
	entered     atomic.Int64 // foreground work started
	active      atomic.Int64 // foreground work in flight
	seen        atomic.Int64 // when foreground work last started or ended (ns since epoch)
	rested      atomic.Int64 // total rest (ns)
	rests       atomic.Int64
}

// New returns a Pacer whose background work runs for at most share (0 <
// share ≤ 1) of its wall time, in slices of slice, while foreground work
// is in flight. Zero values take DefaultSlice and DefaultShare; share 1
// never rests.
func New(slice time.Duration, share float64) *Pacer {
	if slice <= 0 {
		slice = DefaultSlice
	}
	if share <= 0 || share > 1 {
		share = DefaultShare
	}
	return &Pacer{slice: slice, rest: time.Duration(float64(slice) * (1 - share) / share), epoch: time.Now()}
}

func (p *Pacer) now() int64 { return int64(time.Since(p.epoch)) }

// Enter records the start of foreground work; Leave its end.
func (p *Pacer) Enter() {
	if p == nil {
		return
	}
	p.entered.Add(1)
	p.active.Add(1)
	p.seen.Store(p.now())
}

// Leave records the end of foreground work started by Enter.
func (p *Pacer) Leave() {
	if p == nil {
		return
	}
	p.seen.Store(p.now())
	p.active.Add(-1)
}

// Yield is called by background work between items. Time is cut into
// periods of one slice of work and its rest (Slice×(1−Share)/Share);
// while foreground work is in flight or ended within the last slice, a
// Yield that falls in a period's rest sleeps to the period's end, so that
// every background goroutine rests at once and the foreground has the
// machine to itself. Otherwise it costs a clock read.
func (p *Pacer) Yield() {
	if p == nil || p.rest <= 0 {
		return
	}
	now := p.now()
	period := int64(p.slice + p.rest)
	pos := now % period
	if pos < int64(p.slice) || p.active.Load() == 0 && now-p.seen.Load() >= int64(p.slice) {
		return
	}
	d := time.Duration(period - pos)
	time.Sleep(d)
	p.rested.Add(int64(d))
	p.rests.Add(1)
}

// Stats is what a Pacer has counted.
type Stats struct {
	Entered int64         // foreground work started
	Active  int64         // foreground work in flight
	Rested  time.Duration // background rests, summed
	Rests   int64         // background rests
}

// Stats returns the pacer's counts (zero for nil).
func (p *Pacer) Stats() Stats {
	if p == nil {
		return Stats{}
	}
	return Stats{Entered: p.entered.Load(), Active: p.active.Load(), Rested: time.Duration(p.rested.Load()), Rests: p.rests.Load()}
}

type ctxKey struct{}

// With returns ctx carrying p: the stages that run under it pace
// themselves (From).
func With(ctx context.Context, p *Pacer) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the Pacer ctx carries, or nil (which never rests).
func From(ctx context.Context) *Pacer {
	p, _ := ctx.Value(ctxKey{}).(*Pacer)
	return p
}
