package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// runIncident is `sleuth incident add|list|remove|path`.
func runIncident(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("usage: sleuth incident add --category C --txid TXID [--vout N] [--name NAME] [--source S] [--shared DSN] | list | remove --id ID|--txid TXID [--shared DSN] | path ADDRESS [--category C]")
	}
	switch args[0] {
	case "add":
		return sharedHint(incidentAdd(ctx, args[1:]))
	case "list":
		return incidentList(ctx, args[1:])
	case "remove":
		return sharedHint(incidentRemove(ctx, args[1:]))
	case "path":
		return incidentPath(ctx, args[1:])
	}
	return usagef("incident %q: want add, list, remove or path", args[0])
}

func incidentAdd(ctx context.Context, args []string) error {
	var in label.Incident
	var vout int64
	var noRisk bool
	st, _, s, err := stateCommand(ctx, "incident add", args, 0, "no arguments (the transaction is --txid)", func(fs *flag.FlagSet) {
		fs.StringVar(&in.Category, "category", "", "what the outputs are the source of: "+strings.Join(risk.CategoryNames(), ", ")+" (or a GraphSense concept id)")
		fs.StringVar(&in.TxID, "txid", "", "the theft transaction (or ransom payment)")
		fs.Int64Var(&vout, "vout", label.AllOutputs, "only this output (default: every output of the transaction)")
		fs.StringVar(&in.Name, "name", "", "a name for the incident, e.g. \"Hanbit Exchange hack\"")
		fs.StringVar(&in.Source, "source", label.OwnSource, "where the finding comes from (case number, report URL)")
		fs.BoolVar(&noRisk, "no-risk", false, "do not update exposure now (sleuth risk update does it later)")
	}, true, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := risk.IncidentCategory(in.Category); err != nil {
		return usagef("%v", err)
	}
	in.Vout = vout
	if st.pg != nil {
		return st.logLabels(ctx, s, labelsync.Edit{Kind: labelsync.KindIncident, Incident: &in})
	}
	db := st.db
	in, err = label.AddIncident(ctx, db, in)
	if err != nil {
		return err
	}
	rsum, err := attributionChanged(ctx, db, noRisk)
	if err != nil {
		return fmt.Errorf("incident %d added, but %w", in.ID, err)
	}
	if s.json {
		return printJSONExposure(in, rsum)
	}
	fmt.Printf("incident %d: %s of %s\n", in.ID, in.Category, outputs(in))
	if h, err := btc.ParseHash(in.TxID); err == nil {
		if _, err := db.TxNum(h); errors.Is(err, index.ErrNotFound) {
			fmt.Println("the transaction is not in the index yet: exposure flows from it once it is ingested")
		}
	}
	printExposure(rsum)
	return nil
}

func outputs(in label.Incident) string {
	if in.Vout == label.AllOutputs {
		return "every output of " + in.TxID
	}
	return fmt.Sprintf("%s:%d", in.TxID, in.Vout)
}

func incidentList(ctx context.Context, args []string) error {
	db, _, s, err := lookupCommand("incident list", args, 0, "no arguments", nil)
	if err != nil {
		return err
	}
	defer db.Close()
	ins, err := label.Incidents(ctx, db)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(ins)
	}
	if len(ins) == 0 {
		fmt.Println("no incidents")
	}
	for _, in := range ins {
		fmt.Printf("%4d  %-12s %s  %s  (%s)\n", in.ID, in.Category, outputs(in), in.Name, in.Source)
	}
	return nil
}

func incidentRemove(ctx context.Context, args []string) error {
	var txid string
	var id uint
	var noRisk bool
	st, _, s, err := stateCommand(ctx, "incident remove", args, 0, "--id ID or --txid TXID, no arguments", func(fs *flag.FlagSet) {
		fs.UintVar(&id, "id", 0, "the incident's id (see sleuth incident list)")
		fs.StringVar(&txid, "txid", "", "remove every incident on this transaction")
		fs.BoolVar(&noRisk, "no-risk", false, "do not update exposure now (sleuth risk update does it later)")
	}, true, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if (id == 0) == (txid == "") || id > 1<<32-1 {
		return usagef("incident remove: give --id ID or --txid TXID")
	}
	if st.pg != nil {
		return st.logLabels(ctx, s, labelsync.Edit{Kind: labelsync.KindRemoveIncident, RemoveIncident: &labelsync.IncidentRef{ID: uint32(id), TxID: txid}})
	}
	db := st.db
	gone, err := label.RemoveIncidents(ctx, db, uint32(id), txid)
	if err != nil {
		return err
	}
	rsum, err := attributionChanged(ctx, db, noRisk)
	if err != nil {
		return fmt.Errorf("incidents removed, but %w", err)
	}
	if s.json {
		return printJSONExposure(struct {
			Removed []label.Incident `json:"removed"`
		}{gone}, rsum)
	}
	fmt.Printf("removed %d incidents\n", len(gone))
	printExposure(rsum)
	return nil
}

// incidentPath is `sleuth incident path ADDRESS [--category C]`: how
// exposure reached the address, hop by hop, back to the incident's output
// or the labelled address it came from.
func incidentPath(ctx context.Context, args []string) error {
	var cat string
	db, fs, s, err := lookupCommand("incident path", args, 1, "one ADDRESS", func(fs *flag.FlagSet) {
		fs.StringVar(&cat, "category", "theft", "the exposure category to explain")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := risk.ParseCategory(cat)
	if err != nil {
		return usagef("%v", err)
	}
	p, err := risk.ExposurePath(ctx, db, fs.Arg(0), c)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("%s received no %s exposure", fs.Arg(0), c)
	}
	if s.json {
		return printJSON(p)
	}
	fmt.Printf("%s: %s exposure, %d hops from %s (%s)\n", p.Address, p.Category, p.Hops, p.SourceOut, p.SourceAddress)
	for i, id := range p.TxIDs {
		fmt.Printf("  hop %d  %s\n", p.Hops-i, id)
	}
	return nil
}
