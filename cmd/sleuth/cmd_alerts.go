package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

const alertsUsage = "usage: sleuth alerts list [--status S] [--level L] [--since DATE] [--limit N] [--cursor C] | show ID | ack|dismiss|escalate ID [--note TEXT] | note ID TEXT | scan --from-height H (each with [--shared DSN])"

// runAlerts is `sleuth alerts list|show|ack|dismiss|escalate|note|scan`.
func runAlerts(ctx context.Context, args []string) error {
	review := func(verb string, to alert.Status) func(context.Context, []string) error {
		return func(ctx context.Context, args []string) error { return alertsReview(ctx, verb, to, args) }
	}
	return subcommand(ctx, "alerts", alertsUsage, args, map[string]func(context.Context, []string) error{
		"list": alertsList, "show": alertsShow, "scan": alertsScan, "note": review("note", 0),
		"ack": review("ack", alert.Acknowledged), "dismiss": review("dismiss", alert.Dismissed), "escalate": review("escalate", alert.Escalated)})
}

func printAlert(a *alert.Alert) {
	inv := ""
	if a.Invalidated {
		inv = " INVALIDATED (block disconnected)"
	}
	fmt.Printf("%d\t%s\t%s\t%s\theight %d\t%s\t%s\t%s%s\n", a.ID, a.Level, a.Status, a.Created.Format(time.RFC3339),
		a.Height, a.TxID, a.Address, btcString(int64(a.Value)), inv)
}

func alertsList(ctx context.Context, args []string) error {
	var status, level, since, cursor string
	var limit int
	ss, _, s, err := stateCommand(ctx, "alerts list", args, 0, "no arguments", func(fs *flag.FlagSet) {
		fs.StringVar(&status, "status", "", "only this status: open, acknowledged, dismissed, escalated")
		fs.StringVar(&level, "level", "", "only this level and above: low, medium, high, critical")
		fs.StringVar(&since, "since", "", "only alerts created at or after this date (YYYY-MM-DD or RFC 3339)")
		fs.IntVar(&limit, "limit", 100, "page size (at most 1000)")
		fs.StringVar(&cursor, "cursor", "", "the next page's cursor, as the previous page printed it")
	}, false, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	var f alert.Filter
	if status != "" {
		if f.Status, err = alert.ParseStatus(status); err != nil {
			return usagef("%v", err)
		}
	}
	if level != "" {
		if f.MinLevel, err = alert.ParseLevel(level); err != nil {
			return usagef("%v", err)
		}
	}
	if since != "" {
		if f.Since, err = time.Parse(time.RFC3339, since); err != nil {
			if f.Since, err = time.Parse(time.DateOnly, since); err != nil {
				return usagef("--since %q: want YYYY-MM-DD or RFC 3339", since)
			}
		}
	}
	p, err := ss.alerts().List(ctx, f, cursor, limit)
	if err != nil {
		return usageError{err}
	}
	if s.json {
		return printJSON(map[string]any{"alerts": p.Alerts, "next": p.Next})
	}
	for i := range p.Alerts {
		printAlert(&p.Alerts[i])
	}
	if p.Next != "" {
		fmt.Printf("more: --cursor %s\n", p.Next)
	}
	return nil
}

func alertID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, usagef("alert id %q: want a positive number", s)
	}
	return id, nil
}

func alertsShow(ctx context.Context, args []string) error {
	ss, fs, _, err := stateCommand(ctx, "alerts show", args, 1, "one alert id", nil, false, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	id, err := alertID(fs.Arg(0))
	if err != nil {
		return err
	}
	a, err := ss.alerts().Get(ctx, id)
	if err != nil {
		return err
	}
	return printJSON(&a)
}

func alertsReview(ctx context.Context, verb string, to alert.Status, args []string) error {
	var note string
	nargs, want := 1, "one alert id"
	if to == 0 {
		nargs, want = 2, "an alert id and the note"
	}
	ss, fs, s, err := stateCommand(ctx, "alerts "+verb, args, nargs, want, func(fs *flag.FlagSet) {
		if to != 0 {
			fs.StringVar(&note, "note", "", "a note to keep with the change")
		}
	}, true, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	id, err := alertID(fs.Arg(0))
	if err != nil {
		return err
	}
	if to == 0 {
		note = fs.Arg(1)
	}
	a, err := ss.alerts().Review(ctx, id, to, note)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(&a)
	}
	printAlert(&a)
	return nil
}

func alertsScan(ctx context.Context, args []string) error {
	var from int64 = -1
	ss, _, s, err := stateCommand(ctx, "alerts scan", args, 0, "no arguments", func(fs *flag.FlagSet) {
		fs.Int64Var(&from, "from-height", -1, "first block height to match against the watchlists (required)")
	}, true, true)
	if err != nil {
		return err
	}
	defer ss.Close()
	db := ss.db
	if from < 0 || from > int64(^btc.Height(0)) {
		return usagef("--from-height: want a block height")
	}
	set, err := watch.Compile(ctx, db, ss.watch())
	if err != nil {
		return err
	}
	var as watch.Assessor
	if set.NeedsAssessor() {
		scr, err := risk.NewScreener(db, nil)
		if errors.Is(err, risk.ErrNotComputed) {
			return fmt.Errorf("%w: %w", watch.ErrNoAssessor, err)
		}
		if err != nil {
			return err
		}
		as = &watch.RiskAssessor{S: scr}
	}
	res, err := watch.Scan(ctx, db, set, ss.alerts(), as, btc.Height(from))
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(res)
	}
	total, unseen := set.Len()
	fmt.Printf("scanned blocks %d–%d (%d) against %d watched addresses (%d not yet on chain): %d hits, %d alerts stored\n",
		res.From, res.To, res.Blocks, total, unseen, res.Hits, res.Alerts)
	return nil
}

const webhookUsage = "usage: sleuth webhook add URL [--secret whsec_…] | list | remove ID | deliver [--once] [--allow-loopback] (each with [--shared DSN])"

// runWebhook is `sleuth webhook add|list|remove|deliver`.
func runWebhook(ctx context.Context, args []string) error {
	return subcommand(ctx, "webhook", webhookUsage, args, map[string]func(context.Context, []string) error{
		"add": webhookAdd, "list": webhookList, "remove": webhookRemove, "deliver": webhookDeliver})
}

func webhookAdd(ctx context.Context, args []string) error {
	var secret string
	ss, fs, s, err := stateCommand(ctx, "webhook add", args, 1, "the endpoint URL", func(fs *flag.FlagSet) {
		fs.StringVar(&secret, "secret", "", "the signing secret, whsec_<base64> (default: a new random one, printed once)")
	}, true, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	ep, err := ss.alerts().AddEndpoint(ctx, fs.Arg(0), secret)
	if err != nil {
		return usageError{err}
	}
	if s.json {
		return printJSON(map[string]any{"id": ep.ID, "url": ep.URL, "secret": ep.Secret})
	}
	fmt.Printf("webhook %d: %s\nsecret: %s\n", ep.ID, ep.URL, ep.Secret)
	return nil
}

func webhookList(ctx context.Context, args []string) error {
	ss, _, s, err := stateCommand(ctx, "webhook list", args, 0, "no arguments", nil, false, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	eps, err := ss.alerts().Endpoints(ctx)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(eps)
	}
	for _, ep := range eps {
		state := "enabled"
		if ep.Disabled != "" {
			state = "disabled: " + ep.Disabled
		}
		fmt.Printf("%d\t%s\t%s\n", ep.ID, ep.URL, state)
	}
	return nil
}

func webhookRemove(ctx context.Context, args []string) error {
	ss, fs, _, err := stateCommand(ctx, "webhook remove", args, 1, "an endpoint id", nil, true, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	id, err := strconv.ParseUint(fs.Arg(0), 10, 32)
	if err != nil {
		return usagef("webhook id %q: want a number", fs.Arg(0))
	}
	if err := ss.alerts().RemoveEndpoint(ctx, uint32(id)); err != nil {
		return err
	}
	fmt.Printf("webhook %d removed\n", id)
	return nil
}

func webhookDeliver(ctx context.Context, args []string) error {
	var once, loopback bool
	ss, _, s, err := stateCommand(ctx, "webhook deliver", args, 0, "no arguments", func(fs *flag.FlagSet) {
		fs.BoolVar(&once, "once", false, "attempt each due delivery once and exit (default: run until interrupted)")
		fs.BoolVar(&loopback, "allow-loopback", false, "let webhooks reach loopback addresses (tests; private addresses stay refused)")
	}, true, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	// With --shared, deliveries are claimed with a lease (pgstore G8), so
	// this worker and those of the servers share the outbox.
	w := &alert.Worker{Store: ss.alerts(), AllowLoopback: loopback}
	if !once {
		if err := w.Run(ctx); !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	n, err := w.RunOnce(ctx)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(map[string]int{"attempted": n})
	}
	fmt.Printf("%d deliveries attempted\n", n)
	return nil
}
