package index

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/pace"
)

// pacedScheduler is Pebble's compaction scheduler for the store: it grants
// compactions up to the number the store allows, as Pebble's own
// ConcurrencyLimitScheduler does, and its grants rest for the pacer the
// store is given (DB.PaceCompactions), so that a server's compactions, like
// its ingest, stand aside for requests in flight. Pebble reports a running
// compaction's progress to its grant every 128 keys (CumulativeStats, which
// "may block if the scheduler wants to pace the compaction"); that is where
// it rests. With no pacer it never rests.
type pacedScheduler struct {
	pacer   atomic.Pointer[pace.Pacer]
	granted atomic.Int64 // compactions granted (tests)
	poke    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	mu      sync.Mutex
	db      pebble.DBForCompaction
	running int
	closed  bool
}

func newPacedScheduler() *pacedScheduler {
	return &pacedScheduler{poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Register starts the granter that gives waiting compactions the slots
// that free up or that the store allows more of.
func (s *pacedScheduler) Register(_ int, db pebble.DBForCompaction) {
	s.mu.Lock()
	s.db = db
	s.mu.Unlock()
	go s.granter()
}

// Unregister stops the granter; no grant is made afterwards.
func (s *pacedScheduler) Unregister() {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// TrySchedule grants a compaction the store asks to run now when fewer
// than it allows are running.
func (s *pacedScheduler) TrySchedule() (bool, pebble.CompactionGrantHandle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.db.GetAllowedWithoutPermission() <= s.running {
		return false, nil
	}
	s.running++
	s.granted.Add(1)
	return true, grant{s}
}

// UpdateGetAllowedWithoutPermission wakes the granter: the store may allow
// more compactions than run.
func (s *pacedScheduler) UpdateGetAllowedWithoutPermission() { s.wake() }

func (s *pacedScheduler) wake() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// granter grants waiting compactions when woken and every 100 ms (the
// store's allowance grows with its compaction debt without telling).
func (s *pacedScheduler) granter() {
	defer close(s.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.poke:
		}
		s.grantWaiting()
	}
}

// grantWaiting grants the store's waiting compactions while slots are
// free. Only the granter calls it, so grants never race each other.
func (s *pacedScheduler) grantWaiting() {
	for {
		s.mu.Lock()
		if s.closed || s.db.GetAllowedWithoutPermission() <= s.running {
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if waiting, _ := s.db.GetWaitingCompaction(); !waiting {
			return
		}
		// Counted before the store runs it: Schedule may start it at once.
		s.mu.Lock()
		s.running++
		s.mu.Unlock()
		if !s.db.Schedule(grant{s}) {
			s.mu.Lock()
			s.running--
			s.mu.Unlock()
			return
		}
		s.granted.Add(1)
	}
}

// grant is one running compaction's handle.
type grant struct{ s *pacedScheduler }

func (grant) Started()                                  {}
func (grant) MeasureCPU(pebble.CompactionGoroutineKind) {}

// CumulativeStats is called every 128 keys the compaction writes: it
// rests there for the store's pacer.
func (g grant) CumulativeStats(pebble.CompactionGrantHandleStats) { g.s.pacer.Load().Yield() }

// Done frees the compaction's slot for a waiting one.
func (g grant) Done() {
	g.s.mu.Lock()
	g.s.running--
	g.s.mu.Unlock()
	g.s.wake()
}

// PaceCompactions makes the store's compactions rest for p (nil: never),
// as the stages that run under a context carrying p do (pace.From): a
// server's requests then go before its compactions too.
func (db *DB) PaceCompactions(p *pace.Pacer) {
	if db.compactions != nil {
		db.compactions.pacer.Store(p)
	}
}
