package risk

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// errFound stops a scan.
var errFound = errors.New("found")

// incidentExplanation explains exposure of category c whose cited source
// a is the address of an incident's output (keyspace 55) rather than a
// labelled address: the incident's name, category and source, via
// "incident". It returns nil when no incident output of a carries c.
// Its cost is a scan of the incident outputs and the incidents, which are
// few.
func incidentExplanation(ctx context.Context, db *index.DB, a btc.AddrID, c Category) (*Explanation, error) {
	var ref btc.OutRef
	found := false
	err := db.StageScan(ctx, []byte{pIncident}, []byte{pIncident + 1}, func(k, v []byte) (bool, error) {
		x, err := decodeIncident(v)
		if err != nil || len(k) != 9 {
			return false, err
		}
		if x.src == a && x.cats&(1<<c) != 0 {
			ref, found = btc.OutRef(binary.BigEndian.Uint64(k[1:])), true
			return false, nil
		}
		return true, nil
	})
	if err != nil || !found {
		return nil, err
	}
	txid, err := db.TxID(ref.Tx())
	if err != nil {
		return nil, err
	}
	addr, _, err := db.AddrString(a)
	if err != nil {
		return nil, err
	}
	var out *Explanation
	err = label.EachIncident(ctx, db, func(in *label.Incident, h btc.Hash) error {
		bits, err := IncidentCategory(in.Category)
		if err != nil || h != txid || bits&(1<<c) == 0 || in.Vout != label.AllOutputs && in.Vout != int64(ref.Vout()) {
			return nil
		}
		name := in.Name
		if name == "" {
			name = c.String() + " incident"
		}
		out = &Explanation{Label: "incident: " + name, Concept: in.Category, Source: in.Source, List: "incidents",
			Confidence: 100, Address: addr, Via: "incident"}
		return errFound
	})
	if errors.Is(err, errFound) {
		err = nil
	}
	return out, err
}
