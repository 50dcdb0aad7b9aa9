package regtest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Block is one mined block.
type Block struct {
	Height int64
	Hash   btc.Hash
	Raw    []byte // serialized with witnesses, as submitblock and blk files take it
	Msg    *wire.MsgBlock
}

// Output is one output of a scenario transaction.
type Output struct {
	Address string
	Kind    Kind
	Value   int64 // satoshis
}

// Input is the output a scenario transaction spends.
type Input struct {
	Txid btc.Hash
	Vout uint32
	Output
}

// Tx is one non-coinbase transaction of the scenario with its role in the
// story.
type Tx struct {
	Role    string // cold-wallet, fund-hot, user-fund, theft, split, peel, coinjoin, deposit, thief-move
	Txid    btc.Hash
	Height  int64
	Block   btc.Hash
	Inputs  []Input
	Outputs []Output
}

// Fee is what tx leaves to the miner.
func (tx *Tx) Fee() int64 {
	var v int64
	for _, in := range tx.Inputs {
		v += in.Value
	}
	for _, o := range tx.Outputs {
		v -= o.Value
	}
	return v
}

// Deposit is the stolen coins' arrival at the watched exchange address.
type Deposit struct {
	Txid    btc.Hash
	Vout    uint32
	Address string
	Value   int64
	Height  int64
	Block   btc.Hash
}

// Truth is the scenario's answer key.
type Truth struct {
	// Txs are the best chain's non-coinbase transactions in chain order.
	Txs []Tx
	// HotWallet are the exchange hot-wallet addresses the theft empties.
	HotWallet []string
	// Thief are every address the thief controls.
	Thief []string
	// Theft and CoinJoin are the txids of the sweep of the hot wallet and
	// of the equal-output round the thief joins.
	Theft, CoinJoin btc.Hash
	// Deposit is the transaction paying the watched exchange deposit
	// address; it is in the block at height Fork+1, which Branch replaces.
	Deposit Deposit
}

// Tx returns the scenario transaction with txid.
func (t *Truth) Tx(txid btc.Hash) (*Tx, bool) {
	for i := range t.Txs {
		if t.Txs[i].Txid == txid {
			return &t.Txs[i], true
		}
	}
	return nil, false
}

// TheftShare is the answer key's exposure of txid to the theft under the
// haircut policy: the fraction of the value entering txid that traces to
// the theft's outputs, when each theft output is wholly stolen and every
// later output carries its transaction's stolen fraction of inputs (fees
// in proportion). Inputs from outside the key (coinbases) are clean.
func (t *Truth) TheftShare(txid btc.Hash) float64 {
	memo := map[btc.Hash]float64{}
	var share func(txid btc.Hash) float64
	share = func(txid btc.Hash) float64 {
		if f, ok := memo[txid]; ok {
			return f
		}
		tx, ok := t.Tx(txid)
		if !ok {
			return 0
		}
		var stolen, total float64
		for _, in := range tx.Inputs {
			total += float64(in.Value)
			if in.Txid == t.Theft {
				stolen += float64(in.Value)
			} else {
				stolen += float64(in.Value) * share(in.Txid)
			}
		}
		f := 0.0
		if total > 0 {
			f = stolen / total
		}
		memo[txid] = f
		return f
	}
	return share(txid)
}

// Scenario is a validly signed regtest chain telling a theft, and a
// competing branch that removes the deposit.
type Scenario struct {
	Seed int64
	// Best holds heights 1..tip (genesis, regtest's own, excluded).
	Best []Block
	// Fork is the height of the last block Best and Branch share.
	Fork int64
	// Branch holds heights Fork+1.., one block longer than Best's part
	// after Fork, so a node given both reorganises to it; it has no
	// deposit.
	Branch []Block
	// Rejoin extends Best by two blocks (coinbases only), one longer than
	// Branch again: a node given it after Branch reorganises back, and the
	// deposit is mined again.
	Rejoin []Block
	Truth  Truth
}

// Tip is the best chain's last block.
func (s *Scenario) Tip() Block { return s.Best[len(s.Best)-1] }

// story records the roles of the transactions being built.
type story struct {
	*builder
	rng     *rand.Rand
	truth   Truth
	pending []Tx // transactions of the next block
}

// pay spends ins to outs and records the transaction under role.
func (s *story) pay(role string, ins []*coin, outs []output) ([]*coin, error) {
	tx, coins, err := s.spend(ins, outs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", role, err)
	}
	rec := Tx{Role: role, Txid: btc.Hash(tx.TxHash())}
	for _, c := range ins {
		rec.Inputs = append(rec.Inputs, Input{Txid: btc.Hash(c.op.Hash), Vout: c.op.Index, Output: Output{Address: c.key.addr, Kind: c.key.kind, Value: c.value}})
	}
	for _, o := range outs {
		rec.Outputs = append(rec.Outputs, Output{Address: o.key.addr, Kind: o.key.kind, Value: o.value})
	}
	s.pending = append(s.pending, rec)
	return coins, nil
}

// mineBlock mines the pending transactions to a fresh miner key of a
// kind that cycles through the three, so coinbases pay every kind.
func (s *story) mineBlock() (*coin, error) {
	miner, err := s.newKey(Kind(s.height%3) + P2PKH)
	if err != nil {
		return nil, err
	}
	c, err := s.mine(miner)
	if err != nil {
		return nil, err
	}
	blk := s.blocks[len(s.blocks)-1]
	for _, rec := range s.pending {
		rec.Height, rec.Block = blk.Height, blk.Hash
		s.truth.Txs = append(s.truth.Txs, rec)
	}
	s.pending = nil
	return c, nil
}

// keys derives one key of each kind given.
func (s *story) keys(kinds ...Kind) ([]*key, error) {
	ks := make([]*key, len(kinds))
	for i, k := range kinds {
		var err error
		if ks[i], err = s.newKey(k); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// fee is the scenario's fee for a transaction of n inputs: a fixed rate
// per input plus a small random part.
func (s *story) fee(n int) int64 { return int64(1_000+700*n) + s.rng.Int64N(500) }

// btcAmount is about v bitcoin, randomly off by up to 1%.
func (s *story) btcAmount(v int64) int64 {
	base := v * 1_0000_0000
	return base - base/100 + s.rng.Int64N(base/50)
}

// Build makes the scenario of seed: ActivationHeight-1 blocks of
// coinbases (with one legacy P2PKH spend) so that btcd's regtest
// activates segwit and taproot, then the story, block by block:
//
//	A    the exchange funds its hot wallet (P2WPKH, P2TR) from its cold
//	     wallet and from a coinbase; two users fund their wallets
//	A+1  theft: one transaction sweeps the hot wallet to the thief
//	A+2  split into four; two peels (payment + change)
//	A+3  a third peel; an equal-output CoinJoin of the thief and the two
//	     users (Fork: Branch leaves here)
//	A+4  the deposit: a CoinJoin output and the last peel's change pay the
//	     watched exchange deposit address
//	A+5  the thief moves the sweep's taproot output
//
// Branch is three blocks after A+3 with coinbases only; Rejoin, two more
// blocks on Best (A+6, A+7), coinbases only. Equal seeds give
// byte-identical blocks.
func Build(seed int64) (*Scenario, error) {
	s := &story{builder: newBuilder(seed), rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed_7e57))}
	var coinbases []*coin
	var cold []*coin
	for s.height+1 < ActivationHeight {
		if s.height+1 == 200 {
			// A legacy spend before segwit: the exchange's cold wallet.
			ks, err := s.keys(P2PKH)
			if err != nil {
				return nil, err
			}
			c := coinbases[0]
			if cold, err = s.pay("cold-wallet", []*coin{c}, []output{{ks[0], c.value - s.fee(1)}}); err != nil {
				return nil, err
			}
		}
		c, err := s.mineBlock()
		if err != nil {
			return nil, err
		}
		coinbases = append(coinbases, c)
	}

	// A: funding.
	hot, err := s.keys(P2WPKH, P2TR, P2WPKH)
	if err != nil {
		return nil, err
	}
	for _, k := range hot {
		s.truth.HotWallet = append(s.truth.HotWallet, k.addr)
	}
	coldChange, err := s.keys(P2PKH)
	if err != nil {
		return nil, err
	}
	h1, h2 := s.btcAmount(25), s.btcAmount(15)
	fund, err := s.pay("fund-hot", cold[:1], []output{{hot[0], h1}, {hot[1], h2}, {coldChange[0], cold[0].value - h1 - h2 - s.fee(1)}})
	if err != nil {
		return nil, err
	}
	hotCoins := fund[:2]
	change, err := s.keys(P2WPKH, P2WPKH, P2TR)
	if err != nil {
		return nil, err
	}
	h3 := s.btcAmount(20)
	c := coinbases[1]
	fund, err = s.pay("fund-hot", []*coin{c}, []output{{hot[2], h3}, {change[0], c.value - h3 - s.fee(1)}})
	if err != nil {
		return nil, err
	}
	hotCoins = append(hotCoins, fund[0])
	users, err := s.keys(P2WPKH, P2TR)
	if err != nil {
		return nil, err
	}
	var userCoins []*coin
	for i, u := range users {
		c := coinbases[2+i]
		v := s.btcAmount(6)
		got, err := s.pay("user-fund", []*coin{c}, []output{{u, v}, {change[1+i], c.value - v - s.fee(1)}})
		if err != nil {
			return nil, err
		}
		userCoins = append(userCoins, got[0])
	}
	if _, err := s.mineBlock(); err != nil {
		return nil, err
	}

	// A+1: the theft sweeps every hot-wallet coin.
	thief, err := s.keys(P2WPKH, P2TR)
	if err != nil {
		return nil, err
	}
	var stolen int64
	for _, c := range hotCoins {
		stolen += c.value
	}
	t1 := s.btcAmount(35)
	swept, err := s.pay("theft", hotCoins, []output{{thief[0], t1}, {thief[1], stolen - t1 - s.fee(3)}})
	if err != nil {
		return nil, err
	}
	s.truth.Theft = s.pending[len(s.pending)-1].Txid
	if _, err := s.mineBlock(); err != nil {
		return nil, err
	}

	// A+2: split into four, then two peels.
	parts, err := s.keys(P2WPKH, P2PKH, P2TR, P2WPKH)
	if err != nil {
		return nil, err
	}
	thief = append(thief, parts...)
	part := swept[0].value / 4
	split, err := s.pay("split", swept[:1], []output{{parts[0], part}, {parts[1], part}, {parts[2], part}, {parts[3], swept[0].value - 3*part - s.fee(1)}})
	if err != nil {
		return nil, err
	}
	peel := split[0]
	var changes []*coin
	for i, kinds := range [][2]Kind{{P2WPKH, P2TR}, {P2PKH, P2WPKH}, {P2TR, P2PKH}} {
		if i == 2 {
			if _, err := s.mineBlock(); err != nil { // A+3
				return nil, err
			}
		}
		ks, err := s.keys(kinds[0], kinds[1])
		if err != nil {
			return nil, err
		}
		thief = append(thief, ks[1])
		pay := s.btcAmount(1) / 2
		got, err := s.pay("peel", []*coin{peel}, []output{{ks[0], pay}, {ks[1], peel.value - pay - s.fee(1)}})
		if err != nil {
			return nil, err
		}
		peel = got[1]
		changes = append(changes, peel)
	}

	// A+3 (continued): an equal-output CoinJoin of the thief's fourth part
	// and the two users, outputs in a random order.
	const denom = 5_0000_0000
	mix, err := s.keys(P2WPKH, P2WPKH, P2TR, P2WPKH, P2WPKH, P2TR)
	if err != nil {
		return nil, err
	}
	thief = append(thief, mix[0], mix[3])
	ins := []*coin{split[3], userCoins[0], userCoins[1]}
	feeEach := s.fee(3) / 3
	outs := []output{{mix[0], denom}, {mix[1], denom}, {mix[2], denom}}
	for i, c := range ins {
		outs = append(outs, output{mix[3+i], c.value - denom - feeEach})
	}
	order := s.rng.Perm(len(outs))
	shuffled := make([]output, len(outs))
	for i, j := range order {
		shuffled[j] = outs[i]
	}
	mixed, err := s.pay("coinjoin", ins, shuffled)
	if err != nil {
		return nil, err
	}
	s.truth.CoinJoin = s.pending[len(s.pending)-1].Txid
	thiefMix := mixed[order[0]]
	if _, err := s.mineBlock(); err != nil {
		return nil, err
	}
	fork := s.fork("/branch")
	forkHeight := s.height

	// A+4: the deposit.
	dep, err := s.keys(P2WPKH)
	if err != nil {
		return nil, err
	}
	depIns := []*coin{thiefMix, changes[2]}
	v := thiefMix.value + changes[2].value - s.fee(2)
	if _, err := s.pay("deposit", depIns, []output{{dep[0], v}}); err != nil {
		return nil, err
	}
	depTx := s.pending[len(s.pending)-1].Txid
	if _, err := s.mineBlock(); err != nil {
		return nil, err
	}
	s.truth.Deposit = Deposit{Txid: depTx, Address: dep[0].addr, Value: v, Height: s.height, Block: s.blocks[len(s.blocks)-1].Hash}

	// A+5: the thief moves the sweep's taproot output.
	moved, err := s.keys(P2TR)
	if err != nil {
		return nil, err
	}
	thief = append(thief, moved[0])
	if _, err := s.pay("thief-move", swept[1:], []output{{moved[0], swept[1].value - s.fee(1)}}); err != nil {
		return nil, err
	}
	if _, err := s.mineBlock(); err != nil {
		return nil, err
	}
	for _, k := range thief {
		s.truth.Thief = append(s.truth.Thief, k.addr)
	}

	// The branch: one block longer than Best after the fork.
	br := &story{builder: fork, rng: s.rng}
	for br.height < s.height+1 {
		if _, err := br.mineBlock(); err != nil {
			return nil, fmt.Errorf("branch: %w", err)
		}
	}
	// Rejoin: Best grows past the branch again.
	best := len(s.blocks)
	for s.height < br.height+1 {
		if _, err := s.mineBlock(); err != nil {
			return nil, fmt.Errorf("rejoin: %w", err)
		}
	}
	return &Scenario{Seed: seed, Best: s.blocks[:best], Fork: forkHeight, Branch: br.blocks, Rejoin: s.blocks[best:], Truth: s.truth}, nil
}

// Record frames a block as a blk file record: regtest's magic, the
// little-endian length, the block.
func Record(raw []byte) []byte {
	r := make([]byte, 0, 8+len(raw))
	r = append(r, btc.Regtest.Magic[:]...)
	r = binary.LittleEndian.AppendUint32(r, uint32(len(raw)))
	return append(r, raw...)
}

// Genesis is regtest's genesis block, serialized.
func Genesis() []byte {
	var b bytes.Buffer
	// Serialize cannot fail on a memory buffer.
	_ = params.GenesisBlock.Serialize(&b)
	return b.Bytes()
}

// WriteBlocksDir writes dir/blk00000.dat as Bitcoin Core lays out a
// blocks directory: genesis, then the given chains' blocks in order (pass
// s.Best, and s.Branch after it to add the stale-then-best branch).
func (s *Scenario) WriteBlocksDir(dir string, chains ...[]Block) error {
	buf := Record(Genesis())
	for _, c := range chains {
		for _, b := range c {
			buf = append(buf, Record(b.Raw)...)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("regtest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blk00000.dat"), buf, 0o644); err != nil {
		return fmt.Errorf("regtest: %w", err)
	}
	return nil
}
