"""Drills: exercise packs that break a cluster on a timeline and score how well it recovered.

A drill is one YAML file (``drills/*.yaml``): a title, what it teaches, a profile and seed, the
starting manifests, a fault timeline (chaos objects, or scripted happenings such as "a teammate
deploys a bad image"), a steady-state hypothesis as probes checked every simulated second, pass
conditions with a time limit, hints and an explanation. ``DrillRun`` plays it on a fresh cluster
the chaos-tool way (Chaos Toolkit / Litmus): a probe *fails* after ``tolerance`` (3) consecutive
failing samples and passes again on the first good one; the verdict is every probe passing at the
end (plus the drill's extra conditions). The report gives the time played, time to detect (the
student's first response to a failing probe), time to recover, downtime and availability (one
definition, per probe, per Service and for the whole steady state: ``DEFINITIONS``), and every
action the user took with its simulated time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from .apiserver import audit
from .cluster import ACTIONS as CLUSTER_ACTIONS, Action, Cluster
from .errors import BadRequest, NotFound, StatusError
from .objects import annotations_of, spec_of, status_of
from .selectors import LabelSelector

DRILLS_DIR = Path(__file__).resolve().parent.parent / "drills"
DEFAULT_TOLERANCE = 3

# What the report's figures mean, shipped in every report so a grader reads the same definitions.
DEFINITIONS: dict[str, str] = {
    "played": "simulated seconds the student played, from t = 0 until they finished, stopped or time ran out",
    "time_to_detect": "from the first failing probe to the student's first action after it (dashboard or kubectl)",
    "time_to_recover": "from the first fault to the moment every probe passed again",
    "downtime": "sampled seconds (one sample per simulated second) in which a check failed: any probe for the "
                "steady state, its own check for a probe or Service",
    "availability": "share of sampled seconds in which the check held: 1 - downtime / samples (same samples)",
}


@dataclass
class Drill:
    """A parsed drill file."""

    id: str
    title: str
    teaches: str
    profile: str
    seed: int
    nodes: int
    warmup: float
    time_limit: int
    manifests: list[dict]
    timeline: list[dict]
    probes: list[dict]
    passing: dict
    hints: list[str]
    explanation: str
    solution: list[dict] = field(default_factory=list)
    expect: dict = field(default_factory=dict)
    briefing: str = ""

    def public(self) -> dict:
        """The drill as shown to a student: hidden faults, hints and the solution left out."""
        return {"id": self.id, "title": self.title, "teaches": self.teaches, "briefing": self.briefing,
                "profile": self.profile, "seed": self.seed, "time_limit": self.time_limit,
                "probes": [dict(p) for p in self.probes], "hints": len(self.hints),
                "timeline": [_public_entry(e) for e in self.timeline if not e.get("hidden")]}


def _public_entry(entry: dict) -> dict:
    out = {"at": entry["at"]}
    if "inject" in entry:
        out["inject"] = {"kind": entry["inject"].get("kind"), "name": entry["inject"]["metadata"]["name"],
                         "action": spec_of(entry["inject"]).get("action")}
    if "action" in entry:
        out["action"] = entry["action"]
    if "load" in entry:
        out["load"] = entry["load"]
    return out


# ------------------------------------------------------------------ loading

def load_drill(path: str | Path) -> Drill:
    """Read and check one drill file; BadRequest naming the field when it is malformed."""
    path = Path(path)
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise BadRequest(f"{path.name}: a drill must be a mapping")
    for required in ("title", "teaches", "probes", "time_limit"):
        if required not in data:
            raise BadRequest(f"{path.name}: missing required field {required!r}")
    manifests = data.get("manifests") or []
    if isinstance(manifests, str):
        manifests = [d for d in yaml.safe_load_all(manifests) if d]
    timeline = []
    for i, entry in enumerate(data.get("timeline") or []):
        if not isinstance(entry, dict) or "at" not in entry:
            raise BadRequest(f"{path.name}: timeline[{i}] needs an 'at' time")
        if not any(k in entry for k in ("inject", "action", "load")):
            raise BadRequest(f"{path.name}: timeline[{i}] needs 'inject', 'action' or 'load'")
        timeline.append(dict(entry, hidden=bool(entry.get("hidden", False))))
    timeline.sort(key=lambda e: e["at"])
    probes = []
    for i, probe in enumerate(data["probes"]):
        if not isinstance(probe, dict) or probe.get("type") not in PROBES:
            raise BadRequest(f"{path.name}: probes[{i}].type must be one of {sorted(PROBES)}")
        probes.append(dict(probe, name=probe.get("name") or f"{probe['type']}-{i}"))
    return Drill(
        id=data.get("id") or path.stem, title=data["title"], teaches=data["teaches"],
        briefing=data.get("briefing", ""), profile=data.get("profile", "demo"), seed=int(data.get("seed", 0)),
        nodes=int(data.get("nodes", 3)), warmup=float(data.get("warmup", 30)), time_limit=int(data["time_limit"]),
        manifests=manifests, timeline=timeline, probes=probes, passing=dict(data.get("pass") or {}),
        hints=list(data.get("hints") or []), explanation=data.get("explanation", ""),
        solution=sorted(data.get("solution") or [], key=lambda a: a["at"]), expect=dict(data.get("expect") or {}))


def list_drills(folder: str | Path = DRILLS_DIR) -> list[Drill]:
    """Every drill in ``folder``, ordered by file name."""
    return [load_drill(p) for p in sorted(Path(folder).glob("*.yaml"))]


# ------------------------------------------------------------------ probes

def _pods(cluster: Any, namespace: str, selector: LabelSelector) -> list[dict]:
    return [p for p in cluster.store.list("pods", namespace, selector) if not p["metadata"].get("deletionTimestamp")]


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in status_of(pod).get("conditions") or ())


def _workload_ready(cluster: Any, resource: str, namespace: str, name: str) -> int:
    obj = cluster.store.find(resource, namespace, name)
    if obj is None:
        return 0
    selector = LabelSelector.from_dict(spec_of(obj).get("selector") or {})
    return sum(1 for p in _pods(cluster, namespace, selector) if _ready(p))


def serving(cluster: Any, pod: dict) -> bool:
    """Does this pod really answer requests (not just look Ready in the API)?

    Its node must be powered and reachable, its containers running, and its application healthy:
    a ``readiness`` fault means the app stopped answering, whether or not a probe notices.
    """
    meta = pod["metadata"]
    kubelet = cluster.kubelets.get(spec_of(pod).get("nodeName") or "")
    if kubelet is None or not getattr(kubelet, "powered", False) or getattr(kubelet, "partitioned", False):
        return False
    runtime = getattr(kubelet, "pods", {}).get((meta.get("namespace", ""), meta["name"]))
    if runtime is None or getattr(runtime, "uid", meta.get("uid")) != meta.get("uid"):
        return False
    if not runtime.containers or any(c.state != "Running" for c in runtime.containers):
        return False
    faults = getattr(runtime, "faults", set()) or set()
    return not ({"readiness", "crash-loop", "oom"} & set(faults))


def service_endpoints(cluster: Any, namespace: str, name: str) -> list[dict] | None:
    """Pods listed as ready endpoints of a Service (EndpointSlices when kept, else from the selector)."""
    svc = cluster.store.find("services", namespace, name)
    if svc is None:
        return None
    slices = cluster.store.list("endpointslices", namespace,
                                LabelSelector.from_labels({"kubernetes.io/service-name": name}))
    if slices:
        pods = []
        for sl in slices:
            for ep in sl.get("endpoints") or ():
                ref = ep.get("targetRef") or {}
                if (ep.get("conditions") or {}).get("ready") and ref.get("kind") == "Pod":
                    pod = cluster.store.find("pods", ref.get("namespace", namespace), ref.get("name", ""))
                    if pod is not None:
                        pods.append(pod)
        return pods
    selector = spec_of(svc).get("selector")
    if not selector:
        return []
    return [p for p in _pods(cluster, namespace, LabelSelector.from_labels(selector)) if _ready(p)]


def service_success_rate(cluster: Any, namespace: str, name: str) -> float:
    """Share of requests to a Service that succeed now.

    The kube-proxy arithmetic: requests spread evenly over the ready endpoints, and one succeeds
    only if its endpoint pod is really serving. Traffic never passes through the API server, so
    this keeps measuring the data plane while the API is down.
    """
    endpoints = service_endpoints(cluster, namespace, name)
    if not endpoints:
        return 0.0
    return sum(1 for p in endpoints if serving(cluster, p)) / len(endpoints)


def _data_rows(obj: dict | None) -> int | None:
    if obj is None:
        return None
    for key, value in sorted(annotations_of(obj).items()):
        if "rows" in key:
            try:
                return int(value)
            except (TypeError, ValueError):
                continue
    for where in (status_of(obj).get("data"), status_of(obj)):
        if isinstance(where, dict) and isinstance(where.get("rows"), int):
            return where["rows"]
    return None


def _path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


class ProbeState:
    """One probe's samples, consecutive failures and failure windows."""

    def __init__(self, spec: dict, tolerance: int):
        self.spec = spec
        self.name: str = spec["name"]
        self.tolerance = int(spec.get("tolerance", tolerance))
        self.after = float(spec.get("after", 0))
        self.streak = 0
        self.failing = False
        self.ever_failed = False
        self.windows: list[list[float | None]] = []   # [failed_at, passed_again_at]
        self.samples: list[tuple[float, bool, Any]] = []
        self.memory: dict = {}
        self.last_value: Any = None

    def record(self, t: float, ok: bool, value: Any) -> None:
        self.samples.append((t, ok, value))
        self.last_value = value
        if ok:
            self.streak = 0
            if self.failing:
                self.failing = False
                self.windows[-1][1] = t
            return
        self.streak += 1
        if not self.failing and self.streak >= self.tolerance:
            self.failing = True
            self.ever_failed = True
            self.windows.append([t, None])


def evaluate_probe(run: "DrillRun", state: ProbeState) -> tuple[bool, Any]:
    """Sample one probe now: (passed, measured value)."""
    return PROBES[state.spec["type"]](run, state.spec, state)


def _p_service(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    rate = service_success_rate(run.cluster, spec.get("namespace", "default"), spec["service"])
    return rate >= float(spec.get("min", 0.99)), round(rate, 4)


def _p_deployment(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    ready = _workload_ready(run.cluster, "deployments", spec.get("namespace", "default"), spec["deployment"])
    return ready >= int(spec.get("min", 1)), ready


def _p_statefulset(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    ready = _workload_ready(run.cluster, "statefulsets", spec.get("namespace", "default"), spec["statefulset"])
    return ready >= int(spec.get("min", 1)), ready


def _p_data_intact(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    """Every claim of the StatefulSet still exists and its data never shrank."""
    ns, name = spec.get("namespace", "default"), spec["statefulset"]
    store = run.cluster.store
    sts = store.find("statefulsets", ns, name)
    if sts is None:
        return False, "statefulset missing"
    claims = [t["metadata"]["name"] for t in spec_of(sts).get("volumeClaimTemplates") or ()]
    replicas = int(spec_of(sts).get("replicas", 1))
    best = state.memory.setdefault("rows", {})
    ok, values = True, {}
    for claim in claims:
        for ordinal in range(replicas):
            pvc_name = f"{claim}-{name}-{ordinal}"
            pvc = store.find("persistentvolumeclaims", ns, pvc_name)
            if pvc is None:
                if pvc_name in best:
                    ok = False
                values[pvc_name] = None
                continue
            pv = store.find("persistentvolumes", "", spec_of(pvc).get("volumeName") or "")
            rows = _data_rows(pvc)
            rows = rows if rows is not None else _data_rows(pv)
            rows = rows if rows is not None else 0
            values[pvc_name] = rows
            if rows < best.get(pvc_name, 0):
                ok = False
            best[pvc_name] = max(best.get(pvc_name, 0), rows)
    return ok, values


def _p_pod_count(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    selector = LabelSelector.from_labels(spec["labels"]) if spec.get("labels") else LabelSelector()
    pods = _pods(run.cluster, spec.get("namespace", "default"), selector)
    if spec.get("ready", True):
        pods = [p for p in pods if _ready(p)]
    n = len(pods)
    return int(spec.get("min", 0)) <= n <= int(spec.get("max", 1 << 30)), n


def _p_nodes_ready(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    n = sum(1 for node in run.cluster.store.list("nodes") if _ready(node))
    return n >= int(spec.get("min", 1)), n


def _p_api(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    up = bool(run.cluster.api.available)
    return up, up


def _p_capacity(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    """Enough serving endpoints for the offered load (each pod handles ``per_pod_rps``)."""
    ns, name = spec.get("namespace", "default"), spec["service"]
    endpoints = service_endpoints(run.cluster, ns, name) or []
    capacity = sum(1 for p in endpoints if serving(run.cluster, p)) * float(spec.get("per_pod_rps", 100))
    load = float(run.load.get(f"{ns}/{name}", spec.get("rps", 0)))
    return capacity >= load, {"capacity": capacity, "load": load}


def _p_rollout(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    """The Deployment's rollout is complete: every replica updated and available (kubectl rollout status)."""
    obj = run.cluster.store.find("deployments", spec.get("namespace", "default"), spec["deployment"])
    if obj is None:
        return False, "missing"
    want = int(spec_of(obj).get("replicas", 1))
    st = status_of(obj)
    done = (int(st.get("observedGeneration", 0)) >= int(obj["metadata"].get("generation", 1))
            and int(st.get("updatedReplicas", 0)) >= want and int(st.get("availableReplicas", 0)) >= want
            and int(st.get("replicas", 0)) == want)
    return done, {"updated": st.get("updatedReplicas", 0), "available": st.get("availableReplicas", 0)}


def _p_field(run: "DrillRun", spec: dict, state: ProbeState) -> tuple[bool, Any]:
    obj = run.cluster.store.find(spec["resource"], spec.get("namespace", ""), spec["name"])
    value = _path(obj, spec["path"]) if obj is not None else None
    if "equals" in spec:
        return value == spec["equals"], value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False, value
    return float(spec.get("min", float("-inf"))) <= number <= float(spec.get("max", float("inf"))), value


PROBES: dict[str, Callable[["DrillRun", dict, ProbeState], tuple[bool, Any]]] = {
    "service-success-rate": _p_service,
    "deployment-ready": _p_deployment,
    "statefulset-ready": _p_statefulset,
    "statefulset-data-intact": _p_data_intact,
    "pod-count": _p_pod_count,
    "nodes-ready": _p_nodes_ready,
    "api-available": _p_api,
    "service-capacity": _p_capacity,
    "rollout-complete": _p_rollout,
    "object-field": _p_field,
}


# ------------------------------------------------------------------ user actions

def _resolve_pods(run: "DrillRun", args: dict) -> list[str]:
    """A pod name, or every pod matching ``selector`` on ``node`` (what `kubectl get pods -o wide` finds)."""
    if args.get("name"):
        return [args["name"]]
    selector = LabelSelector.parse(args.get("selector") or "")
    node = args.get("node")
    out = [p["metadata"]["name"] for p in run.cluster.store.list("pods", args.get("namespace", "default"), selector)
           if not node or spec_of(p).get("nodeName") == node]
    if not out:
        raise NotFound(f"no pods match {args.get('selector', '')!r}" + (f" on node {node}" if node else ""))
    return out


def _drill_args(action: Action, args: dict) -> dict:
    """The arguments of ``action`` from a drill's: drill names, and ``namespace`` defaulting to default."""
    out = {}
    for param in action.params:
        key = param.drill_name or param.name
        if key in args:
            out[param.name] = args[key]
        elif param.name == "namespace":
            out[param.name] = "default"
        elif param.required:
            raise TypeError(f"{action.drill}() missing required argument: {key!r}")
    return out


def _names(objects: list[dict]) -> list[str]:
    return [o["metadata"]["name"] for o in objects]


# How a drill's action log shows a result, when not as the object itself.
_RESULTS: dict[str, Callable[[Any], Any]] = {
    "apply": _names,
    "create": _names,
    "delete": lambda obj: obj["metadata"]["name"],
    "take_snapshot": lambda snap: {"revision": snap["revision"], "objects": snap["count"]},
}


def _do(run: "DrillRun", action: Action, **args: Any) -> Any:
    """Do one drill action on the run's cluster (a pod action may name its pods by selector and node)."""
    if action.method == "delete_pod":
        return [action.call(run.cluster, _drill_args(action, dict(args, name=name)))["metadata"]["name"]
                for name in _resolve_pods(run, args)]
    result = action.call(run.cluster, _drill_args(action, args))
    shape = _RESULTS.get(action.drill)
    return shape(result) if shape is not None else result


# A drill's own steps are the instructor's (the cluster admin), told apart from a user's by the agent.
DRILL = audit.Identity(audit.ADMIN[0], audit.ADMIN[1], "kubedrill-drill")

# Drill files name the actions of the engine's one vocabulary (engine.cluster.ACTIONS) by their drill names.
ACTIONS: dict[str, Action] = {a.drill: a for a in CLUSTER_ACTIONS if a.drill}


# ------------------------------------------------------------------ the runner

class DrillRun:
    """One play of a drill on a fresh cluster, advanced in simulated seconds."""

    def __init__(self, drill: Drill, *, cluster_factory: Callable[..., Any] | None = None):
        self.drill = drill
        self._factory = cluster_factory
        self.cluster: Any = None
        self.t0 = 0.0
        self.t = 0
        self.started = False
        self.actions: list[dict] = []
        self.faults: list[dict] = []
        self.hints_revealed: list[dict] = []
        self.series: list[dict] = []
        self.load: dict[str, float] = {}
        self.steady_at_start: dict[str, bool] = {}
        self.finished_early_at: int | None = None    # drill time when the student chose to finish now
        self._next_entry = 0
        self.probes = [ProbeState(p, int(drill.passing.get("tolerance", DEFAULT_TOLERANCE))) for p in drill.probes]

    # -------------------------------------------------------------- lifecycle
    def start(self) -> "DrillRun":
        """Build the cluster, apply the manifests, let it settle (warmup), check the hypothesis: t = 0."""
        if self.started:
            return self
        if self._factory is not None:
            self.cluster = self._factory(seed=self.drill.seed, profile=self.drill.profile, nodes=self.drill.nodes)
        else:
            self.cluster = Cluster(seed=self.drill.seed, profile=self.drill.profile, nodes=self.drill.nodes,
                                   empty=True)
        if self.drill.manifests:
            self.cluster.apply(self.drill.manifests)
        self.cluster.run_for(self.drill.warmup)
        self.t0 = self.cluster.now
        self.started = True
        for state in self.probes:
            ok, _ = evaluate_probe(self, state)
            self.steady_at_start[state.name] = ok
        self._fire_timeline()
        return self

    @property
    def finished(self) -> bool:
        return self.started and self.t >= self.drill.time_limit

    def advance(self, seconds: float = 1) -> None:
        """Play ``seconds`` of drill time: timeline entries, the cluster, then one probe sample per second."""
        if not self.started:
            self.start()
        steps = int(round(seconds))
        for _ in range(steps):
            if self.finished:
                return
            self.t += 1
            self.cluster.run_until(self.t0 + self.t)
            self._sample()
            self._fire_timeline()

    def run(self, script: list[dict] | None = None) -> dict:
        """Play to the end, doing each scripted action at its time; return the report."""
        if not self.started:
            self.start()
        for step in sorted(script or [], key=lambda s: s["at"]):
            if step["at"] > self.t:
                self.advance(step["at"] - self.t)
            self.act(step["action"], **(step.get("args") or {}))
        while not self.finished:
            self.advance(1)
        return self.report()

    def finish_now(self) -> None:
        """Play the remaining time at once (the student finished early); the report keeps when they did.

        The rest of the timeline still plays, because the verdict depends on it (a later fault, a
        recovery still under way), but it is no longer the student's time: ``played_seconds`` stops here.
        """
        if not self.started:
            self.start()
        if self.finished:
            return
        self.finished_early_at = self.t
        self.advance(self.drill.time_limit - self.t)

    def _fire_timeline(self) -> None:
        timeline = self.drill.timeline
        while self._next_entry < len(timeline) and timeline[self._next_entry]["at"] <= self.t:
            entry = timeline[self._next_entry]
            self._next_entry += 1
            record: dict = {"at": self.t, "hidden": entry["hidden"],
                            "fault": bool(entry.get("fault", "load" not in entry))}
            try:
                if "inject" in entry:
                    obj = entry["inject"]
                    record.update(kind=obj.get("kind"), name=obj["metadata"]["name"],
                                  action=spec_of(obj).get("action"))
                    # The instructor's injection bypasses a downed API server (it is the instructor).
                    with self.cluster.api.audit.acting(DRILL):
                        if self.cluster.api.available:
                            self.cluster.api.create(obj)
                        else:
                            self.cluster.api.create_internal(obj)
                elif "action" in entry:
                    record.update(kind="Action", name=entry["action"], action=entry["action"])
                    with self.cluster.api.audit.acting(DRILL):
                        _do(self, ACTIONS[entry["action"]], **(entry.get("args") or {}))
                elif "load" in entry:
                    load = entry["load"]
                    key = f"{load.get('namespace', 'default')}/{load['service']}"
                    self.load[key] = float(load["rps"])
                    record.update(kind="Load", name=key, action=f"{load['rps']} rps")
                    try:
                        self.cluster.network.set_load(key, float(load["rps"]))
                    except (StatusError, KeyError, TypeError):
                        pass
                record["ok"] = True
            except StatusError as err:
                record.update(ok=False, error=err.message)
            self.cluster.flush()
            self.faults.append(record)

    def _sample(self) -> None:
        # "probes": passing in the chaos-tool sense (tolerance); "ok": this very sample's check.
        row: dict = {"t": self.t, "probes": {}, "values": {}, "ok": {}}
        for state in self.probes:
            if self.t < state.after:
                continue
            ok, value = evaluate_probe(self, state)
            state.record(self.t, ok, value)
            row["probes"][state.name] = not state.failing
            row["values"][state.name] = value
            row["ok"][state.name] = ok
        self.series.append(row)

    # -------------------------------------------------------------- the student
    def act(self, action: str, **args: Any) -> dict:
        """Do a user action now (recorded with its drill time); returns the record (ok or error)."""
        if not self.started:
            self.start()
        record: dict = {"at": self.t, "action": action, "args": args}
        known = ACTIONS.get(action)
        if known is None:
            record.update(ok=False, error=f'unknown action "{action}": supported values: '
                          + ", ".join(f'"{a}"' for a in sorted(ACTIONS)))
        else:
            try:
                result = _do(self, known, **args)
                record.update(ok=True, result=_summary(result))
            except StatusError as err:
                record.update(ok=False, error=err.message, code=err.code)
            except TypeError as err:
                record.update(ok=False, error=f"bad arguments for {action}: {err}")
        self.cluster.flush()
        self.actions.append(record)
        return record

    def reveal_hint(self) -> str | None:
        """Reveal the next hint (None when all are shown); revealing is recorded in the report."""
        index = len(self.hints_revealed)
        if index >= len(self.drill.hints):
            return None
        text = self.drill.hints[index]
        self.hints_revealed.append({"at": self.t, "hint": index, "text": text})
        return text

    def probe_status(self) -> list[dict]:
        """Live probe status for a dashboard: name, type, passing, last value, consecutive failures."""
        return [{"name": s.name, "type": s.spec["type"], "passing": not s.failing, "value": s.last_value,
                 "streak": s.streak, "everFailed": s.ever_failed} for s in self.probes]

    # -------------------------------------------------------------- report
    def report(self) -> dict:
        """The score sheet: verdict and why, time played, detection and recovery, downtime, actions."""
        drill = self.drill
        injected = [f["at"] for f in self.faults if f.get("ok") and f.get("fault", True)]
        first_fault = min(injected) if injected else 0
        windows = sorted((w[0], w[1]) for s in self.probes for w in s.windows)
        first_failure_at = windows[0][0] if windows else None
        detected_at, detection = self._detection(first_failure_at)
        recovered_at = self._recovered_at()
        failing = [s.name for s in self.probes if s.failing]
        never = [s.name for s in self.probes if s.spec.get("must_hold") and s.ever_failed]
        reasons = []
        if failing:
            reasons.append("still failing at the end: " + ", ".join(failing))
        if never:
            reasons.append("must never fail, but did: " + ", ".join(never))
        within = drill.passing.get("recover_within")
        if within is not None and first_failure_at is not None and not failing:
            if recovered_at is None or recovered_at - first_fault > float(within):
                reasons.append(f"recovered after {recovered_at - first_fault:g} s, more than the {within} s allowed"
                               if recovered_at is not None else "did not recover")
        verdict = "passed" if not reasons and self.finished else ("failed" if reasons else "running")
        if verdict == "passed":
            reason = ("every probe held" if first_failure_at is None
                      else f"every probe passing again {recovered_at - first_fault:g} s after the first fault")
        else:
            reason = "; ".join(reasons) if reasons else "the drill is still running"
        played = self.finished_early_at if self.finished_early_at is not None else self.t
        if self.finished_early_at is not None:
            played_note = (f"finished early: played {played} of {drill.time_limit} s; the remaining "
                           f"{drill.time_limit - played} s were played at once, without the student, to score it")
        else:
            played_note = "played to the end" if self.finished else f"still running at {self.t} s"
        per_probe = {s.name: _uptime([ok for _, ok, _ in s.samples]) for s in self.probes}
        services = {}
        for state in self.probes:
            if state.spec["type"] != "service-success-rate":
                continue
            rates = [float(v) for _, _, v in state.samples]
            services[f"{state.spec.get('namespace', 'default')}/{state.spec['service']}"] = dict(
                per_probe[state.name], probe=state.name, min=state.spec.get("min", 0.99),
                mean_success_rate=round(sum(rates) / len(rates), 4) if rates else None)
        steady = _uptime([all(row["ok"].values()) for row in self.series if row.get("ok")])
        return {
            "drill": drill.id, "title": drill.title, "seed": drill.seed, "profile": drill.profile,
            "verdict": verdict, "reason": reason, "elapsed": self.t, "time_limit": drill.time_limit,
            "played_seconds": played, "finished_early": self.finished_early_at is not None,
            "played_note": played_note,
            "steady_state_at_start": self.steady_at_start,
            "first_fault_at": first_fault if injected else None,
            "first_failure_at": first_failure_at,
            "detected_at": detected_at, "detection": detection,
            "time_to_detect": (detected_at - first_failure_at) if detected_at is not None else None,
            "recovered_at": recovered_at,
            "time_to_recover": (recovered_at - first_fault) if recovered_at is not None else None,
            "downtime_seconds": steady["downtime_seconds"], "availability": steady["availability"],
            "samples": steady["samples"],
            "services": services,
            "probes": [dict(per_probe[s.name], name=s.name, type=s.spec["type"], min=s.spec.get("min"),
                            passing=not s.failing, everFailed=s.ever_failed, last=s.last_value,
                            failures=[{"from": a, "to": b} for a, b in s.windows])
                       for s in self.probes],
            "definitions": dict(DEFINITIONS),
            "faults": self.faults, "actions": self.actions, "hints": self.hints_revealed,
            "explanation": drill.explanation if self.finished else "",
            "series": self.series,
        }

    def _detection(self, first_failure_at: float | None) -> tuple[float | None, str]:
        """When the student first responded to a failing probe, and in words why (or why not)."""
        if first_failure_at is None:
            return None, "no probe failed: there was nothing to detect"
        # Every recorded action counts, whatever its type or whether it worked: it is a response.
        after = [a["at"] for a in self.actions if a["at"] >= first_failure_at]
        if after:
            return min(after), (f"first action at {min(after)} s, after the first probe failed at "
                                f"{first_failure_at} s")
        if self.actions:
            return None, (f"not detected: every action came before the first probe failed at "
                          f"{first_failure_at} s")
        return None, f"not detected: no action after the first probe failed at {first_failure_at} s"

    def _recovered_at(self) -> float | None:
        """When every probe last turned passing again after a failure (None if none failed or still failing)."""
        if any(s.failing for s in self.probes):
            return None
        ends = [w[1] for s in self.probes for w in s.windows if w[1] is not None]
        return max(ends) if ends else None


def _uptime(checks: list[bool]) -> dict:
    """Downtime and availability of one series of per-second checks (see ``DEFINITIONS``)."""
    down = sum(1 for ok in checks if not ok)
    return {"samples": len(checks), "downtime_seconds": down,
            "availability": round((len(checks) - down) / len(checks), 4) if checks else None}


def _summary(result: Any) -> Any:
    if isinstance(result, dict) and "metadata" in result:
        return {"kind": result.get("kind"), "name": result["metadata"].get("name")}
    return result
