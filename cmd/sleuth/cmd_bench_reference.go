package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// benchReference times index.Reference, the in-memory indexer that
// `sleuth bench ingest` is compared with (issue 15: the index within 2×
// its wall time on the same files).
func benchReference(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench reference", flag.ContinueOnError)
	blocks := fs.String("blocks", "", "blocks directory (e.g. made by 'sleuth sim')")
	network := fs.String("network", "mainnet", "network of the blocks")
	cores := fs.Int("cores", 0, "GOMAXPROCS (default: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *blocks == "" {
		return usagef("reference: --blocks is required")
	}
	if *cores > 0 {
		runtime.GOMAXPROCS(*cores)
	}
	net, err := btc.NetworkByName(*network)
	if err != nil {
		return usageError{err}
	}
	st, err := index.Reference(ctx, *blocks, net, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	r := stageResult{Stage: "reference", Seconds: st.Elapsed.Seconds(), Txs: st.Txs, Addresses: st.Addrs, Summary: st}
	return printStage(&storeFlags{json: *asJSON}, nil, r, fmt.Sprintf("%d blocks, %d txs (%.0f tx/s), %d inputs, %d outputs, %d addresses, %d unspent; in memory, nothing written",
		st.Blocks, st.Txs, float64(st.Txs)/r.Seconds, st.Inputs, st.Outputs, st.Addrs, st.UTXOs))
}
