// Ownership: which workload a pod belongs to (ReplicaSet -> Deployment), and a stable tint per owner.

import { controllerRef } from "./pods.js";

/** Resolve the top workload of an object: {kind, name, key} following ReplicaSet -> Deployment. */
export function topOwner(state, obj) {
  const ref = controllerRef(obj);
  if (!ref) return { kind: "", name: "", key: "" };
  if (ref.kind === "ReplicaSet") {
    const rs = state.get("replicasets", ref.uid) || state.find("replicasets", obj.metadata?.namespace, ref.name);
    const up = rs && controllerRef(rs);
    if (up && up.kind === "Deployment") return { kind: "Deployment", name: up.name, key: `Deployment/${obj.metadata?.namespace || ""}/${up.name}` };
  }
  return { kind: ref.kind, name: ref.name, key: `${ref.kind}/${obj.metadata?.namespace || ""}/${ref.name}` };
}

/** A stable hue (0-359) for a string, so one workload keeps its tint everywhere. */
export function hueOf(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619); }
  return Math.abs(h) % 360;
}

/** Pods owned (directly) by the object with this uid. */
export function ownedBy(state, resource, uid) {
  return state.list(resource).filter((o) => (o.metadata?.ownerReferences || []).some((r) => r.uid === uid));
}

/** Does a label selector (matchLabels / matchExpressions, or a plain map) match these labels? */
export function selectorMatches(selector, labels = {}) {
  if (!selector) return false;
  const ml = selector.matchLabels || (selector.matchExpressions ? {} : selector);
  for (const [k, v] of Object.entries(ml)) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions || []) {
    const has = e.key in labels;
    const val = labels[e.key];
    if (e.operator === "In" && !(has && e.values.includes(val))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(val)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return Object.keys(ml).length > 0 || (selector.matchExpressions || []).length > 0;
}
