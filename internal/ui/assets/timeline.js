// The timeline: for each entity the traced funds reached, a bar from the
// first to the last time they arrived (cash-out entities first).
import { s } from "./util.js";

export function drawTimeline(result, { max = 40 } = {}) {
  const rows = (result.entities || []).filter(e => e.first && e.last)
    .sort((a, b) => (b.cash_out - a.cash_out) || (b.sats - a.sats)).slice(0, max)
    .sort((a, b) => Date.parse(a.first) - Date.parse(b.first));
  const t0 = Math.min(...rows.map(e => Date.parse(e.first))), t1 = Math.max(...rows.map(e => Date.parse(e.last)));
  const left = 200, right = 30, rowH = 20, top = 30, W = 1100;
  const height = top + rowH * rows.length + 30;
  const x = (t) => left + (W - left - right) * (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5);
  const svg = s("svg", { width: W, height, viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": "Timeline of when the traced funds reached each entity" });
  if (!rows.length) { svg.append(s("text", { x: 10, y: 20 }, "No dated arrivals.")); return svg; }
  svg.append(s("line", { class: "axis", x1: left, x2: W - right, y1: top - 8, y2: top - 8 }));
  for (const t of ticks(t0, t1)) {
    svg.append(s("line", { class: "axis", x1: x(t), x2: x(t), y1: top - 12, y2: top - 4 }),
      s("text", { x: x(t) - 20, y: top - 14 }, new Date(t).toISOString().slice(0, 10)));
  }
  rows.forEach((e, i) => {
    const y = top + i * rowH;
    const a = x(Date.parse(e.first)), b = Math.max(a + 3, x(Date.parse(e.last)));
    svg.append(s("text", { x: 4, y: y + 13 }, (e.label || "entity " + e.entity).slice(0, 28)),
      s("rect", { class: "bar" + (e.cash_out ? "" : " held"), x: a, y: y + 3, width: (b - a).toFixed(1), height: rowH - 6 },
        s("title", {}, `${e.label || "entity " + e.entity}: ${(e.sats / 1e8).toFixed(8)} BTC, ${e.first} … ${e.last}`)));
  });
  return svg;
}

function ticks(t0, t1) {
  const n = 6, out = [];
  for (let i = 0; i <= n; i++) out.push(t0 + (t1 - t0) * i / n);
  return out;
}
