package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/query"
)

// sharedLabelUsage is --shared's help for the commands that edit labels
// and incidents.
const sharedLabelUsage = "PostgreSQL DSN (postgres://…) of the label log several sleuth serve --shared servers follow: log the edit there, and every server applies it, instead of writing the index's store (which is then not opened, but to resolve an entity id)"

// sharedHint adds to label.ErrShared (the store's labels follow a shared
// log) that the command can log its edit itself.
func sharedHint(err error) error {
	if errors.Is(err, label.ErrShared) {
		return fmt.Errorf("%w; or give the command --shared DSN (the servers' PostgreSQL) to log the edit for every server", err)
	}
	return err
}

// labelLogTimeout bounds the append of a command's edits to the log.
const labelLogTimeout = 30 * time.Second

// cliActor is who the log records for an edit made with the CLI.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// logLabels appends edits to the shared label log (one entry each, in one
// transaction) and says which entries they became: each server applies
// them, exposure included, when it reads the log (within a second).
func (st *stateStores) logLabels(ctx context.Context, s *storeFlags, edits ...labelsync.Edit) error {
	log := st.pg.LabelLog()
	defer log.Close()
	first, err := labelsync.Submit(ctx, log, cliActor(), labelLogTimeout, edits...)
	if err != nil {
		return err
	}
	last := first + uint64(len(edits)) - 1
	if s.json {
		return printJSON(struct {
			First uint64 `json:"first_entry"`
			Last  uint64 `json:"last_entry"`
		}{first, last})
	}
	for i := range edits {
		seq := first + uint64(i)
		what := ""
		switch e := &edits[i]; e.Kind {
		case labelsync.KindAdd, labelsync.KindImport:
			what = fmt.Sprintf(" (label id %d: sleuth label remove --shared DSN --id %d takes it back)", seq, seq)
		case labelsync.KindIncident:
			what = fmt.Sprintf(" (incident %d)", seq)
		}
		fmt.Printf("logged %s as entry %d of the shared label log%s\n", edits[i].Kind, seq, what)
	}
	fmt.Println("every sleuth serve --shared on this database applies it and updates its exposure when it reads the log (within a second); GET /v1/labels/{address} on a server shows it")
	return nil
}

// labelAddShared is `sleuth label add --shared DSN`: the label is checked
// without the index (an entity id is resolved to its oldest address on
// the index, opened read-only) and logged.
func labelAddShared(ctx context.Context, dsn string, s *storeFlags, arg string, l label.Label) error {
	st, err := openShared(ctx, dsn, s)
	if err != nil {
		return err
	}
	defer st.Close()
	entity := false
	if _, perr := strconv.ParseUint(arg, 10, 64); perr == nil {
		db, err := s.open(false)
		if err != nil {
			return fmt.Errorf("entity %s: resolving an entity id needs the index (or label one of its addresses): %w", arg, err)
		}
		st.db, st.net = db, db.Network()
		if arg, entity, err = query.LabelTarget(db, arg); err != nil {
			return err
		}
	}
	e, err := labelsync.OwnEdit(st.net, arg, entity, l)
	if err != nil {
		return err
	}
	return st.logLabels(ctx, s, e)
}

// labelRemoveShared is `sleuth label remove --shared DSN`.
func labelRemoveShared(ctx context.Context, dsn string, s *storeFlags, spec label.RemoveSpec) error {
	st, err := openShared(ctx, dsn, s)
	if err != nil {
		return err
	}
	defer st.Close()
	if spec.Address != "" {
		if _, err := address.Decode(spec.Address, st.net); err != nil {
			return usagef("label remove: %s: %v", spec.Address, err)
		}
	}
	return st.logLabels(ctx, s, labelsync.Edit{Kind: labelsync.KindRemove, Remove: &spec})
}

// labelsImportShared is `sleuth labels import --shared DSN FILE...`: each
// file that parses is logged as one entry (each server imports it whole);
// the others are reported.
func labelsImportShared(ctx context.Context, dsn string, s *storeFlags, paths []string, opts label.ImportOptions) error {
	var edits []labelsync.Edit
	var failed []string
	for _, path := range paths {
		name, body, err := readImportFile(path)
		if err == nil {
			e := labelsync.Edit{Kind: labelsync.KindImport, Import: &labelsync.Import{Name: name, Body: body, Options: opts}}
			if err = e.Check(); err == nil {
				edits = append(edits, e)
				continue
			}
		}
		failed = append(failed, fmt.Sprintf("%s: %v", path, err))
	}
	if len(edits) > 0 {
		st, err := openShared(ctx, dsn, s)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.logLabels(ctx, s, edits...); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d files not logged (each file is imported whole or not at all):\n%s", len(failed), len(paths), strings.Join(failed, "\n"))
	}
	return nil
}

// maxImportFile bounds a file the CLI logs for import (the log holds its
// bytes).
const maxImportFile = 256 << 20

// readImportFile reads a label file for the log: its bytes, gunzipped
// when it is gzip, and the name it is read as (without .gz).
func readImportFile(path string) (string, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	name := filepath.Base(path)
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return "", nil, err
		}
		if b, err = io.ReadAll(io.LimitReader(zr, maxImportFile+1)); err != nil {
			return "", nil, fmt.Errorf("gunzip: %w", err)
		}
		name = strings.TrimSuffix(name, ".gz")
	}
	if len(b) > maxImportFile {
		return "", nil, errors.New("larger than 256 MiB")
	}
	return name, b, nil
}
