// The request feed of the control-plane view: the audit trail (/ui/audit?since=) polled while the
// tab is open, turned into requests queued for the diagram, played at the simulation's pace.

import { url } from "../ui/permissions.js";

// A busy cluster drops its oldest requests instead of lagging forever: at 1x the view stays within
// a few seconds of the cluster (6 requests of ~1.5 s in flight, at most 24 waiting).
export const MAX_QUEUE = 24;
// Step mode keeps far more: the user reads one request at a time and must not lose the next ones.
export const MAX_STEP_QUEUE = 500;
const MAX_IN_FLIGHT = 6;
const PAGE = 500;

/** Milliseconds per hop: slower when the simulation runs slower (0.25x -> 2 s, 1x -> 0.5 s, 50x -> a blink). */
export const hopMs = (speed) => Math.max(40, Math.min(2000, 500 / (Number(speed) || 1)));

export class RequestFeed {
  constructor() {
    this.seq = null;          // the last audit seq read; null until the view knows where the trail is
    this.queue = [];
    this.skipped = 0;
    this.inFlight = 0;
    this.users = new Map();   // username -> {node, actor}
    this.lastBy = new Map();  // actor -> the last request seen from it (the controllers' "last action")
    this.error = "";
    this.busy = false;
    this.stepping = false;
  }

  /** Learn who is who and where the trail is from /ui/control-plane's answer. */
  learn(states) {
    this.users.clear();
    this.users.set(states.scheduler.user || "system:kube-scheduler", { node: "scheduler", actor: "kube-scheduler" });
    for (const c of states.controllers) if (c.user) this.users.set(c.user, { node: "cm", actor: c.name });
    // A new cluster (reset, drill) starts a new trail: begin again from where it is now.
    if (this.seq === null || states.auditSeq < this.seq) {
      this.seq = states.auditSeq;
      this.queue = [];
    }
  }

  who(username) {
    if (this.users.has(username)) return this.users.get(username);
    if (username.startsWith("system:node:")) {
      const node = username.slice("system:node:".length);
      return { node: `kubelet:${node}`, actor: `kubelet ${node}` };
    }
    if (username === "system:apiserver") return { node: "apiserver", actor: "kube-apiserver" };
    const sa = /^system:serviceaccount:[^:]+:(.+)$/.exec(username);
    return { node: "client", actor: sa ? sa[1] : username };
  }

  /** Fetch what the trail gained since the last poll and queue it. */
  async poll() {
    if (this.seq === null || this.busy) return;
    this.busy = true;
    try {
      const resp = await fetch(url(`/ui/audit?since=${this.seq}&limit=${PAGE}`), { cache: "no-store" });
      if (!resp.ok) { this.error = `The request feed is not available (HTTP ${resp.status}).`; return; }
      this.error = "";
      const lines = (await resp.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
      if (lines.length && lines[0].seq > this.seq + 1) this.skipped += lines[0].seq - this.seq - 1;
      for (const ev of lines) this.push(this.request(ev));
      if (lines.length) this.seq = lines[lines.length - 1].seq;
    } catch (_err) {
      this.error = "The request feed is not reachable.";
    } finally {
      this.busy = false;
    }
  }

  request(ev) {
    const ref = ev.objectRef || {};
    const { node, actor } = this.who(ev.user?.username || "");
    const resource = ref.subresource === "binding" ? "bindings" : ref.resource || "";
    const what = `${ref.resource || ""}${ref.subresource ? `/${ref.subresource}` : ""}`;
    const obj = ref.name ? ` ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}` : "";
    const code = ev.responseStatus?.code || 0;
    const req = { seq: ev.seq, node, actor, verb: ev.verb, resource, code, pod: ref.resource === "pods" ? ref : null,
      at: ev.stageTimestamp, target: `${what}${obj}`, text: `${actor} ${ev.verb} ${what}${obj} → ${code}` };
    this.lastBy.set(actor, req);
    return req;
  }

  push(req) {
    this.queue.push(req);
    this.trim(this.stepping ? MAX_STEP_QUEUE : MAX_QUEUE);
  }

  /** Drop the oldest waiting requests beyond `max`, counting them as skipped. */
  trim(max) {
    const over = this.queue.length - max;
    if (over > 0) { this.queue.splice(0, over); this.skipped += over; }
  }

  /** Start queued requests while there is room (never while paused); returns the ones started. */
  pump(start, { paused, step }) {
    const started = [];
    this.stepping = step;
    if (paused || step) return started;
    this.trim(MAX_QUEUE);     // leaving step mode: catch up with the cluster
    while (this.queue.length && this.inFlight < MAX_IN_FLIGHT) started.push(this.next(start));
    return started;
  }

  /** Start the oldest queued request at once (the step mode's "Next request"). */
  next(start) {
    const req = this.queue.shift();
    if (!req) return null;
    this.inFlight += 1;
    Promise.resolve(start(req)).finally(() => { this.inFlight -= 1; });
    return req;
  }
}
