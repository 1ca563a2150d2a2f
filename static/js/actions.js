// Actions a learner can take on objects: definitions per kind, and one runner with feedback.

import { toast } from "./ui/toast.js";

let live = null;

/** Bind the runner to the live connection (called once by main.js). */
export function bindActions(liveConn) { live = liveConn; }

/** Format a metav1.Status error into {message, causes[]} for display. */
export function describeError(error) {
  const e = error || {};
  const causes = (e.details?.causes || []).map((c) => ({ field: c.field || "", message: c.message || c.reason || "", reason: c.reason || "" }));
  return { message: e.message || e.reason || "The action failed", causes, code: e.code, reason: e.reason };
}

/**
 * Run an action, toast the result, and resolve with the ack. (Kill markers on the charts come from
 * the server's history, engine/history.py, whoever killed.)
 */
export async function runAction(type, args, successText) {
  if (!live) return { ok: false, error: { message: "not connected" } };
  const ack = await live.action(type, args);
  if (ack.ok) {
    toast(successText || `${type} done`, { kind: "ok" });
  } else {
    const { message, causes } = describeError(ack.error);
    toast(message, { kind: "error", details: causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)) });
  }
  return ack;
}

const ref = (o) => ({ namespace: o.metadata?.namespace || "", name: o.metadata?.name });

/**
 * List the actions for an object: [{id, label, run(input?), danger, confirm?, input?: {type, value, label}}].
 * `confirm` asks for a second click: deleting a whole workload by a slip would end the lesson.
 */
export function actionsFor(resource, obj) {
  const name = obj.metadata?.name;
  const kind = obj.kind || "";
  switch (resource) {
    case "pods": return [
      { id: "delete", label: "Delete", danger: true, run: () => runAction("pod.delete", { ...ref(obj) }, `Deleting pod ${name} (graceful)`) },
      { id: "force-delete", label: "Force delete", danger: true, run: () => runAction("pod.delete", { ...ref(obj), force: true }, `Force-deleted pod ${name}`) },
      { id: "crash", label: "Crash container", danger: true, run: () => runAction("pod.crash", ref(obj), `Crashed a container of ${name}`) },
      { id: "readiness-fail", label: "Fail readiness", run: () => runAction("pod.readiness", { ...ref(obj), failing: true }, `Readiness probe of ${name} now fails`) },
      { id: "readiness-pass", label: "Pass readiness", run: () => runAction("pod.readiness", { ...ref(obj), failing: false }, `Readiness probe of ${name} passes again`) },
    ];
    case "nodes": {
      const cordoned = !!obj.spec?.unschedulable;
      return [
        { id: "power-off", label: "Power off", danger: true, run: () => runAction("node.power_off", { name }, `Powered off node ${name}`) },
        { id: "power-on", label: "Power on", run: () => runAction("node.power_on", { name }, `Powered on node ${name}`) },
        cordoned
          ? { id: "uncordon", label: "Uncordon", run: () => runAction("node.uncordon", { name }, `Node ${name} uncordoned`) }
          : { id: "cordon", label: "Cordon", run: () => runAction("node.cordon", { name }, `Node ${name} cordoned`) },
        { id: "drain", label: "Drain", danger: true, run: () => runAction("node.drain", { name }, `Draining node ${name}`) },
      ];
    }
    case "deployments":
    case "statefulsets":
    case "replicasets": {
      const image = obj.spec?.template?.spec?.containers?.[0]?.image || "";
      const list = [
        { id: "scale", label: "Scale", input: { type: "number", min: 0, value: obj.spec?.replicas ?? 1, label: `Replicas of ${name}` },
          run: (v) => runAction("workload.scale", { kind, ...ref(obj), replicas: Number(v) }, `Scaled ${kind} ${name} to ${v}`) },
      ];
      if (resource !== "replicasets") {
        list.push(
          { id: "set-image", label: "Set image", input: { type: "text", value: image, label: `Image of ${name}` },
            run: (v) => runAction("workload.set_image", { kind, ...ref(obj), image: String(v) }, `Image of ${name} set to ${v}`) },
          { id: "rollback", label: "Roll back", run: () => runAction("workload.rollback", { kind, ...ref(obj) }, `Rolled back ${kind} ${name}`) });
      }
      list.push({ id: "delete", label: "Delete", danger: true, confirm: true, run: () => runAction("object.delete", { resource, ...ref(obj) }, `Deleted ${kind} ${name}`) });
      return list;
    }
    default:
      if (resource === "events") return [];
      return [{ id: "delete", label: "Delete", danger: true, confirm: true, run: () => runAction("object.delete", { resource, ...ref(obj) }, `Deleted ${kind || resource} ${name}`) }];
  }
}
