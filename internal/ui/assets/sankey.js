// The Sankey: value from the sources through the hops to the cash-out
// entities. Each column keeps its largest entities and folds the rest
// into one "other" box, so that the picture stays readable at any size.
import { s } from "./util.js";
import { columns, weight } from "./flow.js";

export function drawSankey(flow, { perColumn = 12 } = {}) {
  const cols = columns(flow).map((col, i) => {
    if (col.length <= perColumn) return col;
    const rest = col.slice(perColumn - 1);
    const other = { id: "other-" + i, label: `${rest.length} more`, kind: "other", hop: i, in: 0, out: 0, sats: 0, members: new Set(rest.map(n => n.id)) };
    for (const n of rest) { other.in += n.in; other.out += n.out; }
    return [...col.slice(0, perColumn - 1), other];
  });
  const alias = new Map();
  for (const col of cols) for (const n of col) for (const id of n.members || [n.id]) alias.set(id, n.id);
  const colW = 230, pad = 30, gap = 10, H = 520;
  const width = pad * 2 + colW * Math.max(1, cols.length - 1) + 180;
  const total = Math.max(1, ...cols.map(c => c.reduce((t, n) => t + weight(n), 0)));
  const scale = (H - gap * perColumn) / total;
  const box = new Map();
  cols.forEach((col, i) => {
    let y = pad;
    for (const n of col) {
      const hgt = Math.max(2, weight(n) * scale);
      box.set(n.id, { x: pad + i * colW, y, h: hgt, outY: y, inY: y, n });
      y += hgt + gap;
    }
  });
  const height = Math.max(H, ...[...box.values()].map(b => b.y + b.h)) + pad;
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Sankey of the traced value by hop" });
  const links = new Map();
  for (const e of flow.edges) {
    const a = alias.get(e.from), b = alias.get(e.to);
    if (!a || !b || a === b) continue;
    const k = a + "\u0000" + b;
    links.set(k, (links.get(k) || 0) + e.sats);
  }
  const sorted = [...links.entries()].sort((x, y) => y[1] - x[1]);
  for (const [k, sats] of sorted) {
    const [a, b] = k.split("\u0000").map(id => box.get(id));
    if (!a || !b || b.x <= a.x) continue;
    const w = Math.max(1, sats * scale);
    const y0 = a.outY + w / 2, y1 = b.inY + w / 2;
    a.outY += w; b.inY += w;
    const x0 = a.x + 10, x1 = b.x, mx = (x0 + x1) / 2;
    svg.append(s("path", { class: "ribbon", d: `M${x0},${y0} C${mx},${y0} ${mx},${y1} ${x1},${y1}`, "stroke-width": w.toFixed(2) },
      s("title", {}, `${(sats / 1e8).toFixed(8)} BTC`)));
  }
  for (const b of box.values()) {
    const n = b.n;
    svg.append(s("g", { class: "node " + n.kind },
      s("rect", { x: b.x, y: b.y, width: 10, height: b.h.toFixed(1) }),
      s("title", {}, (n.label || "entity " + n.entity) + " · " + (weight(n) / 1e8).toFixed(8) + " BTC"),
      s("text", { x: b.x + 14, y: b.y + Math.min(b.h / 2 + 4, 12) }, (n.label || (n.entity !== undefined ? "e" + n.entity : n.id)).slice(0, 28))));
  }
  return svg;
}
