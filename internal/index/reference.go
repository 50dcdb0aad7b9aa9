package index

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/chain"
)

// ReferenceStats is what Reference did.
type ReferenceStats struct {
	Blocks, Txs, Inputs, Outputs uint64
	Addrs                        uint64 // distinct address keys
	UTXOs                        uint64 // unspent at the tip
	Elapsed                      time.Duration
}

// refOut is an unspent output as the reference keeps it.
type refOut struct {
	value btc.Amount
	addr  btc.AddrID
}

// Reference indexes the best chain of the block files in blocksDir in
// memory and writes nothing: the baseline that issue 15 holds the
// ingest to (within 2× its wall time). It does the work the ingest cannot
// avoid, as the ingest does it: the header scan and best chain, parallel
// read, parse, Merkle check and script classification (prepare, with
// workers goroutines), and in height order each input resolved through a
// Go map of unspent outputs and each address key given a dense id through
// a Go map. It keeps no history, writes no store and is not crash-safe.
func Reference(ctx context.Context, blocksDir string, net *btc.Network, workers int) (*ReferenceStats, error) {
	start := time.Now()
	tree := chain.NewTree(net.Genesis)
	paths, err := blockfile.ListFiles(blocksDir)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("reference: no blk?????.dat files in %s", blocksDir)
	}
	key, err := blockfile.ReadXORKey(blocksDir)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	files := make(map[uint32]string, len(paths))
	for _, p := range paths {
		num, err := fileNumber(p)
		if err != nil {
			return nil, err
		}
		files[num] = p
		_, err = blockfile.Scan(ctx, p, 0, blockfile.ScanOptions{Magic: net.Magic, XOR: key}, func(r blockfile.Record) error {
			hdr, err := blockfile.ParseHeader(r.Header[:])
			if err != nil {
				return err
			}
			tree.Add(blockfile.HeaderHash(r.Header[:]), hdr.Prev, hdr.Bits, hdr.Time, chain.Location{File: num, Offset: r.Offset, Size: r.Size})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reference: %w", err)
		}
	}
	if tree.Best() == nil {
		return nil, fmt.Errorf("reference: no chain in %s", blocksDir)
	}
	path := chain.Path(tree.Best(), 0)
	st := &ReferenceStats{}
	utxos := make(map[outpoint]refOut)
	addrs := make(map[address.Key]btc.AddrID)

	// Blocks go through in chunks: workers prepare chunk k+1 while the
	// caller applies chunk k.
	const chunk = 64
	if workers < 1 {
		workers = 1
	}
	readers := make([]*blockfile.Reader, workers)
	for i := range readers {
		readers[i] = blockfile.NewReader(key)
		defer readers[i].Close()
	}
	prepareChunk := func(js []job) <-chan error {
		done := make(chan error, 1)
		go func() {
			var wg sync.WaitGroup
			errs := make([]error, workers)
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := w; i < len(js); i += workers {
						if err := prepare(readers[w], &js[i], nil); err != nil && errs[w] == nil {
							errs[w] = fmt.Errorf("reference: block %d (%s): %w", js[i].node.Height, js[i].node.Hash, err)
						}
					}
				}(w)
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		return done
	}
	fill := func(js []job, from int) []job {
		js = js[:0]
		for i := from; i < len(path) && i < from+chunk; i++ {
			n := path[i]
			js = append(js, job{node: n, file: files[n.Loc.File]})
		}
		return js
	}
	cur, next := make([]job, 0, chunk), make([]job, 0, chunk)
	cur = fill(cur, 0)
	pending := prepareChunk(cur)
	for from := 0; from < len(path); from += chunk {
		if err := <-pending; err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if from+chunk < len(path) {
			next = fill(next, from+chunk)
			pending = prepareChunk(next)
		}
		for ji := range cur {
			if err := refApply(&cur[ji], st, utxos, addrs); err != nil {
				return nil, err
			}
		}
		cur, next = next, cur
	}
	st.Addrs, st.UTXOs = uint64(len(addrs)), uint64(len(utxos))
	st.Elapsed = time.Since(start)
	return st, nil
}

// refApply connects one prepared block to the reference's maps.
func refApply(j *job, st *ReferenceStats, utxos map[outpoint]refOut, addrs map[address.Key]btc.AddrID) error {
	oi := 0
	for ti := range j.blk.Txs {
		tx := &j.blk.Txs[ti]
		if ti > 0 {
			for vin := range tx.Ins {
				in := &tx.Ins[vin]
				op := outpoint{in.PrevTxID, in.PrevVout}
				if _, ok := utxos[op]; !ok {
					return fmt.Errorf("reference: block %d tx %s input %d: %w", j.node.Height, tx.TxID, vin, ErrMissingPrevout)
				}
				delete(utxos, op)
				st.Inputs++
			}
		}
		for vout := range tx.Outs {
			c := &j.outs[oi]
			oi++
			id := btc.NoAddr
			if c.Key.Len() > 0 {
				var ok bool
				if id, ok = addrs[c.Key]; !ok {
					id = btc.AddrID(len(addrs))
					addrs[c.Key] = id
				}
			}
			st.Outputs++
			if c.Spend && j.node.Height > 0 {
				utxos[outpoint{tx.TxID, uint32(vout)}] = refOut{value: btc.Amount(tx.Outs[vout].Value), addr: id}
			}
		}
		st.Txs++
	}
	st.Blocks++
	return nil
}
