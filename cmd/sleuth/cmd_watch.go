package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// stringsFlag collects a repeated flag.
type stringsFlag []string

func (f *stringsFlag) String() string     { return strings.Join(*f, ",") }
func (f *stringsFlag) Set(s string) error { *f = append(*f, s); return nil }

const watchUsage = "usage: sleuth watch add LIST [ADDRESS...] [--file F] [--entity ID]... [--rule R]... [--direction in|out|both] [--level L] | list [LIST] | remove LIST [ADDRESS...] (each with [--shared DSN])"

// runWatch is `sleuth watch add|list|remove`: the index's watchlists, or
// with --shared DSN the ones every sleuth serve --shared on it matches.
func runWatch(ctx context.Context, args []string) error {
	return subcommand(ctx, "watch", watchUsage, args, map[string]func(context.Context, []string) error{
		"add": watchAdd, "list": watchList, "remove": watchRemove})
}

// subcommand runs the function of table that args[0] names with the rest
// of args.
func subcommand(ctx context.Context, name, usage string, args []string, table map[string]func(context.Context, []string) error) error {
	if len(args) == 0 {
		return usagef("%s", usage)
	}
	f, ok := table[args[0]]
	if !ok {
		return usagef("%s %q: want one of %s", name, args[0], strings.Join(slices.Sorted(maps.Keys(table)), ", "))
	}
	return f(ctx, args[1:])
}

// decodeAddresses decodes address arguments for net.
func decodeAddresses(args []string, net *btc.Network) ([]address.Key, error) {
	keys := make([]address.Key, 0, len(args))
	for _, a := range args {
		k, err := address.Decode(a, net)
		if err != nil {
			return nil, usagef("address %q: %v", a, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func watchAdd(ctx context.Context, args []string) error {
	var file, dir, level string
	var entities, rules stringsFlag
	ss, fs, s, err := stateCommand(ctx, "watch add", args, -1, "", func(fs *flag.FlagSet) {
		fs.StringVar(&file, "file", "", "a file of addresses, one a line (# comments)")
		fs.Var(&entities, "entity", "watch an entity by id (repeatable)")
		fs.Var(&rules, "rule", "any | value>=SATS | exposure:CATEGORY>=PCT% | exposure:CATEGORY>=SATS | sanctioned (repeatable; default any)")
		fs.StringVar(&dir, "direction", "both", "the rules' direction: in (paid), out (spending) or both")
		fs.StringVar(&level, "level", "medium", "the rules' alert level: low, medium, high, critical")
	}, true, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	if fs.NArg() < 1 {
		return usagef("%s", watchUsage)
	}
	d, err := watch.ParseDirection(dir)
	if err != nil {
		return usagef("%v", err)
	}
	lv, err := alert.ParseLevel(level)
	if err != nil {
		return usagef("%v", err)
	}
	var newRules []watch.Rule
	for _, r := range rules {
		rule, err := watch.ParseRule(r, d, lv)
		if err != nil {
			return usagef("%v", err)
		}
		newRules = append(newRules, rule)
	}
	var newEntities []uint64
	for _, e := range entities {
		id, err := strconv.ParseUint(e, 10, 64)
		if err != nil {
			return usagef("--entity %q: want an entity id", e)
		}
		newEntities = append(newEntities, id)
	}
	keys, err := decodeAddresses(fs.Args()[1:], ss.net)
	if err != nil {
		return err
	}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		ks, err := watch.ReadAddresses(f, file, ss.net)
		f.Close()
		if err != nil {
			return usageError{err}
		}
		keys = append(keys, ks...)
	}
	st := ss.watch()
	l, err := st.ByName(ctx, fs.Arg(0))
	switch {
	case errors.Is(err, watch.ErrNotFound):
		l = watch.List{Name: fs.Arg(0), Rules: newRules, Entities: newEntities}
		if _, err := st.Create(ctx, &l); err != nil {
			return err
		}
	case err != nil:
		return err
	case len(newRules) > 0 || len(newEntities) > 0:
		// Under the list's lock: a server may edit it at the same time.
		if l, err = watch.Edit(ctx, st, l.ID, func(l *watch.List) (bool, error) {
			l.Rules = append(l.Rules, newRules...)
			l.Entities = append(l.Entities, newEntities...)
			return true, nil
		}); err != nil {
			return err
		}
	}
	n, err := st.AddAddresses(ctx, l.ID, keys)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(map[string]any{"list": l.Name, "id": l.ID, "addresses_added": n, "rules": len(l.Rules), "entities": len(l.Entities)})
	}
	fmt.Printf("watchlist %q (%d): %d addresses added, %d rules, %d entities\n", l.Name, l.ID, n, len(l.EffectiveRules()), len(l.Entities))
	return nil
}

func watchList(ctx context.Context, args []string) error {
	ss, fs, s, err := stateCommand(ctx, "watch list", args, -1, "", nil, false, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	st := ss.watch()
	lists, err := st.Lists(ctx)
	if err != nil {
		return err
	}
	type row struct {
		ID        uint32   `json:"id"`
		Name      string   `json:"name"`
		Rules     []string `json:"rules"`
		Entities  []uint64 `json:"entities,omitempty"`
		Addresses int      `json:"addresses"`
		Listed    []string `json:"address_list,omitempty"`
	}
	var rows []row
	for _, l := range lists {
		if fs.NArg() > 0 && l.Name != fs.Arg(0) {
			continue
		}
		r := row{ID: l.ID, Name: l.Name, Entities: l.Entities}
		for _, rule := range l.EffectiveRules() {
			r.Rules = append(r.Rules, fmt.Sprintf("%s %s %s", rule, rule.Direction, rule.Level))
		}
		if err := st.Addresses(ctx, l.ID, func(k address.Key) error {
			r.Addresses++
			if fs.NArg() > 0 {
				a, ok := address.Encode(k, ss.net)
				if !ok {
					a = k.String()
				}
				r.Listed = append(r.Listed, a)
			}
			return nil
		}); err != nil {
			return err
		}
		rows = append(rows, r)
	}
	if fs.NArg() > 0 && len(rows) == 0 {
		return fmt.Errorf("watchlist %q: %w", fs.Arg(0), watch.ErrNotFound)
	}
	if s.json {
		return printJSON(rows)
	}
	for _, r := range rows {
		fmt.Printf("%d\t%s\t%d addresses\t%d entities\trules: %s\n", r.ID, r.Name, r.Addresses, len(r.Entities), strings.Join(r.Rules, "; "))
		for _, a := range r.Listed {
			fmt.Printf("\t%s\n", a)
		}
	}
	return nil
}

func watchRemove(ctx context.Context, args []string) error {
	ss, fs, _, err := stateCommand(ctx, "watch remove", args, -1, "", nil, true, false)
	if err != nil {
		return err
	}
	defer ss.Close()
	if fs.NArg() < 1 {
		return usagef("%s", watchUsage)
	}
	st := ss.watch()
	l, err := st.ByName(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if fs.NArg() == 1 {
		if err := st.Remove(ctx, l.ID); err != nil {
			return err
		}
		fmt.Printf("watchlist %q removed\n", l.Name)
		return nil
	}
	keys, err := decodeAddresses(fs.Args()[1:], ss.net)
	if err != nil {
		return err
	}
	n, err := st.RemoveAddresses(ctx, l.ID, keys)
	if err != nil {
		return err
	}
	fmt.Printf("watchlist %q: %d of %d addresses removed\n", l.Name, n, len(keys))
	return nil
}
