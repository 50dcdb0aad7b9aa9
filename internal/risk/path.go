package risk

import (
	"context"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// SourcePath is how exposure of one category reached an address, read
// off the stored vectors (no trace): the transaction paying the address
// with the fewest hops to the category, then at each step back the input
// whose output carried the category one hop nearer, down to the
// transaction that spent from the source (hop 1) — a labelled entity's
// address or an incident's output.
type SourcePath struct {
	Address  string `json:"address"`
	Category string `json:"category"`
	Hops     int    `json:"hops"`
	// TxIDs run from the transaction paying the address back to the one
	// that spent the source's output (hop 1).
	TxIDs []string `json:"txids"`
	// SourceOut is the output spent at hop 1 (TXID:VOUT), SourceAddress
	// its address: the labelled address or the incident's output.
	SourceOut     string `json:"source_out"`
	SourceAddress string `json:"source_address"`
}

// ExposurePath returns the path by which exposure of category c reached
// address addr, or nil when the address received none. Its cost is the
// address's transactions plus one transaction per hop.
func ExposurePath(ctx context.Context, db *index.DB, addr string, c Category) (*SourcePath, error) {
	id, err := db.AddrID(addr)
	if err != nil {
		return nil, err
	}
	if _, err := ReadStatus(db); err != nil {
		return nil, err
	}
	vec := func(ref btc.OutRef) (entry, bool, error) {
		v, err := db.StageGet(key64(pVector, uint64(ref)))
		if err != nil || v == nil {
			return entry{}, false, err
		}
		vs, err := decodeVector(v)
		if err != nil {
			return entry{}, false, err
		}
		for _, x := range vs {
			if x.Cat == c {
				return x, true, nil
			}
		}
		return entry{}, false, nil
	}
	// The payment with the fewest hops (the earliest among equals).
	var tx coinjoin.Tx
	best, bestTx := entry{}, btc.TxNum(0)
	var ferr error
	err = db.AddrTxNums(id, func(n btc.TxNum) bool {
		if ferr = ctx.Err(); ferr != nil {
			return false
		}
		if ferr = db.ReadTx(n, &tx); ferr != nil {
			return false
		}
		for j, o := range tx.Outs {
			if o.Addr != id || !carries(o) {
				continue
			}
			x, ok, err := vec(btc.MakeOutRef(n, uint32(j)))
			if err != nil {
				ferr = err
				return false
			}
			if ok && (best.Hops == 0 || x.Hops < best.Hops) {
				best, bestTx = x, n
			}
			break
		}
		return true
	})
	if err == nil {
		err = ferr
	}
	if err != nil || best.Hops == 0 {
		return nil, err
	}
	p := &SourcePath{Address: addr, Category: c.String(), Hops: int(best.Hops), TxIDs: []string{}}
	cur, h, along := bestTx, int(best.Hops), best
	for {
		txid, err := db.TxID(cur)
		if err != nil {
			return nil, err
		}
		p.TxIDs = append(p.TxIDs, txid.String())
		if err := db.ReadTx(cur, &tx); err != nil {
			return nil, err
		}
		// The input one hop nearer; at hop 1, the input from the source
		// (the cited address when it is an input, else the first input
		// that carries no indirect exposure of c).
		next, found := btc.OutRef(0), false
		for _, in := range tx.Ins {
			if !in.Resolved {
				continue
			}
			x, ok, err := vec(in.Prev)
			if err != nil {
				return nil, err
			}
			if h > 1 && ok && int(x.Hops) == h-1 {
				next, found, along = in.Prev, true, x
				break
			}
			if h == 1 && (in.Addr == along.Src || !found && !ok) {
				next, found = in.Prev, true
				if in.Addr == along.Src {
					break
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("risk: exposure path of %s: transaction %s has no input %d hops from %s", addr, txid, h-1, c)
		}
		if h == 1 {
			src, err := db.TxID(next.Tx())
			if err != nil {
				return nil, err
			}
			p.SourceOut = fmt.Sprintf("%s:%d", src, next.Vout())
			for _, in := range tx.Ins {
				if in.Prev == next {
					p.SourceAddress, _, _ = db.AddrString(in.Addr)
				}
			}
			return p, nil
		}
		cur, h = next.Tx(), h-1
	}
}
