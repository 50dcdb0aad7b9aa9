package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

// runSim implements `sleuth sim`: write a simulated chain in Bitcoin Core's
// block-file format, its answer key and the investigator's starting
// knowledge (see docs/SIMULATOR.md).
func runSim(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	out := fs.String("out", "", "output directory (required); gets blocks/, truth/ and public/")
	seed := fs.Int64("seed", 1, "world seed: the same seed and flags give the same bytes")
	scale := fs.Float64("scale", 1, fmt.Sprintf("chain size: about scale × %d best-chain transactions (0.03 ≈ 300, 100 ≈ 1M)", sim.TxsPerScale))
	xor := fs.Bool("xor", false, "obfuscate the blk files with a blocks/xor.dat key (Bitcoin Core 28+)")
	network := fs.String("network", "mainnet", "mainnet or regtest")
	maxFile := fs.Int64("max-file-size", sim.DefaultMaxFileSize, "blk file size limit in bytes (Core: 128 MiB; at least 65536)")
	verbose := fs.Bool("v", false, "log progress")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %v", fs.Args())
	}
	net, err := btc.NetworkByName(*network)
	if err != nil {
		return usageError{err}
	}
	sum, err := sim.Run(ctx, sim.Options{
		Out: *out, Seed: *seed, Scale: *scale, XOR: *xor, Network: net, MaxFileSize: *maxFile, Logger: newLogger(*verbose),
	})
	if errors.Is(err, sim.ErrOptions) {
		return usageError{err}
	}
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	fmt.Print(sum.String())
	return nil
}
