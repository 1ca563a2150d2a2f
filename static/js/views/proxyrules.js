// "kube-proxy rules on <node>" under each Service card (Networking tab): the KUBE-SERVICES →
// KUBE-SVC → KUBE-SEP chain with each rule's probability, as GET /ui/proxy-rules answers it for
// that node, plus the iptables-save text. Fetched when opened, again when the Service's endpoints
// change (and once more a moment later: kube-proxy syncs up to a second after the API).

import { h, setText } from "../dom.js";
import { url } from "../ui/permissions.js";

const RESYNC_MS = 1500;

/** The collapsed rules widget of one Service card (built once; see refreshRules). */
export function rulesWidget(state, svc) {
  const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
  const refs = {
    summary: h("summary", { text: "kube-proxy rules" }),
    node: h("select", { class: "rules-node", "aria-label": `Node whose kube-proxy rules for ${svc.metadata.name} are shown` }),
    body: h("div", { class: "rules-body" }),
    pre: h("pre", { class: "rules-text" }),
  };
  const el = h("details", { class: "proxy-rules", dataset: { service: key } }, refs.summary,
    h("label", { class: "rules-pick" }, h("span", { text: "on node " }), refs.node), refs.body,
    h("details", { class: "rules-save" }, h("summary", { text: "iptables-save -t nat (this Service)" }), refs.pre));
  el.__refs = refs;
  el.__key = key;
  el.addEventListener("toggle", () => {
    if (!el.open) return;
    fillNodes(state, refs.node);
    load(el);
  });
  refs.node.addEventListener("change", () => load(el));
  return el;
}

/** Called every frame with the card's data signature: refetch an open widget whose endpoints changed. */
export function refreshRules(el, sig) {
  if (el.__sig === sig) return;
  const first = el.__sig === undefined;
  el.__sig = sig;
  if (first || !el.open) return;
  load(el);
  clearTimeout(el.__later);
  el.__later = setTimeout(() => load(el), RESYNC_MS);
}

function fillNodes(state, select) {
  const names = state.list("nodes").map((n) => n.metadata.name).sort();
  const keep = select.value;
  select.replaceChildren(...names.map((n) => h("option", { value: n, text: n })));
  select.value = names.includes(keep) ? keep : names.find((n) => n !== "control-plane") || names[0] || "";
}

async function load(el) {
  const { node, body, pre, summary } = el.__refs;
  if (!node.value) return;
  const mine = (el.__seq = (el.__seq || 0) + 1);
  setText(summary, `kube-proxy rules on ${node.value}`);
  try {
    const q = new URLSearchParams({ node: node.value, service: el.__key });
    const resp = await fetch(url(`/ui/proxy-rules?${q}`), { headers: { Accept: "application/json" }, cache: "no-store" });
    const data = await resp.json();
    if (mine !== el.__seq) return;
    if (!resp.ok) { body.replaceChildren(h("p", { class: "trace-error", text: data.message || `HTTP ${resp.status}` })); return; }
    body.replaceChildren(...rulesNodes(data));
    setText(pre, data.text);
  } catch (err) {
    if (mine === el.__seq) body.replaceChildren(h("p", { class: "trace-error", text: `Could not load the rules: ${err.message}` }));
  }
}

function rulesNodes(data) {
  const out = [];
  if (data.problem) out.push(h("p", { class: "trace-error", text: `${data.problem}: it forwards nothing; these are the rules it last held.` }));
  if (!data.services.length) {
    out.push(h("p", { class: "muted", text: "No rules: a headless or ExternalName Service is DNS only, kube-proxy writes nothing for it." }));
  }
  for (const port of data.services) out.push(portNodes(port));
  out.push(h("p", { class: "muted rules-synced", text: `as kube-proxy last synced them (t=${Number(data.syncedAt).toFixed(1)} s)` }));
  return out;
}

function portNodes(port) {
  const front = `${port.clusterIP}:${port.port}/${port.protocol}`;
  if (port.rejected) {
    return h("div", { class: "rules-port" },
      h("div", { class: "rule-line" }, h("code", { text: "KUBE-SERVICES" }), h("span", { text: ` ${front} → ` }), h("b", { class: "rule-reject", text: "REJECT" })),
      h("p", { class: "muted", text: `${port.rejected}: connections are refused (filter table).` }));
  }
  const lines = [h("div", { class: "rule-line" }, h("code", { text: "KUBE-SERVICES" }), h("span", { text: ` ${front} → ` }), h("code", { class: "chain", text: port.chain }))];
  if (port.nodePort) {
    lines.push(h("div", { class: "rule-line" }, h("code", { text: "KUBE-NODEPORTS" }), h("span", { text: ` :${port.nodePort} → ` }),
      h("code", { class: "chain", text: port.externalChain }), h("span", { text: " → " }),
      h("code", { class: "chain", text: port.localChain || (port.localRejected ? "DROP (no local endpoint)" : port.chain) })));
  }
  return h("div", { class: "rules-port" }, lines, endpointList(port.chain, port.endpoints),
    port.localChain ? [h("p", { class: "muted", text: `externalTrafficPolicy Local: ${port.localChain} holds this node's endpoints only` }), endpointList(port.localChain, port.localEndpoints)] : null);
}

function endpointList(chain, endpoints) {
  return h("ol", { class: "rules-endpoints", "aria-label": `Rules of ${chain}` }, endpoints.map((ep) =>
    h("li", { class: "rule-endpoint" },
      h("span", { class: "rule-prob", text: ep.probability ? `--probability ${ep.probability}` : "always (last rule)" }),
      h("span", { class: "muted", text: ` (${(ep.share * 100).toFixed(1)} % of connections) → ` }),
      h("code", { class: "chain", text: ep.chain }),
      h("span", { text: ` → DNAT ${ep.destination}` }),
      ep.pod ? h("span", { class: "muted", text: ` ${ep.pod}${ep.node ? ` on ${ep.node}` : ""}${ep.terminating ? " (terminating)" : ""}` }) : null)));
}
