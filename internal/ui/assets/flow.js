// flow turns a trace's graph (entities as nodes, one edge per transaction)
// into what the graph, the Sankey and the exports draw: edges aggregated
// per pair of entities, each node's hop (its depth from the sources), and
// the top edges by value so that a graph of thousands of nodes stays
// readable. It lays out; it computes no taint (U1).

export function buildFlow(result, graph, { topEdges = 150, maxHop = Infinity } = {}) {
  const cj = new Set((result.coinjoins || []).map(c => c.txid));
  const peel = new Set((result.peel_chains || []).flatMap(p => p.txids || []));
  const byEntity = new Map((result.entities || []).map(e => [e.entity, e]));
  const nodes = new Map();
  for (const n of graph.nodes || []) nodes.set(n.id, { ...n, info: byEntity.get(n.entity), out: 0, in: 0, hop: Infinity, txids: new Set() });
  const pairs = new Map();
  for (const e of graph.edges || []) {
    if (!nodes.has(e.from) || !nodes.has(e.to) || e.from === e.to) continue;
    const k = e.from + "\u0000" + e.to;
    let p = pairs.get(k);
    if (!p) pairs.set(k, p = { from: e.from, to: e.to, sats: 0, txids: [], coinjoin: false, peel: false });
    p.sats += e.sats;
    p.txids.push(e.txid);
    if (cj.has(e.txid)) p.coinjoin = true;
    if (peel.has(e.txid)) p.peel = true;
  }
  // Hops: breadth first from the sources over all aggregated edges.
  const adj = new Map();
  for (const p of pairs.values()) {
    if (!adj.has(p.from)) adj.set(p.from, []);
    adj.get(p.from).push(p.to);
  }
  const queue = [];
  for (const n of nodes.values()) if (n.source) { n.hop = 0; queue.push(n.id); }
  if (queue.length === 0 && nodes.size) { const first = nodes.values().next().value; first.hop = 0; queue.push(first.id); }
  for (let i = 0; i < queue.length; i++) {
    const n = nodes.get(queue[i]);
    for (const t of adj.get(n.id) || []) {
      const m = nodes.get(t);
      if (m.hop === Infinity) { m.hop = n.hop + 1; queue.push(t); }
    }
  }
  for (const n of nodes.values()) {
    if (n.hop === Infinity) n.hop = 1;
    n.kind = n.source ? "source" : n.cash_out ? "cashout" : isCoinJoinCategory(n.category) ? "coinjoin" : n.id === "unknown" ? "unknown" : "other";
  }
  // Keep the edges carrying the most value (and every edge into a
  // cash-out entity), within maxHop.
  const all = [...pairs.values()].filter(p => nodes.get(p.to).hop <= maxHop && nodes.get(p.from).hop <= maxHop);
  all.sort((a, b) => b.sats - a.sats);
  const kept = [], seen = new Set();
  for (const p of all) {
    if (kept.length < topEdges || (nodes.get(p.to).cash_out && kept.length < topEdges * 2)) { kept.push(p); seen.add(p.from); seen.add(p.to); }
  }
  for (const p of kept) { nodes.get(p.from).out += p.sats; nodes.get(p.to).in += p.sats; }
  const shown = [...nodes.values()].filter(n => seen.has(n.id) || (n.source && n.hop <= maxHop));
  const maxDepth = Math.max(0, ...[...nodes.values()].map(n => n.hop));
  return { nodes: shown, edges: kept, allEdges: pairs.size, allNodes: nodes.size, maxDepth, byId: nodes };
}

function isCoinJoinCategory(c) {
  return c === "mixer" || c === "coinjoin";
}

// columns groups the shown nodes by hop, each column sorted by value.
export function columns(flow) {
  const cols = [];
  for (const n of flow.nodes) {
    (cols[n.hop] ||= []).push(n);
  }
  for (const c of cols) if (c) c.sort((a, b) => weight(b) - weight(a));
  return cols.filter(Boolean);
}

export const weight = (n) => Math.max(n.in, n.out, n.source ? n.sats : 0, 1);

export function nodeTitle(n) {
  const parts = [n.label || (n.id === "unknown" ? "unknown (no address)" : "entity " + n.entity)];
  if (n.category) parts.push(n.category);
  if (n.info) {
    parts.push("received " + (n.info.sats / 1e8).toFixed(8) + " BTC of the traced funds (" + (100 * n.info.share).toFixed(1) + "%)");
    parts.push("hops " + n.info.min_hops + "–" + n.info.max_hops);
  }
  if (n.cash_out) parts.push("cash-out point");
  if (n.source) parts.push("source");
  return parts.join(" · ");
}
