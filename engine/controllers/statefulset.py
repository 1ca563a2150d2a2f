"""StatefulSet controller, after ``pkg/controller/statefulset`` (stateful_set_control.go, stateful_set_utils.go).

Pods have a stable identity: ``<set>-<ordinal>``, hostname = pod name, subdomain = ``spec.serviceName``, and
one PersistentVolumeClaim per ``volumeClaimTemplates`` entry (``<template>-<set>-<ordinal>``), created before
the pod and kept when the pod goes. OrderedReady creates 0..N-1 one at a time (each Running and Ready before
the next), deletes from the highest ordinal and halts while any pod is unhealthy; Parallel bursts. Updates go
through ControllerRevisions: RollingUpdate replaces pods from the highest ordinal down to ``partition``,
OnDelete waits for the user.

At most one pod of a given name ever exists: a pod stuck Terminating on an unreachable node is not replaced
until the kubelet confirms, the Node is deleted or a user force-deletes it. While it waits the controller says
so once with the Kubedrill-only event reason ``WaitingForPodTermination`` (not an upstream reason).
"""
from __future__ import annotations

import re

from ..client.workqueue import Controller
from ..clock import parse_rfc3339
from ..errors import AlreadyExists, StatusError
from ..etcd.store import DELETED, Event
from ..objects import (clone, controller_ref, get_condition, is_terminating, labels_of, meta_of, node_ready,
                       owner_controller, spec_of, status_of)
from .controller_utils import (adopt_object, available_after, fnv32, hash_bytes, hash_name, is_running_and_ready,
                               min_ready_seconds, omit_zero, pod_from_template, release_object, selector_of,
                               set_owner_refs)

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
CR_HASH_LABEL = "controller.kubernetes.io/hash"
WAITING_REASON = "WaitingForPodTermination"  # Kubedrill reason, not upstream: explains the at-most-once wait
CLUSTER_DOMAIN = "cluster.local"
_POD_RE = re.compile(r"^(.*)-([0-9]+)$")


# ---------------------------------------------------------------------------------------------- pure helpers
def parent_and_ordinal(pod_name: str) -> tuple[str, int]:
    """``getParentNameAndOrdinal``: ("web", 1) for ``web-1``; ("", -1) when the name has no ordinal."""
    m = _POD_RE.match(pod_name)
    if not m:
        return "", -1
    return m.group(1), int(m.group(2))


def ordinal_of(pod: dict) -> int:
    return parent_and_ordinal(pod["metadata"]["name"])[1]


def pod_name(set_name: str, ordinal: int) -> str:
    return f"{set_name}-{ordinal}"


def claim_name(template_name: str, set_name: str, ordinal: int) -> str:
    """``getPersistentVolumeClaimName``: ``data-web-0``."""
    return f"{template_name}-{set_name}-{ordinal}"


def pod_dns_name(pod: dict) -> str | None:
    """The stable DNS name ``<pod>.<service>.<ns>.svc.cluster.local`` of a pod with a subdomain, else None."""
    spec = spec_of(pod)
    sub = spec.get("subdomain")
    if not sub:
        return None
    meta = pod["metadata"]
    host = spec.get("hostname") or meta["name"]
    return f"{host}.{sub}.{meta.get('namespace') or 'default'}.svc.{CLUSTER_DOMAIN}"


def revision_data(sset: dict) -> dict:
    """``getPatch``: the part of the set a revision records (the pod template, replaced wholesale)."""
    template = clone(spec_of(sset).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_hash(data: dict, collision_count: int) -> str:
    """Return the name suffix of a revision (``HashControllerRevision``: FNV-1 of the data and collision count)."""
    return hash_name(fnv32(hash_bytes(data) + str(collision_count).encode()))


def revision_template(revision: dict) -> dict:
    template = clone(spec_of(revision.get("data")).get("template") or {})
    template.pop("$patch", None)
    return template


def is_created(pod: dict) -> bool:
    return bool(status_of(pod).get("phase"))


def is_running_and_available(pod: dict, min_ready: int, now: float) -> bool:
    """Tell whether the pod is Running and has been Ready for ``min_ready`` seconds (``isRunningAndAvailable``).

    Unlike ``pod_available``, a Ready condition without a transition time counts as available at once.
    """
    if not is_running_and_ready(pod):
        return False
    if min_ready <= 0:
        return True
    stamp = (get_condition(pod, "Ready") or {}).get("lastTransitionTime")
    return stamp is None or parse_rfc3339(stamp) + min_ready <= now


def is_unavailable(pod: dict, min_ready: int, now: float) -> bool:
    return not is_running_and_available(pod, min_ready, now) or is_terminating(pod)


def pod_revision(pod: dict) -> str:
    return labels_of(pod).get(REVISION_LABEL, "")


def start_ordinal(sset: dict) -> int:
    return int(((spec_of(sset).get("ordinals") or {}).get("start")) or 0)


def allows_burst(sset: dict) -> bool:
    return spec_of(sset).get("podManagementPolicy") == "Parallel"


def partition(sset: dict) -> int:
    strategy = spec_of(sset).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    return int(((strategy.get("rollingUpdate") or {}).get("partition")) or 0)


def retention(sset: dict) -> tuple[str, str]:
    policy = spec_of(sset).get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or "Retain", policy.get("whenScaled") or "Retain"


def claims_for(sset: dict, ordinal: int) -> list[dict]:
    """``getPersistentVolumeClaims``: the claims of the pod at ``ordinal`` (labels = template + selector)."""
    meta = sset["metadata"]
    selector_labels = ((spec_of(sset).get("selector") or {}).get("matchLabels")) or {}
    out = []
    for template in spec_of(sset).get("volumeClaimTemplates") or ():
        tmeta = meta_of(template)
        labels = dict(tmeta.get("labels") or {})
        labels.update(selector_labels)
        cmeta: dict = {"name": claim_name(tmeta.get("name", ""), meta["name"], ordinal),
                       "namespace": meta.get("namespace", "default")}
        if labels:
            cmeta["labels"] = labels
        if tmeta.get("annotations"):
            cmeta["annotations"] = dict(tmeta["annotations"])
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": cmeta,
                    "spec": clone(spec_of(template))})
    return out


def new_statefulset_pod(sset: dict, template: dict, revision_name: str, ordinal: int) -> dict:
    """``newVersionedStatefulSetPod`` for one revision: identity, storage and the revision label."""
    name = pod_name(sset["metadata"]["name"], ordinal)
    pod = pod_from_template(sset, template, name=name)
    labels = pod["metadata"]["labels"]
    labels[POD_NAME_LABEL] = name
    labels[POD_INDEX_LABEL] = str(ordinal)
    labels[REVISION_LABEL] = revision_name
    spec = pod["spec"]
    spec["hostname"] = name
    if spec_of(sset).get("serviceName"):
        spec["subdomain"] = spec_of(sset)["serviceName"]
    claim_volumes = []
    names = set()
    for template_claim in spec_of(sset).get("volumeClaimTemplates") or ():
        vname = meta_of(template_claim).get("name", "")
        names.add(vname)
        claim_volumes.append({"name": vname, "persistentVolumeClaim": {
            "claimName": claim_name(vname, sset["metadata"]["name"], ordinal)}})
    others = [v for v in spec.get("volumes") or () if v.get("name") not in names]
    if claim_volumes or others:
        spec["volumes"] = claim_volumes + others
    return pod


def identity_matches(sset: dict, pod: dict) -> bool:
    parent, ordinal = parent_and_ordinal(pod["metadata"]["name"])
    labels = labels_of(pod)
    return (ordinal >= 0 and parent == sset["metadata"]["name"]
            and pod["metadata"].get("namespace") == sset["metadata"].get("namespace")
            and labels.get(POD_NAME_LABEL) == pod["metadata"]["name"]
            and labels.get(POD_INDEX_LABEL) == str(ordinal))


def split_replicas(sset: dict, pods: list[dict], current: dict, update: dict) -> tuple[list[dict], list[dict]]:
    """Return (replicas, condemned): a pod per ordinal of the set, new ones where missing; the others, highest first.

    A missing replica below the partition of a rolling update is made at the current revision, else at the
    update revision (``newVersionedStatefulSetPod``); nothing is written.
    """
    count = int(spec_of(sset).get("replicas", 1))
    start = start_ordinal(sset)
    slots: list[dict | None] = [None] * count
    condemned: list[dict] = []
    for pod in pods:
        ordinal = ordinal_of(pod)
        if start <= ordinal < start + count:
            slots[ordinal - start] = pod
        elif ordinal >= 0:
            condemned.append(pod)
    part = partition(sset)
    rolling = is_rolling_update(sset)
    replicas: list[dict] = []
    for i, pod in enumerate(slots):
        if pod is None:
            ordinal = start + i
            revision = current if rolling and ordinal < part else update
            pod = new_statefulset_pod(sset, revision_template(revision), revision["metadata"]["name"], ordinal)
        replicas.append(pod)
    condemned.sort(key=ordinal_of, reverse=True)
    return replicas, condemned


def is_rolling_update(sset: dict) -> bool:
    return (spec_of(sset).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def calculate_status(sset: dict, pods: list[dict], now: float, *, current_revision: str, update_revision: str,
                     collision_count: int) -> dict:
    """Return the set's status over every pod of it, condemned included (``computeReplicaStatus``; pure)."""
    min_ready = min_ready_seconds(sset)
    st = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0}
    for pod in pods:
        created = is_created(pod)
        if created:
            st["replicas"] += 1
        if is_running_and_ready(pod):
            st["readyReplicas"] += 1
            if is_running_and_available(pod, min_ready, now):
                st["availableReplicas"] += 1
        if created and not is_terminating(pod):
            rev = pod_revision(pod)
            if rev == current_revision:
                st["currentReplicas"] += 1
            if rev == update_revision:
                st["updatedReplicas"] += 1
    st.update(observedGeneration=meta_of(sset).get("generation", 1), currentRevision=current_revision,
              updateRevision=update_revision, collisionCount=collision_count)
    return st


def complete_rolling_update(sset: dict, status: dict) -> dict:
    """Return ``status`` with the update revision made current once every pod runs it and is Ready (pure)."""
    if (is_rolling_update(sset) and status["updatedReplicas"] == status["replicas"]
            and status["readyReplicas"] == status["replicas"]):
        return dict(status, currentReplicas=status["updatedReplicas"], currentRevision=status["updateRevision"])
    return status


def _owner_ref(obj: dict) -> dict:
    """Return a plain (not controller) ownerReference to ``obj``."""
    return {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"]}


def desired_claim_refs(sset: dict, pod: dict | None, condemned: bool, refs: list[dict]) -> list[dict]:
    """The claim's ownerReferences under the retention policy (``updateClaimOwnerRefForSetAndPod``)."""
    when_deleted, when_scaled = retention(sset)
    set_uid = sset["metadata"]["uid"]
    # Refs to unrelated owners a user may have added stay; only the ones this policy manages change.
    out = [r for r in refs if r.get("uid") != set_uid and not (r.get("kind") == "Pod")]
    scaled_down = when_scaled == "Delete" and condemned and pod is not None and pod["metadata"].get("uid")
    if scaled_down:
        # The pod becomes the claim's only managed owner, so the claim goes once the pod is gone.
        out.append(_owner_ref(pod))
    elif when_deleted == "Delete":
        out.append(controller_ref(sset))
    return out


# ---------------------------------------------------------------------------------------------- controller
class StatefulSetController(Controller):
    name = "statefulset-controller"
    resource = "statefulsets"
    kind = "StatefulSet"

    def __init__(self, api, clock):
        super().__init__(api, clock)
        self._waiting_told: set[str] = set()  # pod uids we already explained the at-most-once wait for
        self.store.subscribe(self.on_event)

    # ------------------------------------------------------------------ event handlers
    def on_event(self, ev: Event) -> None:
        resource = ev.resource
        if resource == self.resource:
            meta = ev.obj["metadata"]
            self.queue.add((meta.get("namespace", ""), meta["name"]))
        elif resource == "pods":
            self._on_pod(ev)
        elif resource == "persistentvolumeclaims" and ev.type == DELETED:
            # A stale claim (owned by an old pod) blocked a create: try again now that it is gone.
            ns = ev.obj["metadata"].get("namespace", "")
            for ref in ev.obj["metadata"].get("ownerReferences") or ():
                if ref.get("kind") == "Pod":
                    parent, _ = parent_and_ordinal(ref.get("name", ""))
                    if parent:
                        self.queue.add((ns, parent))

    def _on_pod(self, ev: Event) -> None:
        pod = ev.obj
        ns = pod["metadata"].get("namespace", "")
        ref = owner_controller(pod)
        if ref is not None and ref.get("kind") == self.kind:
            self.queue.add((ns, ref["name"]))
            if ev.type == DELETED:
                self._waiting_told.discard(pod["metadata"].get("uid", ""))
            return
        old_ref = owner_controller(ev.old) if ev.old is not None else None
        if old_ref is not None and old_ref.get("kind") == self.kind:
            self.queue.add((ns, old_ref["name"]))
        if ref is None and ev.type != DELETED and not is_terminating(pod):
            parent, ordinal = parent_and_ordinal(pod["metadata"]["name"])
            if ordinal >= 0 and self.store.find(self.resource, ns, parent) is not None:
                self.queue.add((ns, parent))

    def resync(self) -> None:
        for sset in self.store.list(self.resource):
            self.queue.add((sset["metadata"].get("namespace", ""), sset["metadata"]["name"]))

    # ------------------------------------------------------------------ sync
    def sync(self, key) -> None:
        ns, name = key
        sset = self.store.find(self.resource, ns, name)
        if sset is None:
            return
        pods = self.claim_pods(sset)
        revisions = self.claim_revisions(sset)
        current, update, collision = self.get_revisions(sset, revisions)
        status, error = self.update_statefulset(sset, current, update, collision, pods)
        self.update_status(sset, status)
        self.truncate_history(sset, self.claim_pods(sset, adopt=False), revisions, current, update)
        if error is not None:
            raise error

    # ------------------------------------------------------------------ adoption
    def claim_pods(self, sset: dict, adopt: bool = True) -> list[dict]:
        """Pods of this set: controlled by it, selected by it and named ``<set>-<n>`` (adopt/release)."""
        meta = sset["metadata"]
        ns, uid, name = meta.get("namespace", ""), meta["uid"], meta["name"]
        selector = selector_of(sset)
        claimed: dict[str, dict] = {}
        for pod in self.store.owned_by(uid, "pods"):
            ref = owner_controller(pod)
            if ref is None or ref.get("uid") != uid:
                continue
            if selector.matches(labels_of(pod)) and parent_and_ordinal(pod["metadata"]["name"])[0] == name:
                claimed[pod["metadata"]["uid"]] = pod
            elif not is_terminating(pod):
                release_object(self.api, pod, uid)
        if adopt and not is_terminating(sset) and not selector.empty:
            for pod in self.store.list("pods", ns, selector):
                pm = pod["metadata"]
                if (pm["uid"] in claimed or owner_controller(pod) is not None or is_terminating(pod)
                        or parent_and_ordinal(pm["name"])[0] != name):
                    continue
                adopted = adopt_object(self.api, sset, pod)
                if adopted is not None:
                    claimed[pm["uid"]] = adopted
        return sorted(claimed.values(), key=lambda p: (ordinal_of(p), p["metadata"]["name"]))

    # ------------------------------------------------------------------ revisions (history)
    def claim_revisions(self, sset: dict) -> list[dict]:
        uid = sset["metadata"]["uid"]
        revs = [r for r in self.store.owned_by(uid, "controllerrevisions")
                if (owner_controller(r) or {}).get("uid") == uid]
        return sorted(revs, key=lambda r: (int(r.get("revision", 0)), r["metadata"]["name"]))

    def get_revisions(self, sset: dict, revisions: list[dict]) -> tuple[dict, dict, int]:
        """``getStatefulSetRevisions``: reuse an equal revision (roll back by renumbering) or create one."""
        collision = int(status_of(sset).get("collisionCount", 0) or 0)
        data = revision_data(sset)
        next_number = (int(revisions[-1].get("revision", 0)) + 1) if revisions else 1
        equal = [r for r in revisions if r.get("data") == data]
        if equal and equal[-1] is revisions[-1]:
            update = revisions[-1]
        elif equal:
            new = clone(equal[-1])
            new["revision"] = next_number
            update = self.api.update_internal(new)
        else:
            update, collision = self._create_revision(sset, data, next_number, collision)
        current = next((r for r in revisions if r["metadata"]["name"] == status_of(sset).get(
            "currentRevision")), None)
        return (current or update), update, collision

    def _create_revision(self, sset: dict, data: dict, number: int, collision: int) -> tuple[dict, int]:
        meta = sset["metadata"]
        labels = dict(labels_of(spec_of(sset).get("template")))
        while True:
            digest = revision_hash(data, collision)
            rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                   "metadata": {"name": f"{meta['name'][:223]}-{digest}", "namespace": meta.get("namespace", ""),
                                "labels": dict(labels, **{CR_HASH_LABEL: digest}),
                                "ownerReferences": [controller_ref(sset)]},
                   "data": data, "revision": number}
            if meta.get("annotations"):
                rev["metadata"]["annotations"] = dict(meta["annotations"])
            try:
                return self.api.create_internal(rev), collision
            except AlreadyExists:
                existing = self.store.find("controllerrevisions", meta.get("namespace", ""), rev["metadata"]["name"])
                if existing is not None and existing.get("data") == data:
                    return existing, collision
                collision += 1

    def truncate_history(self, sset: dict, pods: list[dict], revisions: list[dict], current: dict,
                         update: dict) -> None:
        live = {current["metadata"]["name"], update["metadata"]["name"]} | {pod_revision(p) for p in pods}
        history = [r for r in revisions if r["metadata"]["name"] not in live]
        limit = int(spec_of(sset).get("revisionHistoryLimit", 10))
        if limit < 0 or len(history) <= limit:
            return
        for rev in history[:len(history) - limit]:
            self.api.delete_internal("controllerrevisions", rev["metadata"].get("namespace", ""),
                                     rev["metadata"]["name"], uid=rev["metadata"]["uid"])

    # ------------------------------------------------------------------ the core loop
    def update_statefulset(self, sset: dict, current: dict, update: dict, collision: int,
                           pods: list[dict]) -> tuple[dict, StatusError | None]:
        """``updateStatefulSet``: create, fix and delete pods; return the status to record and any error."""
        now = self.clock.now
        min_ready = min_ready_seconds(sset)
        replicas, condemned = split_replicas(sset, pods, current, update)
        error: StatusError | None = None
        rolled = False
        if not is_terminating(sset):
            self._requeue_for_min_ready(sset, replicas, min_ready, now)
            try:
                rolled = self.manage_pods(sset, replicas, condemned, update["metadata"]["name"], min_ready, now)
            except StatusError as err:
                error = err
        live = [p for p in replicas if is_created(p)] + condemned
        status = calculate_status(sset, live, now, current_revision=current["metadata"]["name"],
                                  update_revision=update["metadata"]["name"], collision_count=collision)
        if rolled:
            status["currentReplicas"] -= 1  # the pod just deleted no longer runs the current revision
        return status, error

    def manage_pods(self, sset: dict, replicas: list[dict], condemned: list[dict], update_revision: str,
                    min_ready: int, now: float) -> bool:
        """Run one round of the set's pod management; tell whether the rolling update deleted a pod.

        The steps stop at the first that must wait (an ordered wait, or a write to be observed first).
        ``replicas`` gets the pods this round creates.
        """
        monotonic = not allows_burst(sset)
        first_unhealthy = next((p for p in replicas + condemned[::-1] if is_unavailable(p, min_ready, now)), None)
        # 1. living replicas: replace failed pods, create missing ones, wait in order.
        for i in range(len(replicas)):
            if self.process_replica(sset, replicas, i, monotonic, min_ready, now):
                return False
        # 2. claims of condemned pods follow the whenScaled policy before the pods go.
        for pod in condemned:
            self.fix_claims(sset, pod, condemned=True)
        # 3. condemned pods: highest ordinal first; in order only once every replica is healthy.
        if self.scale_down(sset, condemned, first_unhealthy, monotonic, min_ready, now, len(replicas)):
            return False
        if not is_rolling_update(sset):
            return False
        return self.rolling_update(sset, replicas, update_revision, min_ready, now)

    def scale_down(self, sset: dict, condemned: list[dict], first_unhealthy: dict | None, monotonic: bool,
                   min_ready: int, now: float, count: int) -> bool:
        """Delete condemned pods, highest ordinal first; True means stop this round.

        OrderedReady deletes one per round, and only a healthy pod or the first unhealthy one.
        """
        for pod in condemned:
            if is_terminating(pod):
                self._explain_wait(sset, pod)
                if monotonic:
                    return True
                continue
            if monotonic and not is_running_and_available(pod, min_ready, now) and pod is not first_unhealthy:
                return True
            self.delete_pod(sset, pod, f"{self.kind} {sset['metadata']['name']} wants {count} pods: deleting "
                                       f"{pod['metadata']['name']}, the highest ordinal, first")
            if monotonic:
                return True
        return False

    def rolling_update(self, sset: dict, replicas: list[dict], update_revision: str, min_ready: int,
                       now: float) -> bool:
        """Replace one pod not at ``update_revision``, newest ordinal first down to the partition.

        Tell whether a pod was deleted; stops at the first pod that is not yet available again.
        """
        part = partition(sset)
        for target in range(len(replicas) - 1, part - 1, -1):
            pod = replicas[target]
            if pod_revision(pod) != update_revision and not is_terminating(pod):
                self.delete_pod(sset, pod, f"rolling update of {self.kind} {sset['metadata']['name']}: "
                                           f"{pod['metadata']['name']} runs revision {pod_revision(pod)}; it is "
                                           f"deleted and recreated at {update_revision} (highest ordinal first, "
                                           f"partition {part})")
                return True
            if is_unavailable(pod, min_ready, now):
                return False
        return False

    def _requeue_for_min_ready(self, sset: dict, replicas: list[dict], min_ready: int, now: float) -> None:
        """Look again when a Ready pod's ``minReadySeconds`` are over (no pod event says so)."""
        if min_ready <= 0:
            return
        waiting = [p for p in replicas if is_running_and_ready(p) and not is_running_and_available(p, min_ready, now)]
        wait = available_after(waiting, min_ready, now)
        if wait is not None:
            meta = sset["metadata"]
            self.queue.add_after((meta.get("namespace", ""), meta["name"]), wait)

    def process_replica(self, sset: dict, replicas: list[dict], i: int, monotonic: bool, min_ready: int,
                        now: float) -> bool:
        """``processReplica``; True means stop this round."""
        pod = replicas[i]
        phase = status_of(pod).get("phase")
        if phase in ("Failed", "Succeeded"):
            if not is_terminating(pod):
                reason = status_of(pod).get("reason")
                self.delete_pod(sset, pod, f"{pod['metadata']['name']} {phase.lower()}"
                                           f"{f' ({reason})' if reason else ''}: "
                                           "it is deleted and will be recreated with the same name and storage")
            return True
        if not is_created(pod):
            if self.claim_is_stale(sset, pod):
                return True
            made = self.create_pod(sset, pod, len(replicas))
            if made is None:
                return True
            pod = replicas[i] = made
            if monotonic:
                return True
            phase = "Pending"
        if is_terminating(pod):
            self._explain_wait(sset, pod)
            if monotonic:
                return True
        if phase == "Pending" and not is_terminating(pod) and self.create_missing_claims(sset, pod):
            return True
        if monotonic and not is_running_and_ready(pod):
            return True
        if monotonic and not is_running_and_available(pod, min_ready, now):
            return True
        if not is_terminating(pod):
            self.fix_claims(sset, pod, condemned=False)
            if not identity_matches(sset, pod):
                self._fix_identity(sset, pod)
        return False

    # ------------------------------------------------------------------ pod and claim writes
    def create_pod(self, sset: dict, pod: dict, count: int) -> dict | None:
        """``CreateStatefulPod``: the claims first, then the pod; events as the real controller records them.

        Return the pod made, or None when one of its claims is still being deleted (the pod must wait).
        """
        name = sset["metadata"]["name"]
        pname = pod["metadata"]["name"]
        if self.create_missing_claims(sset, pod):
            return None
        try:
            made = self.api.create_internal(pod)
        except AlreadyExists:
            raise
        except StatusError as err:
            self.api.record_event(sset, "FailedCreate", f"create Pod {pname} in StatefulSet {name} failed error: "
                                  f"{err.message}", type="Warning", component=self.name,
                                  explanation=f"{self.kind} {name} could not create {pname}: {err.message}")
            raise
        self.fix_claims(sset, made, condemned=False)
        if allows_burst(sset):
            why = "Parallel pod management: pods are created without waiting for each other"
        else:
            ordinal = ordinal_of(made)
            why = (f"OrderedReady: pods start in order, so {pname} was created only after every lower ordinal was "
                   f"Running and Ready" if ordinal > start_ordinal(sset) else
                   "OrderedReady: the lowest ordinal starts first")
        dns = pod_dns_name(made)
        self.api.record_event(sset, "SuccessfulCreate", f"create Pod {pname} in StatefulSet {name} successful",
                              component=self.name,
                              explanation=f"{self.kind} {name} wants {count} pods: creating {pname} ({why})"
                                          + (f"; it will be reachable as {dns}" if dns else ""))
        return made

    def create_missing_claims(self, sset: dict, pod: dict) -> bool:
        """Create the pod's claims that do not exist; True when one is being deleted (the pod must wait)."""
        name = sset["metadata"]["name"]
        pname = pod["metadata"]["name"]
        for claim in claims_for(sset, ordinal_of(pod)):
            cname = claim["metadata"]["name"]
            existing = self.store.find("persistentvolumeclaims", claim["metadata"]["namespace"], cname)
            if existing is not None:
                if is_terminating(existing):
                    msg = f"pvc {cname} is being deleted"
                    self.api.record_event(sset, "FailedCreate", f"create Pod {pname} in StatefulSet {name} failed "
                                          f"error: {msg}", type="Warning", component=self.name,
                                          explanation=f"{pname} must wait: its claim {cname} is still being deleted")
                    return True
                continue
            refs = desired_claim_refs(sset, None, False, [])
            if refs:
                claim["metadata"]["ownerReferences"] = refs
            try:
                self.api.create_internal(claim)
            except StatusError as err:
                self.api.record_event(sset, "FailedCreate", f"create Claim {cname} for Pod {pname} in StatefulSet "
                                      f"{name} failed error: {err.message}", type="Warning", component=self.name,
                                      explanation=f"{self.kind} {name} could not create claim {cname}: {err.message}")
                raise
            self.api.record_event(sset, "SuccessfulCreate",
                                  f"create Claim {cname} Pod {pname} in StatefulSet {name} success",
                                  component=self.name,
                                  explanation=f"each {self.kind} pod gets its own PersistentVolumeClaim, created "
                                              f"before the pod: {cname} belongs to {pname} and outlives it, so a "
                                              f"replacement {pname} gets the same volume and data")
        return False

    def claim_is_stale(self, sset: dict, pod: dict) -> bool:
        """``PodClaimIsStale``: a claim still owned by a previous incarnation of this pod must go first."""
        ns = sset["metadata"].get("namespace", "")
        for claim in claims_for(sset, ordinal_of(pod)):
            existing = self.store.find("persistentvolumeclaims", ns, claim["metadata"]["name"])
            if existing is None:
                continue
            for ref in existing["metadata"].get("ownerReferences") or ():
                if ref.get("kind") == "Pod":
                    owner = self.store.find("pods", ns, ref.get("name", ""))
                    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
                        return True
        return False

    def fix_claims(self, sset: dict, pod: dict, condemned: bool) -> None:
        """``UpdatePodClaimForRetentionPolicy``: owner references that implement the retention policy."""
        ns = sset["metadata"].get("namespace", "")
        for claim in claims_for(sset, ordinal_of(pod)):
            existing = self.store.find("persistentvolumeclaims", ns, claim["metadata"]["name"])
            if existing is None or is_terminating(existing):
                continue
            refs = list(existing["metadata"].get("ownerReferences") or ())
            want = desired_claim_refs(sset, pod, condemned, refs)
            if want != refs:
                set_owner_refs(self.api, existing, want)

    def _fix_identity(self, sset: dict, pod: dict) -> None:
        new = clone(pod)
        labels = new["metadata"].setdefault("labels", {})
        labels[POD_NAME_LABEL] = pod["metadata"]["name"]
        labels[POD_INDEX_LABEL] = str(ordinal_of(pod))
        self.api.update_internal(new)

    def delete_pod(self, sset: dict, pod: dict, explanation: str) -> None:
        pm = pod["metadata"]
        gone = self.api.delete_internal("pods", pm.get("namespace", ""), pm["name"], uid=pm.get("uid"))
        if gone is None:
            return
        name = sset["metadata"]["name"]
        self.api.record_event(sset, "SuccessfulDelete", f"delete Pod {pm['name']} in StatefulSet {name} successful",
                              component=self.name, explanation=explanation)

    def _explain_wait(self, sset: dict, pod: dict) -> None:
        """Say once why a terminating pod on a silent node is not replaced (at most one ``<set>-<n>``)."""
        uid = pod["metadata"].get("uid", "")
        if uid in self._waiting_told:
            return
        node_name = spec_of(pod).get("nodeName")
        if not node_name:
            return
        if node_ready(self.store.find("nodes", "", node_name)):
            return
        self._waiting_told.add(uid)
        pname = pod["metadata"]["name"]
        message = (f"{pname} is terminating on {node_name}, which is not responding: at most one {pname} may exist, "
                   f"so the replacement waits until the kubelet confirms or the pod is force-deleted")
        self.api.record_event(sset, WAITING_REASON, message, component=self.name,
                              explanation=f"Unlike a Deployment, a {self.kind} never runs two pods with the same "
                                          f"identity: {node_name} may still be running {pname} and writing to its "
                                          f"volume. Bring the node back, delete the Node object, or run kubectl "
                                          f"delete pod {pname} --grace-period=0 --force once you know it is down.")

    # ------------------------------------------------------------------ status
    def update_status(self, sset: dict, status: dict) -> None:
        """``updateStatefulSetStatus`` with ``completeRollingUpdate``; writes only when something changed."""
        status = complete_rolling_update(sset, status)
        fresh = self.store.find(self.resource, sset["metadata"].get("namespace", ""), sset["metadata"]["name"])
        if fresh is None:
            return
        old = status_of(fresh)
        new_status = omit_zero(dict(status), ("readyReplicas", "currentReplicas", "updatedReplicas"))
        if "conditions" in old:
            new_status["conditions"] = old["conditions"]
        if new_status == old:
            return
        new = clone(fresh)
        new["status"] = new_status
        self.api.update_status(new)
