// "Trace a connection" (Networking tab): pick a source pod and a target, ask the engine's tracer
// (GET /ui/trace) and show its answer as an ordered hop list, and over the node map: the source
// node, the destination node and the path between (an arrow across the cards), or the failing hop.
// The engine decides everything; this only draws what it returned, all as text.

import { h, setText } from "../dom.js";
import { url } from "../ui/permissions.js";

const PATTERNS = {
  "container-to-container": "container → container (localhost, one network namespace)",
  "pod-to-pod-same-node": "pod → pod on one node (veth → cni0 bridge → veth)",
  "pod-to-pod-cross-node": "pod → pod across nodes (routed to the other node's podCIDR)",
  "pod-to-service": "pod → Service (DNS, then kube-proxy's DNAT to one endpoint)",
};
const MAX_SUGGESTIONS = 200;
const SVG_NS = "http://www.w3.org/2000/svg";

let current = null;     // the last trace answer drawn ({ok, pattern, hops, path, reason, code, from, to})
let seq = 0;            // answers to older requests are dropped

/** Render (once) and refresh the trace form at the top of the Networking panel. */
export function renderTrace(state, root) {
  let sec = root.querySelector('section[data-section="trace"]');
  if (!sec) {
    sec = build();
    root.prepend(sec);
  }
  // The lists walk pods and Services: once per revision (and source pod), not once per frame.
  const refs = sec.__refs;
  const sig = `${state.revision}|${refs.source.value}`;
  if (refs.__sig !== sig) {
    fillSources(state, refs.source);
    fillSuggestions(state, refs);
    refs.__sig = `${state.revision}|${refs.source.value}`;
  }
  drawOnMap(document.querySelector("#map"));
}

function build() {
  const refs = {
    source: h("select", { id: "trace-from", name: "from", required: true }),
    target: h("input", { id: "trace-to", name: "to", type: "text", list: "trace-targets", required: true,
      placeholder: "web, web.default.svc.cluster.local, localhost:8080, node-2:30080…", autocomplete: "off", spellcheck: "false" }),
    list: h("datalist", { id: "trace-targets" }),
    button: h("button", { type: "submit", class: "btn btn-primary", text: "Trace" }),
    clear: h("button", { type: "button", class: "btn", text: "Clear", hidden: true }),
    result: h("div", { class: "trace-result", role: "status", "aria-live": "polite" }),
  };
  const form = h("form", { class: "trace-form", "aria-label": "Trace a connection" },
    h("label", { for: "trace-from", text: "From pod" }), refs.source,
    h("label", { for: "trace-to", text: "To" }), refs.target, refs.list,
    h("div", { class: "trace-buttons" }, refs.button, refs.clear));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); run(refs); });
  refs.clear.addEventListener("click", () => { show(refs, null); });
  const sec = h("section", { class: "panel-section trace", dataset: { section: "trace" } },
    h("h3", { class: "section-title" }, h("span", { text: "Trace a connection" })), form, refs.result);
  sec.__refs = refs;
  return sec;
}

/** Pods that have an IP, as "namespace/name" options; rebuilt only when that set changes. */
function fillSources(state, select) {
  const keys = state.list("pods").filter((p) => p.status?.podIP && !p.metadata.deletionTimestamp && !p.spec?.hostNetwork)
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();
  const sig = keys.join(",");
  if (select.__sig === sig) return;
  select.__sig = sig;
  const keep = select.value;
  select.replaceChildren(...keys.map((k) => h("option", { value: k, text: k })));
  if (keys.includes(keep)) select.value = keep;
}

/** Target suggestions: Service names and DNS names, ClusterIP:port, headless pod names, localhost ports, NodePorts. */
function fillSuggestions(state, refs) {
  const [ns, name] = refs.source.value.split("/");
  const out = [];
  const src = name ? state.find("pods", ns, name) : undefined;
  for (const c of src?.spec?.containers || []) for (const p of c.ports || []) out.push(`localhost:${p.containerPort}`);
  const nodes = state.list("nodes").map((n) => n.metadata.name).sort();
  for (const svc of state.list("services")) {
    const m = svc.metadata, spec = svc.spec || {};
    const fqdn = `${m.name}.${m.namespace}.svc.cluster.local`;
    if (m.namespace === ns) out.push(m.name);
    out.push(fqdn);
    const port = spec.ports?.[0]?.port;
    if (spec.clusterIP && spec.clusterIP !== "None" && port) out.push(`${spec.clusterIP}:${port}`);
    if (spec.clusterIP === "None") {
      for (const es of state.list("endpointslices")) {
        if (es.metadata.namespace !== m.namespace || es.metadata.labels?.["kubernetes.io/service-name"] !== m.name) continue;
        for (const ep of es.endpoints || []) if (ep.hostname) out.push(`${ep.hostname}.${fqdn}`);
      }
    }
    for (const p of spec.ports || []) if (p.nodePort) for (const n of nodes) out.push(`${n}:${p.nodePort}`);
  }
  const uniq = [...new Set(out)].slice(0, MAX_SUGGESTIONS);
  const sig = uniq.join(",");
  if (refs.list.__sig === sig) return;
  refs.list.__sig = sig;
  refs.list.replaceChildren(...uniq.map((v) => h("option", { value: v })));
}

async function run(refs) {
  const from = refs.source.value, to = refs.target.value.trim();
  if (!from || !to) return;
  const mine = ++seq;
  refs.button.disabled = true;
  setText(refs.result, "Tracing…");
  try {
    const q = new URLSearchParams({ from, to });
    const resp = await fetch(url(`/ui/trace?${q}`), { headers: { Accept: "application/json" }, cache: "no-store" });
    const body = await resp.json();
    if (mine !== seq) return;
    show(refs, resp.ok ? body : { error: body.message || `HTTP ${resp.status}` });
  } catch (err) {
    if (mine === seq) show(refs, { error: `The trace failed: ${err.message}` });
  } finally {
    refs.button.disabled = false;
  }
}

/** Draw one answer (or an error, or nothing) in the panel and over the map. */
function show(refs, answer) {
  current = answer && !answer.error ? answer : null;
  refs.clear.hidden = !answer;
  if (!answer) refs.result.replaceChildren();
  else if (answer.error) refs.result.replaceChildren(h("p", { class: "trace-error", text: answer.error }));
  else refs.result.replaceChildren(...resultNodes(answer));
  drawOnMap(document.querySelector("#map"));
}

function resultNodes(t) {
  const verdict = t.ok ? "✓ answered" : `✗ ${t.code}`;
  const head = h("div", { class: `trace-head ${t.ok ? "trace-ok" : "trace-fail"}` },
    h("b", { class: "trace-verdict", text: verdict }),
    h("span", { class: "badge trace-pattern", dataset: { pattern: t.pattern || "" }, text: t.pattern || "no pattern: the target did not resolve" }),
    t.pattern ? h("span", { class: "muted", text: PATTERNS[t.pattern] || "" }) : null);
  const hops = h("ol", { class: "trace-hops", "aria-label": "Hops, in order" }, t.hops.map((hop) =>
    h("li", { class: "trace-hop", dataset: { kind: hop.kind } },
      h("span", { class: "hop-kind", text: hop.kind }),
      h("span", { class: "hop-ends" }, h("code", { text: hop.from }), h("span", { "aria-hidden": "true", text: " → " }), h("code", { text: hop.to })),
      h("span", { class: "hop-detail", text: hop.detail }),
      hop.probability !== undefined ? h("span", { class: "hop-prob muted", text: `chance of this endpoint: ${(hop.probability * 100).toFixed(1)} %` }) : null)));
  if (!t.ok) {
    hops.append(h("li", { class: "trace-hop hop-fail", dataset: { kind: "fail" } },
      h("span", { class: "hop-kind", text: `fails: ${t.code}` }), h("span", { class: "hop-detail", text: t.reason })));
  }
  const path = t.path?.length ? h("p", { class: "trace-path muted", text: `Nodes crossed: ${t.path.join(" → ")}` }) : null;
  return [head, path, hops];
}

// ---- over the node map ---------------------------------------------------------------------

/** Mark the trace's nodes and pods on the map and draw the path between the node cards. */
export function drawOnMap(map) {
  if (!map) return;
  // Only the few marked elements are touched each frame, whatever the cluster's size.
  const want = new Map();   // selector -> data-trace value
  const path = current?.path || [];
  if (current) {
    path.forEach((name, i) => {
      const role = i === 0 ? "source" : i === path.length - 1 ? "destination" : "via";
      want.set(`.node-card[data-node="${CSS.escape(name)}"]`, role);
    });
    if (!current.ok && path.length) want.set(`.node-card[data-node="${CSS.escape(path[path.length - 1])}"]`, path.length > 1 ? "failed" : "source");
    const chip = (key) => { const [ns, name] = key.split("/"); return `.pod-chip[data-namespace="${CSS.escape(ns)}"][data-pod="${CSS.escape(name || "")}"]`; };
    if (current.destination && current.destination !== current.from) want.set(chip(current.destination), "destination");
    want.set(chip(current.from), "source");
  }
  const marked = new Set();
  for (const [sel, value] of want) {
    for (const el of map.querySelectorAll(sel)) {
      marked.add(el);
      if (el.dataset.trace !== value) el.dataset.trace = value;
    }
  }
  for (const el of map.querySelectorAll("[data-trace]")) if (!marked.has(el)) delete el.dataset.trace;
  map.classList.toggle("has-trace", !!current);
  drawArrow(map, current ? path : []);
}

function drawArrow(map, path) {
  let svg = map.querySelector("svg.trace-overlay");
  if (path.length < 2) { if (svg) svg.replaceChildren(); return; }
  if (!svg) {
    svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "trace-overlay");
    svg.setAttribute("aria-hidden", "true");
    map.append(svg);
  }
  const box = map.getBoundingClientRect();
  const points = path.map((name) => map.querySelector(`.node-card[data-node="${CSS.escape(name)}"]`)).filter(Boolean).map((card) => {
    const r = card.getBoundingClientRect();
    return `${(r.left + r.width / 2 - box.left + map.scrollLeft).toFixed(0)},${(r.top + 28 - box.top + map.scrollTop).toFixed(0)}`;
  });
  const sig = points.join(" ") + (current?.ok ? "" : "x");
  if (svg.__sig === sig) return;
  svg.__sig = sig;
  svg.setAttribute("width", String(map.scrollWidth));
  svg.setAttribute("height", String(map.scrollHeight));
  const line = document.createElementNS(SVG_NS, "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("class", current?.ok ? "trace-line" : "trace-line trace-line-fail");
  line.setAttribute("marker-end", "url(#trace-arrow)");
  const marker = document.createElementNS(SVG_NS, "marker");
  for (const [k, v] of Object.entries({ id: "trace-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto" })) marker.setAttribute(k, v);
  const tip = document.createElementNS(SVG_NS, "path");
  tip.setAttribute("d", "M0,0 L10,5 L0,10 z");
  marker.append(tip);
  const defs = document.createElementNS(SVG_NS, "defs");
  defs.append(marker);
  svg.replaceChildren(defs, line);
}
