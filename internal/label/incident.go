package label

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Incident marks the outputs of one transaction as the source of a
// category: the theft transactions of a hack, the ransom payments of a
// campaign, known before anyone has labelled the perpetrator's addresses.
// Exposure (package risk) flows from its outputs as from a labelled
// address. Incidents come from `sleuth incident add` and from TagPack tags
// on a tx_hash.
type Incident struct {
	ID   uint32 `json:"id"`
	TxID string `json:"txid"`
	// Vout is the marked output, or -1 for every output of the transaction.
	Vout int64 `json:"vout"`
	// Category is an exposure category name (theft, ransomware, …) or a
	// concept id of the GraphSense taxonomy (service_hack, …); package risk
	// maps it.
	Category string    `json:"category"`
	Name     string    `json:"name,omitempty"`
	Source   string    `json:"source"`
	Added    time.Time `json:"added"`
	// SourceID is the TagPack source a tx tag came from (0: added by hand).
	SourceID uint32 `json:"-"`
}

// AllOutputs is Incident.Vout for every output of the transaction.
const AllOutputs = -1

// ErrNoIncident is returned when an incident to remove does not exist.
var ErrNoIncident = errors.New("no such incident")

func keyIncident(id uint32) []byte { return binary.BigEndian.AppendUint32([]byte{pIncident}, id) }

// incident record: <32B txid, internal byte order><varint vout><uvarint-bytes
// category, name, source><uvarint source id><varint added, unix seconds>
func (in *Incident) encode(txid btc.Hash) []byte {
	var e encoding.Encbuf
	e.PutBytes(txid[:])
	e.PutVarint(in.Vout)
	for _, s := range []string{in.Category, in.Name, in.Source} {
		e.PutUvarintBytes([]byte(s))
	}
	e.PutUvarint(uint64(in.SourceID))
	putTime(&e, in.Added)
	return e.Get()
}

func (in *Incident) decode(id uint32, b []byte) (btc.Hash, error) {
	d := encoding.Decbuf{B: b}
	var h btc.Hash
	copy(h[:], d.Bytes(32))
	in.ID = id
	in.Vout = d.Varint()
	for _, s := range []*string{&in.Category, &in.Name, &in.Source} {
		*s = string(d.UvarintBytes())
	}
	in.SourceID = uint32(d.Uvarint())
	in.Added = getTime(&d)
	if d.Err() != nil {
		return h, corrupt("incident", d.Err())
	}
	if in.Vout < AllOutputs || in.Vout > 1<<32 {
		return h, corrupt("incident", fmt.Errorf("vout %d", in.Vout))
	}
	in.TxID = h.String()
	return h, nil
}

// nextIncident returns the id after the last stored incident.
func nextIncident(db *index.DB) (uint32, error) {
	k, err := db.StageLast([]byte{pIncident}, []byte{pIncident + 1})
	if err != nil || k == nil {
		return 1, err
	}
	if len(k) != 5 {
		return 0, corrupt("incident key", fmt.Errorf("%x", k))
	}
	return binary.BigEndian.Uint32(k[1:]) + 1, nil
}

// checkIncident validates what a caller gives and returns the txid.
func checkIncident(in *Incident) (btc.Hash, error) {
	h, err := btc.ParseHash(in.TxID)
	if err != nil {
		return h, fmt.Errorf("incident txid %q: %w", in.TxID, err)
	}
	if in.Category == "" || in.Source == "" {
		return h, errors.New("an incident needs a category and a source")
	}
	if in.Vout < AllOutputs || in.Vout >= 1<<32 {
		return h, fmt.Errorf("incident vout %d: want 0..4294967295 (or none for every output)", in.Vout)
	}
	return h, nil
}

// CheckIncident checks an incident as AddIncident does, without a store.
func CheckIncident(in Incident) error {
	_, err := checkIncident(&in)
	return err
}

// AddIncident stores an investigator's incident and returns it with its id.
// The category is not checked here: package risk owns the categories
// (risk.IncidentCategory).
func AddIncident(ctx context.Context, db *index.DB, in Incident) (Incident, error) {
	h, err := checkIncident(&in)
	if err != nil {
		return in, err
	}
	if err := guard(ctx, db); err != nil {
		return in, err
	}
	if in.ID, err = nextIncident(db); err != nil {
		return in, err
	}
	if e, ok := entryOf(ctx); ok {
		// From the shared log: the entry's number, unless a pack's
		// transaction tags already took it (ids only grow, L5).
		in.ID = max(in.ID, uint32(e.seq))
	}
	in.SourceID = 0
	in.TxID = h.String()
	if in.Added.IsZero() {
		in.Added = time.Now().UTC().Truncate(time.Second)
	}
	wb := db.NewStageBatch()
	defer wb.Close()
	wb.Set(keyIncident(in.ID), in.encode(h))
	if err := commitEdit(ctx, db, wb); err != nil {
		return in, fmt.Errorf("label: add incident: %w", err)
	}
	return in, nil
}

// EachIncident calls fn with every stored incident in id order, with its
// txid decoded.
func EachIncident(ctx context.Context, db *index.DB, fn func(in *Incident, txid btc.Hash) error) error {
	return db.StageScan(ctx, []byte{pIncident}, []byte{pIncident + 1}, func(k, v []byte) (bool, error) {
		if len(k) != 5 {
			return false, corrupt("incident key", fmt.Errorf("%x", k))
		}
		var in Incident
		h, err := in.decode(binary.BigEndian.Uint32(k[1:]), v)
		if err != nil {
			return false, err
		}
		return true, fn(&in, h)
	})
}

// Incidents returns every stored incident in id order.
func Incidents(ctx context.Context, db *index.DB) ([]Incident, error) {
	out := []Incident{}
	err := EachIncident(ctx, db, func(in *Incident, _ btc.Hash) error {
		out = append(out, *in)
		return nil
	})
	return out, err
}

// RemoveIncidents deletes incident id (when id > 0) or every incident on
// transaction txid (when txid is set), and returns the removed ones. It
// fails with ErrNoIncident when nothing matches.
func RemoveIncidents(ctx context.Context, db *index.DB, id uint32, txid string) ([]Incident, error) {
	var want btc.Hash
	if txid != "" {
		h, err := btc.ParseHash(txid)
		if err != nil {
			return nil, fmt.Errorf("incident txid %q: %w", txid, err)
		}
		want = h
	}
	if id == 0 && txid == "" {
		return nil, errors.New("give an incident id or a txid")
	}
	if err := guard(ctx, db); err != nil {
		return nil, err
	}
	wb := db.NewStageBatch()
	defer wb.Close()
	var out []Incident
	err := EachIncident(ctx, db, func(in *Incident, h btc.Hash) error {
		if (id == 0 || in.ID == id) && (txid == "" || h == want) {
			out = append(out, *in)
			wb.Delete(keyIncident(in.ID))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("incident %d %s: %w", id, txid, ErrNoIncident)
	}
	if err := commitEdit(ctx, db, wb); err != nil {
		return nil, fmt.Errorf("label: remove incidents: %w", err)
	}
	return out, nil
}

// putSourceIncidents replaces, in wb, the incidents of TagPack source src
// with ins (their ids are assigned from next on).
func putSourceIncidents(ctx context.Context, db *index.DB, wb *index.StageBatch, src uint32, ins []Incident) error {
	err := EachIncident(ctx, db, func(in *Incident, _ btc.Hash) error {
		if in.SourceID == src {
			wb.Delete(keyIncident(in.ID))
		}
		return nil
	})
	if err != nil || len(ins) == 0 {
		return err
	}
	next, err := nextIncident(db)
	if err != nil {
		return err
	}
	for i := range ins {
		in := ins[i]
		h, err := checkIncident(&in)
		if err != nil {
			return err
		}
		in.ID, in.SourceID, in.TxID = next, src, h.String()
		next++
		wb.Set(keyIncident(in.ID), in.encode(h))
	}
	return nil
}
