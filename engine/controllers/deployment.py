"""Deployment controller, after ``pkg/controller/deployment`` (sync.go, rolling.go, recreate.go, progress.go).

A Deployment owns ReplicaSets named ``<deployment>-<pod-template-hash>``; it rolls from old to new
within ``maxSurge`` / ``maxUnavailable``, or recreates, scales proportionally mid-rollout, keeps
``revisionHistoryLimit`` old sets, and reports the Available and Progressing conditions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..client.workqueue import Controller
from ..clock import parse_rfc3339, rfc3339
from ..errors import AlreadyExists
from ..etcd.store import Event
from ..objects import (annotations_of, clone, controller_ref, is_terminating, meta_of, owner_controller, spec_of,
                       status_of)
from ..selectors import LabelSelector
from .controller_utils import adopt_object, compute_hash, min_ready_seconds, omit_zero

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def strip_template_hash(template: dict | None) -> dict:
    """Return a copy of ``template`` without the ``pod-template-hash`` label (what ``EqualIgnoreHash`` compares)."""
    t = clone(template or {})
    labels = meta_of(t).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return t


def resolve_fenceposts(max_surge, max_unavailable, replicas: int) -> tuple[int, int]:
    """maxSurge rounds up, maxUnavailable down; both zero → unavailable 1 (ResolveFenceposts)."""
    def scaled(v, round_up: bool) -> int:
        if isinstance(v, str) and v.endswith("%"):
            frac = int(v[:-1]) * replicas / 100
            return math.ceil(frac) if round_up else math.floor(frac)
        return int(v or 0)
    surge = scaled(max_surge if max_surge is not None else "25%", True)
    unavailable = scaled(max_unavailable if max_unavailable is not None else "25%", False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _replicas(obj: dict) -> int:
    return int(spec_of(obj).get("replicas", 0) or 0)


def _status(obj: dict, key: str) -> int:
    return int(status_of(obj).get(key, 0) or 0)


def _neg(stamp: str) -> tuple:
    """Sort key that orders RFC 3339 stamps newest first."""
    return tuple(-ord(ch) for ch in stamp)


def fenceposts(d: dict) -> tuple[int, int]:
    """Return the Deployment's (surge, unavailable) pod counts; Recreate allows neither."""
    strategy = spec_of(d).get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, 0
    ru = strategy.get("rollingUpdate") or {}
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), _replicas(d))


def rollout_complete(d: dict, new_rs: dict, old: list[dict]) -> bool:
    """Tell whether every wanted pod is new and available and no old pod is left (``DeploymentComplete``)."""
    want = _replicas(d)
    return (_replicas(new_rs) == want and _status(new_rs, "availableReplicas") == want
            and _status(new_rs, "replicas") == want
            and all(_status(rs, "replicas") == 0 and _replicas(rs) == 0 for rs in old))


def revision_of(obj: dict) -> int:
    """Return the ``deployment.kubernetes.io/revision`` of a ReplicaSet or Deployment (0 when unset or invalid)."""
    try:
        return int(annotations_of(obj).get(REVISION, 0))
    except ValueError:
        return 0


class DeploymentController(Controller):
    name = "deployment-controller"

    def __init__(self, api, clock):
        super().__init__(api, clock)
        self.store.subscribe(self.on_event)

    def on_event(self, ev: Event) -> None:
        meta = ev.obj["metadata"]
        ns = meta.get("namespace", "")
        if ev.resource == "deployments":
            self.queue.add((ns, meta["name"]))
        elif ev.resource == "replicasets":
            ref = owner_controller(ev.obj)
            if ref is not None and ref.get("kind") == "Deployment":
                self.queue.add((ns, ref["name"]))
            elif ref is None:
                for d in self.store.list("deployments", ns):
                    sel = spec_of(d).get("selector")
                    if sel is not None and LabelSelector.from_dict(sel).matches(meta.get("labels")):
                        self.queue.add((ns, d["metadata"]["name"]))
        elif ev.resource == "pods" and ev.type == "DELETED":
            # Recreate waits for old pods to be gone.
            ref = owner_controller(ev.obj)
            if ref is not None and ref.get("kind") == "ReplicaSet":
                rs = self.store.find("replicasets", ns, ref["name"])
                dref = owner_controller(rs) if rs is not None else None
                if dref is not None and dref.get("kind") == "Deployment":
                    self.queue.add((ns, dref["name"]))

    def resync(self) -> None:
        for d in self.store.list("deployments"):
            self.queue.add((d["metadata"].get("namespace", ""), d["metadata"]["name"]))

    # ------------------------------------------------------------------ sync
    def sync(self, key) -> None:
        ns, name = key
        d = self.store.find("deployments", ns, name)
        if d is None:
            return
        rs_list = self.claim_replicasets(d)
        if d["metadata"].get("deletionTimestamp"):
            self.sync_status(d, rs_list, None)
            return
        spec = spec_of(d)
        new_rs, old = self.find_new_and_old(d, rs_list)
        if spec.get("paused"):
            self.sync_scale(d, new_rs, old)
            self.sync_status(d, self.claim_replicasets(d), new_rs, paused=True)
            return
        if self.is_scaling_event(d, new_rs, old):
            self.sync_scale(d, new_rs, old)
            d = self.store.find("deployments", ns, name) or d
            new_rs, old = self.find_new_and_old(d, self.claim_replicasets(d))
            self.sync_status(d, self.claim_replicasets(d), new_rs)
            return
        strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
        if strategy == "Recreate":
            new_rs = self.rollout_recreate(d, new_rs, old)
        else:
            new_rs = self.rollout_rolling(d, new_rs, old)
        rs_list = self.claim_replicasets(d)
        new_rs, old = self.find_new_and_old(d, rs_list)
        if new_rs is not None and rollout_complete(d, new_rs, old):
            self.cleanup(d, old)
        self.sync_status(d, self.claim_replicasets(d), new_rs)

    def claim_replicasets(self, d: dict) -> list[dict]:
        meta = d["metadata"]
        uid, ns = meta["uid"], meta.get("namespace", "")
        owned = [rs for rs in self.store.owned_by(uid, "replicasets")
                 if (owner_controller(rs) or {}).get("uid") == uid]
        sel = spec_of(d).get("selector")
        if sel is not None and not meta.get("deletionTimestamp"):
            selector = LabelSelector.from_dict(sel)
            for rs in self.store.list("replicasets", ns, selector):
                if owner_controller(rs) is None and not is_terminating(rs):
                    adopted = adopt_object(self.api, d, rs)
                    if adopted is not None:
                        owned.append(adopted)
        return sorted(owned, key=lambda r: (r["metadata"]["creationTimestamp"], r["metadata"]["name"]))

    def find_new_and_old(self, d: dict, rs_list: list[dict]) -> tuple[dict | None, list[dict]]:
        want = strip_template_hash(d["spec"].get("template") or {})
        new_rs = None
        for rs in rs_list:  # oldest first, like FindNewReplicaSet
            if strip_template_hash(spec_of(rs).get("template") or {}) == want:
                new_rs = rs
                break
        old = [rs for rs in rs_list if new_rs is None or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        return new_rs, old

    # ------------------------------------------------------------------ new replica set
    def get_or_create_new_rs(self, d: dict, new_rs: dict | None, old: list[dict], replicas: int) -> dict:
        max_old = max((revision_of(rs) for rs in old), default=0)
        revision = max_old + 1
        surge, _ = fenceposts(d)
        if new_rs is not None:
            annotations = dict(annotations_of(new_rs))
            current = revision_of(new_rs)
            changed = False
            if current < revision and current <= max_old:
                if current:
                    history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
                    annotations[REVISION_HISTORY] = ",".join(history + [str(current)])
                annotations[REVISION] = str(revision)
                changed = True
            for k, v in self._rs_annotations(d, surge).items():
                if annotations.get(k) != v:
                    annotations[k] = v
                    changed = True
            if changed:
                upd = clone(new_rs)
                upd["metadata"]["annotations"] = annotations
                new_rs = self.api.update_internal(upd)
            self._set_deployment_revision(d, revision_of(new_rs))
            return new_rs
        collision = int(status_of(d).get("collisionCount", 0) or 0)
        template = clone(d["spec"]["template"])
        h = compute_hash(template, collision)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
        selector = clone(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = h
        meta = d["metadata"]
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                       if k not in (REVISION, "kubectl.kubernetes.io/last-applied-configuration")}
        annotations.update(self._rs_annotations(d, surge))
        annotations[REVISION] = str(revision)
        rs = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{meta['name']}-{h}", "namespace": meta.get("namespace", "default"),
                         "labels": dict(template["metadata"]["labels"]), "annotations": annotations,
                         "ownerReferences": [controller_ref(d)]},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready_seconds(d),
                     "selector": selector, "template": template},
        }
        try:
            made = self.api.create_internal(rs)
        except AlreadyExists:
            # A hash collision with a set that is not ours: bump collisionCount and retry (as upstream).
            upd = clone(d)
            upd.setdefault("status", {})["collisionCount"] = collision + 1
            self.api.update_status(upd)
            raise
        self.api.record_event(d, "ScalingReplicaSet",
                              f"Scaled up replica set {made['metadata']['name']} from 0 to {replicas}",
                              component=self.name,
                              explanation=f"Deployment {meta['name']} has a new pod template: created ReplicaSet "
                                          f"{made['metadata']['name']} (revision {revision}) with {replicas} replicas")
        self._set_deployment_revision(d, revision)
        return made

    def _rs_annotations(self, d: dict, surge: int) -> dict:
        out = {DESIRED: str(_replicas(d)), MAX_REPLICAS: str(_replicas(d) + surge)}
        cause = annotations_of(d).get(CHANGE_CAUSE)
        if cause:
            out[CHANGE_CAUSE] = cause
        return out

    def _set_deployment_revision(self, d: dict, revision: int) -> None:
        current = self.store.find("deployments", d["metadata"].get("namespace", ""), d["metadata"]["name"])
        if current is None or annotations_of(current).get(REVISION) == str(revision):
            return
        upd = clone(current)
        upd["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
        self.api.update_internal(upd)

    # ------------------------------------------------------------------ scaling
    def scale_rs(self, d: dict, rs: dict, replicas: int, explanation: str = "") -> dict:
        current = _replicas(rs)
        surge, _ = fenceposts(d)
        annotations = dict(annotations_of(rs))
        wanted = self._rs_annotations(d, surge)
        if current == replicas and all(annotations.get(k) == v for k, v in wanted.items()):
            return rs
        upd = clone(rs)
        upd["spec"]["replicas"] = replicas
        annotations.update(wanted)
        upd["metadata"]["annotations"] = annotations
        stored = self.api.update_internal(upd)
        if current != replicas:
            direction = "up" if replicas > current else "down"
            name = rs["metadata"]["name"]
            self.api.record_event(
                d, "ScalingReplicaSet", f"Scaled {direction} replica set {name} from {current} to {replicas}",
                component=self.name,
                explanation=explanation or f"Deployment {d['metadata']['name']} scaled ReplicaSet {name} "
                                           f"{direction} from {current} to {replicas}")
        return stored

    def is_scaling_event(self, d: dict, new_rs: dict | None, old: list[dict]) -> bool:
        active = [rs for rs in ([new_rs] if new_rs else []) + old if _replicas(rs) > 0]
        for rs in active:
            desired = annotations_of(rs).get(DESIRED)
            if desired is not None and desired != str(_replicas(d)):
                return True
        return False

    def sync_scale(self, d: dict, new_rs: dict | None, old: list[dict]) -> None:
        """Scale proportionally across active ReplicaSets (``scale`` in sync.go)."""
        want = _replicas(d)
        active = [rs for rs in ([new_rs] if new_rs else []) + old if _replicas(rs) > 0]
        if not active:
            if new_rs is not None:
                self.scale_rs(d, new_rs, want)
            return
        if len(active) == 1:
            self.scale_rs(d, active[0], want)
            return
        if new_rs is not None and rollout_complete(d, new_rs, old):
            self.scale_rs(d, new_rs, want)
            return
        surge, _ = fenceposts(d)
        allowed = want + surge
        to_add = allowed - sum(_replicas(rs) for rs in active)
        # Largest first; ties: newer first when growing, older first when shrinking (ReplicaSetsBySize*).
        newer_first = to_add > 0
        ordered = sorted(active, key=lambda r: (-_replicas(r), _neg(r["metadata"]["creationTimestamp"]) if newer_first
                                                else r["metadata"]["creationTimestamp"], r["metadata"]["name"]))
        sizes: dict[str, int] = {}
        added = 0
        for rs in ordered:
            proportion = 0
            if to_add != 0 and _replicas(rs) != 0 and to_add != added:
                fraction = self._fraction(d, rs, surge)
                allowed_left = to_add - added
                proportion = min(fraction, allowed_left) if to_add > 0 else max(fraction, allowed_left)
            sizes[rs["metadata"]["uid"]] = _replicas(rs) + proportion
            added += proportion
        if to_add != 0:
            first = ordered[0]["metadata"]["uid"]
            sizes[first] = max(0, sizes[first] + to_add - added)
        for rs in ordered:
            self.scale_rs(d, rs, max(0, sizes[rs["metadata"]["uid"]]),
                          explanation=f"Deployment {d['metadata']['name']} was resized to {want} mid-rollout: "
                                      f"its ReplicaSets are scaled in proportion to their size")

    def _fraction(self, d: dict, rs: dict, surge: int) -> int:
        """getReplicaSetFraction: this set's share of the new size, from its max-replicas annotation."""
        if _replicas(d) == 0:
            return -_replicas(rs)
        total = _replicas(d) + surge
        annotated = annotations_of(rs).get(MAX_REPLICAS)
        base = int(annotated) if annotated and annotated.isdigit() else _status(d, "replicas")
        if base <= 0:
            return 0
        return int(math.floor(_replicas(rs) * total / base + 0.5)) - _replicas(rs)

    # ------------------------------------------------------------------ strategies
    def rollout_rolling(self, d: dict, new_rs: dict | None, old: list[dict]) -> dict:
        want = _replicas(d)
        surge, unavailable = fenceposts(d)
        all_rs = ([new_rs] if new_rs else []) + old
        current = sum(_replicas(rs) for rs in all_rs)
        if new_rs is None:
            # NewRSNewReplicas for a brand-new set.
            initial = max(0, min(want + surge - current, want))
            new_rs = self.get_or_create_new_rs(d, None, old, initial)
        else:
            new_rs = self.get_or_create_new_rs(d, new_rs, old, _replicas(new_rs))
            self.reconcile_new(d, new_rs, old, surge)
            new_rs = self._fresh(new_rs)
        self.reconcile_old(d, new_rs, old, unavailable)
        return new_rs

    def reconcile_new(self, d: dict, new_rs: dict, old: list[dict], surge: int) -> None:
        want = _replicas(d)
        have = _replicas(new_rs)
        if have == want:
            return
        if have > want:
            self.scale_rs(d, new_rs, want)
            return
        current = have + sum(_replicas(rs) for rs in old)
        grow = min(want + surge - current, want - have)
        if grow > 0:
            self.scale_rs(d, new_rs, have + grow,
                          explanation=f"Rolling update of {d['metadata']['name']}: {have + grow} of {want} pods on "
                                      f"the new template (at most {want + surge} pods in total)")

    def _fresh(self, rs: dict) -> dict:
        """Return the stored version of ``rs`` (``rs`` itself if it is gone)."""
        return self.store.find("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"]) or rs

    def reconcile_old(self, d: dict, new_rs: dict, old: list[dict], unavailable: int) -> None:
        old = [self._fresh(rs) for rs in old]
        old_pods = sum(_replicas(rs) for rs in old)
        if old_pods == 0:
            return
        want = _replicas(d)
        all_pods = _replicas(new_rs) + old_pods
        min_available = want - unavailable
        new_unavailable = _replicas(new_rs) - _status(new_rs, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        # Unhealthy old pods go first (cleanupUnhealthyReplicas).
        cleaned = 0
        for rs in sorted(old, key=lambda r: r["metadata"]["creationTimestamp"]):
            if cleaned >= max_scaled_down:
                break
            have = _replicas(rs)
            unhealthy = have - _status(rs, "availableReplicas")
            if have == 0 or unhealthy <= 0:
                continue
            down = min(max_scaled_down - cleaned, unhealthy)
            self.scale_rs(d, rs, have - down)
            cleaned += down
        max_scaled_down -= cleaned
        old = [self._fresh(rs) for rs in old]
        total_available = _status(new_rs, "availableReplicas") + sum(_status(rs, "availableReplicas") for rs in old)
        total_down = min(total_available - min_available, max_scaled_down)
        for rs in sorted(old, key=lambda r: r["metadata"]["creationTimestamp"]):
            if total_down <= 0:
                break
            have = _replicas(rs)
            if have == 0:
                continue
            down = min(have, total_down)
            self.scale_rs(d, rs, have - down,
                          explanation=f"Rolling update of {d['metadata']['name']}: enough new pods are available, "
                                      f"scaling the old ReplicaSet {rs['metadata']['name']} down to {have - down}")
            total_down -= down

    def rollout_recreate(self, d: dict, new_rs: dict | None, old: list[dict]) -> dict | None:
        for rs in old:
            if _replicas(rs) > 0:
                self.scale_rs(d, rs, 0, explanation=f"Recreate: Deployment {d['metadata']['name']} stops every old "
                                                    f"pod before starting new ones")
        # Wait until no old pod exists (oldPodsRunning), then bring up the new set at full size.
        for rs in old:
            if self.store.owned_by(rs["metadata"]["uid"], "pods"):
                return new_rs
        if new_rs is None:
            return self.get_or_create_new_rs(d, None, old, _replicas(d))
        new_rs = self.get_or_create_new_rs(d, new_rs, old, _replicas(new_rs))
        if _replicas(new_rs) != _replicas(d):
            new_rs = self.scale_rs(d, new_rs, _replicas(d))
        return new_rs

    def cleanup(self, d: dict, old: list[dict]) -> None:
        limit = int(spec_of(d).get("revisionHistoryLimit", 10))
        dead = [rs for rs in old if _replicas(rs) == 0 and _status(rs, "replicas") == 0
                and not rs["metadata"].get("deletionTimestamp")]
        dead.sort(key=lambda r: (revision_of(r), r["metadata"]["creationTimestamp"]))
        for rs in dead[:max(0, len(dead) - limit)]:
            m = rs["metadata"]
            self.api.delete_internal("replicasets", m["namespace"], m["name"], uid=m["uid"])

    # ------------------------------------------------------------------ status
    def sync_status(self, d: dict, rs_list: list[dict], new_rs: dict | None, paused: bool = False) -> None:
        """``syncRolloutStatus``: write the calculated status when it changed, and act on the progress deadline."""
        d = self.store.find("deployments", d["metadata"].get("namespace", ""), d["metadata"]["name"]) or d
        deadline = spec_of(d).get("progressDeadlineSeconds", self.api.profile.progress_deadline_default)
        rollout = sync_rollout_status(d, rs_list, new_rs, self.clock.now, paused=paused, deadline=deadline)
        if rollout.timed_out:
            self.api.record_event(d, "ProgressDeadlineExceeded",
                                  f'Deployment "{d["metadata"]["name"]}" has timed out progressing.',
                                  type="Warning", component=self.name,
                                  explanation=f"Deployment {d['metadata']['name']} made no progress for "
                                              f"{deadline} s: the rollout is stuck (kubectl rollout status fails)")
        elif rollout.recheck_after is not None:
            self.queue.add_after((d["metadata"]["namespace"], d["metadata"]["name"]), rollout.recheck_after)
        if rollout.status != status_of(d):
            upd = clone(d)
            upd["status"] = rollout.status
            self.api.update_status(upd)


# ---------------------------------------------------------------------------------------------- status (pure)
_CONDITION_ORDER = {"Available": 0, "Progressing": 1}


@dataclass(frozen=True)
class RolloutStatus:
    """The status a Deployment sync writes, and what its progress deadline asks of the controller."""

    status: dict
    timed_out: bool = False              # Progressing just turned False (ProgressDeadlineExceeded)
    recheck_after: float | None = None   # seconds until the progress deadline passes


def calculate_status(d: dict, rs_list: list[dict], new_rs: dict | None, now: float) -> dict:
    """Return the Deployment's counters and Available condition over its ReplicaSets (``calculateStatus``; pure).

    Other conditions of the current status are kept as they are.
    """
    want = _replicas(d)
    _, unavailable = fenceposts(d)
    stamp = rfc3339(now)
    available = sum(_status(rs, "availableReplicas") for rs in rs_list)
    status: dict = {"observedGeneration": meta_of(d).get("generation", 1),
                    "replicas": sum(_status(rs, "replicas") for rs in rs_list),
                    "updatedReplicas": _status(new_rs, "replicas") if new_rs else 0,
                    "readyReplicas": sum(_status(rs, "readyReplicas") for rs in rs_list),
                    "availableReplicas": available,
                    "unavailableReplicas": max(want - available, 0)}
    omit_zero(status, ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"))
    old = status_of(d)
    if old.get("collisionCount"):
        status["collisionCount"] = old["collisionCount"]
    conds = {c["type"]: c for c in old.get("conditions") or ()}
    if available >= want - unavailable:
        _put_condition(conds, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
                       stamp)
    else:
        _put_condition(conds, "Available", "False", "MinimumReplicasUnavailable",
                       "Deployment does not have minimum availability.", stamp)
    status["conditions"] = _sorted_conditions(conds)
    return status


def sync_rollout_status(d: dict, rs_list: list[dict], new_rs: dict | None, now: float, *, paused: bool = False,
                        deadline: int | str | None = None) -> RolloutStatus:
    """Return ``calculate_status`` with the Progressing condition of the rollout at ``now`` (pure).

    ``deadline`` is the progress deadline in seconds (None: none); a rollout that made no progress for that
    long turns Progressing False (``timed_out``), one still within it asks to be looked at again then.
    """
    status = calculate_status(d, rs_list, new_rs, now)
    stamp = rfc3339(now)
    conds = {c["type"]: c for c in status["conditions"]}
    timed_out, recheck_after = False, None
    if paused:
        _put_condition(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", stamp)
    elif new_rs is not None:
        rs_name = new_rs["metadata"]["name"]
        old_rs = [rs for rs in rs_list if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        prog = conds.get("Progressing")
        if rollout_complete(d, new_rs, old_rs):
            _put_condition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                           f'ReplicaSet "{rs_name}" has successfully progressed.', stamp)
        elif prog is not None and prog.get("reason") == "DeploymentPaused":
            _put_condition(conds, "Progressing", "True", "DeploymentResumed", "Deployment is resumed", stamp)
        elif (has_progressed(status_of(d), status) or prog is None
              or prog.get("reason") == "NewReplicaSetAvailable"):
            # Progress moves lastUpdateTime even when reason and message stay: the deadline counts from it.
            reason = "NewReplicaSetCreated" if prog is None else "ReplicaSetUpdated"
            msg = f'Created new replica set "{rs_name}"' if prog is None else f'ReplicaSet "{rs_name}" is progressing.'
            conds["Progressing"] = {"type": "Progressing", "status": "True", "lastUpdateTime": stamp,
                                    "lastTransitionTime": prog["lastTransitionTime"]
                                    if prog and prog.get("status") == "True" else stamp,
                                    "reason": reason, "message": msg}
        elif deadline is not None and prog.get("status") == "True":
            started = parse_rfc3339(prog["lastUpdateTime"])
            if now >= started + int(deadline):
                _put_condition(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                               f'ReplicaSet "{rs_name}" has timed out progressing.', stamp)
                timed_out = True
            else:
                recheck_after = started + int(deadline) - now
    status["conditions"] = _sorted_conditions(conds)
    return RolloutStatus(status, timed_out, recheck_after)


def _put_condition(conds: dict[str, dict], ctype: str, value: str, reason: str, message: str, stamp: str) -> None:
    """Set a Deployment condition in ``conds``; unchanged ones keep their times (``SetDeploymentCondition``)."""
    old = conds.get(ctype)
    if old and old.get("status") == value and old.get("reason") == reason and old.get("message") == message:
        return
    conds[ctype] = {"type": ctype, "status": value, "lastUpdateTime": stamp,
                    "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == value else stamp,
                    "reason": reason, "message": message}


def _sorted_conditions(conds: dict[str, dict]) -> list[dict]:
    return sorted(conds.values(), key=lambda c: _CONDITION_ORDER.get(c["type"], 2))


def has_progressed(old: dict, new: dict) -> bool:
    """DeploymentProgressing: more updated, ready or available pods, or fewer old ones, than before."""
    old_pods = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_pods = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_pods < old_pods
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))
