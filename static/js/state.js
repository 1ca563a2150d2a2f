// One store of Kubernetes objects keyed by resource + uid, fed by the live snapshot and deltas.

import { EPOCH_SECONDS, setSimStart } from "./k8s/time.js";

export class ClusterState {
  constructor() {
    this.byResource = new Map(); // resource plural -> Map(key -> object)
    this.revision = null;
    this.generation = null;
    this.clock = { now: 0, paused: false, speed: 1, lag: 0 };
    this.clockAt = performance.now();
    this.profile = {};
    this.synced = false;
    this.listeners = new Set();
    this.sorted = new Map(); // resource -> sorted array, dropped when an object is added or removed
    this.sortedAt = new Map(); // resource -> Map(key -> index in the sorted array)
    this.trackers = new Set(); // ChangeTrackers fed by every put/remove
  }

  /**
   * Start recording which objects change, for a view that redraws incrementally: the tracker
   * collects the keys put or removed per resource until its take(); a snapshot or resync marks it full.
   */
  track() {
    const t = new ChangeTracker();
    this.trackers.add(t);
    return t;
  }

  /** Stop feeding a tracker returned by track(). */
  untrack(t) { this.trackers.delete(t); }

  /** Register fn(change) called after every applied snapshot, delta, resync or clock update. */
  subscribe(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  emit(change) { for (const fn of this.listeners) fn(change); }

  static keyOf(obj) {
    const m = obj.metadata || {};
    return m.uid || `${m.namespace || ""}/${m.name}`;
  }

  /** Replace everything with a snapshot {revision, generation, objects, clock, profile}. */
  applySnapshot(snap) {
    for (const t of this.trackers) t.reset();
    this.byResource.clear();
    this.sorted.clear();
    this.sortedAt.clear();
    for (const { resource, object } of snap.objects || []) this.put(resource, object);
    this.revision = snap.revision ?? null;
    this.generation = snap.generation ?? null;
    if (snap.profile && typeof snap.profile === "object") this.profile = snap.profile;
    if (snap.clock) this.setClock(snap.clock, false);
    this.synced = true;
    this.emit({ type: "snapshot" });
  }

  /**
   * Apply a delta batch; return false when it cannot follow our revision (a gap or another
   * generation), so the caller re-subscribes.
   */
  applyDelta(d) {
    if (!this.synced) return true; // waiting for a snapshot: ignore
    if (d.generation !== undefined && this.generation !== null && d.generation !== this.generation) return false;
    if (this.revision !== null && d.to_rv !== undefined && d.to_rv <= this.revision) {
      if (d.clock) this.setClock(d.clock);
      return true; // already seen
    }
    if (this.revision !== null && d.from_rv !== undefined && d.from_rv > this.revision) return false;
    for (const ch of d.changes || []) {
      if (ch.type === "DELETED") this.remove(ch.resource, ch.object);
      else this.put(ch.resource, ch.object);
    }
    if (d.to_rv !== undefined) this.revision = d.to_rv;
    if (d.clock) this.setClock(d.clock, false);
    this.emit({ type: "delta", changes: d.changes || [] });
    return true;
  }

  /** Drop all objects (resync): the next snapshot refills the store. */
  drop() {
    for (const t of this.trackers) t.reset();
    this.byResource.clear();
    this.sorted.clear();
    this.sortedAt.clear();
    this.revision = null;
    this.synced = false;
    this.emit({ type: "resync" });
  }

  setClock(c, notify = true) {
    if (!c) return;
    // Every clock the server sends is whole (Runtime.clock_state), and it leaves out speed_lock
    // when there is none: a merge would keep an old lock (and its disabled slider) forever.
    this.clock = { ...this.clock, speed_lock: null, ...c };
    if (typeof c.started === "number") setSimStart(c.started);
    if (c.profile && typeof c.profile === "object") this.profile = { ...this.profile, ...c.profile };
    this.clockAt = performance.now();
    if (notify) this.emit({ type: "clock" });
  }

  put(resource, obj) {
    let m = this.byResource.get(resource);
    if (!m) { m = new Map(); this.byResource.set(resource, m); }
    const key = ClusterState.keyOf(obj);
    // A modified object keeps its namespace and name, hence its place in the sorted list:
    // patch the cached list instead of sorting thousands of pods again every frame.
    const at = m.has(key) ? this.sortedAt.get(resource)?.get(key) : undefined;
    if (at !== undefined) this.sorted.get(resource)[at] = obj;
    else this.dropSorted(resource);
    m.set(key, obj);
    for (const t of this.trackers) t.note(resource, key);
  }

  dropSorted(resource) {
    this.sorted.delete(resource);
    this.sortedAt.delete(resource);
  }

  remove(resource, obj) {
    this.dropSorted(resource);
    const m = this.byResource.get(resource);
    const key = ClusterState.keyOf(obj);
    if (m) m.delete(key);
    for (const t of this.trackers) t.note(resource, key);
  }

  /** All objects of a resource, sorted by namespace then name (cached until it changes; do not mutate). */
  list(resource) {
    let out = this.sorted.get(resource);
    if (!out) {
      const m = this.byResource.get(resource);
      out = m ? [...m.values()].sort(byNamespaceName) : [];
      this.sorted.set(resource, out);
      this.sortedAt.set(resource, new Map(out.map((o, i) => [ClusterState.keyOf(o), i])));
    }
    return out;
  }

  get(resource, key) { return this.byResource.get(resource)?.get(key); }

  find(resource, namespace, name) {
    for (const o of this.byResource.get(resource)?.values() || []) {
      if (o.metadata?.name === name && (o.metadata?.namespace || "") === (namespace || "")) return o;
    }
    return undefined;
  }

  /** Find any object by uid across resources: returns {resource, object}. */
  byUid(uid) {
    for (const [resource, m] of this.byResource) {
      const o = m.get(uid);
      if (o) return { resource, object: o };
    }
    return undefined;
  }

  /** Simulated now in Unix seconds, interpolated between clock messages while running. */
  simNow() {
    let now = this.clock.now;
    if (typeof now === "string") now = Date.parse(now) / 1000;
    else if (typeof now === "number" && now < 1e9) now = EPOCH_SECONDS + now;
    else if (typeof now !== "number") now = EPOCH_SECONDS;
    if (!this.clock.paused) {
      const wall = (performance.now() - this.clockAt) / 1000;
      // Interpolate at most a few seconds: beyond that the server is silent and we should not guess.
      now += Math.min(wall, 10) * (Number(this.clock.speed) || 1);
    }
    return now;
  }
}

/**
 * The dirty set of one incremental view: keys (uid, else namespace/name) of the objects put or
 * removed since the last take(), per resource. `full` means "redraw everything" (first use,
 * snapshot, resync); while full, single keys are not recorded.
 */
export class ChangeTracker {
  constructor() {
    this.full = true;
    this.changed = new Map(); // resource -> Set(key)
  }

  note(resource, key) {
    if (this.full) return;
    let s = this.changed.get(resource);
    if (!s) { s = new Set(); this.changed.set(resource, s); }
    s.add(key);
  }

  reset() {
    this.full = true;
    this.changed.clear();
  }

  /** Return {full, changed: Map(resource -> Set(key))} collected so far and start a new batch. */
  take() {
    const out = { full: this.full, changed: this.changed };
    this.full = false;
    this.changed = new Map();
    return out;
  }

  /** True when nothing was recorded since the last take(). */
  get empty() { return !this.full && this.changed.size === 0; }
}

function byNamespaceName(a, b) {
  const an = a.metadata?.namespace || "", bn = b.metadata?.namespace || "";
  if (an !== bn) return an < bn ? -1 : 1;
  const a1 = a.metadata?.name || "", b1 = b.metadata?.name || "";
  return a1 < b1 ? -1 : a1 > b1 ? 1 : 0;
}
