package trace

import (
	"fmt"
	"sort"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Graph is a trace as nodes and edges, for a UI: one node per entity
// (sources' entities included), one edge per transaction and pair of
// entities it moved taint between (from: the entity of the transaction's
// largest tainted input).
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node is an entity in a Graph.
type Node struct {
	ID        string `json:"id"` // "e<entity>"
	Entity    uint64 `json:"entity"`
	Label     string `json:"label,omitempty"`
	Category  string `json:"category,omitempty"`
	Source    bool   `json:"source,omitempty"`
	CashOut   bool   `json:"cash_out,omitempty"`
	Sats      int64  `json:"sats"`
	Held      int64  `json:"held,omitempty"`
	Addresses int    `json:"addresses"`
}

// Edge is taint moved by one transaction between two entities.
type Edge struct {
	TxID string `json:"txid"`
	From string `json:"from"`
	To   string `json:"to"`
	Sats int64  `json:"sats"`
}

func nodeID(e uint64) string {
	if e == uint64(btc.NoAddr) {
		return "unknown"
	}
	return fmt.Sprintf("e%d", e)
}

func (w *walker) graph(r *Result) (Graph, error) {
	var g Graph
	have := map[uint64]bool{}
	for _, e := range r.Entities {
		have[e.ID] = true
		g.Nodes = append(g.Nodes, Node{ID: nodeID(e.ID), Entity: e.ID, Label: e.Label, Category: e.Category,
			CashOut: e.CashOut, Sats: e.Sats, Held: e.Held, Addresses: e.NumAddresses})
	}
	for _, s := range r.Sources {
		if have[s.Entity] {
			for i := range g.Nodes {
				if g.Nodes[i].Entity == s.Entity {
					g.Nodes[i].Source = true
				}
			}
			continue
		}
		have[s.Entity] = true
		g.Nodes = append(g.Nodes, Node{ID: nodeID(s.Entity), Entity: s.Entity, Source: true, Sats: s.Sats, Addresses: 1})
	}
	type key struct {
		tx       btc.TxNum
		from, to uint64
	}
	agg := map[key]int64{}
	var order []key
	for _, e := range w.edges {
		k := key{e.tx, e.from, e.to}
		if _, ok := agg[k]; !ok {
			order = append(order, k)
		}
		agg[k] += e.sats
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].tx < order[j].tx })
	ids := map[btc.TxNum]string{}
	for _, k := range order {
		id, err := w.txid(k.tx, ids)
		if err != nil {
			return g, err
		}
		if !have[k.from] {
			have[k.from] = true
			g.Nodes = append(g.Nodes, Node{ID: nodeID(k.from), Entity: k.from})
		}
		g.Edges = append(g.Edges, Edge{TxID: id, From: nodeID(k.from), To: nodeID(k.to), Sats: agg[k]})
	}
	return g, nil
}
