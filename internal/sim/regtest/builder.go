package regtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Script kinds the builder pays to and spends from.
type Kind uint8

const (
	P2PKH  Kind = iota + 1 // legacy, ECDSA in the scriptSig
	P2WPKH                 // segwit v0, ECDSA in the witness (BIP143 sighash)
	P2TR                   // taproot key path, Schnorr in the witness (BIP341 sighash)
)

func (k Kind) String() string {
	switch k {
	case P2PKH:
		return "p2pkh"
	case P2WPKH:
		return "p2wpkh"
	case P2TR:
		return "p2tr"
	}
	return "unknown"
}

const (
	// Bits is regtest's proof-of-work limit, the difficulty of every block.
	Bits = 0x207fffff
	// Version signals CSV, segwit and taproot (BIP9 bits 0-2), which
	// btcd's regtest activates by vote: LOCKED_IN after 108 of the 144
	// blocks of a window signal, ACTIVE one window later.
	Version = 0x20000007
	// ActivationHeight is the first height at which btcd enforces segwit
	// and taproot when every block from genesis signals them: windows
	// 0-143 DEFINED, 144-287 STARTED (voting), 288-431 LOCKED_IN.
	ActivationHeight = 3 * 144
	// Maturity is how many blocks a coinbase output waits before it can
	// be spent.
	Maturity = 100
	// halving is regtest's subsidy halving interval.
	halving = 150
	// spacing is the seconds between block timestamps.
	spacing = 600
	// firstTime is block 1's timestamp (2024-01-01). Regtest's genesis is
	// from 2011, before BIP16's switch-over time (2012-04-01), and btcd
	// enforces P2SH, which witness verification needs, by block time.
	firstTime = 1_704_067_200
)

var params = &chaincfg.RegressionNetParams

// powLimit is the target that Bits encodes: 0x7fffff·256^(0x20-3).
var powLimit = new(big.Int).Lsh(big.NewInt(0x7fffff), 8*(0x20-3))

// key is a private key the builder holds, with the output script and
// address it pays to.
type key struct {
	priv   *btcec.PrivateKey
	kind   Kind
	script []byte
	addr   string
}

// coin is an unspent output the builder can spend.
type coin struct {
	op    wire.OutPoint
	value int64
	key   *key
	// height is the block that created it; coinbase outputs mature
	// Maturity blocks later.
	height   int64
	coinbase bool
}

// builder grows one chain: it derives keys from the seed, signs spends and
// mines blocks on top of prev.
type builder struct {
	seed  int64
	nkeys uint64

	prev   chainhash.Hash
	height int64   // height of the last block mined (0: genesis)
	times  []int64 // timestamps of every block from genesis, for the median time past
	tag    string  // written into every coinbase, to tell branches apart

	prevOuts map[wire.OutPoint]*wire.TxOut // every output created, for sighashes and checks
	pending  []*wire.MsgTx                 // transactions for the next block
	fees     int64
	blocks   []Block
}

func newBuilder(seed int64) *builder {
	g := params.GenesisBlock
	return &builder{
		seed:     seed,
		prev:     g.BlockHash(),
		times:    []int64{g.Header.Timestamp.Unix()},
		prevOuts: map[wire.OutPoint]*wire.TxOut{},
	}
}

// fork returns a builder that continues from b's current tip with its own
// pending list and blocks, sharing nothing mutable with b. Keys derived on
// it differ from b's (it draws from another counter range).
func (b *builder) fork(tag string) *builder {
	f := &builder{seed: b.seed, nkeys: 1 << 32, prev: b.prev, height: b.height, tag: tag,
		times: append([]int64(nil), b.times...), prevOuts: make(map[wire.OutPoint]*wire.TxOut, len(b.prevOuts))}
	for op, o := range b.prevOuts {
		f.prevOuts[op] = o
	}
	return f
}

// newKey derives the next private key from the seed: SHA-256 of a label,
// the seed and a counter, so equal seeds give equal keys.
func (b *builder) newKey(kind Kind) (*key, error) {
	var msg [8 + 8]byte
	binary.LittleEndian.PutUint64(msg[:8], uint64(b.seed))
	binary.LittleEndian.PutUint64(msg[8:], b.nkeys)
	b.nkeys++
	h := sha256.Sum256(append([]byte("sleuth/sim/regtest/key"), msg[:]...))
	priv, pub := btcec.PrivKeyFromBytes(h[:])
	var a address.Address
	var err error
	switch kind {
	case P2PKH:
		a, err = address.NewAddressPubKeyHash(address.Hash160(pub.SerializeCompressed()), params)
	case P2WPKH:
		a, err = address.NewAddressWitnessPubKeyHash(address.Hash160(pub.SerializeCompressed()), params)
	case P2TR:
		a, err = address.NewAddressTaproot(schnorr.SerializePubKey(txscript.ComputeTaprootKeyNoScript(pub)), params)
	default:
		err = fmt.Errorf("unknown script kind %d", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("regtest: %s key: %w", kind, err)
	}
	script, err := txscript.PayToAddrScript(a)
	if err != nil {
		return nil, fmt.Errorf("regtest: %s script: %w", kind, err)
	}
	return &key{priv: priv, kind: kind, script: script, addr: a.EncodeAddress()}, nil
}

// output is one payment of a transaction being built.
type output struct {
	key   *key
	value int64
}

// spend builds, signs and verifies a transaction spending ins to outs,
// queues it for the next block and returns it with its new coins (in the
// order of outs). The fee is what ins leave over.
func (b *builder) spend(ins []*coin, outs []output) (*wire.MsgTx, []*coin, error) {
	tx := wire.NewMsgTx(2)
	var in, out int64
	for _, c := range ins {
		if c.coinbase && b.height+1 < c.height+Maturity {
			return nil, nil, fmt.Errorf("regtest: coinbase of height %d spent at height %d, before maturity", c.height, b.height+1)
		}
		tx.AddTxIn(wire.NewTxIn(&c.op, nil, nil))
		in += c.value
	}
	for _, o := range outs {
		tx.AddTxOut(wire.NewTxOut(o.value, o.key.script))
		out += o.value
	}
	if fee := in - out; fee <= 0 || fee > in/100+100_000 {
		return nil, nil, fmt.Errorf("regtest: transaction spends %d sat into %d: fee %d out of range", in, out, fee)
	}
	fetch := txscript.NewMultiPrevOutFetcher(nil)
	for _, c := range ins {
		fetch.AddPrevOut(c.op, wire.NewTxOut(c.value, c.key.script))
	}
	hashes := txscript.NewTxSigHashes(tx, fetch)
	for i, c := range ins {
		var err error
		switch c.key.kind {
		case P2PKH:
			tx.TxIn[i].SignatureScript, err = txscript.SignatureScript(tx, i, c.key.script, txscript.SigHashAll, c.key.priv, true)
		case P2WPKH:
			tx.TxIn[i].Witness, err = txscript.WitnessSignature(tx, hashes, i, c.value, c.key.script, txscript.SigHashAll, c.key.priv, true)
		case P2TR:
			tx.TxIn[i].Witness, err = txscript.TaprootWitnessSignature(tx, hashes, i, c.value, c.key.script, txscript.SigHashDefault, c.key.priv)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("regtest: sign input %d (%s): %w", i, c.key.kind, err)
		}
	}
	if err := verifyTx(tx, fetch); err != nil {
		return nil, nil, err
	}
	txid := tx.TxHash()
	coins := make([]*coin, len(outs))
	for i, o := range outs {
		coins[i] = &coin{op: wire.OutPoint{Hash: txid, Index: uint32(i)}, value: o.value, key: o.key, height: b.height + 1}
		b.prevOuts[coins[i].op] = tx.TxOut[i]
	}
	b.pending = append(b.pending, tx)
	b.fees += in - out
	return tx, coins, nil
}

// VerifyFlags are the script rules every spend is checked against: the
// consensus rules of a chain with P2SH, segwit and taproot active, plus
// the standardness rules (low S, strict DER, clean stack) a relaying
// node applies.
const VerifyFlags = txscript.StandardVerifyFlags

// verifyTx runs every input of tx through btcd's script engine.
func verifyTx(tx *wire.MsgTx, fetch txscript.PrevOutputFetcher) error {
	hashes := txscript.NewTxSigHashes(tx, fetch)
	for i, in := range tx.TxIn {
		prev := fetch.FetchPrevOutput(in.PreviousOutPoint)
		if prev == nil {
			return fmt.Errorf("regtest: tx %s input %d: unknown output %s", tx.TxHash(), i, in.PreviousOutPoint)
		}
		vm, err := txscript.NewEngine(prev.PkScript, tx, i, VerifyFlags, nil, hashes, prev.Value, fetch)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			return fmt.Errorf("regtest: tx %s input %d does not verify: %w", tx.TxHash(), i, err)
		}
	}
	return nil
}

// subsidy is regtest's block reward at height.
func subsidy(height int64) int64 {
	if height/halving >= 64 {
		return 0
	}
	return 50_0000_0000 >> (height / halving)
}

// mine makes a block of the pending transactions on top of the tip: a
// coinbase paying the subsidy and the fees to miner (BIP34 height first in
// its script; a BIP141 witness commitment when a transaction has a
// witness), the Merkle root, a timestamp above the median time past, and
// a nonce that meets Bits. It returns the coinbase's coin.
func (b *builder) mine(miner *key) (*coin, error) {
	h := b.height + 1
	sig, err := txscript.NewScriptBuilder().AddInt64(h).AddData([]byte("sleuth regtest" + b.tag)).Script()
	if err != nil {
		return nil, fmt.Errorf("regtest: coinbase script: %w", err)
	}
	cb := wire.NewMsgTx(2)
	cb.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), sig, nil))
	cb.AddTxOut(wire.NewTxOut(subsidy(h)+b.fees, miner.script))
	txs := append([]*wire.MsgTx{cb}, b.pending...)
	blk := &wire.MsgBlock{Header: wire.BlockHeader{
		Version:   Version,
		PrevBlock: b.prev,
		Timestamp: time.Unix(b.nextTime(), 0),
		Bits:      Bits,
	}, Transactions: txs}
	if hasWitness(blk) {
		// BIP141: the coinbase witness is one 32-byte reserved value
		// (zero); an output commits to the witness root (seal fills it).
		cb.TxIn[0].Witness = wire.TxWitness{make([]byte, 32)}
		cb.AddTxOut(wire.NewTxOut(0, nil))
	}
	if err := seal(blk); err != nil {
		return nil, fmt.Errorf("regtest: block %d: %w", h, err)
	}
	var raw bytes.Buffer
	if err := blk.Serialize(&raw); err != nil {
		return nil, fmt.Errorf("regtest: serialize block %d: %w", h, err)
	}
	hash := blk.BlockHash()
	b.blocks = append(b.blocks, Block{Height: h, Hash: btc.Hash(hash), Raw: raw.Bytes(), Msg: blk})
	b.prev, b.height = hash, h
	b.times = append(b.times, blk.Header.Timestamp.Unix())
	b.pending, b.fees = nil, 0
	c := &coin{op: wire.OutPoint{Hash: cb.TxHash(), Index: 0}, value: cb.TxOut[0].Value, key: miner, height: h, coinbase: true}
	for i, o := range cb.TxOut {
		b.prevOuts[wire.OutPoint{Hash: c.op.Hash, Index: uint32(i)}] = o
	}
	return c, nil
}

// commitmentPrefix starts a BIP141 witness commitment output script:
// OP_RETURN, a 36-byte push, the 0xaa21a9ed header.
var commitmentPrefix = []byte{txscript.OP_RETURN, txscript.OP_DATA_36, 0xaa, 0x21, 0xa9, 0xed}

func hasWitness(blk *wire.MsgBlock) bool {
	for _, tx := range blk.Transactions[1:] {
		if tx.HasWitness() {
			return true
		}
	}
	return false
}

// seal completes a block whose transactions are final: the witness
// commitment if the block has witness transactions (written into the
// coinbase's last output, a zero-value placeholder or an earlier
// commitment), the Merkle root, and a nonce that meets Bits.
func seal(blk *wire.MsgBlock) error {
	txs := blk.Transactions
	if hasWitness(blk) {
		cb := txs[0]
		wtxids := make([]chainhash.Hash, len(txs))
		for i, tx := range txs[1:] {
			wtxids[i+1] = tx.WitnessHash()
		}
		root := merkleRoot(wtxids)
		commit := chainhash.DoubleHashH(append(root[:], cb.TxIn[0].Witness[0]...))
		out := cb.TxOut[len(cb.TxOut)-1]
		if len(cb.TxIn[0].Witness) != 1 || len(cb.TxIn[0].Witness[0]) != 32 || out.Value != 0 {
			return errors.New("coinbase has no room for the witness commitment")
		}
		out.PkScript = append(append([]byte(nil), commitmentPrefix...), commit[:]...)
	}
	txids := make([]chainhash.Hash, len(txs))
	for i, tx := range txs {
		txids[i] = tx.TxHash()
	}
	blk.Header.MerkleRoot = merkleRoot(txids)
	for blk.Header.Nonce = 0; ; blk.Header.Nonce++ {
		hash := blk.Header.BlockHash()
		if hashToBig(&hash).Cmp(powLimit) <= 0 {
			return nil
		}
		if blk.Header.Nonce == ^uint32(0) {
			return errors.New("no nonce meets the target")
		}
	}
}

// Tamper returns b with one bit of the signature of input in of
// transaction tx flipped (the ECDSA signature of a P2PKH scriptSig or a
// P2WPKH witness, or a P2TR key-path Schnorr signature), and the block made
// consistent around it again (witness commitment, Merkle root, proof of
// work): the forged signature is its only defect, and a node must reject
// it. It also returns the kind of the spend whose signature it forged.
func Tamper(b Block, tx, in int) (Block, Kind, error) {
	blk := b.Msg.Copy()
	if tx <= 0 || tx >= len(blk.Transactions) || in < 0 || in >= len(blk.Transactions[tx].TxIn) {
		return Block{}, 0, fmt.Errorf("regtest: block %d has no input %d of transaction %d", b.Height, in, tx)
	}
	ti := blk.Transactions[tx].TxIn[in]
	var kind Kind
	switch {
	case len(ti.Witness) == 1 && len(ti.Witness[0]) == 64: // Schnorr: a bit of s
		ti.Witness[0][40] ^= 1
		kind = P2TR
	case len(ti.Witness) == 2 && len(ti.SignatureScript) == 0: // DER: a bit of r
		ti.Witness[0][10] ^= 1
		kind = P2WPKH
	case len(ti.Witness) == 0 && len(ti.SignatureScript) > 12: // push, then DER r
		ti.SignatureScript[11] ^= 1
		kind = P2PKH
	default:
		return Block{}, 0, fmt.Errorf("regtest: block %d transaction %d input %d: not a signature this builder makes", b.Height, tx, in)
	}
	if err := seal(blk); err != nil {
		return Block{}, 0, fmt.Errorf("regtest: tamper block %d: %w", b.Height, err)
	}
	var raw bytes.Buffer
	if err := blk.Serialize(&raw); err != nil {
		return Block{}, 0, fmt.Errorf("regtest: serialize block %d: %w", b.Height, err)
	}
	return Block{Height: b.Height, Hash: btc.Hash(blk.BlockHash()), Raw: raw.Bytes(), Msg: blk}, kind, nil
}

// nextTime is the next block's timestamp: firstTime for block 1, then
// spacing seconds after the last one (so always above the median of the
// last 11), and a few seconds
// later on a branch so that its blocks differ in time too.
func (b *builder) nextTime() int64 {
	t := max(b.times[len(b.times)-1]+spacing, firstTime)
	if b.tag != "" {
		t += 7
	}
	return t
}

// MedianTimePast is the median timestamp of the 11 blocks ending at times'
// last entry (fewer near genesis), as BIP113 defines it.
func MedianTimePast(times []int64) int64 {
	n := min(len(times), 11)
	last := append([]int64(nil), times[len(times)-n:]...)
	for i := 1; i < len(last); i++ { // insertion sort: at most 11
		for j := i; j > 0 && last[j] < last[j-1]; j-- {
			last[j], last[j-1] = last[j-1], last[j]
		}
	}
	return last[n/2]
}

// merkleRoot is Bitcoin's Merkle root of hashes (an odd level repeats its
// last hash).
func merkleRoot(hashes []chainhash.Hash) chainhash.Hash {
	level := append([]chainhash.Hash(nil), hashes...)
	var buf [64]byte
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		for i := 0; i < len(level); i += 2 {
			copy(buf[:32], level[i][:])
			copy(buf[32:], level[i+1][:])
			level[i/2] = chainhash.DoubleHashH(buf[:])
		}
		level = level[:len(level)/2]
	}
	return level[0]
}

// hashToBig reads a block hash as the little-endian number proof of work
// compares with the target.
func hashToBig(h *chainhash.Hash) *big.Int {
	var be [32]byte
	for i := range be {
		be[i] = h[31-i]
	}
	return new(big.Int).SetBytes(be[:])
}
