package label

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// ErrNoLabel is returned when a removal matches nothing.
var ErrNoLabel = errors.New("no matching label")

// RemoveSpec selects labels to remove: those added by import ID (the
// number `label add` prints), those on Address, those of Source (its name
// as `labels stats` prints it), or any combination (all must match).
type RemoveSpec struct {
	Import  uint32
	Address string
	Source  string
}

// Removed says what a removal did.
type Removed struct {
	Labels    int      `json:"labels"`
	Addresses []string `json:"addresses"` // the addresses that lost a label
	Incidents int      `json:"incidents,omitempty"`
	Source    string   `json:"source,omitempty"`
}

// sourceByName returns the source named name.
func sourceByName(srcs map[uint32]*Source, name string) (*Source, error) {
	var names []string
	for _, s := range srcs {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("%w: no source named %q (sources: %s)", ErrNoLabel, name, strings.Join(names, "; "))
}

// Remove deletes the labels spec selects, in one batch, and keeps each
// source's address count true. The entity index is marked stale (Refresh).
func Remove(ctx context.Context, db *index.DB, spec RemoveSpec) (Removed, error) {
	var res Removed
	if spec.Import == 0 && spec.Address == "" && spec.Source == "" {
		return res, errors.New("say which labels to remove: a label id (import), an address, a source or several")
	}
	if err := guard(ctx, db); err != nil {
		return res, err
	}
	srcs, err := sources(ctx, db)
	if err != nil {
		return res, err
	}
	var only *Source
	if spec.Source != "" {
		if only, err = sourceByName(srcs, spec.Source); err != nil {
			return res, err
		}
	}
	lo, hi := []byte{pLabel}, []byte{pLabel + 1}
	if spec.Address != "" {
		k, err := address.Decode(spec.Address, db.Network())
		if err != nil {
			return res, err
		}
		lo = keyAddrPrefix(k)
		hi = append(slices.Clone(lo), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	}
	wb := db.NewStageBatch()
	defer wb.Close()
	// Per address and source: labels seen and removed, so that a source
	// whose last label on an address goes counts one address fewer.
	type pair struct {
		addr string
		src  uint32
	}
	seen, gone := map[pair]int{}, map[pair]int{}
	addrs := map[string]bool{}
	err = db.StageScan(ctx, lo, hi, func(k, v []byte) (bool, error) {
		ak, sid, _, err := parseLabelKey(k)
		if err != nil {
			return false, err
		}
		p := pair{string(ak.Bytes()), sid}
		seen[p]++
		if only != nil && sid != only.ID {
			return true, nil
		}
		var l Label
		if err := l.decode(v); err != nil {
			return false, err
		}
		if spec.Import != 0 && l.Import != spec.Import {
			return true, nil
		}
		wb.Delete(slices.Clone(k))
		wb.Delete(keyAdded(l.Import, ak))
		gone[p]++
		res.Labels++
		if !addrs[p.addr] {
			addrs[p.addr] = true
			s, _ := address.Encode(ak, db.Network())
			res.Addresses = append(res.Addresses, s)
		}
		return true, nil
	})
	if err != nil {
		return res, err
	}
	if res.Labels == 0 {
		return res, fmt.Errorf("%w: import %d, address %q, source %q", ErrNoLabel, spec.Import, spec.Address, spec.Source)
	}
	changed := map[uint32]bool{}
	for p, n := range gone {
		if n == seen[p] {
			srcs[p.src].Labels--
			changed[p.src] = true
		}
	}
	for id := range changed {
		wb.Set(keySource(id), srcs[id].encode())
	}
	if err := markStale(db, wb); err != nil {
		return res, err
	}
	if err := commitEdit(ctx, db, wb); err != nil {
		return res, fmt.Errorf("label: remove: %w", err)
	}
	return res, nil
}

// RemoveSource deletes a source whole: its labels, publications, the
// incidents of its transaction tags and the source itself.
func RemoveSource(ctx context.Context, db *index.DB, name string) (Removed, error) {
	res := Removed{Source: name, Addresses: []string{}}
	if err := guard(ctx, db); err != nil {
		return res, err
	}
	srcs, err := sources(ctx, db)
	if err != nil {
		return res, err
	}
	src, err := sourceByName(srcs, name)
	if err != nil {
		return res, err
	}
	wb := db.NewStageBatch()
	defer wb.Close()
	var last []byte
	err = eachSourceLabel(ctx, db, src.ID, func(k []byte, l *Label) error {
		wb.Delete(slices.Clone(k))
		wb.Delete(keyAdded(l.Import, l.Address))
		res.Labels++
		if kb := l.Address.Bytes(); !slices.Equal(kb, last) {
			last = slices.Clone(kb)
			s, _ := address.Encode(l.Address, db.Network())
			res.Addresses = append(res.Addresses, s)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	err = EachIncident(ctx, db, func(in *Incident, _ btc.Hash) error {
		if in.SourceID == src.ID {
			wb.Delete(keyIncident(in.ID))
			res.Incidents++
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	wb.DeleteRange(keyPub(src.ID, time.Unix(0, 0)), keyPub(src.ID+1, time.Unix(0, 0)))
	wb.Delete(keySource(src.ID))
	if err := markStale(db, wb); err != nil {
		return res, err
	}
	if err := commitEdit(ctx, db, wb); err != nil {
		return res, fmt.Errorf("label: remove source %q: %w", name, err)
	}
	return res, nil
}

// markStale records in wb that the entity index (45) must be rebuilt.
func markStale(db *index.DB, wb *index.StageBatch) error {
	st, err := readState(db)
	if err != nil {
		return err
	}
	st.EntityIndex = 0
	wb.Set(append([]byte{pState}, keyState...), st.encode())
	return nil
}
