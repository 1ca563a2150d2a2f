// What a node card says while the node is off or unreachable: the countdown to NotReady, the
// eviction countdown, and why pods that were evicted still sit on it.

import { nodeReadiness, evictionCountdown, notReadyIn } from "../k8s/nodes.js";
import { controllerRef } from "../k8s/pods.js";
import { countdown } from "../k8s/time.js";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * {alert, wait} texts for a card ("" when there is nothing to say). `down` is the kubelet's state
 * from its Lease (kubeletDown), `pods` the pods bound to the node.
 */
export function nodeAlert(node, pods, down, profile, now) {
  const rd = nodeReadiness(node);
  if (rd.text === "Ready") {
    if (!down) return { alert: "", wait: "" };
    // The API has not noticed yet: the lifecycle controller waits a grace period for a heartbeat.
    const { grace, left } = notReadyIn(down, profile, now);
    const when = !Number.isFinite(left) ? `after node-monitor-grace-period (${grace} s) without a heartbeat`
      : left > 0 ? `NotReady in ${countdown(left)} (node-monitor-grace-period ${grace} s without a heartbeat)`
        : "being marked NotReady";
    return { alert: `${down.text.toLowerCase()} — still Ready in the API, ${when}`, wait: "" };
  }
  const cd = evictionCountdown(node, pods, profile, now);
  if (!cd) return { alert: "", wait: "" };
  const off = down ? ` (${down.text.toLowerCase()})` : "";
  const terminating = pods.filter((p) => p.metadata?.deletionTimestamp);
  let evict;
  if (!cd.hasPods) evict = "no pods to evict";
  else if (cd.evictIn > 0) evict = `pods evicted in ${countdown(cd.evictIn)}`;
  else if (terminating.length) evict = `${plural(terminating.length, "pod")} Terminating: the kubelet cannot confirm they stopped`;
  else evict = "evicting pods";
  const held = terminating.filter((p) => controllerRef(p)?.kind === "StatefulSet").map((p) => p.metadata.name);
  const wait = held.length && cd.evictIn <= 0
    ? `${held.join(", ")} ${held.length === 1 ? "waits" : "wait"}: a StatefulSet runs at most one pod per identity, so a pod on an `
      + "unreachable node is not replaced until the node is confirmed gone. Power the node on, or force-delete the pod "
      + "(or delete the Node) once you know it is really down."
    : "";
  return { alert: `${cd.label} ${Math.max(0, Math.floor(cd.down))} s${off} — ${evict}`, wait };
}
