// sleuth's investigation UI: a hash router over pages that each read the
// API and lay its answers out (U1, U2 in internal/ui/doc.go).
import { api, apiKey, APIError } from "./api.js";
import { h, btc, pct, short, link, txLink, addrLink, entityLink, kv, table, riskBadge, download, csvRow, kind } from "./util.js";
import { buildFlow } from "./flow.js";
import { drawGraph } from "./graph.js";
import { drawSankey } from "./sankey.js";
import { drawTimeline } from "./timeline.js";

const main = document.getElementById("main");
const enc = encodeURIComponent;

const routes = [
  [/^\/?$/, home],
  [/^\/status$/, statusPage],
  [/^\/search$/, searchPage],
  [/^\/address\/([^/]+)$/, addressPage],
  [/^\/tx\/([0-9a-fA-F]{64})$/, txPage],
  [/^\/entity\/(\d+)$/, entityPage],
  [/^\/trace$/, tracePage],
  [/^\/alerts$/, alertsPage],
  [/^\/watchlists$/, watchlistsPage],
  [/^\/cases$/, casesPage],
  [/^\/case\/(\d+)$/, casePage],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?", 2);
  return { path, params: new URLSearchParams(qs || "") };
}

let current = 0;
async function route() {
  const { path, params } = parseHash();
  const seq = ++current;
  for (const [re, page] of routes) {
    const m = path.match(re);
    if (!m) continue;
    main.replaceChildren(h("p", { class: "note" }, "Loading…"));
    try {
      const content = await page(params, ...m.slice(1).map(decodeURIComponent));
      if (seq === current) main.replaceChildren(...nodes(content));
    } catch (err) {
      if (seq === current) main.replaceChildren(errorBox(err));
    }
    // A page that finished after the user moved on must not take the
    // focus from the page now shown (it would swallow their typing).
    if (seq === current) main.focus();
    return;
  }
  main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "No page at " + path + "."));
}

// nodes flattens what a page returns (nested arrays, absent parts as
// null or false) into the nodes replaceChildren takes.
function nodes(...xs) {
  return xs.flat(Infinity).filter(x => x !== null && x !== undefined && x !== false);
}

function errorBox(err) {
  if (err instanceof APIError) {
    const box = h("div", { class: "error", role: "alert" }, h("strong", {}, err.problem.title || "HTTP " + err.status), " — ", err.message,
      err.problem.field ? h("div", { class: "note" }, "field " + err.problem.field) : null,
      err.problem.request_id ? h("div", { class: "note" }, "request id " + err.problem.request_id) : null);
    if (err.status === 401 || err.status === 403) box.append(keyForm());
    return box;
  }
  return h("div", { class: "error", role: "alert" }, String(err && err.message || err));
}

function keyForm() {
  const input = h("input", { type: "password", id: "apikey", autocomplete: "off", "aria-label": "API key" });
  return h("form", { class: "toolbar", onsubmit: (ev) => { ev.preventDefault(); apiKey.set(input.value.trim()); route(); } },
    h("label", { for: "apikey" }, "API key"), input, h("button", { type: "submit" }, "Use key"));
}

// ---- search ----
document.getElementById("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (!q) return;
  const k = kind(q);
  location.hash = k === "tx" ? "#/tx/" + q : k === "entity" ? "#/entity/" + q : k === "address" ? "#/address/" + enc(q) : "#/search?q=" + enc(q);
});

async function searchPage(params) {
  const q = params.get("q") || "";
  const res = await api("/v1/search?q=" + enc(q));
  const items = res.items || [];
  return [h("h1", {}, "Search: " + q),
    items.length ? table([
      { title: "Label", cell: r => r.label },
      { title: "Category", cell: r => r.category },
      { title: "Source", cell: r => r.source },
      { title: "Address", cell: r => r.address ? addrLink(r.address) : "" },
      { title: "Entity", cell: r => r.entity !== undefined && r.entity !== null ? entityLink(r.entity) : "" },
    ], items, { label: "labels matching the search" }) : h("p", {}, "No label matches. Search takes an address, a txid, an entity id or part of a label's name.")];
}

// ---- home and status ----
async function home() {
  const st = await api("/v1/status");
  return [h("h1", {}, "sleuth"),
    h("p", {}, "Start from a theft transaction or a ransom address: search it above, or open the ", link("#/trace", "trace workspace"), " with several sources."),
    statusPanel(st)];
}

async function statusPage() { return [h("h1", {}, "Status"), statusPanel(await api("/v1/status"))]; }

function statusPanel(st) {
  return h("div", { class: "panel" },
    kv([["Network", st.network], ["Tip", st.height + (st.hash ? " · " + short(st.hash) : "")], ["Tip time", st.time], ["Transactions", st.txs.toLocaleString("en-US")]]),
    h("h2", {}, "Stages"),
    table([{ title: "Stage", cell: r => r.name }, { title: "Height", num: true, cell: r => r.height === null ? "not run" : r.height }], st.stages || []),
    h("h2", {}, "Label sources"),
    table([{ title: "Source", cell: r => r.name }, { title: "Kind", cell: r => r.kind }, { title: "Labels", num: true, cell: r => r.labels },
      { title: "Imported", cell: r => r.imported }, { title: "Latest entry", cell: r => r.latest || "" }], st.label_sources || []));
}

// ---- address ----
async function addressPage(params, a) {
  const [v, sc, labels] = await Promise.all([api("/v1/addresses/" + enc(a)), api("/v1/screen/" + enc(a)), api("/v1/labels/" + enc(a)).catch(() => [])]);
  const txs = h("div", {});
  await moreTxs(txs, a, "");
  return [h("h1", {}, "Address ", h("span", { class: "mono" }, a)),
    h("div", { class: "grid2" },
      h("div", { class: "panel" }, kv([["Type", v.type], ["Balance", btc(v.balance)], ["Received", btc(v.received)], ["Sent", btc(v.sent)],
        ["Transactions", v.tx_count], ["First seen", v.first_seen], ["Last seen", v.last_seen],
        ["Entity", v.entity === null ? "not clustered" : entityLink(v.entity)]])),
      h("div", { class: "panel" }, h("h2", {}, "Risk"), screenView(sc))),
    labelsView(labels), labelForm({ address: a }), exposureView(sc),
    h("p", {}, link("#/trace?from=" + enc(a), "Trace forward from this address"), " · ", link("#/trace?from=" + enc(a) + "&direction=backward", "where its funds came from")),
    h("h2", {}, "Transactions"), txs];
}

async function moreTxs(box, a, cursor) {
  const page = await api(`/v1/addresses/${enc(a)}/transactions?limit=25` + (cursor ? "&cursor=" + enc(cursor) : ""));
  box.querySelector("button.more")?.remove();
  box.append(table([
    { title: "Transaction", cell: r => txLink(r.txid) },
    { title: "Height", num: true, cell: r => r.height ?? "" },
    { title: "Time", cell: r => r.time || "" },
    { title: "Change", num: true, cell: r => r.delta !== undefined ? btc(r.delta) : btc((r.received || 0) - (r.sent || 0)) },
  ], page.items || []));
  if (page.next_cursor) box.append(h("button", { class: "secondary more", onclick: () => moreTxs(box, a, page.next_cursor) }, "More transactions"));
}

function screenView(sc) {
  return h("div", {},
    h("p", {}, riskBadge(sc.risk, sc.status), " ", sc.reason || ""),
    (sc.reasons || []).length ? h("ul", {}, sc.reasons.map(r => h("li", {}, r))) : null,
    (sc.rules_fired || []).length ? h("p", { class: "explain" }, "Rules: " + sc.rules_fired.map(r => `${r.level}: ${r.why}${r.threshold ? " (" + r.threshold + ")" : ""}`).join("; ")) : null,
    sc.method ? h("p", { class: "explain" }, "Method: " + sc.method) : null,
    sc.basis ? h("p", { class: "explain" }, "Basis: " + basisText(sc.basis)) : null,
    (sc.formerly_listed || []).length ? h("p", { class: "explain" }, "Formerly listed: " + sc.formerly_listed.map(f => `${f.label} (${f.source || f.list}, until ${f.listed_to})`).join("; ")) : null);
}

function basisText(b) {
  const parts = [];
  if (b.tip_height !== undefined) parts.push("tip " + b.tip_height);
  if (b.exposure_height !== undefined) parts.push("exposure at " + b.exposure_height);
  for (const [k, v] of Object.entries(b)) if (!["tip_height", "exposure_height"].includes(k) && typeof v !== "object") parts.push(`${k.replace(/_/g, " ")} ${v}`);
  if (Array.isArray(b.sources)) parts.push("lists: " + b.sources.map(s => `${s.name}${s.latest ? " (" + s.latest + ")" : ""}`).join(", "));
  return parts.join(", ");
}

function explainText(x) {
  if (!x || typeof x !== "object") return "";
  return Object.entries(x).filter(([, v]) => v !== null && v !== "" && typeof v !== "object").map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`).join(" · ");
}

function exposureView(rep) {
  const rows = rep.exposure || [];
  if (!rows.length) return h("p", { class: "note" }, "No exposure to labelled categories.");
  return [h("h2", {}, "Exposure"), table([
    { title: "Direction", cell: r => r.direction },
    { title: "Category", cell: r => r.category },
    { title: "Kind", cell: r => r.kind },
    { title: "Value", num: true, cell: r => btc(r.sats) },
    { title: "Share", num: true, cell: r => pct(r.share) },
    { title: "Hops", num: true, cell: r => r.min_hops },
    { title: "Why", cell: r => h("span", { class: "explain" }, [r.basis ? "basis " + r.basis : "", explainText(r.explanation)].filter(Boolean).join(" · ")) },
  ], rows, { label: "exposure" })];
}

function labelsView(labels) {
  if (!labels || !labels.length) return h("p", { class: "note" }, "No labels.");
  return [h("h2", {}, "Labels"), table([
    { title: "Label", cell: r => r.label }, { title: "Category", cell: r => r.category }, { title: "Source", cell: r => r.source + (r.list ? " · " + r.list : "") },
    { title: "Listed", cell: r => (r.listed_from || "…") + " – " + (r.listed_to || "") }, { title: "Via", cell: r => r.via + (r.address ? " " + r.address : "") },
    { title: "Confidence", num: true, cell: r => r.confidence },
  ], labels, { label: "labels" })];
}

// ---- transaction ----
async function txPage(params, txid) {
  const [t, ex] = await Promise.all([api("/v1/transactions/" + txid), api("/v1/exposure/" + txid).catch(() => null)]);
  return [h("h1", {}, "Transaction ", h("span", { class: "mono" }, txid)),
    h("div", { class: "panel" }, kv([["Block", t.height === null ? "not in the best chain" : String(t.height)], ["Time", t.time], ["Fee", btc(t.fee)],
      ["Size", `${t.size} B, ${t.vsize} vB`], ["Best chain", t.best_chain ? "yes" : "no"]])),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Inputs"), table([
        { title: "From", cell: r => r.coinbase ? "coinbase" : r.address ? addrLink(r.address) : "—" },
        { title: "Spends", cell: r => r.txid ? [txLink(r.txid, 8), ":" + r.vout] : "" },
        { title: "Value", num: true, cell: r => r.coinbase ? "" : btc(r.value) }], t.inputs || [])),
      h("div", {}, h("h2", {}, "Outputs"), table([
        { title: "#", num: true, cell: r => r.n },
        { title: "To", cell: r => r.address ? addrLink(r.address) : r.type },
        { title: "Value", num: true, cell: r => btc(r.value) },
        { title: "Spent by", cell: r => r.spent_by ? txLink(r.spent_by.txid, 8) : "unspent" }], t.outputs || []))),
    ex ? [h("h2", {}, "Risk"), screenView(ex.exposure || ex), exposureView(ex.exposure || ex)] : null,
    h("p", {}, link("#/trace?from=" + txid, "Trace forward from this transaction"))];
}

// ---- entity ----
async function entityPage(params, id) {
  const [e, labels, ex] = await Promise.all([api("/v1/entities/" + id), api("/v1/labels/" + id).catch(() => []), api("/v1/exposure/" + id).catch(() => null)]);
  const members = h("div", {});
  await moreMembers(members, id, "");
  return [h("h1", {}, "Entity " + id),
    h("div", { class: "panel" }, kv([["Addresses", e.size.toLocaleString("en-US")], ["Root address", addrLink(e.root_address)], ["Balance", btc(e.balance)],
      ["Received", btc(e.received)], ["Sent", btc(e.sent)], ["Transactions", e.tx_count], ["First seen", e.first_seen], ["Last seen", e.last_seen],
      ["CoinJoins", e.coinjoin_participant ? `took part in ${e.coinjoin_txs}` : "none"]])),
    labelsView(labels), labelForm({ entity: Number(id) }), ex ? [h("h2", {}, "Risk"), screenView(ex.exposure || ex), exposureView(ex.exposure || ex)] : null,
    explainForm(id),
    h("h2", {}, "Addresses"), members];
}

async function moreMembers(box, id, cursor) {
  const page = await api(`/v1/entities/${id}/addresses?limit=50` + (cursor ? "&cursor=" + enc(cursor) : ""));
  box.querySelector("button.more")?.remove();
  box.append(table([{ title: "Address", cell: r => addrLink(r.address) }, { title: "Type", cell: r => r.type }], page.items || []));
  if (page.next_cursor) box.append(h("button", { class: "secondary more", onclick: () => moreMembers(box, id, page.next_cursor) }, "More addresses"));
}

// ---- labels written from the UI ----
// POST /v1/labels answers each label's id, which DELETE /v1/labels/{id}
// takes; GET /v1/labels does not show ids, so the page keeps the ones
// this browser added (localStorage) and offers to remove those.
const OWN_KEY = "sleuth-own-labels", CASE_KEY = "sleuth-case";
const CATEGORIES = ["exchange", "mixing_service", "ransomware", "service_hack", "sanction", "scam", "perpetrator", "victim", "market",
  "gambling", "miner", "wallet_service", "payment_processor", "money_laundering", "phishing", "extortion", "dark_web", "unknown"];

const ownLabels = {
  all: () => { try { return JSON.parse(localStorage.getItem(OWN_KEY) || "[]"); } catch { return []; } },
  save: (xs) => localStorage.setItem(OWN_KEY, JSON.stringify(xs)),
  add(x) { this.save([...this.all().filter(y => y.id !== x.id), x]); },
  remove(id) { this.save(this.all().filter(y => y.id !== id)); },
};

// labelForm adds a label to an address ({address}) or an entity
// ({entity}); when a case is chosen the case records it (its audit log
// shows who added it), then the page reloads with the new label and the
// risk the server recomputed.
function labelForm(target) {
  const ref = target.address !== undefined ? target.address : String(target.entity);
  const field = (id, title, input) => h("label", { for: id }, title, input);
  const category = h("input", { id: "lf-category", name: "category", list: "lf-categories", required: true, autocomplete: "off" });
  const name = h("input", { id: "lf-label", name: "label", required: true, maxlength: 200 });
  const actor = h("input", { id: "lf-actor", name: "actor", maxlength: 200 });
  const confidence = h("input", { id: "lf-confidence", name: "confidence", type: "number", min: 0, max: 100, value: 70 });
  const source = h("input", { id: "lf-source", name: "source", required: true, value: "investigator", maxlength: 200 });
  const note = h("textarea", { id: "lf-note", name: "note", maxlength: 2000 });
  const caseSel = h("select", { id: "lf-case", name: "case" }, h("option", { value: "" }, "no case"));
  const msg = h("div", { id: "lf-msg", "aria-live": "polite" });
  api("/v1/cases?limit=1000").then(p => {
    for (const c of p.items || []) if (c.status === "open") caseSel.append(h("option", { value: c.id, selected: String(c.id) === sessionStorage.getItem(CASE_KEY) }, `${c.id}: ${c.name}`));
    if (caseSel.value) source.value = "case " + caseSel.value;
  }).catch(() => {});
  caseSel.addEventListener("change", () => { if (/^(investigator|case \d+)$/.test(source.value)) source.value = caseSel.value ? "case " + caseSel.value : "investigator"; });
  const form = h("form", { class: "trace", id: "label-form", "aria-label": "add a label", onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { ...target, category: category.value.trim(), label: name.value.trim(), source: source.value.trim(), confidence: Number(confidence.value) };
    if (actor.value.trim()) body.actor = actor.value.trim();
    if (note.value.trim()) body.description = note.value.trim();
    try {
      const res = await api("/v1/labels", { method: "POST", body });
      for (const l of res.added || []) ownLabels.add({ id: l.id, ref, label: l.label, category: l.category });
      if (caseSel.value) await api(`/v1/cases/${caseSel.value}/labels`, { method: "POST", body: { ref, label: body.label, category: body.category } });
      route();
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  } },
    field("lf-category", "Category", category), h("datalist", { id: "lf-categories" }, CATEGORIES.map(c => h("option", { value: c }))),
    field("lf-label", "Label (actor or name)", name), field("lf-actor", "Actor id (optional)", actor),
    field("lf-confidence", "Confidence (0–100)", confidence), field("lf-source", "Source", source), field("lf-case", "Record in case", caseSel),
    h("label", { for: "lf-note", class: "wide" }, "Note"), note,
    h("button", { type: "submit" }, "Add label"));
  const own = ownLabels.all().filter(l => l.ref === ref);
  return h("div", { class: "panel" }, h("h2", {}, "Add a label"), form, msg,
    own.length ? [h("h3", {}, "Labels added from this browser"), table([
      { title: "Id", num: true, cell: l => l.id }, { title: "Label", cell: l => l.label }, { title: "Category", cell: l => l.category },
      { title: "", cell: l => h("button", { class: "secondary", "aria-label": `remove label ${l.id} (${l.label})`, onclick: async () => {
        try { await api("/v1/labels/" + l.id, { method: "DELETE" }); ownLabels.remove(l.id); route(); }
        catch (err) { if (err.status === 404) { ownLabels.remove(l.id); route(); } else msg.replaceChildren(errorBox(err)); }
      } }, "Remove") }], own, { label: "labels added from this browser" })] : null);
}

function explainForm(id) {
  const input = h("input", { id: "other", class: "mono", size: 50, "aria-label": "another address of this entity" });
  const out = h("div", {});
  return h("div", { class: "panel" }, h("h2", {}, "Why is an address in this entity?"),
    h("form", { class: "toolbar", onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const r = await api(`/v1/entities/${id}/explain?other=` + enc(input.value.trim()));
        const steps = r.steps || r;
        out.replaceChildren(Array.isArray(steps) ? table([
          { title: "Step", num: true, cell: (s, i) => s.step ?? "" },
          { title: "Transaction", cell: s => s.txid ? txLink(s.txid) : "" },
          { title: "Joins", cell: s => [s.from ? addrLink(s.from) : "", " + ", s.to ? addrLink(s.to) : ""] },
          { title: "Rule", cell: s => s.reason || s.rule || s.kind || "" }], steps) : h("pre", {}, JSON.stringify(r, null, 2)));
      } catch (err) { out.replaceChildren(errorBox(err)); }
    } }, h("label", { for: "other" }, "Address"), input, h("button", { type: "submit" }, "Explain")), out);
}

// ---- trace workspace ----
async function tracePage(params) {
  const form = h("form", { class: "trace", "aria-label": "trace parameters" },
    h("label", { for: "sources" }, "Sources: txids, TXID:VOUT, addresses or entity ids, one per line"),
    h("textarea", { id: "sources", name: "sources", spellcheck: "false" }, params.getAll("from").join("\n")),
    select("direction", "Direction", ["forward", "backward"], params.get("direction")),
    select("policy", "Policy", ["fifo", "haircut", "poison", "lifo", "tiho"], params.get("policy")),
    h("label", {}, "Hops", h("input", { name: "hops", type: "number", min: 1, max: 1000, value: params.get("hops") || 50 })),
    h("label", {}, "After (date)", h("input", { name: "after", type: "date", value: params.get("after") || "" })),
    h("label", {}, "Before (date)", h("input", { name: "before", type: "date", value: params.get("before") || "" })),
    h("label", {}, "Top edges shown", h("input", { name: "top", type: "number", min: 10, max: 5000, value: params.get("top") || 150 })),
    h("button", { type: "submit" }, "Trace"));
  const out = h("div", { id: "trace-out" });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const q = new URLSearchParams();
    for (const src of String(fd.get("sources")).split(/\s+/).filter(Boolean)) q.append("from", src);
    for (const k of ["direction", "policy", "hops", "after", "before", "top"]) if (fd.get(k)) q.set(k, fd.get(k));
    location.hash = "#/trace?" + q.toString();
  });
  const sources = params.getAll("from");
  if (sources.length) runTrace(out, sources, params);
  return [h("h1", {}, "Trace"), form, out];
}

function select(name, title, options, value) {
  return h("label", {}, title, h("select", { name }, options.map(o => h("option", { value: o, selected: o === value }, o))));
}

async function runTrace(out, sources, params) {
  out.replaceChildren(h("p", { class: "note" }, "Tracing…"));
  const body = { sources, direction: params.get("direction") || "forward", policy: params.get("policy") || "fifo", hops: Number(params.get("hops") || 50) };
  if (params.get("after")) body.after = params.get("after");
  if (params.get("before")) body.before = params.get("before");
  try {
    const res = await api("/v1/trace", { method: "POST", body });
    const result = res.result || res;
    const graph = res.graph || { nodes: [], edges: [] };
    showTrace(out, result, graph, body, Number(params.get("top") || 150));
  } catch (err) { out.replaceChildren(errorBox(err)); }
}

function showTrace(out, result, graph, request, topEdges) {
  const t = result.totals || {};
  let maxHop = Infinity;
  const viz = h("div", { class: "viz", id: "viz" });
  const tabs = h("div", { class: "tabs", role: "tablist" });
  let view = "graph";
  const hopLabel = h("span", {}, "all hops");
  const render = () => {
    const flow = buildFlow(result, graph, { topEdges, maxHop });
    const onNode = (n) => { location.hash = "#/entity/" + n.entity; };
    viz.replaceChildren(view === "graph" ? drawGraph(flow, { onNode }) : view === "sankey" ? drawSankey(flow) : view === "timeline" ? drawTimeline(result) : cashOutTable(result));
    info.textContent = `${flow.nodes.length} of ${flow.allNodes} entities, ${flow.edges.length} of ${flow.allEdges} entity pairs shown (top edges by value), ${flow.maxDepth} hops deep.`;
    hopLabel.textContent = maxHop === Infinity ? "all hops" : "up to hop " + maxHop;
    for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.view === view));
  };
  for (const [v, title] of [["graph", "Graph"], ["sankey", "Sankey"], ["timeline", "Timeline"], ["table", "Cash-out table"]]) {
    tabs.append(h("button", { role: "tab", "data-view": v, onclick: () => { view = v; render(); } }, title));
  }
  const info = h("p", { class: "note" });
  const tools = h("div", { class: "toolbar" },
    h("button", { class: "secondary", onclick: () => { maxHop = maxHop === Infinity ? 1 : maxHop - 1; if (maxHop < 1) maxHop = 1; render(); } }, "Collapse a hop"),
    h("button", { class: "secondary", onclick: () => { maxHop = maxHop === Infinity ? Infinity : maxHop + 1; render(); } }, "Expand a hop"),
    h("button", { class: "secondary", onclick: () => { maxHop = Infinity; render(); } }, "All hops"), hopLabel,
    h("button", { class: "secondary", "data-export": "csv", onclick: () => download("trace-flows.csv", "text/csv", flowsCSV(result)) }, "Flows CSV"),
    h("button", { class: "secondary", "data-export": "json", onclick: () => download("trace-graph.json", "application/json", JSON.stringify(graph, null, 2)) }, "Graph JSON"),
    h("button", { class: "secondary", "data-export": "svg", onclick: () => exportSVG(viz) }, "SVG"),
    h("button", { class: "secondary", "data-export": "png", onclick: () => exportPNG(viz) }, "PNG"),
    h("button", { class: "secondary", "data-export": "html", onclick: () => download("trace-report.html", "text/html", reportHTML(result, request)) }, "Report (HTML)"),
    h("button", { class: "secondary", onclick: () => window.print() }, "Print / PDF"),
    saveToCase(request));
  out.replaceChildren(...nodes(
    h("div", { class: "panel", id: "trace-summary" },
      kv([["Traced", btc(t.source)], ["Cashed out", btc(t.cashed_out) + " (" + pct(t.source ? t.cashed_out / t.source : 0) + ")"], ["Still held", btc(t.held)],
        ["Fees", btc(t.fee)], ["Through CoinJoins (uncertain)", btc(t.coinjoin_uncertain)], ["Policy", `${result.policy}, ${result.direction}, at most ${result.max_hops} hops`],
        ["Transactions read", result.txs_read]])),
    h("div", { class: "legend" }, legend("source", "var(--bad)"), legend("cash-out entity", "var(--ok)"), legend("CoinJoin / mixer", "var(--cj)"), legend("other entity", "#6e7781"),
      h("span", { style: null }, "dashed edge: peel chain; purple edge: CoinJoin")),
    tabs, tools, info, viz, cashOutSection(result)));
  render();
}

// saveToCase stores the trace's parameters in a case; the server runs the
// trace again and keeps its summary with the chain height (U1).
function saveToCase(request) {
  const box = h("span", {});
  const sel = h("select", { "aria-label": "case to save the trace to" }, h("option", { value: "" }, "Save to case…"));
  api("/v1/cases?limit=1000").then(p => {
    for (const c of p.items) if (c.status === "open") sel.append(h("option", { value: c.id, selected: String(c.id) === parseHash().params.get("case") }, `${c.id}: ${c.name}`));
  }).catch(() => box.remove());
  const btn = h("button", { class: "secondary", onclick: async () => {
    if (!sel.value) return;
    try { await api(`/v1/cases/${sel.value}/traces`, { method: "POST", body: request }); box.replaceChildren(link("#/case/" + sel.value, "saved to case " + sel.value), " ", reportButton(sel.value, "pdf")); }
    catch (err) { box.replaceChildren(errorBox(err)); }
  } }, "Save");
  box.append(sel, btn);
  return box;
}

const legend = (text, color) => { const e = h("span", {}, text); e.style.setProperty("--c", color); return e; };

function cashOutTable(result) {
  const rows = (result.entities || []).filter(e => e.cash_out);
  return table([
    { title: "Cash-out entity", cell: e => entityLink(e.entity, e.label || "entity " + e.entity) },
    { title: "Category", cell: e => e.category || "" },
    { title: "Received", num: true, cell: e => btc(e.sats) },
    { title: "Share", num: true, cell: e => pct(e.share) },
    { title: "Hops", num: true, cell: e => `${e.min_hops}–${e.max_hops}` },
    { title: "First … last", cell: e => `${(e.first || "").slice(0, 10)} … ${(e.last || "").slice(0, 10)}` },
  ], rows, { label: "cash-out entities" });
}

function cashOutSection(result) {
  const rows = (result.entities || []).filter(e => e.cash_out);
  return [h("h2", {}, "Where the money went"), rows.length ? cashOutTable(result) : h("p", { class: "note" }, "No cash-out entity reached."),
    h("h2", {}, "Evidence paths"),
    h("ol", {}, rows.flatMap(e => (e.paths || []).map(p => h("li", {}, (e.label || "entity " + e.entity) + ": " + btc(p.sats) + " via ",
      (p.txids || []).flatMap((id, i) => [i ? " → " : "", txLink(id, 8)])))))];
}

function flowsCSV(result) {
  let out = csvRow(["entity", "label", "category", "cash_out", "sats", "share", "min_hops", "max_hops", "first", "last", "address", "address_sats"]);
  for (const e of result.entities || []) {
    out += csvRow([e.entity, e.label, e.category, e.cash_out, e.sats, e.share, e.min_hops, e.max_hops, e.first, e.last, "", ""]);
    for (const a of e.addresses || []) out += csvRow([e.entity, e.label, e.category, e.cash_out, e.sats, e.share, a.min_hops, a.max_hops, a.first, a.last, a.address, a.sats]);
  }
  return out;
}

function svgText(viz) {
  const svg = viz.querySelector("svg");
  if (!svg) return null;
  const copy = svg.cloneNode(true);
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
  style.textContent = [...document.styleSheets].flatMap(sh => { try { return [...sh.cssRules].map(r => r.cssText); } catch { return []; } }).filter(t => t.startsWith("svg")).join("\n")
    .replace(/var\(--bad\)/g, "#b3261e").replace(/var\(--ok\)/g, "#146c2e").replace(/var\(--cj\)/g, "#6f42c1").replace(/var\(--fg\)/g, "#1b1f24");
  copy.prepend(style);
  return new XMLSerializer().serializeToString(copy);
}

function exportSVG(viz) { const t = svgText(viz); if (t) download("trace.svg", "image/svg+xml", t); }

function exportPNG(viz) {
  const t = svgText(viz);
  if (!t) return;
  const svg = viz.querySelector("svg");
  const img = new Image();
  const url = URL.createObjectURL(new Blob([t], { type: "image/svg+xml" }));
  img.onload = () => {
    const c = document.createElement("canvas");
    c.width = svg.width.baseVal.value; c.height = svg.height.baseVal.value;
    const ctx = c.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height); ctx.drawImage(img, 0, 0);
    URL.revokeObjectURL(url);
    c.toBlob(b => download("trace.png", "image/png", b));
  };
  img.src = url;
}

function reportHTML(result, request) {
  const esc = (x) => String(x ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const t = result.totals || {};
  const rows = (result.entities || []).filter(e => e.cash_out);
  return `<!doctype html><meta charset="utf-8"><title>sleuth trace report</title>
<style>body{font:14px system-ui,sans-serif;max-width:60rem;margin:2rem auto}td,th{border-bottom:1px solid #ccc;padding:.2rem .5rem;text-align:left}.n{text-align:right}code{word-break:break-all}</style>
<h1>Trace report</h1><p>Generated ${esc(new Date().toISOString())} by sleuth.</p>
<h2>Summary</h2><p>Sources: ${request.sources.map(s => `<code>${esc(s)}</code>`).join(", ")}.<br>Traced ${esc(btc(t.source))}; cashed out ${esc(btc(t.cashed_out))}; still held ${esc(btc(t.held))}; fees ${esc(btc(t.fee))}; through CoinJoins (uncertain) ${esc(btc(t.coinjoin_uncertain))}.</p>
<h2>Where the money went</h2><table><tr><th>Entity</th><th>Category</th><th class=n>Received</th><th class=n>Share</th><th>Hops</th><th>First … last</th></tr>
${rows.map(e => `<tr><td>${esc(e.label || "entity " + e.entity)}</td><td>${esc(e.category)}</td><td class=n>${esc(btc(e.sats))}</td><td class=n>${esc(pct(e.share))}</td><td>${esc(e.min_hops)}–${esc(e.max_hops)}</td><td>${esc(e.first)} … ${esc(e.last)}</td></tr>`).join("\n")}</table>
<h2>Evidence paths</h2><ol>${rows.flatMap(e => (e.paths || []).map(p => `<li>${esc(e.label || "entity " + e.entity)}: ${esc(btc(p.sats))} via ${(p.txids || []).map(id => `<code>${esc(id)}</code>`).join(" → ")}</li>`)).join("\n")}</ol>
<h2>Methodology</h2><p>Policy ${esc(result.policy)}, direction ${esc(result.direction)}, at most ${esc(result.max_hops)} hops, outputs below ${esc(result.min_sats)} sats not followed. Entities by sleuth's multi-input clustering with CoinJoin detection (measured precision and recall: docs/ACCURACY.md). Taint through CoinJoins that cannot be attributed to one participant is reported as uncertain, not followed.</p>`;
}

// ---- cases ----
async function casesPage(params) {
  const page = await api("/v1/cases?limit=100" + (params.get("cursor") ? "&cursor=" + enc(params.get("cursor")) : ""));
  const name = h("input", { id: "case-name", required: true, maxlength: 200 });
  const desc = h("input", { id: "case-desc", maxlength: 2000, size: 50 });
  const srcs = h("textarea", { id: "case-sources", spellcheck: "false" }, params.getAll("from").join("\n"));
  const msg = h("div", {});
  const form = h("form", { class: "trace", "aria-label": "new case", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const c = await api("/v1/cases", { method: "POST", body: { name: name.value, description: desc.value, sources: srcs.value.split(/\s+/).filter(Boolean) } });
      location.hash = "#/case/" + c.id;
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  } },
    h("label", { for: "case-name" }, "Name", name), h("label", { for: "case-desc" }, "Description", desc),
    h("label", { for: "case-sources" }, "Sources (txids, addresses), one per line"), srcs, h("button", { type: "submit" }, "Open case"));
  return [h("h1", {}, "Cases"), page.items.length ? table([
    { title: "Id", num: true, cell: c => link("#/case/" + c.id, String(c.id)) },
    { title: "Name", cell: c => link("#/case/" + c.id, c.name) },
    { title: "Status", cell: c => c.status },
    { title: "Opened", cell: c => c.created.slice(0, 16).replace("T", " ") + " by " + c.created_by },
    { title: "Sources", num: true, cell: c => c.sources },
    { title: "Notes", num: true, cell: c => c.notes },
    { title: "Traces", num: true, cell: c => c.traces },
  ], page.items, { label: "cases" }) : h("p", { class: "note" }, "No cases yet."),
    page.next_cursor ? link("#/cases?cursor=" + enc(page.next_cursor), "Next page") : null,
    h("h2", {}, "Open a case"), form, msg];
}

async function casePage(params, id) {
  sessionStorage.setItem(CASE_KEY, id);
  const [c, audit] = await Promise.all([api("/v1/cases/" + id), api(`/v1/cases/${id}/audit?limit=1000`)]);
  const msg = h("div", {});
  const edit = (path, body) => api(`/v1/cases/${id}/${path}`, { method: "POST", body }).then(route, err => msg.replaceChildren(errorBox(err)));
  const note = h("textarea", { id: "note", "aria-label": "new note" });
  const srcInput = h("input", { id: "add-source", class: "mono", size: 66, "aria-label": "source to add" });
  const traceQ = new URLSearchParams(c.sources.map(x => ["from", x]));
  traceQ.set("case", id);
  return [h("h1", {}, `Case ${c.id}: ${c.name}`),
    h("p", { class: "note" }, `${c.status} · opened ${c.created.slice(0, 16).replace("T", " ")} by ${c.created_by} · last change ${c.updated.slice(0, 16).replace("T", " ")}`),
    c.description ? h("p", {}, c.description) : null,
    h("div", { class: "toolbar" },
      link("#/trace?" + traceQ.toString(), "Trace from the case's sources"),
      reportButton(id, "html"), reportButton(id, "pdf"),
      h("button", { class: "secondary", onclick: () => edit("status", { status: c.status === "open" ? "closed" : "open" }) }, c.status === "open" ? "Close case" : "Reopen case")),
    msg,
    h("h2", {}, "Sources"),
    h("ul", {}, c.sources.map(x => h("li", {}, /^[0-9a-f]{64}$/i.test(x) ? txLink(x, 32) : /^\d+$/.test(x) ? entityLink(x) : x.includes(":") ? x : addrLink(x)))),
    h("form", { class: "toolbar", onsubmit: (ev) => { ev.preventDefault(); edit("sources", { sources: srcInput.value.split(/\s+/).filter(Boolean) }); } },
      h("label", { for: "add-source" }, "Add"), srcInput, h("button", { type: "submit" }, "Add source")),
    h("h2", {}, "Traces"),
    c.traces.length ? table([
      { title: "When", cell: x => x.at.slice(0, 16).replace("T", " ") },
      { title: "By", cell: x => x.by },
      { title: "Height", num: true, cell: x => x.height },
      { title: "Parameters", cell: x => h("code", {}, JSON.stringify(x.params)) },
      { title: "Cashed out", num: true, cell: x => x.summary && x.summary.cashed_out !== undefined ? btc(x.summary.cashed_out) : "" },
      { title: "", cell: x => link("#/trace?" + traceParams(x.params), "run again") },
    ], c.traces, { label: "traces" }) : h("p", { class: "note" }, "No traces saved: run one from the trace workspace and save it to this case."),
    h("h2", {}, "Labels added"),
    c.labels.length ? table([{ title: "Address or entity", cell: l => l.ref }, { title: "Label", cell: l => l.label }, { title: "Category", cell: l => l.category },
      { title: "By", cell: l => l.by + ", " + l.at.slice(0, 10) }], c.labels, { label: "labels added" }) : h("p", { class: "note" }, "None."),
    h("h2", {}, "Notes"),
    c.notes.map(n => h("div", { class: "panel" }, h("div", { class: "note" }, n.at.slice(0, 16).replace("T", " ") + " · " + n.by), n.text)),
    h("form", { onsubmit: (ev) => { ev.preventDefault(); edit("notes", { text: note.value }); } }, note, h("div", {}, h("button", { type: "submit" }, "Add note"))),
    h("h2", {}, "Audit log"),
    table([{ title: "#", num: true, cell: e => e.seq }, { title: "When", cell: e => e.at.slice(0, 19).replace("T", " ") }, { title: "Who", cell: e => e.by },
      { title: "What", cell: e => e.action }, { title: "Detail", cell: e => e.detail }], audit.items, { label: "audit log" })];
}

// reportButton fetches the server's case report (HTML, or the PDF the
// server generates) with the API key and offers it as a file.
function reportButton(id, format) {
  const box = h("span", {});
  const btn = h("button", { class: "secondary", "data-export": "report-" + format, onclick: async () => {
    try {
      const headers = apiKey.get() ? { "X-API-Key": apiKey.get() } : {};
      const r = await fetch(`/v1/cases/${id}/report?format=${format}`, { headers, credentials: "omit" });
      if (!r.ok) throw new APIError(r.status, await r.json().catch(() => null));
      download(`case-${id}-report.${format}`, format === "pdf" ? "application/pdf" : "text/html", await r.blob());
      box.replaceChildren(btn);
    } catch (err) { box.replaceChildren(btn, errorBox(err)); }
  } }, format === "pdf" ? "Report (PDF)" : "Report (HTML)");
  box.append(btn);
  return box;
}

function traceParams(p) {
  const q = new URLSearchParams();
  for (const s of p.sources || []) q.append("from", s);
  for (const k of ["direction", "policy", "hops", "after", "before"]) if (p[k] !== undefined && p[k] !== "") q.set(k, p[k]);
  return q.toString();
}

// ---- alerts and watchlists ----
async function alertsPage(params) {
  const status = params.get("status") || "";
  const page = await api("/v1/alerts?limit=50" + (status ? "&status=" + enc(status) : "") + (params.get("cursor") ? "&cursor=" + enc(params.get("cursor")) : ""));
  const items = page.items || [];
  return [h("h1", {}, "Alerts"),
    h("div", { class: "toolbar" }, ["", "open", "acknowledged", "dismissed", "escalated"].map(s => link("#/alerts" + (s ? "?status=" + s : ""), s || "all"))),
    items.length ? table([
      { title: "Id", num: true, cell: a => a.id },
      { title: "Level", cell: a => riskBadge(a.level, "assessed") },
      { title: "Status", cell: a => a.status + (a.invalidated ? " (invalidated by a reorg)" : "") },
      { title: "Rule", cell: a => a.rule },
      { title: "Transaction", cell: a => a.txid ? txLink(a.txid) : "" },
      { title: "Address", cell: a => a.address ? addrLink(a.address) : "" },
      { title: "Value", num: true, cell: a => btc(a.value) },
      { title: "Block", num: true, cell: a => a.height ?? "" },
      { title: "Review", cell: a => reviewButtons(a) },
    ], items, { label: "alerts" }) : h("p", { class: "note" }, "No alerts."),
    page.next_cursor ? link("#/alerts?" + new URLSearchParams({ status, cursor: page.next_cursor }), "Next page") : null];
}

function reviewButtons(a) {
  const box = h("span", {});
  for (const s of ["acknowledged", "dismissed", "escalated"]) {
    if (a.status === s) continue;
    box.append(h("button", { class: "secondary", onclick: async () => {
      const note = prompt(`Note for marking alert ${a.id} ${s}:`) || "";
      try { await api(`/v1/alerts/${a.id}/review`, { method: "POST", body: { status: s, note } }); route(); } catch (err) { box.replaceChildren(errorBox(err)); }
    } }, s), " ");
  }
  return box;
}

async function watchlistsPage() {
  const res = await api("/v1/watchlists");
  const items = res.items || res || [];
  return [h("h1", {}, "Watchlists"), items.length ? table([
    { title: "Id", num: true, cell: w => w.id },
    { title: "Name", cell: w => w.name },
    { title: "Items", num: true, cell: w => w.items ?? w.addresses ?? "" },
    { title: "Rules", cell: w => (w.rules || []).map(r => r.kind || JSON.stringify(r)).join(", ") },
  ], items, { label: "watchlists" }) : h("p", { class: "note" }, "No watchlists.")];
}

window.addEventListener("hashchange", route);
api("/v1/status").then(st => {
  document.getElementById("footer").textContent = `${st.network} · tip ${st.height} · ${st.time || ""} · every figure comes from the API (/openapi.json)`;
}).catch(() => {});
route();
