package cluster

import (
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Position is how far the stored clustering has come, as an incremental
// reader of the merge log (package export) needs it: the merges of the
// best-chain transactions below NextTx are logged, those of the block at
// Height (whose hash is Tip) included.
type Position struct {
	Height       int64 // last clustered best-chain block; -1 before any
	Tip          btc.Hash
	NextTx       btc.TxNum // first best-chain transaction not yet clustered
	DetachedDone uint64    // standalone transactions clustered
	Merges       uint64    // merges logged
}

// ReadPosition returns the clustering's position, or ErrNotClustered. It
// reads the state record only.
func ReadPosition(db *index.DB) (Position, error) {
	st, err := readState(db)
	if err != nil {
		return Position{}, err
	}
	return Position{Height: st.Height, Tip: st.Tip, NextTx: st.NextTx, DetachedDone: st.DetachedDone, Merges: st.Merges}, nil
}
