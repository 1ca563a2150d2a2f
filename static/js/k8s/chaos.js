// Which control-plane static pods a fault holds down, read from the ControlPlaneChaos objects the page
// holds (their status records what each stopped). Hidden drill faults never reach the page, so they
// are not told here either.

// A hold (engine/chaos/components.py) -> the static pod's `component` label.
const POD_OF_HOLD = { scheduler: "kube-scheduler", apiserver: "kube-apiserver" };

/** Map: static pod component label ("kube-scheduler") -> names of the running faults stopping it. */
export function stoppedComponents(state) {
  const out = new Map();
  for (const chaos of state.list("controlplanechaos")) {
    const exp = chaos.status?.experiment;
    if (exp?.phase !== "Running") continue;
    for (const record of exp.containerRecords || []) {
      if (record.kind !== "Component" || record.phase !== "Injected") continue;
      for (const hold of record.holds || []) {
        const component = hold.startsWith("controller:") ? "kube-controller-manager" : POD_OF_HOLD[hold];
        if (!component) continue;
        const names = out.get(component) || [];
        if (!names.includes(chaos.metadata.name)) names.push(chaos.metadata.name);
        out.set(component, names);
      }
    }
  }
  return out;
}

/** The faults stopping this pod's component (a control-plane static pod), or []. */
export function stoppedBy(stopped, pod) {
  if (pod.metadata?.namespace !== "kube-system") return [];
  return stopped.get(pod.metadata?.labels?.component) || [];
}

/** The lower-case plural a chaos object's kind is served under (what object.delete takes). */
export const chaosPlural = (kind) => (kind === "Schedule" ? "schedules" : kind.toLowerCase());
