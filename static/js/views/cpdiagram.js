// The control-plane diagram: components as SVG boxes around the API server, and each audited request
// animated along its edges (client -> API server -> etcd, then the watch notifications fanning out).
// Built with createElementNS and textContent only: names come from the cluster.

const SVG = "http://www.w3.org/2000/svg";
const W = 400;
const KUBELET_Y = 272;

// Who watches what, so a write fans out to them (the informers each component starts). Kubelets
// watch only the pods bound to their own node (fieldSelector spec.nodeName), hence "kubelet:pod".
const WATCHERS = {
  pods: ["scheduler", "cm", "kubelet:pod"],          // scheduler, replicaset/statefulset/daemonset/endpointslice/gc
  bindings: ["scheduler", "cm", "kubelet:pod"],
  nodes: ["scheduler", "cm", "kube-proxy"],           // scheduler cache, node-lifecycle/daemonset, proxy topology
  leases: ["cm"],                                     // node-lifecycle-controller reads the heartbeats
  endpointslices: ["kube-proxy", "cm"],               // kube-proxy programs its rules from them
  services: ["kube-proxy", "cm"],                     // endpointslice, endpoints, service-LB controllers
  endpoints: ["cm"],
  replicasets: ["cm"], deployments: ["cm"], statefulsets: ["cm"], daemonsets: ["cm"], namespaces: ["cm"],
  persistentvolumeclaims: ["scheduler", "cm"], persistentvolumes: ["scheduler", "cm"],   // volume binding
};
const WRITES = new Set(["create", "update", "patch", "delete", "deletecollection"]);

const el = (tag, attrs = {}, text) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
};

/** Where each box sits: the fixed components, then one kubelet per node along the bottom. */
function layout(nodes) {
  const boxes = {
    client: { x: 70, y: 36, w: 120, title: "kubectl / dashboard" },
    scheduler: { x: 330, y: 36, w: 110, title: "kube-scheduler" },
    cm: { x: 70, y: 150, w: 120, title: "controller-manager" },
    apiserver: { x: 200, y: 150, w: 100, title: "kube-apiserver" },
    etcd: { x: 330, y: 150, w: 90, title: "etcd" },
    "kube-proxy": { x: 352, y: KUBELET_Y, w: 82, title: "kube-proxy" },
  };
  const span = 230, step = nodes.length > 1 ? span / (nodes.length - 1) : 0;
  const w = Math.min(84, Math.max(34, (nodes.length > 1 ? step : span) - 6));
  nodes.forEach((n, i) => { boxes[`kubelet:${n}`] = { x: 40 + i * step, y: KUBELET_Y, w, title: "kubelet", sub: n }; });
  return boxes;
}

export class Diagram {
  constructor(root) {
    this.svg = el("svg", { class: "cp-diagram", viewBox: `0 0 ${W} 310`, role: "img", "aria-label": "Control plane: components and the requests between them" });
    this.edges = el("g", { class: "cp-edges" });
    this.boxesLayer = el("g", { class: "cp-boxes" });
    this.dots = el("g", { class: "cp-dots" });
    this.svg.append(this.edges, this.boxesLayer, this.dots);
    root.append(this.svg);
    this.sig = "";
    this.boxes = {};
    this.refs = new Map();   // node id -> {g, sub, edge}
  }

  /** Redraw boxes (and their stopped state) from /ui/control-plane's answer. */
  update(states) {
    const nodes = states.kubelets.map((k) => k.node);
    const sig = nodes.join(",");
    if (sig !== this.sig) this.build(nodes);
    const status = componentStatus(states);
    for (const [id, ref] of this.refs) {
      const s = status[id] || { running: true, text: "" };
      ref.g.dataset.running = s.running ? "1" : "0";
      if (ref.sub.textContent !== s.text) ref.sub.textContent = s.text;
      ref.edge?.classList.toggle("is-stopped", !s.running);
      // Notifications already under way to a component that just stopped never arrive.
      if (!s.running) for (const dot of this.dots.querySelectorAll(`[data-hop$=">${CSS.escape(id)}"]`)) for (const a of dot.getAnimations()) a.finish();
    }
    this.status = status;
  }

  build(nodes) {
    this.sig = nodes.join(",");
    this.boxes = layout(nodes);
    this.edges.replaceChildren();
    this.boxesLayer.replaceChildren();
    this.refs.clear();
    const api = this.boxes.apiserver;
    for (const [id, b] of Object.entries(this.boxes)) {
      const edge = id === "apiserver" ? null : el("line", { class: "cp-edge", "data-edge": id, x1: b.x, y1: b.y, x2: api.x, y2: api.y });
      if (edge) this.edges.append(edge);
      const g = el("g", { class: "cp-node", "data-node": id, transform: `translate(${b.x} ${b.y})` });
      const h = b.sub ? 40 : 36;
      g.append(el("rect", { x: -b.w / 2, y: -h / 2, width: b.w, height: h, rx: 7 }),
        el("text", { class: "cp-title", y: b.sub ? -6 : -3, "text-anchor": "middle" }, b.title));
      if (b.sub) g.append(el("text", { class: "cp-name", y: 6, "text-anchor": "middle" }, b.sub));
      const sub = el("text", { class: "cp-sub", y: b.sub ? 16 : 11, "text-anchor": "middle" });
      g.append(sub);
      const label = el("title", {}, b.sub ? `${b.title} on ${b.sub}` : b.title);
      g.append(label);
      this.boxesLayer.append(g);
      this.refs.set(id, { g, sub, edge });
    }
  }

  running(id) { return this.status?.[id]?.running !== false; }

  /**
   * Animate one request; resolves when its last hop has arrived. `hopMs` follows the sim speed;
   * `paused()` holds the dots where they are while the simulation is paused.
   */
  play(req, hopMs, paused) {
    const from = req.node;
    const hops = from === "apiserver" ? [] : [[from, "apiserver"]];
    const failed = req.code >= 400;
    const stages = [hops];
    if (WRITES.has(req.verb) && !failed) {
      stages.push([["apiserver", "etcd"]]);
      const fan = (WATCHERS[req.resource] || []).flatMap((w) => (w === "kubelet:pod" ? (req.podNode ? [`kubelet:${req.podNode}`] : []) : [w]));
      // A stopped component is not watching: no notification reaches it.
      stages.push(fan.filter((w) => w !== from && this.boxes[w] && this.running(w)).map((w) => ["apiserver", w]));
    }
    return stages.reduce((p, stage) => p.then(() => Promise.all(stage.map(([a, b]) => this.hop(req, a, b, hopMs, paused, failed)))), Promise.resolve());
  }

  hop(req, a, b, ms, paused, failed) {
    const pa = this.boxes[a], pb = this.boxes[b];
    if (!pa || !pb) return Promise.resolve();
    const edge = this.refs.get(a === "apiserver" ? b : a)?.edge;
    const dot = el("circle", { class: `cp-request${failed ? " is-failed" : ""}`, r: 5, cx: 0, cy: 0,
      "data-actor": req.actor, "data-verb": req.verb, "data-resource": req.resource, "data-hop": `${a}>${b}` });
    dot.append(el("title", {}, req.text));
    this.dots.append(dot);
    edge?.classList.add("is-active");
    const anim = dot.animate([{ transform: `translate(${pa.x}px, ${pa.y}px)` }, { transform: `translate(${pb.x}px, ${pb.y}px)` }],
      { duration: ms, easing: "ease-in-out", fill: "forwards" });
    const hold = setInterval(() => { if (paused()) anim.pause(); else if (anim.playState === "paused") anim.play(); }, 100);
    return anim.finished.catch(() => {}).then(() => {
      clearInterval(hold);
      dot.remove();
      if (edge && !this.dots.querySelector(`[data-hop="${a}>${b}"], [data-hop="${b}>${a}"]`)) edge.classList.remove("is-active");
    });
  }
}

/** Node id -> {running, text} for every box. */
function componentStatus(states) {
  const by = (refs) => (refs.length ? `stopped by ${refs.map((r) => (r.kind === "Store" ? "etcd loss" : r.name)).join(", ")}` : "stopped");
  const one = (c) => ({ running: c.running, text: c.running ? "running" : by(c.stoppedBy || []) });
  const ctrl = states.controllers;
  const down = ctrl.filter((c) => !c.running);
  const out = {
    client: { running: true, text: "" },
    apiserver: one(states.apiserver),
    etcd: one(states.etcd),
    scheduler: { ...one(states.scheduler), text: states.scheduler.running ? `queue ${states.scheduler.queue}` : one(states.scheduler).text },
    cm: down.length === ctrl.length ? { running: false, text: by(down.flatMap((c) => c.stoppedBy).filter((r, i, a) => a.findIndex((x) => x.name === r.name) === i)) }
      : { running: true, text: down.length ? `${down.length} of ${ctrl.length} stopped` : `${ctrl.length} controllers` },
    "kube-proxy": { running: states.kubeProxy.running, text: `${states.kubeProxy.nodes.length} nodes` },
  };
  for (const k of states.kubelets) out[`kubelet:${k.node}`] = { running: k.running, text: k.running ? "running" : k.state };
  return out;
}
