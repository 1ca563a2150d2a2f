"""PersistentVolume controller and attach/detach bookkeeping.

``PersistentVolumeController`` follows ``pkg/controller/volume/persistentvolume/pv_controller.go``: a Pending
claim binds to the smallest Available volume that matches its class, access modes, capacity, volume mode and
selector; a claim of a class with a provisioner gets a volume ``pvc-<claim uid>`` made for it (after the first
consumer is scheduled for ``WaitForFirstConsumer`` classes); a volume whose claim is deleted is Released
(``Retain``), deleted (``Delete``) or scrubbed (``Recycle``).

``AttachDetachController`` is the slice of ``pkg/controller/volume/attachdetach`` a learner can see: a
network volume (CSI and the cloud disks) that is ReadWriteOnce is attached to one node at a time. A pod on
another node waits with ``FailedAttachVolume`` "Multi-Attach error" until the volume is detached — at once when
its node confirms the last user is gone, or after ``maxWaitForUnmountDuration`` (6 min) when that node is not
responding and cannot confirm the unmount. Attachment is recorded on the PV as ``kubedrill.io/attached-node``
(a real cluster keeps it in VolumeAttachment objects and ``node.status.volumesAttached``).
"""
from __future__ import annotations

from ..client.workqueue import Controller
from ..clock import rfc3339
from ..component_helpers.storage import (ATTACHED_NODE, EXCLUSIVE_MESSAGE, is_attachable, is_exclusive,
                                         multi_attach_message, pod_claim_names)
from ..errors import StatusError
from ..etcd.store import ADDED, DELETED, Event
from ..objects import annotations_of, clone, labels_of, node_ready, spec_of, status_of
from ..quantity import parse_quantity
from ..selectors import LabelSelector
from .volume_data import DATA_ROWS

BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
LOCAL_PATH = "rancher.io/local-path"
OUT_OF_SERVICE_TAINT = "node.kubernetes.io/out-of-service"
MAX_WAIT_FOR_UNMOUNT = 360.0     # attachdetach-controller maxWaitForUnmountDuration (6 min)
PROVISION_SECONDS = (1.0, 3.0)   # how long the simulated provisioner takes (seeded)
NO_CLASS_MESSAGE = "no persistent volumes available for this claim and no storage class is set"
WFFC_MESSAGE = "waiting for first consumer to be created before binding"


# ---------------------------------------------------------------------------------------------- pure helpers
def claim_class(pvc: dict) -> str:
    """``storagehelpers.GetPersistentVolumeClaimClass``: the beta annotation wins, then ``storageClassName``."""
    ann = annotations_of(pvc)
    if BETA_CLASS in ann:
        return ann[BETA_CLASS]
    return spec_of(pvc).get("storageClassName") or ""


def volume_class(pv: dict) -> str:
    ann = annotations_of(pv)
    if BETA_CLASS in ann:
        return ann[BETA_CLASS]
    return spec_of(pv).get("storageClassName") or ""


def _storage(obj_map: dict | None) -> float:
    try:
        return parse_quantity((obj_map or {}).get("storage", 0))
    except ValueError:
        return 0.0


def claim_request(pvc: dict) -> float:
    return _storage((spec_of(pvc).get("resources") or {}).get("requests"))


def node_matches(pv: dict, node: dict | None) -> bool:
    """Tell whether the PV's ``nodeAffinity`` admits ``node`` (no affinity: every node)."""
    terms = (((spec_of(pv).get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms"))
    if not terms:
        return True
    if node is None:
        return False
    labels = dict(labels_of(node))
    labels.setdefault("kubernetes.io/hostname", node["metadata"]["name"])
    for term in terms:
        ok = True
        for req in term.get("matchExpressions") or ():
            value = labels.get(req.get("key", ""))
            op, values = req.get("operator"), req.get("values") or []
            if op == "In":
                ok = value is not None and value in values
            elif op == "NotIn":
                ok = value is None or value not in values
            elif op == "Exists":
                ok = value is not None
            elif op == "DoesNotExist":
                ok = value is None
            else:
                ok = False
            if not ok:
                break
        for req in term.get("matchFields") or ():
            if req.get("key") == "metadata.name":
                inside = node["metadata"]["name"] in (req.get("values") or [])
                ok = ok and (inside if req.get("operator") == "In" else not inside)
        if ok:
            return True
    return False


def volume_matches(pv: dict, pvc: dict, node: dict | None = None, check_node: bool = False) -> bool:
    """``checkVolumeSatisfyClaim`` + selector and class: may ``pv`` be bound to ``pvc``?"""
    spec, cspec = spec_of(pv), spec_of(pvc)
    if volume_class(pv) != claim_class(pvc):
        return False
    if not set(cspec.get("accessModes") or ()) <= set(spec.get("accessModes") or ()):
        return False
    if _storage(spec.get("capacity")) < claim_request(pvc):
        return False
    if (spec.get("volumeMode") or "Filesystem") != (cspec.get("volumeMode") or "Filesystem"):
        return False
    sel = cspec.get("selector")
    if sel is not None and not LabelSelector.from_dict(sel).matches(pv["metadata"].get("labels")):
        return False
    if check_node and not node_matches(pv, node):
        return False
    return True


def find_best_match(pvs: list[dict], pvc: dict, node: dict | None = None, check_node: bool = False) -> dict | None:
    """The smallest Available, unclaimed (or pre-bound to this claim) volume that satisfies ``pvc``."""
    meta = pvc["metadata"]
    best = None
    for pv in pvs:
        ref = spec_of(pv).get("claimRef")
        if pv["metadata"].get("deletionTimestamp"):
            continue
        if ref:
            if ref.get("name") != meta["name"] or ref.get("namespace") != meta.get("namespace"):
                continue
            if ref.get("uid") and ref.get("uid") != meta.get("uid"):
                continue
            if volume_matches(pv, pvc, node, check_node):
                return pv  # pre-bound to this claim: always chosen
            continue
        if status_of(pv).get("phase") != "Available":
            continue
        if not volume_matches(pv, pvc, node, check_node):
            continue
        if best is None or _storage(pv["spec"].get("capacity")) < _storage(best["spec"].get("capacity")):
            best = pv
    return best


# ---------------------------------------------------------------------------------------------- PV controller
class PersistentVolumeController(Controller):
    name = "persistentvolume-controller"

    def __init__(self, api, clock):
        super().__init__(api, clock)
        self._pending: set[tuple[str, str]] = set()   # unbound claims, retried when volumes or classes appear
        self._provisioning: set[str] = set()          # claim uids with a provisioning operation in flight
        self.store.subscribe(self.on_event)

    # ------------------------------------------------------------------ event handlers
    def on_event(self, ev: Event) -> None:
        resource = ev.resource
        if resource == "persistentvolumeclaims":
            meta = ev.obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if ev.type == DELETED:
                self._pending.discard(key)
                volume = spec_of(ev.obj).get("volumeName")
                if volume:
                    self.queue.add(("volume", volume))
                return
            self.queue.add(("claim",) + key)
        elif resource == "persistentvolumes":
            name = ev.obj["metadata"]["name"]
            if ev.type == DELETED:
                ref = spec_of(ev.obj).get("claimRef") or {}
                if ref.get("name"):
                    self.queue.add(("claim", ref.get("namespace", ""), ref["name"]))
                return
            self.queue.add(("volume", name))
            if status_of(ev.obj).get("phase") == "Available":
                self._retry_pending()
        elif resource == "storageclasses" and ev.type == ADDED:
            self._retry_pending()
        elif resource == "pods" and ev.type != DELETED:
            node = spec_of(ev.obj).get("nodeName")
            if node and not spec_of(ev.old).get("nodeName"):
                ns = ev.obj["metadata"].get("namespace", "")
                for claim in pod_claim_names(ev.obj):
                    if (ns, claim) in self._pending:
                        self.queue.add(("claim", ns, claim))

    def _retry_pending(self) -> None:
        for ns, name in sorted(self._pending):
            self.queue.add(("claim", ns, name))

    def resync(self) -> None:
        for pv in self.store.list("persistentvolumes"):
            self.queue.add(("volume", pv["metadata"]["name"]))
        for pvc in self.store.list("persistentvolumeclaims"):
            self.queue.add(("claim", pvc["metadata"].get("namespace", ""), pvc["metadata"]["name"]))

    def sync(self, key) -> None:
        if key[0] == "claim":
            self.sync_claim(key[1], key[2])
        else:
            self.sync_volume(key[1])

    # ------------------------------------------------------------------ claims
    def sync_claim(self, ns: str, name: str) -> None:
        pvc = self.store.find("persistentvolumeclaims", ns, name)
        if pvc is None or pvc["metadata"].get("deletionTimestamp"):
            self._pending.discard((ns, name))
            return
        spec = spec_of(pvc)
        phase = status_of(pvc).get("phase")
        volume_name = spec.get("volumeName")
        if volume_name:
            self._pending.discard((ns, name))
            pv = self.store.find("persistentvolumes", "", volume_name)
            if pv is None:
                if phase == "Bound":
                    self._set_claim_phase(pvc, "Lost")
                    self.api.record_event(pvc, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the "
                                          "volume is lost!", type="Warning", component=self.name,
                                          explanation=f"the PersistentVolume {volume_name} behind {name} was deleted")
                return
            ref = spec_of(pv).get("claimRef") or {}
            if phase != "Bound" or status_of(pv).get("phase") != "Bound" or not ref:
                if not ref or (ref.get("name") == name and ref.get("namespace") == ns
                               and ref.get("uid") in (None, "", pvc["metadata"]["uid"])):
                    self.bind(pv, pvc, by_controller=False)
            return
        self._pending.add((ns, name))
        class_name = claim_class(pvc)
        sc = self.store.find("storageclasses", "", class_name) if class_name else None
        delayed = sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        ann = annotations_of(pvc)
        node_name = ann.get(SELECTED_NODE)
        if delayed and not node_name:
            node_name = self._scheduled_consumer_node(pvc)
            if node_name:
                new = clone(pvc)
                new["metadata"].setdefault("annotations", {})[SELECTED_NODE] = node_name
                self.api.update_internal(new)  # the update brings us back here
                return
            self.api.record_event(pvc, "WaitForFirstConsumer", WFFC_MESSAGE, component=self.name,
                                  explanation=f"{class_name} binds late (WaitForFirstConsumer): {name} stays Pending "
                                              "until a pod that uses it is scheduled, so the volume is made where "
                                              "the pod runs")
            return
        node = self.store.find("nodes", "", node_name) if (delayed and node_name) else None
        pv = find_best_match(self.store.list("persistentvolumes"), pvc, node, check_node=delayed)
        if pv is not None:
            self.bind(pv, pvc, by_controller=True)
            return
        if not class_name:
            self.api.record_event(pvc, "FailedBinding", NO_CLASS_MESSAGE, component=self.name,
                                  explanation=f"{name} names no StorageClass and no PersistentVolume matches it: "
                                              "create a matching PV or set storageClassName")
            return
        if sc is None:
            self.api.record_event(pvc, "ProvisioningFailed", f'storageclass.storage.k8s.io "{class_name}" not found',
                                  type="Warning", component=self.name,
                                  explanation=f"{name} asks for StorageClass {class_name}, which does not exist")
            return
        self.provision(pvc, sc, node_name if delayed else None)

    def _scheduled_consumer_node(self, pvc: dict) -> str | None:
        """The node of a scheduled pod that uses ``pvc`` (the scheduler normally annotates it first)."""
        ns, name = pvc["metadata"].get("namespace", ""), pvc["metadata"]["name"]
        for pod in self.store.list("pods", ns):
            node = spec_of(pod).get("nodeName")
            if node and not pod["metadata"].get("deletionTimestamp") and name in pod_claim_names(pod):
                return node
        return None

    # ------------------------------------------------------------------ provisioning
    def provision(self, pvc: dict, sc: dict, node_name: str | None) -> None:
        provisioner = sc.get("provisioner", "")
        name, ns, uid = pvc["metadata"]["name"], pvc["metadata"].get("namespace", ""), pvc["metadata"]["uid"]
        if provisioner == NO_PROVISIONER or provisioner.startswith("kubernetes.io/"):
            self.api.record_event(pvc, "ProvisioningFailed", f"no volume plugin matched name: {provisioner}",
                                  type="Warning", component=self.name,
                                  explanation=f"StorageClass {sc['metadata']['name']} cannot make volumes: create a "
                                              f"PersistentVolume that matches {name} by hand")
            return
        if uid in self._provisioning:
            return
        ann = annotations_of(pvc)
        if ann.get(STORAGE_PROVISIONER) != provisioner:
            new = clone(pvc)
            anns = new["metadata"].setdefault("annotations", {})
            anns[STORAGE_PROVISIONER] = provisioner
            anns[BETA_STORAGE_PROVISIONER] = provisioner
            pvc = self.api.update_internal(new)
        self._provisioning.add(uid)
        self.api.record_event(pvc, "ExternalProvisioning",
                              f"Waiting for a volume to be created either by the external provisioner '{provisioner}' "
                              "or manually by the system administrator. If volume creation is delayed, please verify "
                              "that the provisioner is running and correctly registered.",
                              component=self.name,
                              explanation=f"no existing PersistentVolume fits {name}, so the provisioner of "
                                          f"StorageClass {sc['metadata']['name']} makes a new one")
        self.api.record_event(pvc, "Provisioning", f'External provisioner is provisioning volume for claim '
                              f'"{ns}/{name}"', component=provisioner,
                              explanation=f"{provisioner} is creating volume pvc-{uid} for {name}"
                                          + (f" on {node_name}" if node_name else ""))
        lo, hi = PROVISION_SECONDS
        delay = lo + (hi - lo) * self.clock.rng.random()
        self.clock.schedule(delay, lambda: self._finish_provisioning(ns, name, uid, sc["metadata"]["name"],
                                                                     node_name))

    def _finish_provisioning(self, ns: str, name: str, uid: str, class_name: str, node_name: str | None) -> None:
        self._provisioning.discard(uid)
        if self.stopped:
            self.queue.add(("claim", ns, name))
            return
        pvc = self.store.find("persistentvolumeclaims", ns, name)
        sc = self.store.find("storageclasses", "", class_name)
        if pvc is None or pvc["metadata"]["uid"] != uid or sc is None or spec_of(pvc).get("volumeName"):
            return
        pv = self.provisioned_volume(pvc, sc, node_name)
        try:
            made = self.api.create_internal(pv)
        except StatusError as err:
            self.api.record_event(pvc, "ProvisioningFailed", f"failed to provision volume with StorageClass "
                                  f'"{class_name}": {err.message}', type="Warning", component=sc["provisioner"])
            return
        self.api.record_event(pvc, "ProvisioningSucceeded",
                              f"Successfully provisioned volume {made['metadata']['name']}",
                              component=sc["provisioner"],
                              explanation=f"{made['metadata']['name']} was created for {name}; the controller binds "
                                          "them next")

    def provisioned_volume(self, pvc: dict, sc: dict, node_name: str | None) -> dict:
        """The PV a provisioner makes: pre-bound to the claim; local-path is a hostPath pinned to its node."""
        meta, spec = pvc["metadata"], spec_of(pvc)
        provisioner = sc["provisioner"]
        name = f"pvc-{meta['uid']}"
        pv_spec: dict = {
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")},
            "claimRef": {"kind": "PersistentVolumeClaim", "namespace": meta.get("namespace", ""),
                         "name": meta["name"], "uid": meta["uid"], "apiVersion": "v1",
                         "resourceVersion": meta.get("resourceVersion", "")},
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
            "storageClassName": sc["metadata"]["name"],
            "volumeMode": spec.get("volumeMode") or "Filesystem",
        }
        annotations = {PROVISIONED_BY: provisioner}
        if provisioner == LOCAL_PATH and node_name:
            pv_spec["hostPath"] = {"path": f"/var/local-path-provisioner/{name}_{meta.get('namespace', '')}_"
                                           f"{meta['name']}", "type": "DirectoryOrCreate"}
            annotations["local.path.provisioner/selected-node"] = node_name
        else:
            pv_spec["csi"] = {"driver": provisioner, "volumeHandle": name, "fsType": "ext4"}
        if node_name and provisioner == LOCAL_PATH:
            pv_spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}]}]}}
        if sc.get("mountOptions"):
            pv_spec["mountOptions"] = list(sc["mountOptions"])
        return {"apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": name, "annotations": annotations, "finalizers": ["kubernetes.io/pv-protection"]},
                "spec": pv_spec}

    # ------------------------------------------------------------------ binding
    def bind(self, pv: dict, pvc: dict, by_controller: bool) -> None:
        """``bind``: claimRef on the volume, volumeName on the claim, both phases Bound."""
        now = rfc3339(self.clock.now)
        cmeta = pvc["metadata"]
        ref = {"kind": "PersistentVolumeClaim", "namespace": cmeta.get("namespace", ""), "name": cmeta["name"],
               "uid": cmeta["uid"], "apiVersion": "v1", "resourceVersion": cmeta.get("resourceVersion", "")}
        new_pv = clone(pv)
        old_ref = spec_of(pv).get("claimRef") or {}
        if not old_ref or old_ref.get("uid") != cmeta["uid"]:
            if not old_ref:
                new_pv["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
            new_pv["spec"]["claimRef"] = ref
            pv = self.api.update_internal(new_pv)
        if status_of(pv).get("phase") != "Bound":
            new_pv = clone(pv)
            new_pv["status"] = {"phase": "Bound", "lastPhaseTransitionTime": now}
            pv = self.api.update_status(new_pv)
        new_pvc = clone(pvc)
        anns = new_pvc["metadata"].setdefault("annotations", {})
        anns[BIND_COMPLETED] = "yes"
        if by_controller and not spec_of(pvc).get("volumeName"):
            anns[BOUND_BY_CONTROLLER] = "yes"
        rows = annotations_of(pv).get(DATA_ROWS)
        if rows is not None:
            anns[DATA_ROWS] = rows
        new_pvc["spec"]["volumeName"] = pv["metadata"]["name"]
        pvc = self.api.update_internal(new_pvc)
        pspec = spec_of(pv)
        status = {"phase": "Bound", "accessModes": list(pspec.get("accessModes") or ()),
                  "capacity": dict(pspec.get("capacity") or {})}
        if status_of(pvc) != status:
            new_pvc = clone(pvc)
            new_pvc["status"] = status
            self.api.update_status(new_pvc)
        self._pending.discard((cmeta.get("namespace", ""), cmeta["name"]))

    def _set_claim_phase(self, pvc: dict, phase: str) -> None:
        new = clone(pvc)
        new["status"] = dict(status_of(pvc), phase=phase)
        self.api.update_status(new)

    # ------------------------------------------------------------------ volumes
    def sync_volume(self, name: str) -> None:
        pv = self.store.find("persistentvolumes", "", name)
        if pv is None:
            return
        if pv["metadata"].get("deletionTimestamp"):
            # pv-protection: a volume being deleted goes once no claim is bound to it.
            ref = spec_of(pv).get("claimRef") or {}
            claim = self.store.find("persistentvolumeclaims", ref.get("namespace", ""), ref.get("name", "")) \
                if ref else None
            if claim is None or claim["metadata"].get("uid") != ref.get("uid"):
                self.api.remove_finalizer("persistentvolumes", "", name, "kubernetes.io/pv-protection")
            return
        spec, phase = spec_of(pv), status_of(pv).get("phase")
        ref = spec.get("claimRef")
        if not ref:
            if phase != "Available":
                self._set_volume_phase(pv, "Available")
            return
        pvc = self.store.find("persistentvolumeclaims", ref.get("namespace", ""), ref.get("name", ""))
        if pvc is not None and (not ref.get("uid") or ref.get("uid") == pvc["metadata"]["uid"]):
            if phase == "Pending" or (phase != "Bound" and not ref.get("uid")):
                if phase == "Pending":
                    pv = self._set_volume_phase(pv, "Available")
                self.queue.add(("claim", ref.get("namespace", ""), ref.get("name", "")))
            elif phase != "Bound" and spec_of(pvc).get("volumeName") == name:
                self.queue.add(("claim", ref.get("namespace", ""), ref.get("name", "")))
            return
        if not ref.get("uid"):
            if phase != "Available":
                self._set_volume_phase(pv, "Available")  # pre-bound to a claim that does not exist yet
            return
        # The claim this volume was bound to is gone: reclaim.
        if phase == "Released" and spec.get("persistentVolumeReclaimPolicy", "Retain") == "Retain":
            return
        self.reclaim(pv)

    def reclaim(self, pv: dict) -> None:
        policy = spec_of(pv).get("persistentVolumeReclaimPolicy", "Retain")
        name = pv["metadata"]["name"]
        ref = pv["spec"]["claimRef"]
        if policy == "Delete":
            if status_of(pv).get("phase") != "Released":
                pv = self._set_volume_phase(pv, "Released")
            self.api.delete_internal("persistentvolumes", "", name, uid=pv["metadata"]["uid"])
            self.api.remove_finalizer("persistentvolumes", "", name, "kubernetes.io/pv-protection")
            return
        if policy == "Recycle":
            new = clone(pv)
            new["spec"].pop("claimRef", None)
            new["metadata"].get("annotations", {}).pop(DATA_ROWS, None)
            new["metadata"].get("annotations", {}).pop(BOUND_BY_CONTROLLER, None)
            pv = self.api.update_internal(new)
            self._set_volume_phase(pv, "Available")
            self.api.record_event(pv, "VolumeRecycled", "Volume recycled", component=self.name,
                                  explanation=f"{name} was scrubbed and is Available again (Recycle is deprecated)")
            return
        self._set_volume_phase(pv, "Released")
        self.api.record_event(pv, "VolumeReleased", f"Volume released: claim {ref.get('namespace')}/{ref.get('name')} "
                              "was deleted; the Retain policy keeps the volume and its data",
                              component=self.name,
                              explanation=f"{name} keeps its data but is not reused automatically: remove "
                                          "spec.claimRef to make it Available again")

    def _set_volume_phase(self, pv: dict, phase: str) -> dict:
        new = clone(pv)
        new["status"] = {"phase": phase, "lastPhaseTransitionTime": rfc3339(self.clock.now)}
        return self.api.update_status(new)


# ---------------------------------------------------------------------------------------------- attach/detach
class AttachDetachController(Controller):
    name = "attachdetach-controller"

    def __init__(self, api, clock, max_wait_for_unmount: float | None = None):
        super().__init__(api, clock)
        profile = getattr(api, "profile", None)
        self.max_wait = (max_wait_for_unmount if max_wait_for_unmount is not None
                         else float(getattr(profile, "max_wait_for_unmount", MAX_WAIT_FOR_UNMOUNT)))
        self._users: dict[str, dict[tuple[str, str], str]] = {}    # pv → {pod key: node} (desired state)
        self._claim_pods: dict[tuple[str, str], set[tuple[str, str]]] = {}  # claim → pods needing it
        self._unused_since: dict[str, float] = {}                  # pv → when its last user left a silent node
        self.store.subscribe(self.on_event)

    # ------------------------------------------------------------------ event handlers
    def on_event(self, ev: Event) -> None:
        resource = ev.resource
        if resource == "pods":
            self._on_pod(ev)
        elif resource == "persistentvolumeclaims" and ev.type != DELETED:
            if spec_of(ev.obj).get("volumeName") and not spec_of(ev.old).get("volumeName"):
                meta = ev.obj["metadata"]
                for pod_key in sorted(self._claim_pods.get((meta.get("namespace", ""), meta["name"]), ())):
                    self.queue.add(("pod",) + pod_key)
        elif resource == "nodes" and ev.type == DELETED:
            for pv_name in sorted(self._users):
                self.queue.add(("volume", pv_name))
            for pv in self.store.list("persistentvolumes"):
                if annotations_of(pv).get(ATTACHED_NODE) == ev.obj["metadata"]["name"]:
                    self.queue.add(("volume", pv["metadata"]["name"]))

    def _on_pod(self, ev: Event) -> None:
        pod = ev.obj
        claims = pod_claim_names(pod)
        if not claims and not (ev.old is not None and pod_claim_names(ev.old)):
            return
        ns = pod["metadata"].get("namespace", "")
        key = (ns, pod["metadata"]["name"])
        node = spec_of(pod).get("nodeName")
        gone = ev.type == DELETED or status_of(pod).get("phase") in ("Succeeded", "Failed")
        for claim in claims:
            if gone:
                pods = self._claim_pods.get((ns, claim))
                if pods is not None:
                    pods.discard(key)
                    if not pods:
                        del self._claim_pods[(ns, claim)]
            else:
                self._claim_pods.setdefault((ns, claim), set()).add(key)
        if gone:
            for pv_name, users in list(self._users.items()):
                if users.pop(key, None) is not None:
                    self.queue.add(("volume", pv_name))
                    if not users:
                        del self._users[pv_name]
            return
        if node:
            self.queue.add(("pod",) + key)

    def resync(self) -> None:
        for pod in self.store.list("pods"):
            if pod_claim_names(pod):
                self._on_pod(Event(ADDED, "pods", pod, 0, None))
        for pv in self.store.list("persistentvolumes"):
            if annotations_of(pv).get(ATTACHED_NODE):
                self.queue.add(("volume", pv["metadata"]["name"]))

    def sync(self, key) -> None:
        if key[0] == "pod":
            self.sync_pod(key[1], key[2])
        else:
            self.sync_volume(key[1])

    # ------------------------------------------------------------------ attach
    def _volumes_of(self, pod: dict) -> list[dict]:
        ns = pod["metadata"].get("namespace", "")
        out = []
        for claim in pod_claim_names(pod):
            pvc = self.store.find("persistentvolumeclaims", ns, claim)
            volume = spec_of(pvc).get("volumeName")
            pv = self.store.find("persistentvolumes", "", volume) if volume else None
            if pv is not None and is_attachable(pv):
                out.append(pv)
        return out

    def sync_pod(self, ns: str, name: str) -> None:
        pod = self.store.find("pods", ns, name)
        if pod is None or status_of(pod).get("phase") in ("Succeeded", "Failed"):
            return
        node = spec_of(pod).get("nodeName")
        if not node:
            return
        key = (ns, name)
        for pv in self._volumes_of(pod):
            pv_name = pv["metadata"]["name"]
            self._users.setdefault(pv_name, {})[key] = node
            if not is_exclusive(pv):
                continue
            attached = annotations_of(pv).get(ATTACHED_NODE)
            if attached == node:
                continue
            if not attached:
                self._attach(pv, pod, node)
                continue
            self._report_multi_attach(pv, pod, node, attached)

    def _attach(self, pv: dict, pod: dict, node: str) -> None:
        new = clone(pv)
        new["metadata"].setdefault("annotations", {})[ATTACHED_NODE] = node
        self.api.update_internal(new)
        self._unused_since.pop(pv["metadata"]["name"], None)
        pv_name = pv["metadata"]["name"]
        self.api.record_event(pod, "SuccessfulAttachVolume", f'AttachVolume.Attach succeeded for volume "{pv_name}" ',
                              component=self.name,
                              explanation=f"{pv_name} is now attached to {node}, where "
                                          f"{pod['metadata']['name']} can mount it")

    def _report_multi_attach(self, pv: dict, pod: dict, node: str, attached: str) -> None:
        """``reportMultiAttachError``: name the pods in this namespace that hold the volume elsewhere."""
        pv_name = pv["metadata"]["name"]
        ns = pod["metadata"].get("namespace", "")
        local, others = [], 0
        for (pns, pname), pnode in sorted(self._users.get(pv_name, {}).items()):
            if pnode == node:
                continue
            if pns == ns:
                local.append(pname)
            else:
                others += 1
        if local:
            detail = f"Volume is already used by pod(s) {', '.join(local)}"
            if others:
                detail += f" and {others} pod(s) in different namespaces"
        elif others:
            detail = f"Volume is already used by {others} pod(s) in different namespaces"
        else:
            detail = EXCLUSIVE_MESSAGE
        node_obj = self.store.find("nodes", "", attached)
        if local or others:
            why = (f"{pv_name} is ReadWriteOnce and still attached to {attached}, where "
                   f"{', '.join(local) or 'another pod'} uses it: {pod['metadata']['name']} on {node} waits in "
                   "ContainerCreating until that pod is gone")
        elif node_ready(node_obj):
            why = f"{pv_name} is being detached from {attached}; {pod['metadata']['name']} waits for it"
        else:
            why = (f"{pv_name} is ReadWriteOnce and still attached to {attached}, which is not responding and cannot "
                   f"confirm the unmount: it is force-detached {int(self.max_wait)} s after its last pod went "
                   f"(maxWaitForUnmountDuration), then {pod['metadata']['name']} can start on {node}")
        self.api.record_event(pod, "FailedAttachVolume", multi_attach_message(pv_name, detail), type="Warning",
                              component=self.name, explanation=why)

    # ------------------------------------------------------------------ detach
    def sync_volume(self, pv_name: str) -> None:
        pv = self.store.find("persistentvolumes", "", pv_name)
        if pv is None:
            self._unused_since.pop(pv_name, None)
            self._wake_waiters(pv_name)
            return
        attached = annotations_of(pv).get(ATTACHED_NODE)
        if not attached:
            self._wake_waiters(pv_name)
            return
        if any(n == attached for n in self._users.get(pv_name, {}).values()):
            self._unused_since.pop(pv_name, None)
            return
        node = self.store.find("nodes", "", attached)
        out_of_service = node is not None and any(
            t.get("key") == OUT_OF_SERVICE_TAINT for t in spec_of(node).get("taints") or ())
        if node is not None and not node_ready(node) and not out_of_service:
            since = self._unused_since.setdefault(pv_name, self.clock.now)
            left = since + self.max_wait - self.clock.now
            if left > 0:
                self.queue.add_after(("volume", pv_name), left)
                return
        self._unused_since.pop(pv_name, None)
        new = clone(pv)
        new["metadata"]["annotations"].pop(ATTACHED_NODE, None)
        if not new["metadata"]["annotations"]:
            del new["metadata"]["annotations"]
        self.api.update_internal(new)
        self._wake_waiters(pv_name)

    def _wake_waiters(self, pv_name: str) -> None:
        for pod_key in sorted(self._users.get(pv_name, {})):
            self.queue.add(("pod",) + pod_key)
