// The flow graph: entities in columns by hop, edges as curves whose width
// grows with the value they carry. CoinJoin edges are purple, peel-chain
// edges dashed, cash-out entities green, sources red.
import { s } from "./util.js";
import { columns, weight, nodeTitle } from "./flow.js";

export function drawGraph(flow, { onNode } = {}) {
  const cols = columns(flow);
  const colW = 210, rowH = 44, pad = 40;
  const height = Math.max(240, pad * 2 + rowH * Math.max(1, ...cols.map(c => c.length)));
  const width = pad * 2 + colW * Math.max(1, cols.length - 1) + 160;
  const pos = new Map();
  const maxW = Math.max(1, ...flow.nodes.map(weight));
  cols.forEach((col, i) => {
    const top = (height - rowH * col.length) / 2 + rowH / 2;
    col.forEach((n, j) => pos.set(n.id, { x: pad + i * colW, y: top + j * rowH, r: 4 + 14 * Math.sqrt(weight(n) / maxW) }));
  });
  const maxE = Math.max(1, ...flow.edges.map(e => e.sats));
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "group", "aria-label": `Flow graph: ${flow.nodes.length} entities, ${flow.edges.length} edges` });
  const g = s("g", {});
  svg.append(g);
  for (const e of flow.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const mx = (a.x + b.x) / 2;
    const d = b.x > a.x ? `M${a.x},${a.y} C${mx},${a.y} ${mx},${b.y} ${b.x},${b.y}` : `M${a.x},${a.y} C${a.x + 80},${a.y - 60} ${b.x - 80},${b.y - 60} ${b.x},${b.y}`;
    g.append(s("path", { class: "edge" + (e.coinjoin ? " cj" : "") + (e.peel ? " peel" : ""), d, "stroke-width": (1 + 11 * Math.sqrt(e.sats / maxE)).toFixed(2), "data-sats": e.sats },
      s("title", {}, `${(e.sats / 1e8).toFixed(8)} BTC in ${e.txids.length} transaction${e.txids.length > 1 ? "s" : ""}: ${e.txids.slice(0, 5).join(", ")}${e.txids.length > 5 ? " …" : ""}`)));
  }
  for (const n of flow.nodes) {
    const p = pos.get(n.id);
    const node = s("g", { class: "node " + n.kind, transform: `translate(${p.x},${p.y})`, tabindex: 0, role: "link", "data-entity": n.entity, "aria-label": nodeTitle(n) },
      s("circle", { r: p.r.toFixed(1) }),
      s("title", {}, nodeTitle(n)),
      s("text", { x: p.r + 4, y: 4 }, (n.label || (n.id === "unknown" ? "unknown" : "e" + n.entity)).slice(0, 26)));
    if (n.cash_out && n.info) node.append(s("text", { x: p.r + 4, y: 17, class: "amount" }, (n.info.sats / 1e8).toFixed(8) + " BTC"));
    if (onNode && n.id !== "unknown") {
      node.addEventListener("click", () => onNode(n));
      node.addEventListener("keydown", (ev) => { if (ev.key === "Enter") onNode(n); });
    }
    g.append(node);
  }
  return svg;
}
