// Package pace lets background work (a server's ingest of new blocks) stand
// aside for foreground work (the requests it answers) on a machine with few
// cores.
//
// Go's scheduler has no priorities: an update that keeps both cores of a
// 2-core machine busy (the writer, block parsers, Pebble's compactions)
// takes as much CPU as the requests do, and requests queue behind it. A
// [Pacer] counts the foreground work in flight ([Pacer.Enter],
// [Pacer.Leave]); background loops call [Pacer.Yield] between items (a
// transaction, an address, 128 keys of a compaction). Time is cut into
// periods of a slice and a rest; while foreground work is in flight or was
// in the last slice, a Yield that falls in a rest sleeps to its end, so
// that all background work rests at once and runs for at most Share of the
// wall time. With no foreground work Yield never rests, so a batch ingest
// is not slowed.
//
// # Owns
//
//   - The count of foreground work in flight and the background's slices.
//
// # Must not touch
//
//   - Any store or stage: it knows nothing of what the work is.
//
// # Invariants
//
//   - A nil *Pacer, and a context without one, is a valid pacer that never
//     rests: stages call Yield unconditionally.
//   - Yield rests only while foreground work is in flight or ended less
//     than one slice ago, and only to the end of the current rest: at most
//     Slice×(1−Share)/Share at a time.
//   - Yield is safe from any number of goroutines; all of them rest in
//     the same rests.
package pace
