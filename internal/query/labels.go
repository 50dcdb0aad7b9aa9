package query

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// LabelTarget is where `sleuth label add ARG` and POST /v1/labels put a
// label: an address as it is, or an entity id (a decimal number) through
// the entity's oldest address, with entity true.
func LabelTarget(db *index.DB, arg string) (addr string, entity bool, err error) {
	id, perr := strconv.ParseUint(arg, 10, 64)
	if perr != nil {
		return arg, false, nil
	}
	if id >= uint64(db.Tip().NextAddr) {
		return "", false, fmt.Errorf("entity %d: %w", id, index.ErrNotFound)
	}
	root, err := cluster.EntityOf(db, btc.AddrID(id))
	if err != nil {
		return "", false, err
	}
	if addr, _, err = db.AddrString(btc.AddrID(root)); err != nil {
		return "", false, err
	}
	if addr == "" {
		return "", false, fmt.Errorf("entity %d: %w", id, ErrNoAddressString)
	}
	return addr, true, nil
}

// ErrNoAddressString is returned for an entity whose oldest address has
// no address string to label (a bare public key, a non-standard script).
var ErrNoAddressString = errors.New("its oldest address has no address string to label")
