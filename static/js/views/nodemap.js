// The cluster map: one card per node with its pods as chips, plus the Pending lane.
//
// Incremental: a NodeMap keeps its own index (pods per node, request totals per node, element
// references keyed by uid) and a ChangeTracker on the state. Each frame it applies only the
// objects changed since the last frame, redraws the node cards whose node or pods changed, moves a
// chip when its pod changes node, and refreshes the time-dependent texts (countdowns, "for 3m")
// of the few nodes and chips that show them. Snapshots and resyncs rebuild everything.

import { h, reconcile, setText, setAttr, enter, exit, wrapAt } from "../dom.js";
import { podStatusText, statusClass, STATUS_ICON, unschedulableReason, backoff, podReadyText, podRestarts, controllerRef } from "../k8s/pods.js";
import { nodeRole, nodeReadiness, taintTexts, kubeletDown } from "../k8s/nodes.js";
import { parseQuantity, podRequests, formatCpu, formatBytes } from "../k8s/quantity.js";
import { topOwner, hueOf } from "../k8s/owners.js";
import { shortDuration } from "../k8s/time.js";
import { ui, setUi } from "../ui/uistate.js";
import { actionBar } from "./actionbar.js";
import { nodeAlert } from "./nodealert.js";
import { stoppedComponents, stoppedBy } from "../k8s/chaos.js";

const LEASES = "kube-node-lease";
const PENDING = "\u0000pending"; // bucket of pods not bound to a known node (never a node name)

const maps = new WeakMap(); // root element -> NodeMap

/** Render the node map and the pending lane from state (incrementally after the first call). */
export function renderNodeMap(state, root) {
  let m = maps.get(root);
  if (!m || m.state !== state) {
    m?.dispose();
    m = new NodeMap(state, root);
    maps.set(root, m);
  }
  m.render();
}

const podKey = (p) => p.metadata.uid || `${p.metadata.namespace}/${p.metadata.name}`;
const nodeKey = (n) => n.metadata.uid || n.metadata.name;
const isFinished = (p) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** Owner key, then name: one workload's pods sit together. */
function byOwnerThenName(a, b) {
  if (a.ownerKey !== b.ownerKey) return a.ownerKey < b.ownerKey ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

class NodeMap {
  constructor(state, root) {
    this.state = state;
    this.root = root;
    this.tracker = state.track();
    this.grid = root.querySelector("#node-grid");
    this.lane = root.querySelector("#pending-lane");
    this.laneCount = this.lane.querySelector(".lane-count");
    this.lanePods = this.lane.querySelector(".lane-pods");
    this.empty = root.querySelector("#map-empty");

    this.nodes = new Map();     // node name -> node object
    this.nodeNames = new Map(); // node state key -> node name
    this.cards = new Map();     // node name -> card element (refs in el.__refs)
    this.entries = new Map();   // pod key -> {key, pod, bucket, name, ownerKey, owner, req, active}
    this.buckets = new Map();   // node name | PENDING -> Map(pod key -> entry)
    this.totals = new Map();    // node name -> {cpu, memory, pods} of its active pods
    this.chips = new Map();     // pod key -> chip element (refs on the element)
    this.rsOwner = new Map();   // replicaset key -> its controller "Kind/name" (what topOwner reads)
    this.ticking = new Set();   // pod keys in crash-loop back-off (their chip counts down)
    this.ready = new Map();     // node name -> readiness text drawn on its card
    this.leaseNames = new Map(); // lease state key -> node name (a deleted lease keeps its name here)

    this.dirtyBuckets = new Set();
    this.dirtyChips = new Set();
    this.dirtyNodes = new Set(); // node names whose node object changed
    this.lastSecond = -1;
    this.selPod = null;
    this.selNode = null;
    this.highlight = new Set();
    this.stopped = new Map();   // static pod component -> faults stopping it (ControlPlaneChaos)
  }

  dispose() { this.state.untrack(this.tracker); }

  /** The node's kubelet state when it is off (its Lease is streamed only then), else null. */
  down(name) { return kubeletDown(this.state.find("leases", LEASES, name)); }

  render() {
    const { full, changed } = this.tracker.take();
    if (full) this.rebuild();
    else if (changed.size) this.applyChanges(changed);

    if (this.empty) this.empty.hidden = this.nodes.size > 0 || !this.state.synced;
    this.root.classList.toggle("has-highlight", ui.highlight.size > 0);
    // A hidden map keeps its index current but touches no DOM until it is shown again.
    if (this.root.hidden || this.root.closest("[hidden]")) return;

    const now = this.state.simNow();
    if (this.fullPending) this.renderAll(now);
    this.syncSelection();
    for (const name of this.dirtyNodes) {
      const el = this.cards.get(name), node = this.nodes.get(name);
      if (el && node) this.ready.set(name, updateNodeCard(el, node, this.down(name)));
    }
    for (const b of this.dirtyBuckets) this.renderBucket(b, now);
    for (const key of this.dirtyChips) {
      // Chips of buckets not redrawn this frame (an owner rename) still need their texts.
      const e = this.entries.get(key), el = this.chips.get(key);
      if (e && el) this.updateChip(el, e, now);
    }
    for (const key of this.ticking) {
      const e = this.entries.get(key), el = this.chips.get(key);
      if (e && el) this.updateChip(el, e, now);
    }
    this.dirtyNodes.clear();
    this.dirtyBuckets.clear();
    this.dirtyChips.clear();

    // Time texts: countdowns of nodes that are not Ready every frame; "for 3m" of all nodes once a second.
    const second = Math.floor(performance.now() / 1000);
    const all = second !== this.lastSecond;
    this.lastSecond = second;
    for (const [name, node] of this.nodes) {
      if (!all && this.ready.get(name) === "Ready" && !this.down(name)) continue;
      const el = this.cards.get(name);
      if (el) this.updateTimes(el, node, now);
    }
  }

  // ---- index ------------------------------------------------------------------------------

  /** Rebuild the whole index from state (first render, snapshot, resync, node set change). */
  rebuild() {
    const state = this.state;
    this.nodes.clear();
    this.nodeNames.clear();
    for (const n of state.list("nodes")) {
      this.nodes.set(n.metadata.name, n);
      this.nodeNames.set(nodeKey(n), n.metadata.name);
    }
    this.rsOwner.clear();
    for (const rs of state.byResource.get("replicasets")?.values() || []) this.rsOwner.set(stateKey(rs), rsSig(rs));
    const old = this.entries;
    this.entries = new Map();
    this.buckets.clear();
    this.totals.clear();
    this.ticking.clear();
    for (const name of this.nodes.keys()) { this.buckets.set(name, new Map()); this.totals.set(name, { cpu: 0, memory: 0, pods: 0 }); }
    this.buckets.set(PENDING, new Map());
    for (const pod of state.byResource.get("pods")?.values() || []) this.place(podKey(pod), pod);
    // Chips of pods that are gone (or no longer shown) leave with their exit animation.
    for (const key of old.keys()) if (!this.entries.has(key)) this.dropChip(key);
    this.stopped = stoppedComponents(state);
    this.fullPending = true;
  }

  applyChanges(changed) {
    const state = this.state;
    const nodeKeys = changed.get("nodes");
    if (nodeKeys) {
      for (const key of nodeKeys) {
        const node = state.get("nodes", key);
        const name = this.nodeNames.get(key);
        // A node that appears, disappears or is renamed moves pods between cards and the
        // pending lane: rare, so rebuild the index rather than patch it.
        if (!node || name === undefined || name !== node.metadata.name) { this.rebuild(); return; }
        this.nodes.set(name, node);
        this.dirtyNodes.add(name);
        this.dirtyBuckets.add(name); // allocatable may have changed: the bars
      }
    }
    for (const key of changed.get("leases") || []) {
      const lease = state.get("leases", key);
      if (lease && lease.metadata.namespace !== LEASES) continue;
      if (lease) this.leaseNames.set(key, lease.metadata.name);
      const name = this.leaseNames.get(key);
      if (this.nodes.has(name)) { this.dirtyNodes.add(name); this.dirtyBuckets.add(name); }
    }
    const rsKeys = changed.get("replicasets");
    if (rsKeys) {
      const renamed = new Set();
      for (const key of rsKeys) {
        const rs = state.get("replicasets", key);
        const sig = rs ? rsSig(rs) : undefined;
        if (this.rsOwner.get(key) !== sig) {
          renamed.add(key);
          if (sig === undefined) this.rsOwner.delete(key); else this.rsOwner.set(key, sig);
        }
      }
      // topOwner of a pod follows its ReplicaSet up to a Deployment: re-resolve the pods of the
      // ReplicaSets whose controller changed (created, deleted, adopted).
      if (renamed.size) {
        const again = [...this.entries.values()].filter((e) => {
          const ref = controllerRef(e.pod);
          return ref?.kind === "ReplicaSet" && renamed.has(ref.uid);
        });
        for (const e of again) this.place(e.key, e.pod);
      }
    }
    if (changed.has("controlplanechaos")) {
      // A fault stopping a control-plane component changes that component's chip, not its pod.
      this.stopped = stoppedComponents(state);
      for (const e of this.entries.values()) if (e.pod.metadata.labels?.tier === "control-plane") this.dirtyChips.add(e.key);
    }
    for (const key of changed.get("pods") || []) {
      const pod = state.get("pods", key);
      if (pod) this.place(key, pod);
      else { this.unplace(key); this.dropChip(key); }
    }
  }

  /** Put a pod into its bucket (card or pending lane) and update the request totals. */
  place(key, pod) {
    this.unplace(key);
    const n = pod.spec?.nodeName;
    const bucket = n && this.nodes.has(n) ? n : isFinished(pod) ? null : PENDING;
    if (bucket === null) { this.dropChip(key); return; }
    const owner = topOwner(this.state, pod);
    const active = bucket !== PENDING && !isFinished(pod);
    const e = { key, pod, bucket, name: pod.metadata.name, ownerKey: owner.key, owner, req: active ? podRequests(pod) : null, active };
    this.entries.set(key, e);
    this.buckets.get(bucket).set(key, e);
    if (active) {
      const t = this.totals.get(bucket);
      t.cpu += e.req.cpu; t.memory += e.req.memory; t.pods += 1;
    }
    if (hasBackoff(pod)) this.ticking.add(key); else this.ticking.delete(key);
    this.dirtyBuckets.add(bucket);
    this.dirtyChips.add(key);
  }

  /** Take a pod out of its bucket and totals (its chip stays until it is placed or dropped). */
  unplace(key) {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.buckets.get(e.bucket)?.delete(key);
    if (e.active) {
      const t = this.totals.get(e.bucket);
      if (t) { t.cpu -= e.req.cpu; t.memory -= e.req.memory; t.pods -= 1; }
    }
    this.ticking.delete(key);
    this.dirtyBuckets.add(e.bucket);
  }

  dropChip(key) {
    const el = this.chips.get(key);
    if (!el) return;
    this.chips.delete(key);
    exit(el, true);
  }

  // ---- drawing ----------------------------------------------------------------------------

  /** Redraw every card and the lane (after a rebuild). */
  renderAll(now) {
    this.fullPending = false;
    const nodes = this.state.list("nodes");
    // Big clusters: smaller cards and icon-only chips (names stay in each chip's aria-label/title).
    this.grid.classList.toggle("dense", nodes.length > 12);
    reconcile(this.grid, nodes, nodeKey, createNodeCard, () => {});
    this.cards.clear();
    for (const n of nodes) {
      const el = this.grid.__keyed.get(nodeKey(n));
      this.cards.set(n.metadata.name, el);
      this.dirtyNodes.add(n.metadata.name);
      this.dirtyBuckets.add(n.metadata.name);
      el.__node = n.metadata.name;
    }
    this.dirtyBuckets.add(PENDING);
    for (const key of this.entries.keys()) this.dirtyChips.add(key);
    this.lastSecond = -1;
    this.selNode = undefined; // new cards: re-apply the node selection
  }

  /** Redraw one card's bars and chips, or the pending lane. */
  renderBucket(bucket, now) {
    const pods = this.buckets.get(bucket);
    if (!pods) return;
    const sorted = [...pods.values()].sort(byOwnerThenName);
    if (bucket === PENDING) {
      this.lane.hidden = sorted.length === 0;
      setText(this.laneCount, `${sorted.length}`);
      this.joinChips(this.lanePods, sorted, true, now);
      return;
    }
    const el = this.cards.get(bucket), node = this.nodes.get(bucket);
    if (!el || !node) return;
    const r = el.__refs;
    const alloc = node.status?.allocatable || node.status?.capacity || {};
    const t = this.totals.get(bucket);
    const cpuTotal = parseQuantity(alloc.cpu), memTotal = parseQuantity(alloc.memory), podsMax = parseQuantity(alloc.pods) || 110;
    // Sums of floats drift: clamp tiny negatives left after removals.
    const cpu = Math.max(0, t.cpu), mem = Math.max(0, t.memory);
    setBar(r.cpu, cpu, cpuTotal, `${formatCpu(cpu)} / ${formatCpu(cpuTotal)}`);
    setBar(r.mem, mem, memTotal, `${formatBytes(mem)} / ${formatBytes(memTotal)}`);
    setBar(r.pods, t.pods, podsMax, `${t.pods} / ${podsMax}`);
    // A crowded node (a Deployment scaled to 60) shows short chips several to a row, so its pods and
    // the nodes below stay on one screen; the full name is the chip's tooltip and accessible name.
    el.classList.toggle("crowded", sorted.length > CROWDED_PODS);
    this.joinChips(r.grid, sorted, false, now);
    this.updateTimes(el, node, now);
  }

  /** Keyed join of a bucket's chips into a list element: create, move in from elsewhere, order. */
  joinChips(parent, entries, withReason, now) {
    let prev = null;
    for (const e of entries) {
      let el = this.chips.get(e.key);
      if (!el) {
        el = createChip(e.pod, withReason);
        this.chips.set(e.key, el);
        if (parent.__rendered) enter(el);
        this.updateChip(el, e, now);
      } else if (el.parentNode !== parent) {
        // The pod changed node (or was scheduled): move its chip instead of replacing it.
        setReasonSlot(el, withReason);
        if (parent.__rendered) enter(el);
      }
      const want = prev ? prev.nextSibling : parent.firstChild;
      if (want !== el) parent.insertBefore(el, want);
      prev = el;
    }
    parent.__rendered = true;
  }

  updateChip(el, e, now) {
    const pod = e.pod;
    const text = podStatusText(pod);
    const cls = statusClass(text, pod);
    const owner = e.owner;
    if (el.dataset.status !== text) el.dataset.status = text;
    if (el.dataset.class !== cls) el.dataset.class = cls;
    if (el.dataset.owner !== owner.name) el.dataset.owner = owner.name;
    const hue = hueOf(owner.key || pod.metadata.name);
    if (el.__hue !== hue) { el.__hue = hue; el.style.setProperty("--owner-hue", String(hue)); }
    setText(el.__icon, STATUS_ICON[cls]);
    let extra = "";
    const bo = backoff(pod, now);
    if (bo) {
      if (Number.isFinite(bo.remaining) && bo.remaining > 0) extra = ` · back-off ${Math.ceil(bo.remaining)} s`;
      else if (Number.isFinite(bo.total)) extra = ` · back-off ${Math.round(bo.total)} s`;
    }
    if (text === "Running" && cls === "wait") extra += " · not ready";
    const restarts = podRestarts(pod);
    if (restarts) extra += ` · ↻${restarts}`;
    const stopped = stoppedBy(this.stopped, pod);
    if (stopped.length) extra += ` · stopped by ${stopped.join(", ")}`;
    setAttr(el, "data-stopped", stopped.length ? "1" : null);
    setText(el.__status, `${text}${extra}`);
    if (el.__reason) setText(el.__reason, unschedulableReason(pod) || (pod.spec?.nodeName ? `node ${pod.spec.nodeName} not found` : "waiting for the scheduler"));
    const stopNote = stopped.length ? `, stopped by ${stopped.join(", ")}` : "";
    if (el.__rv === pod.metadata.resourceVersion && el.__ownerKey === owner.key && el.__stopNote === stopNote && el.__rv !== undefined) return;
    el.__rv = pod.metadata.resourceVersion;
    el.__ownerKey = owner.key;
    el.__stopNote = stopNote;
    const ns = pod.metadata.namespace ? `${pod.metadata.namespace}/` : "";
    const ready = podReadyText(pod);
    setAttr(el, "aria-label", `Pod ${ns}${pod.metadata.name}: ${text}${stopNote}, ready ${ready}${owner.name ? `, owned by ${owner.kind} ${owner.name}` : ""}`);
    setAttr(el, "title", `${ns}${pod.metadata.name}\n${text} · ready ${ready}${owner.name ? `\n${owner.kind} ${owner.name}` : ""}`);
    el.classList.toggle("is-selected", this.selPod === e.key);
    el.classList.toggle("is-highlighted", this.highlight.has(e.key));
  }

  /** The "for 3m" text and the eviction countdown of one card. */
  updateTimes(el, node, now) {
    const r = el.__refs;
    const rd = nodeReadiness(node);
    setText(r.since, Number.isFinite(rd.since) ? `for ${shortDuration(now - rd.since)}` : "");
    const down = this.down(node.metadata.name);
    const pods = rd.text === "Ready" ? [] : [...(this.buckets.get(node.metadata.name)?.values() || [])].map((e) => e.pod);
    const { alert, wait } = rd.text === "Ready" && !down ? { alert: "", wait: "" } : nodeAlert(node, pods, down, this.state.profile, now);
    if (r.alert.hidden !== !alert) r.alert.hidden = !alert;
    setText(r.alert, alert);
    if (r.wait.hidden !== !wait) r.wait.hidden = !wait;
    setText(r.wait, wait);
  }

  /** Move the selected/highlighted classes to the chips and card that gained or lost them. */
  syncSelection() {
    const sel = ui.selected;
    const selPod = sel?.resource === "pods" ? sel.key : null;
    if (selPod !== this.selPod) {
      this.chips.get(this.selPod)?.classList.remove("is-selected");
      this.chips.get(selPod)?.classList.add("is-selected");
      this.selPod = selPod;
    }
    const selNode = sel?.resource === "nodes" ? sel.key : null;
    if (selNode !== this.selNode) {
      for (const el of this.cards.values()) el.classList.remove("is-selected");
      const name = this.nodeNames.get(selNode) ?? selNode;
      this.cards.get(name)?.classList.add("is-selected");
      this.selNode = selNode;
    }
    const hl = ui.highlight;
    if (hl !== this.highlight) {
      for (const k of this.highlight) if (!hl.has(k)) this.chips.get(k)?.classList.remove("is-highlighted");
      for (const k of hl) if (!this.highlight.has(k)) this.chips.get(k)?.classList.add("is-highlighted");
      this.highlight = hl;
    }
  }
}

function stateKey(obj) {
  const m = obj.metadata || {};
  return m.uid || `${m.namespace || ""}/${m.name}`;
}

/** What topOwner reads from a ReplicaSet: its controller's kind and name. */
function rsSig(rs) {
  const ref = controllerRef(rs);
  return ref ? `${ref.kind}/${ref.name}` : "";
}

function hasBackoff(pod) {
  return (pod.status?.containerStatuses || []).some((c) => c.state?.waiting?.reason === "CrashLoopBackOff");
}

function createNodeCard(node) {
  const name = node.metadata.name;
  const refs = {
    role: h("span", { class: "badge role-badge" }),
    cordon: h("span", { class: "badge cordon-badge", text: "cordoned", hidden: true, title: "spec.unschedulable: new pods are not scheduled here" }),
    pillIcon: h("span", { class: "pill-icon", "aria-hidden": "true" }),
    pillText: h("span", { class: "pill-text" }),
    since: h("span", { class: "node-since" }),
    alert: h("div", { class: "node-alert", role: "status", hidden: true }),
    wait: h("p", { class: "node-wait", role: "note", hidden: true }),
    power: h("span", { class: "badge power-badge", hidden: true }),
    taints: h("ul", { class: "taints", "aria-label": "Taints" }),
    cpu: bar("cpu", "CPU"), mem: bar("mem", "Memory"), pods: bar("pods", "Pods"),
    grid: h("div", { class: "pod-grid", role: "list", "aria-label": `Pods on ${name}` }),
    footer: h("footer", { class: "node-actions" }),
  };
  refs.status = h("div", { class: "node-status" }, h("span", { class: "status-pill" }, refs.pillIcon, refs.pillText), refs.since);
  const el = h("article", { class: "node-card", dataset: { node: name }, "aria-label": `Node ${name}`, tabindex: "0" },
    h("header", { class: "node-head" },
      h("span", { class: "node-icon", "aria-hidden": "true", text: "▣" }),
      h("h3", { class: "node-name", text: name, title: name }),
      refs.role, refs.cordon, refs.power),
    refs.status, refs.alert, refs.wait, refs.taints,
    h("div", { class: "bars" }, refs.cpu, refs.mem, refs.pods),
    refs.grid, refs.footer);
  el.__refs = refs;
  el.addEventListener("click", (e) => {
    if (e.target.closest("button, input")) return;
    setUi({ selected: { resource: "nodes", key: nodeKey(node) } });
  });
  el.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target === el) setUi({ selected: { resource: "nodes", key: nodeKey(node) } });
  });
  return el;
}

function bar(cls, label) {
  const fill = h("span", { class: "bar-fill" });
  const track = h("span", { class: "bar-track", role: "meter", "aria-label": `${label} requested`, "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
  const value = h("span", { class: "bar-value" });
  const el = h("div", { class: `bar bar-${cls}` }, h("span", { class: "bar-label", text: label }), track, value);
  Object.assign(el, { __fill: fill, __track: track, __value: value });
  return el;
}

function setBar(el, used, total, text) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  const w = `${pct.toFixed(1)}%`;
  if (el.__w !== w) { el.__w = w; el.__fill.style.width = w; }
  el.classList.toggle("bar-hot", pct >= 90);
  setAttr(el.__track, "aria-valuenow", Math.round(pct));
  setText(el.__value, text);
}

/** Update the parts of a card that come from the node object itself; return its readiness text. */
function updateNodeCard(el, node, down) {
  const r = el.__refs;
  const rd = nodeReadiness(node);
  el.dataset.ready = rd.text;
  setAttr(el, "data-power", down ? down.state : null);
  r.power.hidden = !down;
  setText(r.power, down ? down.text : "");
  const role = nodeRole(node);
  setAttr(el, "aria-label", `Node ${node.metadata.name}, ${role}, ${rd.text}${down ? `, ${down.text.toLowerCase()}` : ""}${node.spec?.unschedulable ? ", cordoned" : ""}`);
  setText(r.role, role);
  r.cordon.hidden = !node.spec?.unschedulable;
  setText(r.pillIcon, rd.text === "Ready" ? "●" : rd.text === "NotReady" ? "✖" : "?");
  setText(r.pillText, rd.text);
  setAttr(r.status, "title", [rd.reason, rd.message].filter(Boolean).join(": "));
  reconcile(r.taints, taintTexts(node), (t) => t, (t) => h("li", { class: "taint", title: "taint" }, wrapAt(t)), () => {}, { animate: false });
  // Rebuild the action buttons only when their set changes, so focus is not lost.
  const sig = node.spec?.unschedulable ? "u" : "s";
  if (r.footer.dataset.sig !== sig) {
    r.footer.dataset.sig = sig;
    r.footer.replaceChildren(actionBar("nodes", node, { compact: true }));
  }
  return rd.text;
}

const CROWDED_PODS = 12;

/** A controller-made pod's own part of its name (web-78bb4fb579-2nxcc -> 2nxcc; sql-0 stays sql-0). */
function shortName(pod) {
  const name = pod.metadata.name;
  const owned = (pod.metadata.ownerReferences || []).some((r) => r.controller && r.kind === "ReplicaSet");
  return owned && name.includes("-") ? name.slice(name.lastIndexOf("-") + 1) : name;
}

function createChip(pod, withReason) {
  const el = h("button", { type: "button", class: "pod-chip", role: "listitem", dataset: { pod: pod.metadata.name, namespace: pod.metadata.namespace || "" } });
  el.__icon = h("span", { class: "chip-icon", "aria-hidden": "true" });
  el.__status = h("span", { class: "chip-status" });
  el.append(el.__icon, h("span", { class: "chip-text" }, h("span", { class: "chip-name", text: pod.metadata.name }),
    h("span", { class: "chip-short", text: shortName(pod) }), el.__status));

  el.__reason = null;
  setReasonSlot(el, withReason);
  const key = podKey(pod);
  el.addEventListener("click", () => setUi({ selected: { resource: "pods", key } }));
  el.addEventListener("mouseenter", () => el.classList.add("hover"));
  el.addEventListener("mouseleave", () => el.classList.remove("hover"));
  return el;
}

/** Pending chips say why the pod waits; chips on a node do not. */
function setReasonSlot(el, withReason) {
  if (withReason && !el.__reason) {
    el.__reason = h("span", { class: "chip-reason" });
    el.append(el.__reason);
  } else if (!withReason && el.__reason) {
    el.__reason.remove();
    el.__reason = null;
  }
}
