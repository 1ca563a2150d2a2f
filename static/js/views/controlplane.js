// Control plane tab: the diagram with its live requests, step mode, the faults in force (each with
// "End") and the controller manager's controllers. Polls /ui/control-plane and /ui/audit only while open.

import { h, reconcile, setText } from "../dom.js";
import { EPOCH_SECONDS, parseTime, simClockText } from "../k8s/time.js";
import { chaosPlural } from "../k8s/chaos.js";
import { runAction } from "../actions.js";
import { deniedNote, guard, url } from "../ui/permissions.js";
import { Diagram } from "./cpdiagram.js";
import { RequestFeed, hopMs } from "./cpfeed.js";

const LOG_ROWS = 12;
const STATES_MS = 1000;
const FEED_MS = 500;
const PUMP_MS = 100;

const views = new WeakMap();   // panel root -> its view

/** Render the Control plane panel (called every frame while the tab is shown). */
export function renderControlPlane(state, root) {
  let view = views.get(root);
  if (!view) { view = new ControlPlaneView(state, root); views.set(root, view); }
  view.open();
}

class ControlPlaneView {
  constructor(state, root) {
    this.state = state;
    this.root = root;
    this.feed = new RequestFeed();
    this.states = null;
    this.timers = [];
    this.step = h("input", { type: "checkbox", class: "cp-step", onchange: () => { this.feed.stepping = this.step.checked; this.renderTools(); } });
    this.nextBtn = h("button", { type: "button", class: "btn btn-small cp-next", text: "Next request", onclick: () => this.feed.next((r) => this.start(r)) });
    this.queued = h("span", { class: "cp-queued muted" });
    this.skipped = h("span", { class: "cp-skipped", role: "note" });
    this.note = h("p", { class: "cp-note muted", role: "status" });
    this.log = h("ol", { class: "cp-log", "aria-label": "Requests, newest first" });
    this.faults = h("ul", { class: "cp-faults", "aria-label": "Faults in force" });
    this.noFaults = h("p", { class: "muted cp-no-faults", text: "No fault in force." });
    this.controllers = h("tbody");
    root.append(
      h("div", { class: "cp-tools" },
        h("label", { class: "check" }, this.step, " Step mode"), this.nextBtn, this.queued, this.skipped),
      this.note);
    this.diagram = new Diagram(root);
    root.append(
      this.log,
      h("h3", { class: "cp-h", text: "Faults in force" }), deniedNote("act") || "", this.faults, this.noFaults,
      h("h3", { class: "cp-h", text: "Controller manager" }),
      h("table", { class: "cp-controllers" },
        h("thead", {}, h("tr", {}, h("th", { text: "controller" }), h("th", { text: "state" }), h("th", { text: "queue" }), h("th", { text: "last action" }))),
        this.controllers));
    this.renderTools();
  }

  shown() { return !this.root.hidden && !this.root.closest("[hidden]"); }

  /** Start polling when the tab is shown; every loop stops itself once it is hidden again. */
  open() {
    if (this.timers.length) return;
    const every = (ms, fn) => {
      fn();
      const t = setInterval(() => { if (this.shown()) fn(); else this.close(); }, ms);
      this.timers.push(t);
    };
    every(STATES_MS, () => this.refresh());
    every(FEED_MS, () => this.feed.poll().then(() => this.renderTools()));
    every(PUMP_MS, () => {
      const clock = this.state.clock;
      this.feed.pump((r) => this.start(r), { paused: clock.paused, step: this.step.checked });
      this.renderTools();
    });
  }

  close() {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  async refresh() {
    try {
      const resp = await fetch(url("/ui/control-plane"), { headers: { Accept: "application/json" }, cache: "no-store" });
      const body = await resp.json();
      if (!resp.ok) throw new Error(body.message || `HTTP ${resp.status}`);
      this.states = body;
    } catch (err) {
      setText(this.note, `Cannot read the control plane: ${err.message}`);
      return;
    }
    this.feed.learn(this.states);
    this.diagram.update(this.states);
    this.renderFaults();
    this.renderControllers();
  }

  /** Animate one request (none from a stopped component: it makes no requests) and log it. */
  start(req) {
    if (!this.diagram.running(req.node)) return null;
    // The pod's node as the page knows it now: a binding written a moment ago has reached it by then.
    const pod = req.pod?.name && this.state.list("pods").find((p) => p.metadata.name === req.pod.name && (p.metadata.namespace || "") === (req.pod.namespace || ""));
    req.podNode = pod?.spec?.nodeName || "";
    const row = h("li", { class: `cp-entry${req.code >= 400 ? " is-failed" : ""}`, dataset: { actor: req.actor, verb: req.verb, resource: req.resource }, text: req.text });
    this.log.prepend(row);
    while (this.log.children.length > LOG_ROWS) this.log.lastChild.remove();
    return this.diagram.play(req, hopMs(this.state.clock.speed), () => this.state.clock.paused);
  }

  renderTools() {
    const step = this.step.checked;
    this.nextBtn.disabled = !step || this.feed.queue.length === 0;
    this.nextBtn.title = step ? "" : "Turn on step mode to advance one request at a time";
    setText(this.queued, `${this.feed.queue.length} queued${this.state.clock.paused && !step ? " (simulation paused)" : ""}`);
    setText(this.skipped, this.feed.skipped ? `+${this.feed.skipped} skipped` : "");
    this.skipped.title = "Requests dropped from the queue (oldest first) so the view keeps up with a busy cluster";
    if (this.states) setText(this.note, this.feed.error);
  }

  renderFaults() {
    const faults = this.states.faults;
    reconcile(this.faults, faults, (f) => `${f.kind}/${f.namespace}/${f.name}`, (f) => {
      const end = h("button", { type: "button", class: "btn btn-small btn-danger cp-end", text: "End", "aria-label": `End ${f.kind} ${f.name}`,
        onclick: async () => {
          end.disabled = true;
          await runAction("object.delete", { resource: chaosPlural(f.kind), namespace: f.namespace, name: f.name }, `Ended ${f.kind} ${f.name}`);
          end.disabled = false;
          this.refresh();
        } });
      guard(end, "act");
      return h("li", { class: "cp-fault", dataset: { kind: f.kind, name: f.name } },
        h("b", { text: `${f.kind}/${f.name}` }), h("span", { class: "cp-stops muted" }), end);
    }, (li, f) => {
      const since = parseTime(f.since);
      const what = f.stops.length ? `stops ${f.stops.join(", ")}` : f.action;
      setText(li.querySelector(".cp-stops"), `${what}${Number.isFinite(since) ? ` · since ${simClockText(since)}` : ""}`);
    });
    this.noFaults.hidden = faults.length > 0;
  }

  renderControllers() {
    reconcile(this.controllers, this.states.controllers, (c) => c.name, (c) => h("tr", { dataset: { controller: c.name } },
      h("td", { text: c.name }), h("td", { class: "cp-state" }), h("td", { class: "cp-queue" }), h("td", { class: "cp-last muted" })), (tr, c) => {
      tr.dataset.running = c.running ? "1" : "0";
      const by = c.stoppedBy.map((r) => (r.kind === "Store" ? "etcd loss" : r.name));
      setText(tr.querySelector(".cp-state"), c.running ? "running" : `stopped${by.length ? ` by ${by.join(", ")}` : ""}`);
      setText(tr.querySelector(".cp-queue"), c.queue);
      const seen = this.feed.lastBy.get(c.name);   // its last write in the feed, else the engine's last sync
      const last = seen ? `${seen.verb} ${seen.target} at ${simClockText(parseTime(seen.at))}`
        : c.lastAction ? `sync ${c.lastAction.object} at ${simClockText(EPOCH_SECONDS + c.lastAction.t)}` : "—";
      setText(tr.querySelector(".cp-last"), last);
    }, { animate: false });
  }
}
