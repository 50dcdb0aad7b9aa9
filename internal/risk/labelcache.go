package risk

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// LabelCache keeps, between Updates, what exposure needs of the labels:
// for every labelled address, the labels that are a source of exposure
// (a category, or a service that stops it). A pipeline keeps one for its
// store (Options.Labels), as it keeps the forests, so that a block does
// not read every label of the store. It is never stale:
//
//   - a label edit (import, own label, removal, incident; local or from
//     the shared log) counts itself in the store (label.Edits), and a
//     count other than the one it loaded with reloads it;
//   - an address labelled before the chain showed it waits among the
//     pending keys, and is resolved when a block indexes it (the ids from
//     the last tip seen up);
//   - a reorg, which can delete indexed addresses and reuse their ids,
//     reloads it (the tip it last saw is no longer on the best chain).
//
// The zero value is ready; it is safe for one Update at a time (a
// pipeline's writers hold its guard).
type LabelCache struct {
	mu     sync.Mutex
	loaded bool
	edits  uint64
	tip    index.Tip
	// addrs holds the indexed labelled addresses, pending the others
	// by address key.
	addrs   []labelledAddr
	pending map[string]pendingKey
	// Loads counts the Updates that read every label, Hits those that
	// did not (for tests and benchmarks).
	Loads, Hits int
}

// labelledAddr is an indexed address's labels that matter for exposure.
type labelledAddr struct {
	id   btc.AddrID
	labs []sourceLabel
}

// pendingKey is a labelled address the index does not hold yet.
type pendingKey struct {
	key  address.Key
	labs []sourceLabel
}

// sourceLabel is one label as exposure uses it.
type sourceLabel struct {
	bits uint16 // 1 << Category
	stop bool   // a service label
	conf int
}

// labelled returns the indexed labelled addresses of db, from memory when
// nothing changed since the last call.
func (c *LabelCache) labelled(ctx context.Context, db *index.DB) ([]labelledAddr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	edits, err := label.Edits(db)
	if err != nil {
		return nil, err
	}
	tip := db.Tip()
	if c.loaded && edits == c.edits {
		ok, err := c.extends(db, tip)
		if err != nil {
			return nil, err
		}
		if ok {
			if err := c.resolve(db, tip); err != nil {
				return nil, err
			}
			c.Hits++
			return c.addrs, nil
		}
	}
	c.loaded = false
	if err := c.load(ctx, db, tip); err != nil {
		return nil, err
	}
	c.loaded, c.edits, c.tip = true, edits, tip
	c.Loads++
	return c.addrs, nil
}

// extends reports whether tip is the tip the cache last saw or a
// descendant of it with no address taken away.
func (c *LabelCache) extends(db *index.DB, tip index.Tip) (bool, error) {
	if tip.NextAddr < c.tip.NextAddr || tip.Height < c.tip.Height {
		return false, nil
	}
	if c.tip.Height < 0 {
		return true, nil
	}
	cb, err := db.ChainBlock(btc.Height(c.tip.Height))
	if err != nil {
		return false, fmt.Errorf("risk: labels kept at height %d: %w", c.tip.Height, err)
	}
	return cb.Hash == c.tip.Hash, nil
}

// resolve moves the pending keys that the addresses indexed since the
// last tip seen have, to addrs: by their keys when fewer are pending than
// were indexed, else by the new addresses' keys.
func (c *LabelCache) resolve(db *index.DB, tip index.Tip) error {
	defer func() { c.tip = tip }()
	n := int(tip.NextAddr - c.tip.NextAddr)
	if n == 0 || len(c.pending) == 0 {
		return nil
	}
	if resolveByKeys(len(c.pending), n) {
		for k, p := range c.pending {
			id, err := db.AddrIDOfKey(p.key)
			if errors.Is(err, index.ErrNotFound) || err == nil && id >= tip.NextAddr {
				continue
			}
			if err != nil {
				return err
			}
			c.addrs = append(c.addrs, labelledAddr{id: id, labs: p.labs})
			delete(c.pending, k)
		}
		return nil
	}
	for id := c.tip.NextAddr; id < tip.NextAddr; id++ {
		ak, err := db.AddrKey(id)
		if err != nil {
			return fmt.Errorf("risk: address %d indexed since the labels were kept: %w", id, err)
		}
		k := string(ak.Bytes())
		if p, ok := c.pending[k]; ok {
			c.addrs = append(c.addrs, labelledAddr{id: id, labs: p.labs})
			delete(c.pending, k)
		}
	}
	return nil
}

// resolveByKeys says whether resolve looks the pending keys up (fewer
// than the addresses indexed since) rather than the new addresses' keys;
// a var so that a test can take either way.
var resolveByKeys = func(pending, indexed int) bool { return pending < indexed }

// load reads every label of db.
func (c *LabelCache) load(ctx context.Context, db *index.DB, tip index.Tip) error {
	services := map[string]bool{}
	for _, c := range label.ServiceCategories {
		services[c] = true
	}
	c.addrs, c.pending = nil, map[string]pendingKey{}
	return label.EachAddressLabels(ctx, db, func(k address.Key, ls []label.View) error {
		var labs []sourceLabel
		for _, l := range ls {
			if l.ListedTo != nil {
				continue // delisted: formerly listed, not a source today
			}
			bits := categoriesOf(l.Category, l.Abuse)
			stop := services[l.Category]
			if bits == 0 && !stop {
				continue
			}
			labs = append(labs, sourceLabel{bits: bits, stop: stop, conf: l.Confidence})
		}
		if len(labs) == 0 {
			return nil
		}
		id, err := db.AddrIDOfKey(k)
		switch {
		case err != nil && !errors.Is(err, index.ErrNotFound):
			return err
		case err != nil || id >= tip.NextAddr:
			// Not indexed (or after the tip was read): resolve takes it
			// up when a block indexes it.
			c.pending[string(k.Bytes())] = pendingKey{key: k, labs: labs}
			return nil
		}
		c.addrs = append(c.addrs, labelledAddr{id: id, labs: labs})
		return nil
	})
}
