// The cluster map: one card per node with its pods as chips, plus the Pending lane.

import { h, reconcile, setText, setAttr } from "../dom.js";
import { podStatusText, statusClass, STATUS_ICON, unschedulableReason, backoff, podReadyText, podRestarts } from "../k8s/pods.js";
import { nodeRole, nodeReadiness, evictionCountdown, taintTexts } from "../k8s/nodes.js";
import { parseQuantity, podRequests, formatCpu, formatBytes } from "../k8s/quantity.js";
import { topOwner, hueOf } from "../k8s/owners.js";
import { shortDuration, countdown } from "../k8s/time.js";
import { ui, setUi } from "../ui/uistate.js";
import { actionBar } from "./actionbar.js";

/** Render the node map and the pending lane from state. */
export function renderNodeMap(state, root) {
  const now = state.simNow();
  const nodes = state.list("nodes");
  const nodeNames = new Set(nodes.map((n) => n.metadata.name));
  const byNode = new Map();
  const pending = [];
  for (const pod of state.list("pods")) {
    const n = pod.spec?.nodeName;
    if (n && nodeNames.has(n)) {
      if (!byNode.has(n)) byNode.set(n, []);
      byNode.get(n).push(pod);
    } else if (!isFinished(pod)) pending.push(pod);
  }

  const grid = root.querySelector("#node-grid");
  // Big clusters: smaller cards and icon-only chips (names stay in each chip's aria-label/title).
  grid.classList.toggle("dense", nodes.length > 12);
  reconcile(grid, nodes, (n) => n.metadata.uid || n.metadata.name, createNodeCard,
    (el, node) => updateNodeCard(el, node, byNode.get(node.metadata.name) || [], state, now));

  const lane = root.querySelector("#pending-lane");
  lane.hidden = pending.length === 0;
  setText(lane.querySelector(".lane-count"), `${pending.length}`);
  reconcile(lane.querySelector(".lane-pods"), sortPods(pending, state), podKey, (p) => createChip(p, true),
    (el, p) => updateChip(el, p, state, now));

  root.classList.toggle("has-highlight", ui.highlight.size > 0);
  const empty = root.querySelector("#map-empty");
  if (empty) empty.hidden = nodes.length > 0 || !state.synced;
}

const podKey = (p) => p.metadata.uid || `${p.metadata.namespace}/${p.metadata.name}`;
const isFinished = (p) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

function sortPods(pods, state) {
  // Group by owner so one workload's pods sit together, then by name.
  return pods.map((p) => [topOwner(state, p).key, p.metadata.name, p])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map((x) => x[2]);
}

function createNodeCard(node) {
  const name = node.metadata.name;
  const el = h("article", { class: "node-card", dataset: { node: name }, "aria-label": `Node ${name}`, tabindex: "0" },
    h("header", { class: "node-head" },
      h("span", { class: "node-icon", "aria-hidden": "true", text: "▣" }),
      h("h3", { class: "node-name", text: name, title: name }),
      h("span", { class: "badge role-badge" }),
      h("span", { class: "badge cordon-badge", text: "cordoned", hidden: true, title: "spec.unschedulable: new pods are not scheduled here" })),
    h("div", { class: "node-status" },
      h("span", { class: "status-pill" }, h("span", { class: "pill-icon", "aria-hidden": "true" }), h("span", { class: "pill-text" })),
      h("span", { class: "node-since" })),
    h("div", { class: "node-alert", role: "status", hidden: true }),
    h("ul", { class: "taints", "aria-label": "Taints" }),
    h("div", { class: "bars" }, bar("cpu", "CPU"), bar("mem", "Memory"), bar("pods", "Pods")),
    h("div", { class: "pod-grid", role: "list", "aria-label": `Pods on ${name}` }),
    h("footer", { class: "node-actions" }));
  el.addEventListener("click", (e) => {
    if (e.target.closest("button, input")) return;
    setUi({ selected: { resource: "nodes", key: node.metadata.uid || node.metadata.name } });
  });
  el.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target === el) setUi({ selected: { resource: "nodes", key: node.metadata.uid || node.metadata.name } });
  });
  return el;
}

function bar(cls, label) {
  return h("div", { class: `bar bar-${cls}` },
    h("span", { class: "bar-label", text: label }),
    h("span", { class: "bar-track", role: "meter", "aria-label": `${label} requested`, "aria-valuemin": "0", "aria-valuemax": "100" },
      h("span", { class: "bar-fill" })),
    h("span", { class: "bar-value" }));
}

function setBar(el, used, total, text) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  const fill = el.querySelector(".bar-fill");
  const w = `${pct.toFixed(1)}%`;
  if (fill.style.width !== w) fill.style.width = w;
  el.classList.toggle("bar-hot", pct >= 90);
  setAttr(el.querySelector(".bar-track"), "aria-valuenow", Math.round(pct));
  setText(el.querySelector(".bar-value"), text);
}

function updateNodeCard(el, node, pods, state, now) {
  const r = nodeReadiness(node);
  el.dataset.ready = r.text;
  setAttr(el, "aria-label", `Node ${node.metadata.name}, ${nodeRole(node)}, ${r.text}${node.spec?.unschedulable ? ", cordoned" : ""}`);
  setText(el.querySelector(".role-badge"), nodeRole(node));
  el.querySelector(".cordon-badge").hidden = !node.spec?.unschedulable;
  setText(el.querySelector(".pill-icon"), r.text === "Ready" ? "●" : r.text === "NotReady" ? "✖" : "?");
  setText(el.querySelector(".pill-text"), r.text);
  setText(el.querySelector(".node-since"), Number.isFinite(r.since) ? `for ${shortDuration(now - r.since)}` : "");
  setAttr(el.querySelector(".node-status"), "title", [r.reason, r.message].filter(Boolean).join(": "));
  el.classList.toggle("is-selected", ui.selected?.resource === "nodes" && ui.selected.key === (node.metadata.uid || node.metadata.name));

  const alert = el.querySelector(".node-alert");
  const cd = evictionCountdown(node, pods, state.profile, now);
  alert.hidden = !cd;
  if (cd) {
    const evict = !cd.hasPods ? "no pods to evict"
      : cd.evictIn > 0 ? `pods evicted in ${countdown(cd.evictIn)}` : "evicting pods";
    setText(alert, `${cd.label} ${Math.max(0, Math.floor(cd.down))} s — ${evict}`);
  }

  const taints = taintTexts(node);
  reconcile(el.querySelector(".taints"), taints, (t) => t, (t) => h("li", { class: "taint", text: t, title: "taint" }), () => {}, { animate: false });

  const alloc = node.status?.allocatable || node.status?.capacity || {};
  const active = pods.filter((p) => !isFinished(p));
  const req = active.reduce((s, p) => { const r2 = podRequests(p); s.cpu += r2.cpu; s.memory += r2.memory; return s; }, { cpu: 0, memory: 0 });
  const cpuTotal = parseQuantity(alloc.cpu), memTotal = parseQuantity(alloc.memory), podsMax = parseQuantity(alloc.pods) || 110;
  setBar(el.querySelector(".bar-cpu"), req.cpu, cpuTotal, `${formatCpu(req.cpu)} / ${formatCpu(cpuTotal)}`);
  setBar(el.querySelector(".bar-mem"), req.memory, memTotal, `${formatBytes(req.memory)} / ${formatBytes(memTotal)}`);
  setBar(el.querySelector(".bar-pods"), active.length, podsMax, `${active.length} / ${podsMax}`);

  reconcile(el.querySelector(".pod-grid"), sortPods(pods, state), podKey, (p) => createChip(p, false), (c, p) => updateChip(c, p, state, now));

  // Rebuild the action buttons only when their set changes, so focus is not lost every frame.
  const footer = el.querySelector(".node-actions");
  const sig = node.spec?.unschedulable ? "u" : "s";
  if (footer.dataset.sig !== sig) {
    footer.dataset.sig = sig;
    footer.replaceChildren(actionBar("nodes", node, { compact: true }));
  }
}

function createChip(pod, withReason) {
  const el = h("button", { type: "button", class: "pod-chip", role: "listitem", dataset: { pod: pod.metadata.name, namespace: pod.metadata.namespace || "" } },
    h("span", { class: "chip-icon", "aria-hidden": "true" }),
    h("span", { class: "chip-text" },
      h("span", { class: "chip-name", text: pod.metadata.name }),
      h("span", { class: "chip-status" })),
    withReason ? h("span", { class: "chip-reason" }) : null);
  el.addEventListener("click", () => setUi({ selected: { resource: "pods", key: podKey(pod) } }));
  el.addEventListener("mouseenter", () => el.classList.add("hover"));
  el.addEventListener("mouseleave", () => el.classList.remove("hover"));
  return el;
}

function updateChip(el, pod, state, now) {
  const text = podStatusText(pod);
  const cls = statusClass(text, pod);
  const owner = topOwner(state, pod);
  el.dataset.status = text;
  el.dataset.class = cls;
  el.dataset.owner = owner.name;
  el.style.setProperty("--owner-hue", String(hueOf(owner.key || pod.metadata.name)));
  setText(el.querySelector(".chip-icon"), STATUS_ICON[cls]);
  let extra = "";
  const bo = backoff(pod, now);
  if (bo) {
    if (Number.isFinite(bo.remaining) && bo.remaining > 0) extra = ` · back-off ${Math.ceil(bo.remaining)} s`;
    else if (Number.isFinite(bo.total)) extra = ` · back-off ${Math.round(bo.total)} s`;
  }
  if (text === "Running" && cls === "wait") extra += " · not ready";
  const restarts = podRestarts(pod);
  if (restarts) extra += ` · ↻${restarts}`;
  setText(el.querySelector(".chip-status"), `${text}${extra}`);
  const reason = el.querySelector(".chip-reason");
  if (reason) setText(reason, unschedulableReason(pod) || (pod.spec?.nodeName ? `node ${pod.spec.nodeName} not found` : "waiting for the scheduler"));
  const ns = pod.metadata.namespace ? `${pod.metadata.namespace}/` : "";
  setAttr(el, "aria-label", `Pod ${ns}${pod.metadata.name}: ${text}, ready ${podReadyText(pod)}${owner.name ? `, owned by ${owner.kind} ${owner.name}` : ""}`);
  setAttr(el, "title", `${ns}${pod.metadata.name}\n${text} · ready ${podReadyText(pod)}${owner.name ? `\n${owner.kind} ${owner.name}` : ""}`);
  const key = podKey(pod);
  el.classList.toggle("is-selected", ui.selected?.resource === "pods" && ui.selected.key === key);
  el.classList.toggle("is-highlighted", ui.highlight.has(key));
}
