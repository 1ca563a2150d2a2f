// Pod presentation: the kubectl STATUS column (printPod in pkg/printers/internalversion),
// readiness counts, restarts, and the back-off countdown of a crash-looping container.

import { parseGoDuration, parseTime } from "./time.js";

/** Compute kubectl's STATUS text for a pod exactly the way printPod does. */
export function podStatusText(pod) {
  const status = pod.status || {};
  const spec = pod.spec || {};
  let reason = status.reason || status.phase || "Pending";

  let initializing = false;
  const inits = status.initContainerStatuses || [];
  const initSpecs = spec.initContainers || [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    const st = c.state || {};
    const sidecar = initSpecs[i]?.restartPolicy === "Always";
    if (st.terminated && st.terminated.exitCode === 0) continue;
    if (sidecar && c.started) continue;
    if (st.terminated) {
      if (!st.terminated.reason) {
        reason = st.terminated.signal ? `Init:Signal:${st.terminated.signal}` : `Init:ExitCode:${st.terminated.exitCode}`;
      } else reason = `Init:${st.terminated.reason}`;
    } else if (st.waiting && st.waiting.reason && st.waiting.reason !== "PodInitializing") {
      reason = `Init:${st.waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length || inits.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status, "Initialized")) {
    let hasRunning = false;
    const cs = status.containerStatuses || [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const st = cs[i].state || {};
      if (st.waiting && st.waiting.reason) reason = st.waiting.reason;
      else if (st.terminated && st.terminated.reason) reason = st.terminated.reason;
      else if (st.terminated) reason = st.terminated.signal ? `Signal:${st.terminated.signal}` : `ExitCode:${st.terminated.exitCode}`;
      else if (cs[i].ready && st.running) hasRunning = true;
    }
    if (reason === "Completed" && hasRunning) {
      reason = (status.conditions || []).some((c) => c.type === "Ready") ? "Running" : "NotReady";
    }
  }

  const terminal = status.phase === "Succeeded" || status.phase === "Failed";
  if (pod.metadata?.deletionTimestamp && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata?.deletionTimestamp && !terminal) reason = "Terminating";
  return reason;
}

/** True when the pod (or node) status has condition `type` with status "True". */
export function conditionTrue(status, type) {
  return (status?.conditions || []).some((c) => c.type === type && c.status === "True");
}

/** Return the condition object of a given type, or undefined. */
export function condition(obj, type) {
  return (obj?.status?.conditions || []).find((c) => c.type === type);
}

/** "ready/total" containers, as in kubectl's READY column. */
export function podReadyText(pod) {
  const cs = pod.status?.containerStatuses || [];
  const total = (pod.spec?.containers || []).length || cs.length;
  return `${cs.filter((c) => c.ready).length}/${total}`;
}

/** Sum of container restarts. */
export function podRestarts(pod) {
  return (pod.status?.containerStatuses || []).reduce((n, c) => n + (c.restartCount || 0), 0);
}

const PROBLEM = /BackOff|Err|Error|OOMKilled|Invalid|Failed|Signal|ExitCode|Evicted|NodeAffinity|OutOf/;

/**
 * Classify a STATUS text into a visual class: ok, wait, bad, gone, done, unknown.
 * The class picks colour AND icon; the text is always shown too.
 */
export function statusClass(text, pod) {
  if (text === "Terminating") return "gone";
  if (text === "Unknown" || text === "NodeLost") return "unknown";
  if (text === "Completed" || text === "Succeeded") return "done";
  if (text === "Running") return pod && !conditionTrue(pod.status, "Ready") ? "wait" : "ok";
  if (PROBLEM.test(text) || text === "Failed") return "bad";
  return "wait";
}

export const STATUS_ICON = { ok: "●", wait: "◔", bad: "✖", gone: "◌", done: "✔", unknown: "?" };

/** Name of the scheduler's failure, from the PodScheduled=False condition message. */
export function unschedulableReason(pod) {
  const c = condition(pod, "PodScheduled");
  if (c && c.status === "False") return c.message || c.reason || "Unschedulable";
  return "";
}

/**
 * For a crash-looping container, return {total, remaining} seconds of the restart back-off,
 * from the waiting message ("back-off 40s restarting failed container=...") and lastState finishedAt.
 */
export function backoff(pod, now) {
  for (const c of pod.status?.containerStatuses || []) {
    const w = c.state?.waiting;
    if (!w || w.reason !== "CrashLoopBackOff") continue;
    const m = /back-off (\S+?) restarting/i.exec(w.message || "");
    const total = m ? parseGoDuration(m[1]) : NaN;
    const finished = parseTime(c.lastState?.terminated?.finishedAt);
    const remaining = Number.isFinite(total) && Number.isFinite(finished) ? finished + total - now : NaN;
    return { total, remaining, container: c.name };
  }
  return null;
}

/** The controller owner reference of an object, or undefined. */
export function controllerRef(obj) {
  const refs = obj.metadata?.ownerReferences || [];
  return refs.find((r) => r.controller) || refs[0];
}
