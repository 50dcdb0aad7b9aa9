// DOM and formatting helpers. h() only ever sets text, never HTML (U2).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVGNS = "http://www.w3.org/2000/svg";

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// btc formats satoshis as BTC with 8 decimals.
export function btc(sats) {
  if (sats === null || sats === undefined) return "unknown";
  const neg = sats < 0;
  let v = Math.abs(Math.round(sats));
  const whole = Math.floor(v / 1e8), frac = String(v % 1e8).padStart(8, "0");
  return (neg ? "-" : "") + whole.toLocaleString("en-US") + "." + frac + " BTC";
}

export function pct(share) {
  if (share === null || share === undefined) return "";
  return (100 * share).toFixed(share < 0.001 && share > 0 ? 3 : 1) + "%";
}

export function short(id, n = 10) {
  return id && id.length > 2 * n ? id.slice(0, n) + "…" + id.slice(-4) : id;
}

export function link(href, text, attrs) {
  return h("a", { href, ...attrs }, text);
}

export const txLink = (txid, n) => link("#/tx/" + encodeURIComponent(txid), short(txid, n), { class: "mono", title: txid });
export const addrLink = (a) => link("#/address/" + encodeURIComponent(a), a, { class: "mono" });
export const entityLink = (id, text) => link("#/entity/" + encodeURIComponent(id), text || "entity " + id);

export function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(p => p && p[1] !== undefined).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v === null ? "—" : v)]));
}

export function table(cols, rows, opts = {}) {
  return h("table", { "aria-label": opts.label },
    h("thead", {}, h("tr", {}, cols.map(c => h("th", { class: c.num ? "num" : null, scope: "col" }, c.title)))),
    h("tbody", {}, rows.map(r => h("tr", {}, cols.map(c => h("td", { class: c.num ? "num" : null }, c.cell(r)))))));
}

export function riskBadge(level, status) {
  if (status && status !== "assessed") return h("span", { class: "risk unassessed" }, status.replace("_", " "));
  if (!level) return h("span", { class: "risk unassessed" }, "not assessed");
  return h("span", { class: "risk " + String(level).toLowerCase() }, level);
}

// download offers data as a file.
export function download(name, type, data) {
  const url = URL.createObjectURL(data instanceof Blob ? data : new Blob([data], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function csvRow(cells) {
  return cells.map(c => {
    const t = c === null || c === undefined ? "" : String(c);
    return /[",\n\r]/.test(t) || /^[=+\-@]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
  }).join(",") + "\r\n";
}

// kind guesses what the user typed into the search box.
export function kind(q) {
  q = q.trim();
  if (/^[0-9a-fA-F]{64}$/.test(q)) return "tx";
  if (/^\d{1,12}$/.test(q)) return "entity";
  if (/^(bc1|tb1|bcrt1)[02-9ac-hj-np-z]{8,87}$/i.test(q) || /^[13mn2][1-9A-HJ-NP-Za-km-z]{25,34}$/.test(q)) return "address";
  return "label";
}
