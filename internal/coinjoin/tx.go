package coinjoin

import (
	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Tx is what heuristics see of one transaction: dense ids, values and
// script classes, no strings. The engine reuses Tx values between
// transactions; detectors must not keep the slices.
type Tx struct {
	Num      btc.TxNum
	Height   btc.Height
	Version  uint32
	LockTime uint32
	Ins      []In
	Outs     []Out
}

// In is one input. Addr is btc.NoAddr and Value btc.UnknownAmount when they
// cannot be known (a coinbase input, or a standalone block's input whose
// spent output is not indexed).
type In struct {
	Prev     btc.OutRef // valid unless Coinbase or !Resolved
	Resolved bool       // the spent output is in the index
	Coinbase bool
	Value    btc.Amount
	Addr     btc.AddrID
	Type     address.Type // script class of the spent output; NonStandard when unknown
}

// Out is one output.
type Out struct {
	Value btc.Amount
	Type  address.Type
	Addr  btc.AddrID // btc.NoAddr for OP_RETURN and other address-less scripts
}

// Kind names the CoinJoin protocol a transaction follows. The
// numeric values are stored on disk: never reorder.
type Kind uint8

const (
	NotCoinJoin Kind = 0
	// Generic is the equal-output rule of BlockSci's isCoinjoin (also in
	// GraphSense): no protocol recognised, but the shape of one.
	Generic    Kind = 1
	Wasabi1    Kind = 2 // Wasabi 1.x (ZeroLink, ~0.1 BTC base denomination)
	Wasabi2    Kind = 3 // Wasabi 2.0 (WabiSabi, standard denominations)
	Whirlpool  Kind = 4 // Samourai Whirlpool mix (5 in, 5 out, pool denomination)
	JoinMarket Kind = 5 // JoinMarket (n equal outputs + maker/taker change)
	// EqualOutputs and Denominations are the general tests of value
	// structure (collaborative.go): a collaborative transaction of no
	// catalogued protocol.
	EqualOutputs  Kind = 6
	Denominations Kind = 7
)

var kindNames = [...]string{"", "generic", "wasabi1", "wasabi2", "whirlpool", "joinmarket", "equal_outputs", "denominations"}

// String returns the kind's short name ("" for NotCoinJoin).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Verdict is a detector's verdict on one transaction.
type Verdict struct {
	Kind         Kind
	Denomination btc.Amount // the equal output value (the smallest mixed level for Wasabi)
	Participants int        // number of equal outputs at the denomination (an estimate of participants)
}
