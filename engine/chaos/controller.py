"""The chaos controller: watches the chaos objects, injects their faults, reverts them, reports.

Reads like sample-controller: store events only enqueue keys; ``sync(key)`` compares the object
with what this controller has injected (its experiments, kept in memory and mirrored in
``status``) and acts. A new experiment selects its targets (seeded), applies the fault to each
through ``faults.apply_fault``, records per-target records in ``status.experiment.containerRecords``
(Chaos Mesh's shape: id, phase, injected/recovered counts and times, operation events), and an Event
with a learner explanation. ``spec.duration`` arms a clock timer; reaching it, or deleting the object,
reverts what can be reverted. A ``Schedule`` creates a child experiment from its template on every
``@every`` tick (or, with ``dryRun``, only records what it would have hit).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..client.workqueue import Controller
from ..clock import Handle, parse_rfc3339, rfc3339
from ..errors import StatusError
from ..etcd.store import Event
from ..objects import clone, set_condition, spec_of, status_of
from .faults import Fault, apply_fault, component_targets, fault_for, target_id
from .kinds import API_VERSION, KINDS, PLURALS, TEMPLATE_KEYS, parse_duration, parse_every
from .plane import ControlPlane
from .selection import choose, node_candidates, pod_candidates

COMPONENT = "chaos-controller-manager"
SCHEDULE_LABEL = "chaos.kubedrill.io/schedule"
DRY_RUN_HISTORY = 10
_TARGET_FIELDS = ("kind", "namespace", "name", "uid", "node", "holds")
_NOUN = {"Pod": "pod", "Node": "node", "Component": "component", "Service": "Service", "Store": "etcd"}

Key = tuple[str, str, str]


@dataclass
class Experiment:
    """What this controller did for one fault object (the in-memory side of its status)."""

    key: Key
    uid: str
    kind: str
    name: str
    fault: Fault
    spec: dict
    status: dict
    timer: Handle | None = None
    finished: bool = False


@dataclass
class ScheduleState:
    uid: str
    interval: float
    timer: Handle | None = None
    children: list[str] = field(default_factory=list)


class ChaosController(Controller):
    name = COMPONENT

    def __init__(self, plane: ControlPlane):
        super().__init__(plane.api, plane.clock)
        self.plane = plane
        self.experiments: dict[Key, Experiment] = {}
        self.schedules: dict[Key, ScheduleState] = {}
        self.store.subscribe(self.on_event)

    # ------------------------------------------------------------------ informer
    def on_event(self, ev: Event) -> None:
        if ev.resource in PLURALS:
            self.queue.add(ev.key)

    def resync(self) -> None:
        """Queue every chaos object (after a restart or an etcd restore)."""
        for plural in PLURALS:
            for obj in self.store.list(plural):
                self.queue.add((plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))

    # ------------------------------------------------------------------ sync
    def sync(self, key: Key) -> None:
        obj = self.store.find(*key)
        if key[0] == "schedules":
            self._sync_schedule(key, obj)
            return
        exp = self.experiments.get(key)
        if exp is not None and (obj is None or obj["metadata"].get("uid") != exp.uid):
            self._recover(exp, deleted=True)
            del self.experiments[key]
            exp = None
        if obj is None:
            return
        if exp is not None:
            if obj.get("status") != exp.status:
                self._write_status(exp)  # e.g. an etcd restore brought back an older status
            return
        if status_of(obj).get("experiment"):
            self._adopt(key, obj)
        else:
            self._inject(key, obj)

    # ------------------------------------------------------------------ selection
    def select(self, kind: str, spec: dict) -> list[dict]:
        """Return the targets ``spec`` of ``kind`` hits now (draws from the cluster's seeded rng)."""
        rng = self.clock.rng
        if kind == "PodChaos":
            pods = choose(pod_candidates(self.store, spec), spec.get("mode", "one"), spec.get("value"), rng)
            return [{"kind": "Pod", "namespace": p["metadata"]["namespace"], "name": p["metadata"]["name"],
                     "uid": p["metadata"].get("uid", ""), "node": p["spec"].get("nodeName", "")} for p in pods]
        if kind == "NodeChaos":
            nodes = choose(node_candidates(self.store, spec), spec.get("mode", "one"), spec.get("value"), rng)
            return [{"kind": "Node", "name": n["metadata"]["name"]} for n in nodes]
        if kind == "ControlPlaneChaos":
            return component_targets(self.plane, spec)
        if kind == "NetworkChaos":
            return [{"kind": "Service", "namespace": spec["_namespace"], "name": spec["service"]}]
        raise ValueError(kind)

    # ------------------------------------------------------------------ inject
    def _inject(self, key: Key, obj: dict) -> None:
        kind, meta = obj["kind"], obj["metadata"]
        spec = dict(spec_of(obj), _namespace=meta.get("namespace", ""))
        fault = fault_for(kind, spec)
        now = rfc3339(self.clock.now)
        status: dict = {"experiment": {"desiredPhase": "Run", "phase": "Running", "startTime": now,
                                       "containerRecords": []}}
        exp = Experiment(key, meta.get("uid", ""), kind, meta["name"], fault, spec, status)
        self.experiments[key] = exp
        targets = self.select(kind, spec)
        if not targets:
            self._select_nothing(exp, now)
            return
        set_condition(status, "Selected", "True", now=now)
        with self.api.audit.on_behalf_of(f"chaos:{exp.name}"):   # the pods it deletes, the nodes it powers off
            hit, failed = self._apply_all(exp, targets, now)
        all_in = not failed
        set_condition(status, "AllInjected", "True" if all_in else "False",
                      reason="" if all_in else "InjectionFailed", message="; ".join(failed), now=now)
        if hit:
            ids = ", ".join(hit)
            self._event(exp, "Applied", f"{kind} {exp.name} injected: {fault.verb} {ids}", "Normal",
                        fault.explanation.format(target=ids, kind=kind, name=exp.name))
        for problem in failed:
            self._event(exp, "FailedApply", f"{kind} {exp.name} failed to inject: {problem}", "Warning",
                        f"the fault could not be injected into {problem.split(':')[0]}")
        duration = spec.get("duration")
        if fault.revert is None or not hit:
            # One-shot (a killed pod stays killed) or nothing hit: the experiment is over at once.
            set_condition(status, "AllRecovered", "True", reason="NothingToRecover", now=now)
            status["experiment"].update(desiredPhase="Stop", phase="Finished" if hit else "Failed", endTime=now)
            exp.finished = True
        else:
            set_condition(status, "AllRecovered", "False", now=now)
            if duration:
                self._arm(exp, parse_duration(duration))
        self._write_status(exp)

    def _select_nothing(self, exp: Experiment, now: str) -> None:
        """End an experiment whose selector matched nothing: Failed, with a warning Event."""
        status = exp.status
        message = f"{exp.kind} {exp.name}: no {_NOUN[exp.fault.target]} is selected"
        set_condition(status, "Selected", "False", reason="NoTargets", message=message, now=now)
        status["experiment"].update(desiredPhase="Stop", phase="Failed", endTime=now)
        exp.finished = True
        self._write_status(exp)
        self._event(exp, "FailedApply", message, "Warning",
                    f"nothing matched the selector of {exp.kind} {exp.name}, so no fault was injected")

    def _apply_all(self, exp: Experiment, targets: list[dict], now: str) -> tuple[list[str], list[str]]:
        """Inject the fault into each target, recording each; return (ids hit, problems)."""
        records = exp.status["experiment"]["containerRecords"]
        hit, failed = [], []
        for target in targets:
            record = {k: target[k] for k in _TARGET_FIELDS if target.get(k) not in (None, "")}
            record.update(id=target_id(target), phase="Not Injected", injectedCount=0, recoveredCount=0, events=[])
            records.append(record)
            try:
                note = apply_fault(self.plane, exp.fault, target, exp.spec)
            except Exception as err:  # a failing handler fails this target only, never the controller
                message = self._fault_error(exp, err)
                record["phase"] = "Failed"
                record["events"].append({"operation": "Apply", "type": "Failed", "timestamp": now,
                                         "message": message})
                failed.append(f"{record['id']}: {message}")
                continue
            record.update(phase="Injected", injectedAt=now, injectedCount=1)
            record["events"].append({"operation": "Apply", "type": "Succeeded", "timestamp": now,
                                     **({"message": note} if note else {})})
            hit.append(record["id"] + (f" ({note})" if note else ""))
        return hit, failed

    def _arm(self, exp: Experiment, delay: float) -> None:
        key, uid = exp.key, exp.uid
        exp.timer = self.clock.schedule(max(0.0, delay), lambda: self._expire(key, uid), COMPONENT)

    def _expire(self, key: Key, uid: str) -> None:
        # Called from a clock timer, not the queue: a fault must end on time even while a stopped
        # control plane (or this fault itself) holds the queues.
        exp = self.experiments.get(key)
        if exp is None or exp.uid != uid or exp.finished:
            return
        exp.timer = None
        self._recover(exp, deleted=False)
        self._write_status(exp)

    # ------------------------------------------------------------------ recover
    def _recover(self, exp: Experiment, *, deleted: bool) -> None:
        if exp.timer is not None:
            exp.timer.cancel()
            exp.timer = None
        if exp.finished:
            return
        now = rfc3339(self.clock.now)
        status = exp.status
        recovered, failed = [], []
        for record in status["experiment"]["containerRecords"]:
            if record.get("phase") != "Injected":
                continue
            target = {k: record[k] for k in _TARGET_FIELDS if k in record}
            try:
                note = apply_fault(self.plane, exp.fault, target, exp.spec, revert=True)
            except Exception as err:  # as in _apply_all: this target stays un-recovered, the rest go on
                message = self._fault_error(exp, err)
                record["events"].append({"operation": "Recover", "type": "Failed", "timestamp": now,
                                         "message": message})
                failed.append(f"{record['id']}: {message}")
                continue
            record.update(phase="Recovered", recoveredAt=now, recoveredCount=record.get("recoveredCount", 0) + 1)
            record["events"].append({"operation": "Recover", "type": "Succeeded", "timestamp": now,
                                     **({"message": note} if note else {})})
            recovered.append(record["id"])
        set_condition(status, "AllRecovered", "False" if failed else "True",
                      reason="RecoverFailed" if failed else "", message="; ".join(failed), now=now)
        status["experiment"].update(desiredPhase="Stop", phase="Finished", endTime=now)
        exp.finished = True
        why = "was deleted" if deleted else f"reached its duration ({exp.spec.get('duration')})"
        if recovered:
            ids = ", ".join(recovered)
            self._event(exp, "Recovered", f"{exp.kind} {exp.name} recovered: {exp.fault.revert_verb} {ids}",
                        "Normal", f"{exp.kind} {exp.name} {why}; "
                        + exp.fault.revert_explanation.format(target=ids, kind=exp.kind, name=exp.name))
        for problem in failed:
            self._event(exp, "FailedRecover", f"{exp.kind} {exp.name} failed to recover: {problem}", "Warning",
                        "the fault could not be reverted on this target; it may need a human")

    def _fault_error(self, exp: Experiment, err: Exception) -> str:
        """The message a failed fault handler leaves in the record; a non-API error is also counted."""
        if isinstance(err, StatusError):
            return err.message
        self.clock.failures.record(COMPONENT, err, exp.key)
        return f"{type(err).__name__}: {err}"

    # ------------------------------------------------------------------ adopt (restart / restore)
    def _adopt(self, key: Key, obj: dict) -> None:
        """Rebuild an experiment from its status (after a restart, or an etcd restore brought it back)."""
        kind, meta = obj["kind"], obj["metadata"]
        spec = dict(spec_of(obj), _namespace=meta.get("namespace", ""))
        status = clone(obj["status"])
        exp = Experiment(key, meta.get("uid", ""), kind, meta["name"], fault_for(kind, spec), spec, status)
        self.experiments[key] = exp
        experiment = status["experiment"]
        if experiment.get("phase") != "Running":
            exp.finished = True
            return
        for record in experiment.get("containerRecords") or ():
            # In-memory state (component holds, traffic faults) did not survive: take it again.
            if record.get("phase") == "Injected" and record.get("kind") in ("Component", "Service"):
                target = {k: record[k] for k in _TARGET_FIELDS if k in record}
                try:
                    apply_fault(self.plane, exp.fault, target, spec)
                except Exception as err:  # the record keeps saying Injected; the duration still ends it
                    self._fault_error(exp, err)
        if spec.get("duration"):
            ends = parse_rfc3339(experiment["startTime"]) + parse_duration(spec["duration"])
            self._arm(exp, ends - self.clock.now)

    # ------------------------------------------------------------------ schedules
    def _sync_schedule(self, key: Key, obj: dict | None) -> None:
        state = self.schedules.get(key)
        if state is not None and (obj is None or obj["metadata"].get("uid") != state.uid):
            if state.timer is not None:
                state.timer.cancel()
            del self.schedules[key]
            state = None
        if obj is None:
            return
        interval = parse_every(obj["spec"]["schedule"])
        if state is not None and state.interval == interval:
            return
        if state is not None and state.timer is not None:
            state.timer.cancel()
        meta = obj["metadata"]
        last = status_of(obj).get("lastScheduleTime") or meta.get("creationTimestamp")
        start = parse_rfc3339(last) if last else self.clock.now
        state = ScheduleState(meta.get("uid", ""), interval)
        self.schedules[key] = state
        uid = state.uid
        state.timer = self.clock.schedule_at(max(self.clock.now, start + interval), lambda: self._fire(key, uid),
                                             COMPONENT)

    def _fire(self, key: Key, uid: str) -> None:
        """One tick of a Schedule: re-arm, then dry-run, skip (Forbid) or spawn a child experiment."""
        state = self.schedules.get(key)
        if state is None or state.uid != uid:
            return
        state.timer = self.clock.schedule(state.interval, lambda: self._fire(key, uid), COMPONENT)
        obj = self.store.find(*key)
        if obj is None or obj["metadata"].get("uid") != uid:
            return
        spec = obj["spec"]
        status = clone(status_of(obj))
        status["lastScheduleTime"] = rfc3339(self.clock.now)
        status["runs"] = int(status.get("runs", 0)) + 1
        active = [c for c in self._children(obj) if _running(c)]
        if spec.get("dryRun"):
            self._dry_run(obj, status)
        elif active and spec.get("concurrencyPolicy", "Forbid") == "Forbid":
            self._forbid(obj, status, active)
        else:
            self._spawn(obj, status)

    def _dry_run(self, sched: dict, status: dict) -> None:
        """Record what the schedule's template would hit now, injecting nothing."""
        spec, meta = sched["spec"], sched["metadata"]
        kind = spec["type"]
        template = clone(spec[TEMPLATE_KEYS[kind]])
        fault = fault_for(kind, template)
        targets = self.select(kind, dict(template, _namespace=meta.get("namespace", "")))
        ids = [target_id(t) for t in targets]
        record = {"time": status["lastScheduleTime"], "action": fault.action, "wouldHit": ids}
        status["dryRunRecords"] = ((status.get("dryRunRecords") or []) + [record])[-DRY_RUN_HISTORY:]
        self._write(sched, status)
        what = ", ".join(ids) if ids else f"nothing (no {_NOUN[fault.target]} is selected)"
        self.api.record_event(sched, "DryRun", f"Schedule {meta['name']} (dry run) would have {fault.verb} {what}",
                              component=COMPONENT,
                              explanation="dry run: the schedule picks targets exactly as it would, but injects "
                                          "nothing — check what a chaos schedule would hit before arming it")

    def _forbid(self, sched: dict, status: dict, active: list[dict]) -> None:
        """Skip a run because the previous experiment still runs (concurrencyPolicy Forbid)."""
        meta = sched["metadata"]
        status["active"] = [_ref(c) for c in active]
        self._write(sched, status)
        self.api.record_event(sched, "Forbid", f"Schedule {meta['name']} skipped a run: {sched['spec']['type']} "
                              f"{active[0]['metadata']['name']} is still running", type="Warning",
                              component=COMPONENT,
                              explanation="concurrencyPolicy Forbid: a new run waits until the previous "
                                          "experiment has finished")

    def _spawn(self, sched: dict, status: dict) -> None:
        """Create the next child experiment from the template, inject it at once, trim the history."""
        spec, meta = sched["spec"], sched["metadata"]
        kind, runs = spec["type"], status["runs"]
        child = {
            "apiVersion": API_VERSION, "kind": kind,
            "metadata": {"name": f"{meta['name']}-{runs}", "namespace": meta.get("namespace", ""),
                         "labels": {SCHEDULE_LABEL: meta["name"]},
                         "ownerReferences": [{"apiVersion": API_VERSION, "kind": "Schedule", "name": meta["name"],
                                              "uid": meta.get("uid", ""), "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": clone(spec[TEMPLATE_KEYS[kind]]),
        }
        try:
            created = self.api.create_internal(child)
        except StatusError as err:
            self._write(sched, status)
            self.api.record_event(sched, "FailedSpawn", f"Schedule {meta['name']} failed to create {kind}: "
                                  f"{err.message}", type="Warning", component=COMPONENT)
            return
        # The new child is injected synchronously so ``active`` and history see it.
        self.sync((obj_plural(kind), meta.get("namespace", ""), created["metadata"]["name"]))
        self._trim_history(self._children(sched), int(spec.get("historyLimit", 1)))
        status["active"] = [_ref(c) for c in self._children(sched) if _running(c)]
        self._write(sched, status)
        self.api.record_event(sched, "Spawned", f"Schedule {meta['name']} created {kind} {created['metadata']['name']}",
                              component=COMPONENT,
                              explanation=f"every {spec['schedule'][len('@every '):]} this schedule creates a new "
                                          f"{kind} from its template (run {runs})")

    def _children(self, schedule: dict) -> list[dict]:
        uid = schedule["metadata"].get("uid", "")
        kids = [c for c in self.store.owned_by(uid) if c.get("apiVersion") == API_VERSION]
        return sorted(kids, key=lambda c: (c["metadata"].get("creationTimestamp", ""),
                                           int(c["metadata"]["name"].rsplit("-", 1)[-1])
                                           if c["metadata"]["name"].rsplit("-", 1)[-1].isdigit() else 0))

    def _trim_history(self, children: list[dict], limit: int) -> None:
        excess = len(children) - limit
        for child in children:
            if excess <= 0:
                break
            if _running(child):
                continue
            meta = child["metadata"]
            self.api.delete_internal(obj_plural(child["kind"]), meta.get("namespace", ""), meta["name"],
                                     uid=meta.get("uid"))
            excess -= 1

    # ------------------------------------------------------------------ writes
    def _write_status(self, exp: Experiment) -> None:
        obj = self.store.find(*exp.key)
        if obj is None or obj["metadata"].get("uid") != exp.uid:
            return
        self._write(obj, clone(exp.status))

    def _write(self, obj: dict, status: dict) -> None:
        if obj.get("status") == status:
            return
        new = clone(obj)
        new["status"] = status
        self.api.update_status(new)

    def _event(self, exp: Experiment, reason: str, message: str, type: str, explanation: str) -> None:
        obj = self.store.find(*exp.key)
        involved = obj if obj is not None and obj["metadata"].get("uid") == exp.uid else {
            "apiVersion": API_VERSION, "kind": exp.kind,
            "metadata": {"name": exp.name, "namespace": exp.key[1], "uid": exp.uid}}
        self.api.record_event(involved, reason, message, type=type, component=COMPONENT, explanation=explanation)


def obj_plural(kind: str) -> str:
    return next(rt.plural for rt in KINDS if rt.kind == kind)


def _running(experiment: dict) -> bool:
    return status_of(experiment).get("experiment", {}).get("phase") == "Running"


def _ref(obj: dict) -> dict:
    meta = obj["metadata"]
    return {"apiVersion": obj.get("apiVersion", API_VERSION), "kind": obj["kind"], "name": meta["name"],
            "namespace": meta.get("namespace", ""), "uid": meta.get("uid", "")}

