package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TxsPerScale is the number of best-chain transactions (coinbases included)
// that Scale 1 asks for.
const TxsPerScale = 10_000

// DefaultMaxFileSize is Bitcoin Core's MAX_BLOCKFILE_SIZE (128 MiB).
const DefaultMaxFileSize = 128 << 20

// MinMaxFileSize is the smallest MaxFileSize accepted: Bitcoin Core's
// -fastprune block-file size (64 KiB).
const MinMaxFileSize = 64 << 10

// Options configure Run. The zero value of every field but Out has a
// default, given in the field's comment.
type Options struct {
	// Out is the output directory; Run creates Out/blocks, Out/truth and
	// Out/public. Required.
	Out string
	// Seed selects the simulated world. Equal Seed and options give
	// byte-identical output. Default 0 (a valid seed).
	Seed int64
	// Scale sets the size of the chain: the best chain holds about
	// Scale×TxsPerScale transactions, coinbases included (within a few
	// percent; crime flows are never cut short). Scale 0.03 gives a few
	// hundred transactions, 100 about a million, 1000 about ten million.
	// Default 1. The smallest chain has 101 blocks, the coinbase maturity.
	Scale float64
	// XOR writes blocks/xor.dat with a key drawn from Seed and obfuscates
	// the blk files as Bitcoin Core 28+ does. Default false.
	XOR bool
	// Network is btc.Mainnet or btc.Regtest. Default btc.Mainnet.
	Network *btc.Network
	// MaxFileSize is the size a blk file may not reach (Core's
	// MAX_BLOCKFILE_SIZE). Default DefaultMaxFileSize; at least
	// MinMaxFileSize.
	MaxFileSize int64
	// Logger receives progress. Default: discard.
	Logger *slog.Logger
}

// Summary describes what Run wrote.
type Summary struct {
	Out         string `json:"-"`
	Network     string
	Seed        int64
	Scale       float64
	Blocks      int64 // best-chain blocks, genesis included
	Txs         int64 // best-chain transactions, coinbases and genesis included
	StaleBlocks int64 // blocks off the best chain
	OutOfOrder  int64 // blocks written to disk before their parent
	Files       int   // blk files
	Bytes       int64 // bytes of the blk files on disk, padding included
	Addresses   int64 // addresses created (rows of truth/addresses.csv)
	StolenSats  int64 // sats taken in the theft
	RansomSats  int64 // sats paid in ransoms
	// UnknownCoordinators is the number of CoinJoin coordinators of
	// protocols no detector knows (truth/coordinators.json).
	UnknownCoordinators int
	Duration            time.Duration `json:"-"`
	// Counts is the number of best-chain transactions of each kind (see
	// truth/txs.csv), coinbases included.
	Counts map[string]int64
}

// TxPerSecond is the generation rate.
func (s *Summary) TxPerSecond() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Txs) / s.Duration.Seconds()
}

// String renders the summary for a terminal.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "out:          %s\n", s.Out)
	fmt.Fprintf(&b, "network:      %s (seed %d, scale %g)\n", s.Network, s.Seed, s.Scale)
	fmt.Fprintf(&b, "blocks:       %d best chain, %d stale, %d written before their parent\n", s.Blocks, s.StaleBlocks, s.OutOfOrder)
	fmt.Fprintf(&b, "transactions: %d\n", s.Txs)
	fmt.Fprintf(&b, "addresses:    %d\n", s.Addresses)
	fmt.Fprintf(&b, "files:        %d blk files, %d bytes\n", s.Files, s.Bytes)
	fmt.Fprintf(&b, "theft:        %.8f BTC stolen\n", float64(s.StolenSats)/1e8)
	fmt.Fprintf(&b, "ransomware:   %.8f BTC paid\n", float64(s.RansomSats)/1e8)
	fmt.Fprintf(&b, "collab txs:   %d rounds of %d unknown coordinators, %d payjoins, %d collaborative batches\n",
		s.Counts[kCoinjoinUnknown.String()], s.UnknownCoordinators, s.Counts[kPayjoin.String()], s.Counts[kCollabBatch.String()])
	fmt.Fprintf(&b, "duration:     %v (%.0f tx/s)\n", s.Duration.Round(time.Millisecond), s.TxPerSecond())
	kinds := make([]string, 0, len(s.Counts))
	for k := range s.Counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-24s %d\n", k, s.Counts[k])
	}
	return b.String()
}

// ErrOptions classifies invalid options.
var ErrOptions = errors.New("invalid sim options")

// withDefaults validates o and fills defaults.
func (o Options) withDefaults() (Options, *chaincfg.Params, error) {
	if o.Out == "" {
		return o, nil, fmt.Errorf("%w: Out is required", ErrOptions)
	}
	if o.Scale == 0 {
		o.Scale = 1
	}
	if o.Scale < 0 || math.IsNaN(o.Scale) || math.IsInf(o.Scale, 0) || o.Scale > 100_000 {
		return o, nil, fmt.Errorf("%w: Scale %g out of range (0, 100000]", ErrOptions, o.Scale)
	}
	if o.Network == nil {
		o.Network = btc.Mainnet
	}
	var params *chaincfg.Params
	switch o.Network.Name {
	case btc.Mainnet.Name:
		params = &chaincfg.MainNetParams
	case btc.Regtest.Name:
		params = &chaincfg.RegressionNetParams
	default:
		return o, nil, fmt.Errorf("%w: network %q not supported (mainnet or regtest)", ErrOptions, o.Network.Name)
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxFileSize < MinMaxFileSize || o.MaxFileSize > 1<<31 {
		return o, nil, fmt.Errorf("%w: MaxFileSize %d out of range [%d, 2 GiB]", ErrOptions, o.MaxFileSize, MinMaxFileSize)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, params, nil
}

// plan is the shape of the chain derived from Options.
type plan struct {
	target    int64 // best-chain transactions wanted
	bootstrap int32 // coinbase-only blocks 1..bootstrap before calStart
	regular   int32 // blocks after the bootstrap
	perBlock  int   // non-coinbase transactions per regular block
}

// users is the number of retail users: one per 40 transactions, 30 to
// 100,000.
func (p plan) users() int { return int(min(max(p.target/40, 30), 100_000)) }

func makePlan(scale float64) plan {
	var p plan
	p.target = max(int64(math.Round(scale*TxsPerScale)), 150)
	p.bootstrap = 101 + int32(math.Round(400*math.Min(scale, 1)))
	per := int(min(max(p.target/80, 4), 1700))
	p.regular = int32(max((p.target-int64(p.bootstrap))/int64(per), 20))
	p.perBlock = per - 1
	return p
}
