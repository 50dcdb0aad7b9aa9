// Command sleuth is a Bitcoin forensics and sanctions-compliance tool. This
// package only wires flags to the internal stages: see docs/ARCHITECTURE.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"syscall"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/client"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

type command struct {
	run   func(ctx context.Context, args []string) error
	usage string
}

var commands = map[string]command{
	"ingest":   {runIngest, "index Bitcoin Core block files (and standalone blocks)"},
	"follow":   {runFollow, "keep the index in step with a running node (--rpc URL or --blocks DIR) until interrupted"},
	"stats":    {runStats, "totals of the index"},
	"status":   {runStatus, "the tip, each stage's height and the label sources (through sleuth serve while it owns the store)"},
	"block":    {runBlock, "look up a block by height or hash"},
	"tx":       {runTx, "look up a transaction by txid"},
	"address":  {runAddress, "look up an address and its transactions"},
	"check":    {runCheck, "verify the index's invariants"},
	"demo":     {runDemo, "index the bundled real blocks and show what is in them"},
	"sim":      {runSim, "write a simulated chain with an answer key"},
	"bench":    {runBench, "measure end-to-end ingest (tx/s, peak RSS, disk)"},
	"cluster":  {runCluster, "group addresses into entities (runs after every ingest)"},
	"entity":   {runEntity, "look up an entity by address or id; list or explain its addresses"},
	"eval":     {runEval, "score the clustering against a simulator answer key (eval clusters --truth DIR)"},
	"labels":   {runLabels, "import sanctions lists and TagPacks; show, count and export labels"},
	"label":    {runLabel, "add or remove an investigator's label (label add, label remove)"},
	"incident": {runIncident, "mark theft or ransom transactions as sources of exposure (incident add, list, remove, path)"},
	"rescreen": {runRescreen, "list past transactions of addresses that the latest imports newly listed"},
	"screen":   {runScreen, "screen addresses or txids: status, exposure by category and a risk level (screen ADDR... | --csv FILE | --jsonl FILE); exit 3 if any not assessed"},
	"exposure": {runExposure, "direct and indirect exposure of an address, entity or transaction, explained"},
	"risk":     {runRisk, "compute exposure after ingest, clustering and label imports (risk update)"},
	"watch":    {runWatch, "watchlists of addresses, entities and rules (watch add, list, remove)"},
	"alerts":   {runAlerts, "list, review and scan for alerts (alerts list, show, ack, dismiss, escalate, note, scan --from-height H)"},
	"webhook":  {runWebhook, "signed webhook endpoints for alerts (webhook add URL, list, remove)"},
	"trace":    {runTrace, "follow stolen or ransom funds forward to cash-out points (fifo, haircut, poison, lifo, tiho)"},
	"serve":    {runServe, "serve the HTTP API, follow a node and deliver alerts (serve --db DIR --listen 127.0.0.1:8334 [--rpc URL [--rpc-cookie F] [--zmq auto] | --blocks DIR])"},
	"export":   {runExport, "write the chain, entities, labels and exposure to PostgreSQL for SQL analysis (export --postgres DSN [--from-height H])"},
	"apikey":   {runAPIKey, "create, list and revoke the API keys of sleuth serve (apikey create --name N --scope read|screen|write)"},
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // includes "not found"
	exitUsage   = 2 // malformed argument: bad address, txid, flag
	// exitNotAssessed: screen or exposure answered every input, but some
	// were not assessed (invalid, or not on the indexed chain).
	exitNotAssessed = 3
	exitCanceled    = 130
)

// usageError marks an error in what the user typed.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// memoryLimit is the Go runtime's soft limit: the garbage collector works
// harder as the heap nears it, so ingest of any chain length stays within the
// 4 GB target (caches, filter and Pebble's cache are bounded; the rest is
// garbage). GOMEMLIMIT in the environment overrides it.
const memoryLimit = 3 << 30

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runWith(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	return runWith(ctx, args, stderr, stderr)
}

// runWith runs one command: help asked for goes to stdout (exit 0), help
// given because no command was named to stderr (exit 2).
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		printUsage(stderr)
		return exitUsage
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		printUsage(stdout)
		return exitOK
	case args[0] == "version" || args[0] == "--version":
		fmt.Fprintln(stdout, version())
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sleuth: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return exitUsage
	}
	notes = stderr
	err := cmd.run(ctx, args[1:])
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	err = explainRemote(err)
	fmt.Fprintf(stderr, "sleuth %s: %v\n", args[0], err)
	return exitCode(err)
}

func exitCode(err error) int {
	var ue usageError
	var na notAssessed
	switch {
	case errors.Is(err, context.Canceled):
		return exitCanceled
	case errors.As(err, &na):
		return exitNotAssessed
	case errors.As(err, &ue), errors.Is(err, index.ErrBadRef),
		errors.Is(err, address.ErrChecksum), errors.Is(err, address.ErrWrongNetwork),
		errors.Is(err, address.ErrLength), errors.Is(err, address.ErrFormat),
		errors.Is(err, btc.ErrHashLength), errors.Is(err, btc.ErrHashHex), errors.Is(err, label.ErrCategory),
		errors.Is(err, client.ErrBadRequest):
		return exitUsage
	default:
		return exitFailure
	}
}

// version names the build: module version, VCS revision and time when
// the binary was built from a checkout, and the Go toolchain.
func version() string {
	v, rev, at, dirty := "devel", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	out := "sleuth " + v
	if rev != "" {
		out += " " + rev[:min(12, len(rev))]
		if dirty {
			out += "+dirty"
		}
		out += " " + at
	}
	return out + " " + runtime.Version()
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: sleuth <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].usage)
	}
	fmt.Fprintln(w, "\nRun 'sleuth <command> -h' for a command's flags.")
}

// newLogger returns the process logger: text on stderr, debug with -v.
func newLogger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
