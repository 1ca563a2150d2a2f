// Node presentation: role, readiness with "since", the eviction countdown of an unreachable node.

import { condition } from "./pods.js";
import { parseTime } from "./time.js";

/** "control-plane" or "worker", from the node-role labels. */
export function nodeRole(node) {
  const labels = node.metadata?.labels || {};
  if ("node-role.kubernetes.io/control-plane" in labels || "node-role.kubernetes.io/master" in labels) return "control-plane";
  const other = Object.keys(labels).find((k) => k.startsWith("node-role.kubernetes.io/"));
  return other ? other.slice("node-role.kubernetes.io/".length) || "worker" : "worker";
}

/** {text: Ready|NotReady|Unknown, since: unix seconds|NaN, reason, message}. */
export function nodeReadiness(node) {
  const c = condition(node, "Ready");
  if (!c) return { text: "Unknown", since: NaN, reason: "", message: "no Ready condition yet" };
  const text = c.status === "True" ? "Ready" : c.status === "False" ? "NotReady" : "Unknown";
  return { text, since: parseTime(c.lastTransitionTime), reason: c.reason || "", message: c.message || "" };
}

const NUMERIC_KEYS = {
  toleration: [
    "default_unreachable_toleration_seconds", "default_toleration_seconds", "unreachable_toleration_seconds",
    "default_not_ready_toleration_seconds", "toleration_seconds", "pod_eviction_timeout",
  ],
  grace: ["node_monitor_grace_period", "node_monitor_grace_seconds", "node_grace_period"],
};

/** Read a number from the profile under any of the given keys (also nested dicts and "50s" strings). */
export function profileNumber(profile, group) {
  const keys = NUMERIC_KEYS[group] || [group];
  const scan = (obj) => {
    if (!obj || typeof obj !== "object") return undefined;
    for (const k of keys) {
      const v = obj[k] ?? obj[camel(k)];
      if (typeof v === "number") return v;
      if (typeof v === "string" && /^\d+(\.\d+)?s?$/.test(v)) return parseFloat(v);
    }
    for (const v of Object.values(obj)) {
      if (v && typeof v === "object" && !Array.isArray(v)) {
        const found = scan(v);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return scan(profile);
}

function camel(k) { return k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()); }

/**
 * Countdown for a node that is not Ready: seconds unreachable and seconds until its pods are
 * evicted (NoExecute taint time + toleration). Returns null for a Ready node.
 */
export function evictionCountdown(node, pods, profile, now) {
  const r = nodeReadiness(node);
  if (r.text === "Ready") return null;
  const taintKey = r.text === "Unknown" ? "node.kubernetes.io/unreachable" : "node.kubernetes.io/not-ready";
  const taint = (node.spec?.taints || []).find((t) => t.key === taintKey && t.effect === "NoExecute");
  const start = Number.isFinite(parseTime(taint?.timeAdded)) ? parseTime(taint.timeAdded) : r.since;
  let tol = profileNumber(profile, "toleration");
  // A pod's own toleration wins over the profile default (admission copies the default into pods).
  for (const p of pods) {
    const t = (p.spec?.tolerations || []).find((x) => x.key === taintKey && x.effect === "NoExecute" && x.tolerationSeconds !== undefined);
    if (t) { tol = t.tolerationSeconds; break; }
  }
  if (tol === undefined) tol = 300;
  const down = now - start;
  return { label: r.text === "Unknown" ? "unreachable" : "not ready", down, evictIn: start + tol - now, hasPods: pods.length > 0 };
}

/** List taints as "key=value:Effect" strings. */
export function taintTexts(node) {
  return (node.spec?.taints || []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`);
}

// The kubelet's state is on the node's Lease (engine.component_helpers.node_lease); the live stream
// carries only the Leases of kubelets that are off, so a node powered off shows it at once while the
// API still says Ready for node-monitor-grace-period.
const KUBELET_STATE = "kubedrill.io/kubelet-state";
const KUBELET_WORDS = { "powered-off": "Powered off", "kubelet-stopped": "Kubelet stopped", partitioned: "Network partitioned" };

/** {state, text, lastRenew} of a node whose kubelet is not running (from its Lease), else null. */
export function kubeletDown(lease) {
  const state = lease?.metadata?.annotations?.[KUBELET_STATE];
  if (!state || state === "running") return null;
  return { state, text: KUBELET_WORDS[state] || state, lastRenew: parseTime(lease.spec?.renewTime) };
}

/** Seconds left until the node lifecycle controller marks the node Unknown (last renewal + grace). */
export function notReadyIn(down, profile, now) {
  const grace = profileNumber(profile, "grace") ?? 40;
  return { grace, left: Number.isFinite(down.lastRenew) ? down.lastRenew + grace - now : NaN };
}
