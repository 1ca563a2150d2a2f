// Networking panel: "Trace a connection" (trace.js), then Services with type, addresses, ports,
// endpoints from EndpointSlices, success rate and kube-proxy's rules on a node (proxyrules.js).

import { h } from "../dom.js";
import { selectorMatches } from "../k8s/owners.js";
import { setUi } from "../ui/uistate.js";
import { renderCards, objLink, stat, section, sectionList, rvs } from "./common.js";
import { renderTrace } from "./trace.js";
import { rulesWidget, refreshRules } from "./proxyrules.js";

/** EndpointSlices of a Service, by the kubernetes.io/service-name label. */
export function slicesOf(state, svc) {
  return state.list("endpointslices").filter((s) => s.metadata.namespace === svc.metadata.namespace
    && s.metadata.labels?.["kubernetes.io/service-name"] === svc.metadata.name);
}

/** Count endpoints {ready, notReady, terminating, list}. */
export function endpointCounts(state, svc) {
  const out = { ready: 0, notReady: 0, terminating: 0, list: [] };
  for (const s of slicesOf(state, svc)) {
    for (const e of s.endpoints || []) {
      const c = e.conditions || {};
      if (c.terminating) out.terminating++;
      else if (c.ready === false) out.notReady++;
      else out.ready++;
      out.list.push(e);
    }
  }
  return out;
}

/** Pod keys behind a Service: endpoint targetRefs, or the selector when no slices exist yet. */
export function podsOfService(state, svc) {
  const keys = new Set();
  for (const e of endpointCounts(state, svc).list) if (e.targetRef?.uid) keys.add(e.targetRef.uid);
  if (!keys.size && svc.spec?.selector) {
    for (const p of state.list("pods")) {
      if (p.metadata.namespace === svc.metadata.namespace && selectorMatches(svc.spec.selector, p.metadata.labels || {})) keys.add(p.metadata.uid);
    }
  }
  return keys;
}

/** The Service's live success rate (0..1) if the engine exposes one, else undefined. */
export function successRate(svc) {
  // The engine's synthetic traffic summary: annotation kubedrill.io/traffic = {"rps", "successRate" (percent), ...}.
  const traffic = svc.metadata?.annotations?.["kubedrill.io/traffic"];
  if (traffic) {
    try {
      const rate = JSON.parse(traffic).successRate;
      if (Number.isFinite(rate)) return rate / 100;
    } catch { /* not JSON: fall through to the other shapes */ }
  }
  const cands = [svc.status?.traffic?.successRate, svc.status?.successRate];
  for (const [k, v] of Object.entries(svc.metadata?.annotations || {})) if (/success/i.test(k)) cands.push(v);
  for (const v of cands) {
    const n = typeof v === "number" ? v : parseFloat(v);
    if (Number.isFinite(n)) return n > 1 ? n / 100 : n;
  }
  return undefined;
}

function external(svc) {
  const ing = (svc.status?.loadBalancer?.ingress || []).map((i) => i.ip || i.hostname).filter(Boolean);
  if (ing.length) return ing.join(", ");
  if ((svc.spec?.externalIPs || []).length) return svc.spec.externalIPs.join(", ");
  if (svc.spec?.type === "LoadBalancer") return "<pending>";
  if (svc.spec?.type === "ExternalName") return svc.spec.externalName || "";
  return "";
}

/** Render the networking panel. */
export function renderNetworking(state, root) {
  renderTrace(state, root);
  const svcs = state.list("services");
  renderCards(sectionList(section(root, "services", "Services"), svcs.length), svcs, {
    resource: "services",
    sig: (s) => `${s.metadata.resourceVersion}|${rvs(slicesOf(state, s))}`,
    build: (s) => serviceBody(state, s),
    tail: (s) => rulesWidget(state, s),
  });
  for (const rules of root.querySelectorAll(".proxy-rules")) refreshRules(rules, rules.closest(".card")?.__sig);
  for (const card of root.querySelectorAll('.card[data-kind="services"]')) {
    if (card.__hover) continue;
    card.__hover = true;
    card.addEventListener("mouseenter", () => {
      const svc = state.find("services", card.dataset.namespace, card.dataset.name) || svcs.find((s) => s.metadata.name === card.dataset.name);
      if (svc) setUi({ highlight: podsOfService(state, svc), highlightLabel: `Service ${svc.metadata.name}` });
    });
    card.addEventListener("mouseleave", () => setUi({ highlight: new Set(), highlightLabel: "" }));
  }
}

function serviceBody(state, svc) {
  const type = svc.spec?.type || "ClusterIP";
  const ports = (svc.spec?.ports || []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol || "TCP"}`).join(", ");
  const ep = endpointCounts(state, svc);
  const rate = successRate(svc);
  const ext = external(svc);
  return [
    h("div", { class: "card-head" }, objLink("services", svc), h("span", { class: "badge", text: type }),
      svc.metadata.namespace ? h("span", { class: "ns", text: svc.metadata.namespace }) : null),
    h("dl", { class: "kv" },
      h("dt", { text: "Cluster IP" }), h("dd", { text: !svc.spec?.clusterIP || svc.spec.clusterIP === "None" ? "None (headless)" : svc.spec.clusterIP }),
      ext ? [h("dt", { text: "External" }), h("dd", { text: ext })] : null,
      h("dt", { text: "Ports" }), h("dd", { text: ports || "—" }),
      svc.spec?.selector ? [h("dt", { text: "Selector" }), h("dd", { text: Object.entries(svc.spec.selector).map(([k, v]) => `${k}=${v}`).join(",") })] : null),
    h("div", { class: "stats" },
      stat(ep.ready, "ready", "ok"), stat(ep.notReady, "not ready", ep.notReady ? "warn" : ""), stat(ep.terminating, "terminating", ep.terminating ? "muted" : "")),
    rate !== undefined ? h("div", { class: `rate ${rate < 0.95 ? "rate-bad" : "rate-ok"}` },
      h("span", { text: "success rate" }), h("b", { text: `${(rate * 100).toFixed(1)} %` })) : null,
    ep.list.length ? h("ul", { class: "endpoints", "aria-label": `Endpoints of ${svc.metadata.name}` }, ep.list.map((e) => {
      const c = e.conditions || {};
      const st = c.terminating ? "terminating" : c.ready === false ? "not ready" : "ready";
      return h("li", { class: `endpoint ep-${st.replace(" ", "-")}` },
        h("span", { "aria-hidden": "true", text: st === "ready" ? "●" : st === "terminating" ? "◌" : "◔" }),
        h("code", { text: (e.addresses || []).join(",") }),
        h("span", { text: e.targetRef?.name || "" }), h("span", { class: "muted", text: st }));
    })) : h("p", { class: "muted", text: "no endpoints" }),
  ];
}
