package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// runEntityOverride is `sleuth entity merge|split|accept|reject|overrides|unset`:
// an investigator's decisions about entities, stored with who and why,
// surviving rebuilds and reorgs.
func runEntityOverride(ctx context.Context, verb string, args []string) (err error) {
	var by, reason string
	s := &storeFlags{}
	fs := flag.NewFlagSet("entity "+verb, flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&by, "by", defaultUser(), "who decides (recorded)")
	fs.StringVar(&reason, "reason", "", "why (recorded; required)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	want := map[string]int{"merge": 2, "split": 2, "accept": 1, "reject": 1, "overrides": 0}
	if verb == "unset" {
		if fs.NArg() < 2 {
			return usagef("usage: sleuth entity unset accept|reject TXID | unset merge ADDRESS ADDRESS")
		}
	} else if fs.NArg() != want[verb] {
		return usagef("usage: sleuth entity merge A B --reason R | split A B --reason R | accept TXID --reason R | reject TXID --reason R | overrides | unset KIND SUBJECT...")
	}
	if verb != "overrides" && verb != "unset" && reason == "" {
		return usagef("--reason is required: every decision is recorded with who made it and why")
	}
	db, err := s.open(verb != "overrides")
	if err != nil {
		return err
	}
	defer db.Close()
	if verb == "overrides" {
		return listOverrides(ctx, db, s)
	}
	if _, err := cluster.ReadStatus(db); err != nil {
		return fmt.Errorf("%w: run 'sleuth cluster' first", err)
	}
	opts := cluster.Options{Logger: newLogger(false)}
	// Entities change: the labels' entity index and exposure follow.
	defer func() {
		if err == nil {
			_, err = pipeline.New(db, pipeline.Options{}).ClustersChanged(ctx)
		}
	}()
	switch verb {
	case "split":
		a, err := db.AddrID(fs.Arg(0))
		if err != nil {
			return err
		}
		b, err := db.AddrID(fs.Arg(1))
		if err != nil {
			return err
		}
		rejected, err := cluster.Split(ctx, db, a, b, by, reason, opts)
		for _, id := range rejected {
			fmt.Printf("rejected the merges of tx %s\n", id)
		}
		if err != nil {
			return err
		}
		fmt.Printf("%s and %s are now in different entities (%d transactions rejected)\n", fs.Arg(0), fs.Arg(1), len(rejected))
		return nil
	case "unset":
		o, err := overrideArg(db, fs.Args()[0], fs.Args()[1:])
		if err != nil {
			return err
		}
		sum, err := cluster.RemoveOverride(ctx, db, o, opts)
		if err != nil {
			return err
		}
		fmt.Printf("removed the %s decision; reclustered %d blocks (%d merges)\n", o.Kind, sum.Blocks, sum.Merges)
		return nil
	}
	o, err := overrideArg(db, verb, fs.Args())
	if err != nil {
		return err
	}
	o.By, o.Reason = by, reason
	sum, err := cluster.SetOverride(ctx, db, o, opts)
	if err != nil {
		return err
	}
	fmt.Printf("recorded: %s by %s (%q); reclustered %d blocks (%d merges, %d refused)\n", o.Kind, by, reason, sum.Blocks, sum.Merges, sum.Refused)
	return nil
}

// overrideArg builds the decision a verb and its arguments name.
func overrideArg(db *index.DB, verb string, args []string) (cluster.Override, error) {
	switch verb {
	case "accept", "reject":
		if len(args) != 1 {
			return cluster.Override{}, usagef("%s takes one TXID", verb)
		}
		id, err := btc.ParseHash(args[0])
		if err != nil {
			return cluster.Override{}, usageError{fmt.Errorf("txid %q: %w", args[0], err)}
		}
		k := cluster.Reject
		if verb == "accept" {
			k = cluster.Accept
		}
		return cluster.Override{Kind: k, TxID: id}, nil
	case "merge":
		if len(args) != 2 {
			return cluster.Override{}, usagef("merge takes two addresses")
		}
		o := cluster.Override{Kind: cluster.Join}
		var err error
		if o.A, err = address.Decode(args[0], db.Network()); err != nil {
			return o, usageError{fmt.Errorf("address %q: %w", args[0], err)}
		}
		if o.B, err = address.Decode(args[1], db.Network()); err != nil {
			return o, usageError{fmt.Errorf("address %q: %w", args[1], err)}
		}
		return o, nil
	}
	return cluster.Override{}, usagef("unknown decision %q (want accept, reject or merge)", verb)
}

// overrideView is a stored decision as users read it.
type overrideView struct {
	Kind   string    `json:"kind"`
	TxID   string    `json:"txid,omitempty"`
	A      string    `json:"a,omitempty"`
	B      string    `json:"b,omitempty"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

func listOverrides(ctx context.Context, db *index.DB, s *storeFlags) error {
	rows := []overrideView{}
	err := cluster.Overrides(ctx, db, func(o *cluster.Override) error {
		v := overrideView{Kind: o.Kind.String(), By: o.By, Reason: o.Reason, Time: o.Time}
		if o.Kind == cluster.Join {
			v.A, _ = address.Encode(o.A, db.Network())
			v.B, _ = address.Encode(o.B, db.Network())
		} else {
			v.TxID = o.TxID.String()
		}
		rows = append(rows, v)
		return nil
	})
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(rows)
	}
	for _, r := range rows {
		subject := r.TxID
		if r.Kind == "merge" {
			subject = r.A + " + " + r.B
		}
		fmt.Printf("%s  %-6s %s  by %s: %q\n", r.Time.Format(time.RFC3339), r.Kind, subject, r.By, r.Reason)
	}
	return nil
}

// defaultUser is $USER, else the login name, else "unknown".
func defaultUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}
