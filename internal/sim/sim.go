package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// blockState is the block being filled.
type blockState struct {
	body      []byte     // serialized non-coinbase transactions
	offs      []int32    // end offset in body of each transaction
	txids     [][32]byte // txid of each non-coinbase transaction
	fees      []int64
	segwit    []bool
	strip     []int32 // size of each transaction without witness data
	totalFees int64
	weight    int // weight of the non-coinbase transactions
}

func (b *blockState) reset() {
	b.body = b.body[:0]
	b.offs = b.offs[:0]
	b.txids = b.txids[:0]
	b.fees = b.fees[:0]
	b.segwit = b.segwit[:0]
	b.strip = b.strip[:0]
	b.totalFees = 0
	b.weight = 0
}

// maxBlockWeight is where a block stops taking new actions; the consensus
// limit is 4,000,000 and no single action adds more than ~400,000.
const maxBlockWeight = 3_400_000

// sim is the state of one run. All of it is owned by the goroutine calling
// Run; the block writer and the truth writer get finished data by channel.
type sim struct {
	opts   Options
	params *chaincfg.Params
	plan   plan
	r      rng // behaviour
	sig    rng // signature bytes and nonces (kept apart so behaviour does not depend on them)
	keys   *keySource
	h      *hasher
	sha    hash.Hash

	height   int32
	now      int64 // timestamp of the block being built
	prevHash [32]byte
	blk      blockState
	tb, tb2  txb   // scratch transaction builders
	sel      []int // scratch coin selection
	cand     []int
	scratch  []byte
	scratch2 []byte
	ssBuf    []byte
	leaves   [][32]byte

	entities []entity
	wallets  []wallet
	multisig [][]byte
	w        world
	crime    crimeState
	collab   collabWorld
	mark     []uint32 // per wallet: markGen when it joined the collaborative tx being built
	markGen  uint32
	vals     []int64 // scratch output values
	tasks    []task

	stale      map[int32]int // height -> stale branch length starting there
	staleTip   [32]byte      // hash of the stale block at height-1 (2-block branches)
	staleTipAt int32

	truth   *truthBatch
	counts  [numTxKinds]int64
	ntx     int64 // best-chain transactions, coinbases included
	naddr   int64
	kindBal [numEntityKinds]int64

	blocks    chan<- *blockMsg
	truths    chan<- *truthBatch
	free      chan []byte
	freeTruth chan *truthBatch
}

// Run generates a chain, its answer key and the investigator's starting
// knowledge under opts.Out. It honours ctx between blocks.
func Run(ctx context.Context, opts Options) (Summary, error) {
	start := time.Now()
	opts, params, err := opts.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	dirs := []string{filepath.Join(opts.Out, "blocks"), filepath.Join(opts.Out, "truth"), filepath.Join(opts.Out, "public")}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Summary{}, fmt.Errorf("sim: create output directory: %w", err)
		}
	}
	if err := removeOldBlockFiles(dirs[0]); err != nil {
		return Summary{}, err
	}

	s := newSim(opts, params)
	defer s.keys.stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	blocks := make(chan *blockMsg, 8)
	truths := make(chan *truthBatch, 8)
	s.blocks, s.truths = blocks, truths
	s.free = make(chan []byte, 16)
	s.freeTruth = make(chan *truthBatch, 16)

	bw, err := newBlockWriter(dirs[0], opts, s.free)
	if err != nil {
		return Summary{}, err
	}
	tw, err := newTruthWriter(opts.Out, params, opts.Network)
	if err != nil {
		bw.abort()
		return Summary{}, err
	}
	var wg sync.WaitGroup
	var bwErr, twErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		bwErr = bw.run(blocks)
		if bwErr != nil {
			cancel(bwErr)
			for range blocks { //nolint:revive // drain so the generator never blocks
			}
		}
	}()
	go func() {
		defer wg.Done()
		twErr = tw.run(truths, s.freeTruth)
		if twErr != nil {
			cancel(twErr)
			for range truths { //nolint:revive // drain so the generator never blocks
			}
		}
	}()

	genErr := s.generate(ctx)
	close(blocks)
	close(truths)
	wg.Wait()
	if err := errors.Join(genErr, bwErr, twErr); err != nil {
		return Summary{}, err
	}
	if err := s.finish(tw); err != nil {
		return Summary{}, err
	}

	sum := Summary{
		Out: opts.Out, Network: opts.Network.Name, Seed: opts.Seed, Scale: opts.Scale,
		Blocks: int64(s.height) + 1, Txs: s.ntx, StaleBlocks: bw.stale, OutOfOrder: bw.outOfOrder,
		Files: bw.files, Bytes: bw.bytes, Addresses: s.naddr,
		StolenSats: s.crime.origin[caseTheft], RansomSats: s.crime.origin[caseRansom],
		UnknownCoordinators: len(s.collab.Coords),
		Counts:              map[string]int64{},
	}
	for k, n := range s.counts {
		if n > 0 {
			sum.Counts[txKind(k).String()] = n
		}
	}
	sum.Duration = time.Since(start)
	if err := tw.writeSummary(&sum); err != nil {
		return Summary{}, err
	}
	opts.Logger.Info("sim done", "blocks", sum.Blocks, "txs", sum.Txs, "stale", sum.StaleBlocks,
		"files", sum.Files, "bytes", sum.Bytes, "duration", sum.Duration, "tx_per_s", int64(sum.TxPerSecond()))
	return sum, nil
}

// removeOldBlockFiles deletes blk?????.dat and xor.dat left by an earlier
// run in dir, so a smaller run does not leave stale files behind.
func removeOldBlockFiles(dir string) error {
	old, err := filepath.Glob(filepath.Join(dir, "blk[0-9][0-9][0-9][0-9][0-9].dat"))
	if err != nil {
		return fmt.Errorf("sim: list old block files: %w", err)
	}
	old = append(old, filepath.Join(dir, "xor.dat"))
	for _, f := range old {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sim: remove old block file: %w", err)
		}
	}
	return nil
}

func newSim(opts Options, params *chaincfg.Params) *sim {
	s := &sim{
		opts:   opts,
		params: params,
		plan:   makePlan(opts.Scale),
		r:      newRNG(opts.Seed, 1),
		sig:    newRNG(opts.Seed, 2),
		keys:   startKeySource(opts.Seed),
		h:      newHasher(),
		sha:    sha256.New(),
		truth:  &truthBatch{},
	}
	return s
}

// generate builds every block and hands it to the writers.
func (s *sim) generate(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sim: internal error at height %d: %v", s.height, r)
		}
	}()
	s.initWorld()
	if err := s.sendGenesis(); err != nil {
		return err
	}
	s.planStale()
	total := s.plan.bootstrap + s.plan.regular
	lastLog := time.Now()
	for h := int32(1); h <= total; h++ {
		if err := context.Cause(ctx); err != nil {
			return fmt.Errorf("sim: stopped at height %d: %w", h, err)
		}
		s.height = h
		s.now = s.blockTime(h)
		s.blk.reset()
		if h > s.plan.bootstrap {
			s.fillBlock()
		}
		if err := s.closeBlock(); err != nil {
			return err
		}
		if time.Since(lastLog) > 5*time.Second {
			lastLog = time.Now()
			s.opts.Logger.Info("sim progress", "height", h, "of", total, "txs", s.ntx)
		}
	}
	return nil
}

// blockTime spreads the bootstrap blocks 600 s apart before calStart and the
// regular blocks evenly over [calStart, calEnd), with jitter.
func (s *sim) blockTime(h int32) int64 {
	if h <= s.plan.bootstrap {
		base := calStart - int64(s.plan.bootstrap-h+1)*600
		return base + int64(s.r.IntN(240)) - 120
	}
	span := float64(calEnd - calStart)
	i := float64(h - s.plan.bootstrap - 1)
	step := span / float64(s.plan.regular)
	base := calStart + int64(i*step)
	return base + int64(s.r.Float64()*0.4*step)
}

// heightAt is the first regular height whose time is at or after t.
func (s *sim) heightAt(t int64) int32 {
	f := float64(t-calStart) / float64(calEnd-calStart)
	h := s.plan.bootstrap + 1 + int32(f*float64(s.plan.regular))
	return max(s.plan.bootstrap+1, min(h, s.plan.bootstrap+s.plan.regular))
}

// subsidy is the block reward at height h.
func (s *sim) subsidy(h int32) int64 {
	halvings := int64(h) / int64(s.params.SubsidyReductionInterval)
	if halvings >= 64 {
		return 0
	}
	return (50 * 1e8) >> halvings
}

func (s *sim) sendGenesis() error {
	var buf bytes.Buffer
	if err := s.params.GenesisBlock.Serialize(&buf); err != nil {
		return fmt.Errorf("sim: serialize genesis: %w", err)
	}
	data := buf.Bytes()
	hash := sha256d(data[:80])
	if btc.Hash(hash) != s.opts.Network.Genesis {
		return fmt.Errorf("sim: genesis hash %v does not match %s's %v", btc.Hash(hash), s.opts.Network.Name, s.opts.Network.Genesis)
	}
	s.prevHash = hash
	s.ntx = 1
	s.counts[kGenesis]++
	s.blocks <- &blockMsg{data: data, hash: hash, height: 0, time: uint32(s.params.GenesisBlock.Header.Timestamp.Unix()),
		ntx: 1, stripped: len(data)}
	return nil
}

// planStale picks the heights of stale blocks: about one in 250, at least
// two, never in the last ten blocks; one branch is two blocks long when the
// chain is long enough.
func (s *sim) planStale() {
	s.stale = map[int32]int{}
	total := s.plan.bootstrap + s.plan.regular
	n := max(2, int(total)/250)
	lo, hi := int32(2), total-10
	for i := 0; i < n*4 && len(s.stale) < n; i++ {
		h := lo + int32(s.r.IntN(int(hi-lo)))
		if s.stale[h] != 0 || s.stale[h-1] != 0 || s.stale[h+1] != 0 || s.stale[h-2] != 0 {
			continue
		}
		s.stale[h] = 1
		if len(s.stale) == 1 && total > 60 {
			s.stale[h] = 2
		}
	}
}

// closeBlock adds the coinbase, assembles the block and sends it (and any
// stale sibling) to the writer.
func (s *sim) closeBlock() error {
	b := &s.blk
	pool := s.pickPool()
	value := s.subsidy(s.height) + b.totalFees
	data, hash, cbTxid, stripped := s.assemble(s.prevHash, pool, value, len(b.txids), s.now)
	s.blocks <- &blockMsg{data: data, hash: hash, prev: s.prevHash, height: s.height, time: uint32(s.now),
		ntx: len(b.txids) + 1, stripped: stripped}

	// The coinbase output joins the pool's wallet and the answer key.
	pw := s.entities[pool].wallets[0]
	ca := s.poolAddr(pool)
	s.credit(pw, utxo{txid: cbTxid, pub: ca.pub, st: ca.st, vout: 0, height: s.height, value: value, flags: fCoinbase})
	s.truth.txs = append(s.truth.txs, txRow{txid: cbTxid, height: s.height, index: 0, kind: kCoinbase,
		spender: -1, change: -1, nin: 1, nout: 1, fee: 0})
	s.counts[kCoinbase]++
	s.ntx++

	if s.staleTipAt == s.height-1 && s.staleTipAt > 0 {
		// Second block of a two-block stale branch: coinbase only.
		other := s.otherPool(pool)
		data, shash, _, sstripped := s.assemble(s.staleTip, other, s.subsidy(s.height), 0, s.now+int64(s.r.IntN(300)))
		s.blocks <- &blockMsg{data: data, hash: shash, prev: s.staleTip, height: s.height, time: uint32(s.now),
			ntx: 1, stripped: sstripped, stale: true}
		s.staleTipAt = 0
	}
	if n := s.stale[s.height]; n > 0 {
		other := s.otherPool(pool)
		k := s.r.IntN(len(b.txids) + 1) // the stale block holds a prefix of this block's transactions
		var fees int64
		for _, f := range b.fees[:k] {
			fees += f
		}
		t := s.now + int64(s.r.IntN(120)) - 60
		data, shash, _, sstripped := s.assemble(s.prevHash, other, s.subsidy(s.height)+fees, k, t)
		s.blocks <- &blockMsg{data: data, hash: shash, prev: s.prevHash, height: s.height, time: uint32(t),
			ntx: k + 1, stripped: sstripped, stale: true}
		if n == 2 {
			s.staleTip, s.staleTipAt = shash, s.height
		}
	}
	s.prevHash = hash
	s.truths <- s.truth
	select {
	case s.truth = <-s.freeTruth:
		s.truth.reset()
	default:
		s.truth = &truthBatch{}
	}
	return nil
}

// assemble builds a block on prev from a coinbase paying value to pool and
// the first k transactions of the current block. It returns the block bytes,
// its hash, the coinbase txid and the block's size without witness data.
func (s *sim) assemble(prev [32]byte, pool int32, value int64, k int, t int64) ([]byte, [32]byte, [32]byte, int) {
	b := &s.blk
	bodyLen := 0
	if k > 0 {
		bodyLen = int(b.offs[k-1])
	}
	segwit := false
	for _, sw := range b.segwit[:k] {
		segwit = segwit || sw
	}
	// Witness commitment (BIP141).
	var commitment [32]byte
	if segwit {
		s.leaves = s.leaves[:0]
		s.leaves = append(s.leaves, [32]byte{}) // the coinbase's wtxid is zero
		start := 0
		for i := 0; i < k; i++ {
			end := int(b.offs[i])
			if b.segwit[i] {
				s.leaves = append(s.leaves, sha256d(b.body[start:end]))
			} else {
				s.leaves = append(s.leaves, b.txids[i])
			}
			start = end
		}
		root := merkleRoot(s.leaves)
		var buf [64]byte
		copy(buf[:32], root[:])
		commitment = sha256d(buf[:])
	}
	cb, cbTxid := s.coinbase(s.scratch[:0], pool, value, segwit, &commitment)
	s.scratch = cb

	s.leaves = s.leaves[:0]
	s.leaves = append(s.leaves, cbTxid)
	s.leaves = append(s.leaves, b.txids[:k]...)
	root := merkleRoot(s.leaves)

	var data []byte
	select {
	case data = <-s.free:
		data = data[:0]
	default:
	}
	data = binary.LittleEndian.AppendUint32(data, uint32(s.poolVersion(pool)))
	data = append(data, prev[:]...)
	data = append(data, root[:]...)
	data = binary.LittleEndian.AppendUint32(data, uint32(t))
	data = binary.LittleEndian.AppendUint32(data, s.opts.Network.PowLimitBits)
	data = binary.LittleEndian.AppendUint32(data, s.sig.Uint32())
	hash := sha256d(data[:80])
	data = appendVarInt(data, uint64(k+1))
	data = append(data, cb...)
	data = append(data, b.body[:bodyLen]...)

	stripped := 80 + varIntLen(k+1) + len(cb)
	if segwit {
		stripped -= 2 + 1 + 1 + 32 // the coinbase's marker, flag and witness
	}
	for _, n := range b.strip[:k] {
		stripped += int(n)
	}
	return data, hash, cbTxid, stripped
}

// coinbase appends the coinbase transaction and returns it and its txid.
func (s *sim) coinbase(dst []byte, pool int32, value int64, segwit bool, commitment *[32]byte) ([]byte, [32]byte) {
	dst = binary.LittleEndian.AppendUint32(dst, 1)
	if segwit {
		dst = append(dst, 0x00, 0x01)
	}
	dst = append(dst, 1)
	dst = append(dst, make([]byte, 32)...)
	dst = binary.LittleEndian.AppendUint32(dst, 0xffffffff)
	// scriptSig: BIP34 height, an 8-byte extranonce and the pool's tag.
	ss := appendScriptNum(s.scratch2[:0], int64(s.height))
	ss = append(ss, 8)
	ss = binary.LittleEndian.AppendUint64(ss, s.sig.Uint64())
	tag := s.entities[pool].tag
	ss = append(ss, byte(len(tag)))
	ss = append(ss, tag...)
	s.scratch2 = ss
	dst = append(dst, byte(len(ss)))
	dst = append(dst, ss...)
	dst = binary.LittleEndian.AppendUint32(dst, 0xffffffff)
	nout := 1
	if segwit {
		nout = 2
	}
	dst = append(dst, byte(nout))
	pa := s.poolAddr(pool)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(value))
	dst = append(dst, byte(outScriptLen(pa.st)))
	dst = appendOutScript(dst, &pa)
	witStart := 0
	if segwit {
		dst = binary.LittleEndian.AppendUint64(dst, 0)
		dst = append(dst, 38, 0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed)
		dst = append(dst, commitment[:]...)
		witStart = len(dst)
		dst = append(dst, 1, 32)
		dst = append(dst, make([]byte, 32)...)
	}
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	if segwit {
		return dst, s.strippedTxid(dst, witStart)
	}
	return dst, sha256d(dst)
}

// appendScriptNum appends the push of n as Bitcoin Core's CScript() << n.
func appendScriptNum(dst []byte, n int64) []byte {
	if n >= 1 && n <= 16 {
		return append(dst, byte(0x50+n))
	}
	var num []byte
	for v := n; v > 0; v >>= 8 {
		num = append(num, byte(v))
	}
	if num[len(num)-1]&0x80 != 0 {
		num = append(num, 0)
	}
	dst = append(dst, byte(len(num)))
	return append(dst, num...)
}

// merkleRoot computes the Merkle root of leaves in place (leaves is
// clobbered), duplicating the last node of odd levels as Bitcoin does.
func merkleRoot(leaves [][32]byte) [32]byte {
	n := len(leaves)
	var buf [64]byte
	for n > 1 {
		if n%2 == 1 {
			leaves = append(leaves[:n], leaves[n-1])
			n++
		}
		for i := 0; i < n/2; i++ {
			copy(buf[:32], leaves[2*i][:])
			copy(buf[32:], leaves[2*i+1][:])
			leaves[i] = sha256d(buf[:])
		}
		n /= 2
	}
	return leaves[0]
}
