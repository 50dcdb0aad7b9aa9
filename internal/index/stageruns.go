package index

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/pace"
)

// StageRunKey appends to dst the key of suffix in run i of the sorted runs
// under prefix (StageRuns): prefix, i big-endian in 4 bytes, suffix.
func StageRunKey(dst, prefix []byte, i uint32, suffix []byte) []byte {
	dst = append(dst, prefix...)
	dst = binary.BigEndian.AppendUint32(dst, i)
	return append(dst, suffix...)
}

// StageRuns reads runs 0..n-1 of the sorted runs a stage wrote under
// prefix (each run's keys StageRunKey(prefix, i, suffix), written in key
// order by IngestStage, so that each lands in the last level untouched by
// compactions) together, merged by suffix: fn gets each suffix once, in
// increasing order, with the values of the runs that hold it in run
// order. suffix and vals are valid only during the call. It is how a
// stage turns partial results written batch by batch (random in its own
// keys) into its keyspace in key order, once.
func (db *DB) StageRuns(ctx context.Context, prefix []byte, n uint32, fn func(suffix []byte, vals [][]byte) error) error {
	checkStageKey(prefix)
	h := &iterHeap{pre: len(prefix) + 4}
	defer func() {
		for _, c := range h.its {
			c.it.Close()
		}
	}()
	var lo, hi []byte
	for i := range n {
		lo = StageRunKey(lo[:0], prefix, i, nil)
		hi = StageRunKey(hi[:0], prefix, i+1, nil)
		if i == ^uint32(0) {
			hi = append(hi[:0], prefix...)
			hi[len(hi)-1]++
		}
		it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: bytes.Clone(lo), UpperBound: bytes.Clone(hi)})
		if err != nil {
			return fmt.Errorf("index: stage runs %x: %w", prefix, err)
		}
		c := iterCursor{it: it, run: i}
		if !it.First() {
			err := it.Error()
			it.Close()
			if err != nil {
				return fmt.Errorf("index: stage runs %x, run %d: %w", prefix, i, err)
			}
			continue
		}
		heap.Push(h, c)
	}
	var suffix, arena []byte
	var ends []int
	vals := [][]byte{}
	p := pace.From(ctx)
	for count := 0; len(h.its) > 0; count++ {
		if count%16 == 0 {
			p.Yield()
		}
		if count%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		suffix = append(suffix[:0], h.its[0].it.Key()[h.pre:]...)
		arena, ends = arena[:0], ends[:0]
		// Take every run at this suffix (the heap orders equal suffixes
		// by run, so they come in run order), copying each value before
		// its iterator moves on.
		for len(h.its) > 0 && bytes.Equal(h.its[0].it.Key()[h.pre:], suffix) {
			c := &h.its[0]
			arena = append(arena, c.it.Value()...)
			ends = append(ends, len(arena))
			if !c.it.Next() {
				if err := c.it.Error(); err != nil {
					return fmt.Errorf("index: stage runs %x, run %d: %w", prefix, c.run, err)
				}
				c.it.Close()
				heap.Pop(h)
				continue
			}
			heap.Fix(h, 0)
		}
		vals = vals[:0]
		from := 0
		for _, e := range ends {
			vals = append(vals, arena[from:e:e])
			from = e
		}
		if err := fn(suffix, vals); err != nil {
			return err
		}
	}
	return nil
}

type iterCursor struct {
	it  *pebble.Iterator
	run uint32
}

// iterHeap is a min-heap (container/heap) of store iterators by key
// suffix, then run.
type iterHeap struct {
	pre int
	its []iterCursor
}

func (h *iterHeap) Len() int { return len(h.its) }
func (h *iterHeap) Less(i, j int) bool {
	if c := bytes.Compare(h.its[i].it.Key()[h.pre:], h.its[j].it.Key()[h.pre:]); c != 0 {
		return c < 0
	}
	return h.its[i].run < h.its[j].run
}
func (h *iterHeap) Swap(i, j int) { h.its[i], h.its[j] = h.its[j], h.its[i] }
func (h *iterHeap) Push(x any)    { h.its = append(h.its, x.(iterCursor)) }
func (h *iterHeap) Pop() any {
	x := h.its[len(h.its)-1]
	h.its = h.its[:len(h.its)-1]
	return x
}
