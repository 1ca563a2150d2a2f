"""ReplicaSet controller, after ``pkg/controller/replicaset/replica_set.go``.

Keeps ``spec.replicas`` active pods: adopts matching orphans, releases pods whose labels stop
matching, creates from the template (``<rs>-<5 chars>``) and deletes by the real ranking when
there are too many. Only active pods count, so a pod stuck Terminating on a dead node is replaced
at once.
"""
from __future__ import annotations

import math
from functools import cmp_to_key

from ..client.workqueue import Controller
from ..clock import parse_rfc3339, rfc3339
from ..errors import StatusError
from ..etcd.store import DELETED, MODIFIED, Event
from ..objects import (annotations_of, clone, is_pod_active, is_terminating, labels_of, meta_of, owner_controller,
                       pod_ready, spec_of, status_of)
from ..selectors import LabelSelector
from .controller_utils import (adopt_object, available_after, min_ready_seconds, omit_zero, pod_available,
                               pod_from_template, ready_since, release_object, selector_of)

BURST_REPLICAS = 500
# Pod changes that only move status counters (scheduled, started, ready) are folded into one sync per
# window, as client-go's work queue folds a burst of informer events into one key: without it a
# scale-up to N pods costs N syncs of O(N) each. Creations, deletions, label and owner changes and a
# pod turning inactive still sync at once, so replacements are not delayed.
STATUS_SYNC_WINDOW = 0.2
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


def _phase_rank(pod: dict) -> int:
    return {"Pending": 0, "Unknown": 1, "Running": 2}.get(status_of(pod).get("phase", "Pending"), 0)


def _max_restarts(pod: dict) -> int:
    return max((c.get("restartCount", 0) for c in status_of(pod).get("containerStatuses") or ()), default=0)


def _log_bucket(now: float, t: float) -> int:
    age = max(now - t, 0)
    return int(math.floor(math.log2(age))) if age >= 1 else -1


def pods_to_delete(pods: list[dict], related: list[dict], count: int, now: float) -> list[dict]:
    """The ``count`` pods to remove first (``ActivePodsWithRanks.Less`` with LogarithmicScaleDown)."""
    per_node: dict[str, int] = {}
    for p in related:
        node = spec_of(p).get("nodeName", "")
        if node and is_pod_active(p):
            per_node[node] = per_node.get(node, 0) + 1
    rank = {p["metadata"]["uid"]: per_node.get(spec_of(p).get("nodeName", ""), 0) for p in pods}

    def created(p: dict) -> float:
        return parse_rfc3339(p["metadata"]["creationTimestamp"])

    def cost(p: dict) -> int:
        try:
            return int(annotations_of(p).get(DELETION_COST, 0))
        except ValueError:
            return 0

    def less(a: dict, b: dict) -> int:
        # 1. unassigned < assigned
        an, bn = bool(spec_of(a).get("nodeName")), bool(spec_of(b).get("nodeName"))
        if an != bn:
            return -1 if not an else 1
        # 2. Pending < Unknown < Running
        if _phase_rank(a) != _phase_rank(b):
            return -1 if _phase_rank(a) < _phase_rank(b) else 1
        # 3. not ready < ready
        ar, br = pod_ready(a), pod_ready(b)
        if ar != br:
            return -1 if not ar else 1
        # 4. lower deletion cost first
        if cost(a) != cost(b):
            return -1 if cost(a) < cost(b) else 1
        # 5. doubled-up pods first
        ra, rb = rank[a["metadata"]["uid"]], rank[b["metadata"]["uid"]]
        if ra != rb:
            return -1 if ra > rb else 1
        # 6. both ready: more recently ready first (log buckets)
        if ar and br:
            sa, sb = ready_since(a) or 0.0, ready_since(b) or 0.0
            ba, bb = _log_bucket(now, sa), _log_bucket(now, sb)
            if ba != bb:
                return -1 if ba < bb else 1
        # 7. more restarts first
        if _max_restarts(a) != _max_restarts(b):
            return -1 if _max_restarts(a) > _max_restarts(b) else 1
        # 8. newer first (log buckets), then by uid
        ca, cb = _log_bucket(now, created(a)), _log_bucket(now, created(b))
        if ca != cb:
            return -1 if ca < cb else 1
        ua, ub = a["metadata"]["uid"], b["metadata"]["uid"]
        return -1 if ua < ub else (1 if ua > ub else 0)

    return sorted(pods, key=cmp_to_key(less))[:count]


def calculate_status(rs: dict, active: list[dict], now: float, *, manage_error: str | None = None) -> dict:
    """Return the ReplicaSet's status for its ``active`` pods at ``now`` (``calculateStatus``; pure).

    ``manage_error`` is the message of a failed create, reported as the ReplicaFailure condition; other
    conditions of the current status are kept.
    """
    spec = spec_of(rs)
    min_ready = min_ready_seconds(rs)
    tlabels = labels_of(spec.get("template"))
    ready = [p for p in active if pod_ready(p)]
    available = [p for p in ready if pod_available(p, min_ready, now)]
    fully = [p for p in active if all(labels_of(p).get(k) == v for k, v in tlabels.items())]
    status: dict = {
        "replicas": len(active),
        "fullyLabeledReplicas": len(fully),
        "readyReplicas": len(ready),
        "availableReplicas": len(available),
        "observedGeneration": meta_of(rs).get("generation", 1),
    }
    conditions = [c for c in status_of(rs).get("conditions") or () if c.get("type") != "ReplicaFailure"]
    if manage_error is not None:
        conditions.append({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                           "message": manage_error, "lastTransitionTime": rfc3339(now)})
    if conditions:
        status["conditions"] = conditions
    return omit_zero(status, ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"))


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    resource = "replicasets"
    kind = "ReplicaSet"

    def __init__(self, api, clock):
        super().__init__(api, clock)
        # namespace -> names of live pods without a controller: the only adoption candidates, so a
        # sync costs O(orphans) to look for them instead of a list of every matching pod.
        self._orphans: dict[str, set[str]] = {}
        self._last_sync: dict[tuple[str, str], float] = {}
        self._index_orphans()
        self.store.subscribe(self.on_event)

    def _index_orphans(self) -> None:
        self._orphans = {}
        for pod in self.store.list("pods"):
            self._track_orphan(pod, False)

    def _track_orphan(self, pod: dict, deleted: bool) -> None:
        meta = pod["metadata"]
        ns = meta.get("namespace", "")
        if deleted or meta.get("deletionTimestamp") or owner_controller(pod) is not None:
            names = self._orphans.get(ns)
            if names:
                names.discard(meta["name"])
        else:
            self._orphans.setdefault(ns, set()).add(meta["name"])

    # ------------------------------------------------------------------ event handlers
    def on_event(self, ev: Event) -> None:
        if ev.resource == self.resource:
            meta = ev.obj["metadata"]
            self.queue.add((meta.get("namespace", ""), meta["name"]))
        elif ev.resource == "pods":
            self._on_pod(ev)

    def _on_pod(self, ev: Event) -> None:
        pod = ev.obj
        ref = owner_controller(pod)
        old_ref = owner_controller(ev.old) if ev.old is not None else None
        ns = pod["metadata"].get("namespace", "")
        self._track_orphan(pod, ev.type == DELETED)
        if ref is not None and ref.get("kind") == self.kind:
            if ev.type == MODIFIED and ev.old is not None and old_ref == ref and _status_only(ev.old, pod):
                self._queue_status_sync((ns, ref["name"]))
            else:
                self.queue.add((ns, ref["name"]))
        if old_ref is not None and old_ref != ref and old_ref.get("kind") == self.kind:
            self.queue.add((ns, old_ref["name"]))
        if ref is None and ev.type != DELETED and not pod["metadata"].get("deletionTimestamp"):
            labels_changed = ev.old is None or ev.old["metadata"].get("labels") != pod["metadata"].get("labels")
            if labels_changed or old_ref is not None:
                for owner in self.store.list(self.resource, ns):
                    sel = spec_of(owner).get("selector")
                    if sel is not None and LabelSelector.from_dict(sel).matches(pod["metadata"].get("labels")):
                        self.queue.add((ns, owner["metadata"]["name"]))

    def _queue_status_sync(self, key: tuple[str, str]) -> None:
        """Sync ``key`` at once if it has not synced within the window, else at the window's end."""
        due = self._last_sync.get(key, -math.inf) + STATUS_SYNC_WINDOW
        now = self.clock.now
        if due <= now:
            self.queue.add(key)
        else:
            self.queue.add_after(key, due - now)

    def resync(self) -> None:
        self._index_orphans()  # a restore loads objects without events
        for rs in self.store.list(self.resource):
            self.queue.add((rs["metadata"].get("namespace", ""), rs["metadata"]["name"]))

    # ------------------------------------------------------------------ sync
    def sync(self, key) -> None:
        ns, name = key
        rs = self.store.find(self.resource, ns, name)
        if rs is None:
            self._last_sync.pop(key, None)
            return
        self._last_sync[key] = self.clock.now
        active = [p for p in self.claim_pods(rs) if is_pod_active(p)]
        error: StatusError | None = None
        if not is_terminating(rs):
            changed = False
            try:
                changed = self.manage_replicas(rs, active)
            except StatusError as err:
                error, changed = err, True
            before = rs
            rs = self.store.find(self.resource, ns, name)
            if rs is None:
                return
            if changed or rs is not before:  # nothing written: the claimed pods are still current
                active = [p for p in self.claim_pods(rs, adopt=False) if is_pod_active(p)]
        self.update_status(rs, active, error)
        if error is not None:
            raise error

    def claim_pods(self, rs: dict, adopt: bool = True) -> list[dict]:
        """Pods this ReplicaSet controls after adoption and release (ControllerRefManager)."""
        meta = rs["metadata"]
        ns, uid = meta.get("namespace", ""), meta["uid"]
        selector = selector_of(rs)
        claimed: dict[str, dict] = {}
        for pod in self.store.owned_by(uid, "pods"):
            ref = owner_controller(pod)
            if ref is None or ref.get("uid") != uid:
                continue
            if selector.matches(labels_of(pod)):
                claimed[pod["metadata"]["uid"]] = pod
            elif not is_terminating(pod):
                release_object(self.api, pod, uid)
        if adopt and not is_terminating(rs) and not selector.empty:
            for pod in self._orphan_candidates(ns, selector):
                pm = pod["metadata"]
                if pm["uid"] in claimed or owner_controller(pod) is not None or is_terminating(pod):
                    continue
                adopted = adopt_object(self.api, rs, pod)
                if adopted is not None:
                    claimed[pm["uid"]] = adopted
        return sorted(claimed.values(), key=lambda p: p["metadata"]["name"])

    def _orphan_candidates(self, ns: str, selector: LabelSelector) -> list[dict]:
        """Pods in ``ns`` without a controller that ``selector`` matches, ordered by name."""
        out = []
        for name in sorted(self._orphans.get(ns, ())):
            pod = self.store.find("pods", ns, name)
            if pod is not None and selector.matches(labels_of(pod)):
                out.append(pod)
        return out

    def manage_replicas(self, rs: dict, active: list[dict]) -> bool:
        """Create or delete pods toward ``spec.replicas``; tell whether anything was written."""
        want = int(spec_of(rs).get("replicas", 1))
        diff = len(active) - want
        name = rs["metadata"]["name"]
        if diff < 0:
            missing = min(-diff, BURST_REPLICAS)
            template = spec_of(rs).get("template") or {}
            created = 0
            batch = 1  # slow start: 1, 2, 4, ...; an error stops further batches
            while created < missing:
                for _ in range(min(batch, missing - created)):
                    pod = pod_from_template(rs, template)
                    try:
                        made = self.api.create_internal(pod)
                    except StatusError as err:
                        self.api.record_event(rs, "FailedCreate", f"Error creating: {err.message}", type="Warning",
                                              component=self.name,
                                              explanation=f"{self.kind} {name} could not create a pod: {err.message}")
                        raise
                    created += 1
                    pname = made["metadata"]["name"]
                    self.api.record_event(
                        rs, "SuccessfulCreate", f"Created pod: {pname}", component=self.name,
                        explanation=f"{self.kind} {name} has {len(active) + created - 1} of {want} pods: "
                                    f"creating {pname}")
                batch *= 2
            return True
        if diff > 0:
            count = min(diff, BURST_REPLICAS)
            related = self._related_pods(rs)
            for pod in pods_to_delete(active, related, count, self.clock.now):
                pm = pod["metadata"]
                gone = self.api.delete_internal("pods", pm.get("namespace", ""), pm["name"], uid=pm["uid"])
                if gone is None:
                    continue
                self.api.record_event(
                    rs, "SuccessfulDelete", f"Deleted pod: {pm['name']}", component=self.name,
                    explanation=f"{self.kind} {name} has {len(active)} pods but wants {want}: deleting {pm['name']}")
            return True
        return False

    def _related_pods(self, rs: dict) -> list[dict]:
        """Active pods of sibling ReplicaSets (same owner) for the doubled-up ranking rule."""
        owner = owner_controller(rs)
        if owner is None:
            return self.store.owned_by(rs["metadata"]["uid"], "pods")
        out = []
        for sibling in self.store.owned_by(owner["uid"], self.resource):
            out.extend(self.store.owned_by(sibling["metadata"]["uid"], "pods"))
        return out

    def update_status(self, rs: dict, active: list[dict], error: StatusError | None) -> None:
        """``updateReplicaSetStatus``: write the calculated status when it differs from the stored one."""
        now = self.clock.now
        new_status = calculate_status(rs, active, now, manage_error=error.message if error is not None else None)
        min_ready = min_ready_seconds(rs)
        if min_ready:
            wait = available_after([p for p in active if pod_ready(p)], min_ready, now)
            if wait is not None:
                self.queue.add_after((rs["metadata"].get("namespace", ""), rs["metadata"]["name"]), wait)
        if new_status != status_of(rs):
            new = clone(rs)
            new["status"] = new_status
            self.api.update_status(new)

def _status_only(old: dict, new: dict) -> bool:
    """Tell whether a pod change can only move status counters (not adoption, release or counts)."""
    om, nm = old["metadata"], new["metadata"]
    return (om.get("labels") == nm.get("labels") and om.get("deletionTimestamp") == nm.get("deletionTimestamp")
            and is_pod_active(old) == is_pod_active(new))

