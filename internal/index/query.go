package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// StatsView is the answer of `sleuth stats`.
type StatsView struct {
	Network        string `json:"network"`
	Height         int64  `json:"height"`
	BestHash       string `json:"best_hash"`
	Blocks         int64  `json:"blocks"`
	Txs            uint64 `json:"txs"`
	Outputs        uint64 `json:"outputs"`
	Inputs         uint64 `json:"inputs"`
	Addresses      uint64 `json:"addresses"`
	UTXOs          uint64 `json:"utxos"`
	UTXOValue      uint64 `json:"utxo_value"`
	DetachedBlocks uint64 `json:"detached_blocks"`
	DetachedTxs    uint64 `json:"detached_txs"`
}

// Stats returns the index's totals.
func (db *DB) Stats() StatsView {
	st := db.st
	v := StatsView{Network: db.opts.Network.Name, Height: st.Height, Blocks: st.Height + 1, Txs: uint64(st.NextTx),
		Outputs: st.Outputs, Inputs: st.Inputs, Addresses: uint64(st.NextAddr), UTXOs: st.UTXOs, UTXOValue: st.UTXOValue,
		DetachedBlocks: st.DetachedBlocks, DetachedTxs: st.DetachedTxs}
	if st.Height >= 0 {
		v.BestHash = st.Tip.String()
	}
	return v
}

// BlockView is the answer of `sleuth block`.
type BlockView struct {
	Hash       string `json:"hash"`
	Height     *int64 `json:"height"` // null for a standalone block without a BIP34 height
	Time       string `json:"time"`
	TxCount    uint64 `json:"tx_count"`
	Size       uint64 `json:"size"`
	Weight     uint64 `json:"weight"`
	Version    int32  `json:"version"`
	Prev       string `json:"previous_block_hash"`
	MerkleRoot string `json:"merkle_root"`
	Bits       string `json:"bits"`
	Nonce      uint32 `json:"nonce"`
	BestChain  bool   `json:"best_chain"`
	Source     string `json:"source,omitempty"` // file of a standalone block
}

func rfc3339(unix uint32) string { return time.Unix(int64(unix), 0).UTC().Format(time.RFC3339) }

func (db *DB) blockView(r *blockRecord, best bool) (*BlockView, error) {
	h, err := blockfile.ParseHeader(r.Header[:])
	if err != nil {
		return nil, corrupt("block header", err)
	}
	v := &BlockView{Hash: r.Hash.String(), Time: rfc3339(h.Time), TxCount: r.NTx, Size: r.Size, Weight: r.Weight,
		Version: h.Version, Prev: h.Prev.String(), MerkleRoot: h.MerkleRoot.String(), Bits: fmt.Sprintf("%08x", h.Bits),
		Nonce: h.Nonce, BestChain: best, Source: r.Source}
	if r.Height != NoHeight {
		x := int64(r.Height)
		v.Height = &x
	}
	return v, nil
}

// Block returns the block at a height or with a hash. The best chain is
// searched first, then standalone blocks.
func (db *DB) Block(ref string) (*BlockView, error) {
	r, best, err := db.findBlock(ref)
	if err != nil {
		return nil, err
	}
	return db.blockView(r, best)
}

// ErrBadRef means a block, transaction or height argument is malformed.
var ErrBadRef = errors.New("malformed")

func (db *DB) findBlock(ref string) (*blockRecord, bool, error) {
	var r blockRecord
	if len(ref) < 64 {
		h, err := strconv.ParseUint(ref, 10, 32)
		if err != nil {
			return nil, false, fmt.Errorf("%w block reference %q: want a height or a 64-hex-digit hash", ErrBadRef, ref)
		}
		if v, err := db.get(keyHeight(pBlock, btc.Height(h))); err != nil {
			return nil, false, err
		} else if v != nil {
			return &r, true, r.decode(v)
		}
		lo := keyHeight(pDetachedH, btc.Height(h))
		it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
		if err != nil {
			return nil, false, err
		}
		defer it.Close()
		if it.First() {
			var hash btc.Hash
			copy(hash[:], it.Key()[5:])
			v, err := db.get(keyHash(pDetached, hash))
			if err != nil || v == nil {
				return nil, false, fmt.Errorf("index: standalone block %s: record missing (%v)", hash, err)
			}
			return &r, false, r.decode(v)
		}
		return nil, false, fmt.Errorf("block at height %d: %w", h, ErrNotFound)
	}
	hash, err := btc.ParseHash(ref)
	if err != nil {
		return nil, false, fmt.Errorf("%w block hash %q: %v", ErrBadRef, ref, err)
	}
	if v, err := db.get(keyHash(pBlockHash, hash)); err != nil {
		return nil, false, err
	} else if v != nil {
		h, n := binary.Uvarint(v)
		if n <= 0 {
			return nil, false, corrupt("block hash index", nil)
		}
		bv, err := db.get(keyHeight(pBlock, btc.Height(h)))
		if err != nil || bv == nil {
			return nil, false, fmt.Errorf("index: block %d: record missing (%v)", h, err)
		}
		return &r, true, r.decode(bv)
	}
	if v, err := db.get(keyHash(pDetached, hash)); err != nil {
		return nil, false, err
	} else if v != nil {
		return &r, false, r.decode(v)
	}
	return nil, false, fmt.Errorf("block %s: %w", hash, ErrNotFound)
}

// TxView is the answer of `sleuth tx`.
type TxView struct {
	TxID      string       `json:"txid"`
	Height    *int64       `json:"height"`
	BlockHash string       `json:"block_hash"`
	Time      string       `json:"time"`
	Fee       *int64       `json:"fee"` // null when an input value is unknown
	Size      uint64       `json:"size"`
	VSize     uint64       `json:"vsize"`
	Weight    uint64       `json:"weight"`
	Version   uint32       `json:"version"`
	LockTime  uint32       `json:"locktime"`
	BestChain bool         `json:"best_chain"`
	Inputs    []InputView  `json:"inputs"`
	Outputs   []OutputView `json:"outputs"`
}

// InputView is one input of a TxView. A coinbase input is {"coinbase":true}.
type InputView struct {
	Coinbase bool    `json:"coinbase,omitempty"`
	TxID     string  `json:"txid,omitempty"`
	Vout     *uint32 `json:"vout,omitempty"`
	Address  *string `json:"address,omitempty"`
	Value    *int64  `json:"value,omitempty"`
}

// OutputView is one output of a TxView.
type OutputView struct {
	N       uint32  `json:"n"`
	Type    string  `json:"type"`
	Address *string `json:"address"`
	Value   int64   `json:"value"`
	// Spent is "yes", "no" or "unknown" (an output of a standalone block
	// that no indexed input spends: the blocks after it are not indexed).
	Spent   SpendStatus `json:"spent"`
	SpentBy *SpentView  `json:"spent_by"`
}

// SpentView names the input that spends an output.
type SpentView struct {
	TxID string `json:"txid"`
	Vin  uint32 `json:"vin"`
}

// Tx returns the transaction with id txid.
func (db *DB) Tx(txid btc.Hash) (*TxView, error) {
	var tr txRecord
	num, err := db.lookupTxNum(txid, &tr)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("transaction %s: %w", txid, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return db.txView(num, &tr)
}

func (db *DB) txView(num btc.TxNum, tr *txRecord) (*TxView, error) {
	v := &TxView{TxID: tr.TxID.String(), Size: tr.Size, Weight: tr.Weight, VSize: (tr.Weight + 3) / 4,
		Version: tr.Version, LockTime: tr.LockTime, BestChain: num < DetachedBase}
	br, err := db.blockOfTx(num, tr)
	if err != nil {
		return nil, err
	}
	if br.Height != NoHeight {
		h := int64(br.Height)
		v.Height = &h
	}
	v.BlockHash = br.Hash.String()
	hdr, _ := blockfile.ParseHeader(br.Header[:])
	v.Time = rfc3339(hdr.Time)
	var inSum, outSum int64
	known := true
	var prev txRecord
	for _, in := range tr.Ins {
		var iv InputView
		switch in.Kind {
		case inCoinbase:
			iv.Coinbase = true
			known = false
		case inResolved:
			pv, err := db.get(keyTx(in.Prev.Tx()))
			if err != nil || pv == nil {
				return nil, fmt.Errorf("index: tx %d spent by %s missing (%v)", in.Prev.Tx(), tr.TxID, err)
			}
			if err := prev.decode(pv, in.Prev.Tx() >= DetachedBase); err != nil {
				return nil, err
			}
			iv.TxID = prev.TxID.String()
			vo := in.Prev.Vout()
			iv.Vout = &vo
		case inUnresolved:
			iv.TxID = in.PrevTxID.String()
			vo := in.PrevVout
			iv.Vout = &vo
		}
		if !iv.Coinbase {
			if in.Value == btc.UnknownAmount {
				known = false
			} else {
				x := int64(in.Value)
				iv.Value = &x
				inSum += x
			}
			s, err := db.addrString(in.Addr)
			if err != nil {
				return nil, err
			}
			iv.Address = s
		}
		v.Inputs = append(v.Inputs, iv)
	}
	spends, err := db.spendsOf(num, len(tr.Outs))
	if err != nil {
		return nil, err
	}
	for n, o := range tr.Outs {
		ov := OutputView{N: uint32(n), Type: o.Type.String(), Value: int64(o.Value)}
		outSum += int64(o.Value)
		s, err := db.addrString(o.Addr)
		if err != nil {
			return nil, err
		}
		ov.Address = s
		in, ok := spends[uint32(n)]
		ov.Spent = spendStatus(num, ok)
		if ok {
			sv, err := db.get(keyTx(in.Tx()))
			if err != nil || sv == nil {
				return nil, fmt.Errorf("index: spender tx %d missing (%v)", in.Tx(), err)
			}
			if err := prev.decode(sv, in.Tx() >= DetachedBase); err != nil {
				return nil, err
			}
			ov.SpentBy = &SpentView{TxID: prev.TxID.String(), Vin: in.Vin()}
		}
		v.Outputs = append(v.Outputs, ov)
	}
	if known {
		fee := inSum - outSum
		v.Fee = &fee
	}
	return v, nil
}

// spendsOf returns, by output index, the inputs that spend tx num's outputs.
func (db *DB) spendsOf(num btc.TxNum, nout int) (map[uint32]btc.InRef, error) {
	lo := keySpend(nil, btc.MakeOutRef(num, 0))
	hi := keySpend(nil, btc.MakeOutRef(num+1, 0))
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[uint32]btc.InRef{}
	for ok := it.First(); ok; ok = it.Next() {
		ref := btc.OutRef(decodeBE64(it.Key()[1:]))
		x, n := binary.Uvarint(it.Value())
		if n <= 0 {
			return nil, corrupt("spend", nil)
		}
		out[ref.Vout()] = btc.InRef(x)
	}
	return out, it.Error()
}

// addrKey returns the stored key of address id.
func (db *DB) addrKey(id btc.AddrID) (address.Key, error) {
	v, err := db.get(keyAddr(nil, id))
	if err != nil {
		return address.Key{}, err
	}
	if v == nil {
		return address.Key{}, corrupt("address", fmt.Errorf("id %d has no key", id))
	}
	return address.KeyFromBytes(v)
}

// addrString encodes address id as a string, or nil when it has none.
func (db *DB) addrString(id btc.AddrID) (*string, error) {
	if id == btc.NoAddr {
		return nil, nil
	}
	k, err := db.addrKey(id)
	if err != nil {
		return nil, err
	}
	s, ok := address.Encode(k, db.opts.Network)
	if !ok {
		return nil, nil
	}
	return &s, nil
}

// AddressView is the answer of `sleuth address`.
type AddressView struct {
	Address   string  `json:"address"`
	Type      string  `json:"type"`
	Balance   *int64  `json:"balance"` // null when a spend's value or an output's spend is unknown
	Received  int64   `json:"received"`
	Sent      *int64  `json:"sent"`
	TxCount   uint64  `json:"tx_count"`
	FirstSeen *string `json:"first_seen"`
	LastSeen  *string `json:"last_seen"`
	// UnknownSpends counts inputs from this address (in standalone blocks)
	// whose value cannot be known.
	UnknownSpends uint64 `json:"unknown_spends,omitempty"`
	// SpendUnknown counts outputs paid to this address in standalone
	// blocks that no indexed input spends: whether they are spent is
	// unknown (the blocks after them are not indexed), and so is the
	// balance.
	SpendUnknown uint64 `json:"outputs_spend_unknown,omitempty"`
}

// Address returns what the index knows of the address s.
func (db *DB) Address(s string) (*AddressView, error) {
	k, id, err := db.lookupAddress(s)
	if err != nil {
		return nil, err
	}
	v := &AddressView{Address: s, Type: k.Kind().String()}
	if enc, ok := address.Encode(k, db.opts.Network); ok {
		v.Address = enc
	}
	sv, err := db.get(keyAddrStats(nil, id))
	if err != nil {
		return nil, err
	}
	var st addrStats
	if sv != nil {
		if err := st.decode(sv); err != nil {
			return nil, err
		}
	}
	v.Received, v.TxCount, v.UnknownSpends = int64(st.Received), st.TxCount, st.Unknown
	if v.SpendUnknown, err = db.unknownOutputs(id); err != nil {
		return nil, err
	}
	if st.Unknown == 0 {
		sent := int64(st.Sent)
		v.Sent = &sent
		if v.SpendUnknown == 0 {
			bal := int64(st.Received) - int64(st.Sent)
			v.Balance = &bal
		}
	}
	if st.TxCount > 0 {
		f, err := db.txTime(st.First)
		if err != nil {
			return nil, err
		}
		l, err := db.txTime(st.Last)
		if err != nil {
			return nil, err
		}
		v.FirstSeen, v.LastSeen = &f, &l
	}
	return v, nil
}

// lookupAddress decodes an address string for the store's network and
// finds its id: a malformed string wraps an address sentinel, an unknown one
// ErrNotFound.
func (db *DB) lookupAddress(s string) (address.Key, btc.AddrID, error) {
	k, err := address.Decode(s, db.opts.Network)
	if err != nil {
		return k, 0, err
	}
	id, err := db.addrID(k)
	return k, id, err
}

func (db *DB) addrID(k address.Key) (btc.AddrID, error) {
	id, ok, err := storedAddrID(db.r, keyAddrKey(nil, k.Bytes()))
	if err != nil || ok {
		return id, err
	}
	s, _ := address.Encode(k, db.opts.Network)
	return 0, fmt.Errorf("address %s: %w", s, ErrNotFound)
}

// txTime returns the block time of tx num.
func (db *DB) txTime(num btc.TxNum) (string, error) {
	t, err := db.TxUnixTime(num)
	if err != nil {
		return "", err
	}
	return rfc3339(t), nil
}

// TxUnixTime returns the block time of transaction num (Unix seconds),
// of the best chain or of a standalone block.
func (db *DB) TxUnixTime(num btc.TxNum) (uint32, error) {
	v, err := db.get(keyTx(num))
	if err != nil || v == nil {
		return 0, fmt.Errorf("index: tx %d missing (%v)", num, err)
	}
	var tr txRecord
	if err := tr.decode(v, num >= DetachedBase); err != nil {
		return 0, err
	}
	br, err := db.blockOfTx(num, &tr)
	if err != nil {
		return 0, err
	}
	h, _ := blockfile.ParseHeader(br.Header[:])
	return h.Time, nil
}

// blockOfTx returns the record of the block holding tx num (decoded in tr).
func (db *DB) blockOfTx(num btc.TxNum, tr *txRecord) (*blockRecord, error) {
	var bv []byte
	var err error
	if num < DetachedBase {
		bv, err = db.get(keyHeight(pBlock, tr.Height))
	} else {
		bv, err = db.get(keyHash(pDetached, tr.BlockHash))
	}
	if err != nil || bv == nil {
		return nil, fmt.Errorf("index: block of tx %s missing (%v)", tr.TxID, err)
	}
	var br blockRecord
	return &br, br.decode(bv)
}

// AddressTxView is one row of `sleuth address --txs`.
type AddressTxView struct {
	TxID     string `json:"txid"`
	Height   *int64 `json:"height"`
	Time     string `json:"time"`
	Received int64  `json:"received"`
	Sent     *int64 `json:"sent"` // null when a spend's value is unknown
}

// AddressTxs lists the address's transactions newest first: at most limit,
// starting after the transaction after (a txid from the previous page; empty
// for the first page).
func (db *DB) AddressTxs(s string, limit int, after string) ([]AddressTxView, error) {
	_, id, err := db.lookupAddress(s)
	if err != nil {
		return nil, err
	}
	lo := keyAddrTx(nil, id, 0)
	hi := prefixEnd(lo[:9])
	if after != "" {
		h, err := btc.ParseHash(after)
		if err != nil {
			return nil, fmt.Errorf("%w --after %q: %v", ErrBadRef, after, err)
		}
		var tr txRecord
		num, err := db.lookupTxNum(h, &tr)
		if err != nil {
			return nil, fmt.Errorf("--after %s: %w", h, err)
		}
		hi = keyAddrTx(nil, id, num)
	}
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []AddressTxView
	var tr txRecord
	var r addrTxRecord
	for ok := it.Last(); ok && (limit <= 0 || len(out) < limit); ok = it.Prev() {
		num := btc.TxNum(decodeBE64(it.Key()[9:]))
		if err := r.decode(it.Value()); err != nil {
			return nil, err
		}
		v, err := db.get(keyTx(num))
		if err != nil || v == nil {
			return nil, fmt.Errorf("index: tx %d missing (%v)", num, err)
		}
		if err := tr.decode(v, num >= DetachedBase); err != nil {
			return nil, err
		}
		row := AddressTxView{TxID: tr.TxID.String(), Received: int64(r.Received)}
		if r.Unknown == 0 {
			x := int64(r.Sent)
			row.Sent = &x
		}
		if num < DetachedBase || tr.Height != NoHeight {
			h := int64(tr.Height)
			row.Height = &h
		}
		if row.Time, err = db.txTime(num); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, it.Error()
}

// BlockTxIDs returns the txids of a block (by height or hash), in block order.
func (db *DB) BlockTxIDs(ref string) ([]btc.Hash, error) {
	r, _, err := db.findBlock(ref)
	if err != nil {
		return nil, err
	}
	out := make([]btc.Hash, 0, r.NTx)
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: keyTx(r.FirstTx), UpperBound: keyTx(r.FirstTx + btc.TxNum(r.NTx))})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		var id btc.Hash
		if len(it.Value()) < 32 {
			return nil, corrupt("tx", encodingShort)
		}
		copy(id[:], it.Value()[:32])
		out = append(out, id)
	}
	if uint64(len(out)) != r.NTx {
		return out, corrupt("block", fmt.Errorf("%d tx records for %d txs", len(out), r.NTx))
	}
	return out, it.Error()
}

var encodingShort = errors.New("record too short")
