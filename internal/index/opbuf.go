package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// opBuf collects a batch's writes and hands them to Pebble in key order.
//
// A large Pebble batch is sorted at commit by comparisons that decode each
// key from the batch's encoding: 15% of ingest CPU. opBuf sorts on two
// big-endian words cut from each key (most keys are decided by them), falls
// back to bytes.Compare on ties, and breaks full ties by write order, so
// repeated writes of a key (merge operands, a set after a delete) keep their
// meaning. Pebble's own sort then meets sorted input, which pdqsort passes in
// linear time.
type opBuf struct {
	arena []byte
	ops   []bufOp
	spare []bufOp // sort's second buffer
}

type bufOp struct {
	w0, w1     uint64 // key bytes 0-7 and 8-15, zero-padded
	koff, voff uint32
	klen, vlen uint32
	seq        uint32
	kind       uint8
}

const (
	opSet uint8 = iota
	opDelete
	opMerge
)

func (b *opBuf) add(kind uint8, k, v []byte) {
	b.arena = growBuf(b.arena, len(k)+len(v))
	b.ops = growBuf(b.ops, 1)
	var pad [16]byte
	copy(pad[:], k)
	b.ops = append(b.ops, bufOp{
		w0: binary.BigEndian.Uint64(pad[:8]), w1: binary.BigEndian.Uint64(pad[8:]),
		koff: uint32(len(b.arena)), klen: uint32(len(k)),
		voff: uint32(len(b.arena) + len(k)), vlen: uint32(len(v)),
		seq: uint32(len(b.ops)), kind: kind,
	})
	b.arena = append(b.arena, k...)
	b.arena = append(b.arena, v...)
}

// growBuf makes room for n more elements by doubling: append grows a
// large slice by a quarter at a time, and a 400,000-transaction batch's
// buffers (hundreds of MB) then cost more in copies than in writes (17%
// of a 1M-transaction ingest's CPU went to growslice).
func growBuf[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	t := make([]T, len(s), max(2*cap(s), len(s)+n, 4096))
	copy(t, s)
	return t
}

// size is the bytes the buffered writes take once sorted: their keys and
// values, and each write's entry twice (sort's second buffer).
func (b *opBuf) size() int64 {
	return int64(len(b.arena)) + 2*int64(len(b.ops))*int64(unsafe.Sizeof(bufOp{}))
}

func (b *opBuf) Set(k, v []byte) { b.add(opSet, k, v) }
func (b *opBuf) Delete(k []byte) { b.add(opDelete, k, nil) }
func (b *opBuf) Merge(k, v []byte) {
	b.add(opMerge, k, v)
}

func (b *opBuf) key(o *bufOp) []byte { return b.arena[o.koff : o.koff+o.klen] }

// sort orders the writes by key, and repeated writes of a key by write
// order. A stable counting pass groups them by keyspace (the first key
// byte) first; a keyspace written in key order (transactions, address
// ids, heights: about half the writes) is then only checked, not sorted.
func (b *opBuf) sort() {
	if len(b.ops) < 1024 {
		slices.SortFunc(b.ops, b.cmp)
		return
	}
	var count [257]int
	for i := range b.ops {
		count[b.ops[i].w0>>56+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	if cap(b.spare) < len(b.ops) {
		b.spare = make([]bufOp, len(b.ops))
	}
	out := b.spare[:len(b.ops)]
	next := count
	for i := range b.ops {
		p := b.ops[i].w0 >> 56
		out[next[p]] = b.ops[i]
		next[p]++
	}
	b.ops, b.spare = out, b.ops[:0]
	for p := 0; p < 256; p++ {
		part := b.ops[count[p]:count[p+1]]
		if len(part) > 1 && !slices.IsSortedFunc(part, b.cmp) {
			slices.SortFunc(part, b.cmp)
		}
	}
}

// cmp orders two writes by key, then by write order.
func (b *opBuf) cmp(x, y bufOp) int {
	switch {
	case x.w0 != y.w0:
		if x.w0 < y.w0 {
			return -1
		}
		return 1
	case x.w1 != y.w1:
		if x.w1 < y.w1 {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(b.key(&x), b.key(&y)); c != 0 {
		return c
	}
	return int(x.seq) - int(y.seq)
}

// flush sorts the writes into batch and empties the buffer.
func (b *opBuf) flush(batch *pebble.Batch) error {
	b.sort()
	for i := range b.ops {
		o := &b.ops[i]
		k := b.key(o)
		v := b.arena[o.voff : o.voff+o.vlen]
		var err error
		switch o.kind {
		case opSet:
			err = batch.Set(k, v, nil)
		case opDelete:
			err = batch.Delete(k, nil)
		case opMerge:
			err = batch.Merge(k, v, nil)
		}
		if err != nil {
			return err
		}
	}
	b.reset()
	return nil
}

func (b *opBuf) reset() {
	b.arena = b.arena[:0]
	b.ops = b.ops[:0]
}

// tables sorts the writes into sstables, one per keyspace (first key
// byte), so that a keyspace written in key order (transactions, address
// ids, heights) lands below everything else with no overlap and is never
// compacted; it empties the buffer and returns the files, for one atomic
// ingest. Repeated writes of a key become the one write they amount to,
// since an ingested table holds each key once.
func (b *opBuf) tables(fs vfs.FS, dir string, opts sstable.WriterOptions) ([]string, error) {
	b.sort()
	var paths []string
	var w *sstable.Writer
	fail := func(err error) ([]string, error) {
		if w != nil {
			w.Close()
		}
		for _, p := range paths {
			fs.Remove(p)
		}
		return nil, fmt.Errorf("index: commit table: %w", err)
	}
	var val []byte
	for i := 0; i < len(b.ops); {
		o := &b.ops[i]
		k := b.key(o)
		kind, v := o.kind, b.arena[o.voff:o.voff+o.vlen]
		j := i + 1
		for ; j < len(b.ops) && bytes.Equal(b.key(&b.ops[j]), k); j++ {
			n := &b.ops[j]
			nv := b.arena[n.voff : n.voff+n.vlen]
			if n.kind != opMerge {
				kind, v = n.kind, nv
				continue
			}
			if kind == opDelete {
				kind, v = opSet, nv
				continue
			}
			m, err := addrStatsMerger.Merge(k, v)
			if err != nil {
				return fail(err)
			}
			if err := m.MergeNewer(nv); err != nil {
				return fail(err)
			}
			out, closer, err := m.Finish(kind == opSet)
			if err != nil {
				return fail(err)
			}
			val = append(val[:0], out...)
			if closer != nil {
				closer.Close()
			}
			v = val
		}
		if w == nil || k[0] != b.key(&b.ops[i-1])[0] {
			if w != nil {
				if err := w.Close(); err != nil {
					w = nil
					return fail(err)
				}
			}
			p := fs.PathJoin(dir, fmt.Sprintf("commit-%02x.sst", k[0]))
			f, err := fs.Create(p, vfs.WriteCategoryUnspecified)
			if err != nil {
				w = nil
				return fail(err)
			}
			paths = append(paths, p)
			w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), opts)
		}
		var err error
		switch kind {
		case opSet:
			err = w.Set(k, v)
		case opDelete:
			err = w.Delete(k)
		case opMerge:
			err = w.Merge(k, v)
		}
		if err != nil {
			return fail(err)
		}
		i = j
	}
	if w != nil {
		if err := w.Close(); err != nil {
			w = nil
			return fail(err)
		}
	}
	b.reset()
	return paths, nil
}
