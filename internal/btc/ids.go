package btc

import "fmt"

// TxNum is the dense, chain-ordered number of a transaction (invariant B1).
type TxNum uint64

// AddrID is the dense, first-seen-ordered number of an address (invariant B3).
type AddrID uint64

// NoAddr marks an output with no address (OP_RETURN) or an input whose
// address cannot be known.
const NoAddr AddrID = 1<<64 - 1

// Height is a block height on the best chain; the genesis block is 0.
type Height uint32

// Amount is a value in satoshis.
type Amount int64

// UnknownAmount marks a value that cannot be known (an input whose spent
// output is not in the index). It is never summed; see invariant B4 in index.
const UnknownAmount Amount = -1

// MaxMoney is 21 million BTC in satoshis; no valid amount exceeds it.
const MaxMoney Amount = 21_000_000 * 100_000_000

// indexBits is how many low bits of an OutRef or InRef hold the index.
const indexBits = 24

// MaxIndex is the largest input or output index an OutRef or InRef holds.
const MaxIndex = 1<<indexBits - 1

// OutRef names output vout of transaction tx (invariant B2).
type OutRef uint64

// MakeOutRef packs (tx, vout). vout must be at most MaxIndex.
func MakeOutRef(tx TxNum, vout uint32) OutRef { return OutRef(uint64(tx)<<indexBits | uint64(vout)) }

// Tx returns the transaction number of r.
func (r OutRef) Tx() TxNum { return TxNum(r >> indexBits) }

// Vout returns the output index of r.
func (r OutRef) Vout() uint32 { return uint32(r & MaxIndex) }

func (r OutRef) String() string { return fmt.Sprintf("%d:%d", r.Tx(), r.Vout()) }

// InRef names input vin of transaction tx (invariant B2).
type InRef uint64

// MakeInRef packs (tx, vin). vin must be at most MaxIndex.
func MakeInRef(tx TxNum, vin uint32) InRef { return InRef(uint64(tx)<<indexBits | uint64(vin)) }

// Tx returns the transaction number of r.
func (r InRef) Tx() TxNum { return TxNum(r >> indexBits) }

// Vin returns the input index of r.
func (r InRef) Vin() uint32 { return uint32(r & MaxIndex) }

func (r InRef) String() string { return fmt.Sprintf("%d:%d", r.Tx(), r.Vin()) }
