"""PersistentVolume binding, provisioning, reclaim, attach/detach and simulated data (kubernetes profile)."""
from __future__ import annotations

import pytest
from simulate import events, run_until
from test_statefulset import running_ready, wire_storage

from engine.cluster import Cluster
from engine.component_helpers.storage import ATTACHED_NODE, attach_blocker
from engine.controllers.volume_binding import find_best_match
from engine.controllers.volume_data import DATA_ROWS, EPHEMERAL_ROWS


@pytest.fixture
def sc(cluster: Cluster) -> Cluster:
    return wire_storage(cluster)


def pvc(name: str, *, cls: str | None = None, size: str = "1Gi", modes=("ReadWriteOnce",),
        selector: dict | None = None) -> dict:
    spec: dict = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if selector:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def pv(name: str, size: str, *, cls: str = "", policy: str = "Retain", modes=("ReadWriteOnce",),
       labels: dict | None = None) -> dict:
    meta: dict = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta,
            "spec": {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": cls,
                     "persistentVolumeReclaimPolicy": policy, "hostPath": {"path": f"/mnt/{name}"}}}


def pod(name: str, claim: str | None, *, node: str | None = None, writes: int = 0, empty_dir: bool = False) -> dict:
    spec: dict = {"containers": [{"name": "db", "image": "postgres:16"}]}
    if claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    elif empty_dir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    if node:
        spec["nodeName"] = node
    meta: dict = {"name": name}
    if writes:
        meta["annotations"] = {"kubedrill.io/writes-rows-per-second": str(writes)}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def claim(c: Cluster, name: str) -> dict:
    return c.store.get("persistentvolumeclaims", "default", name)


def phase(obj: dict | None) -> str | None:
    return None if obj is None else (obj.get("status") or {}).get("phase")


IMMEDIATE = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
             "provisioner": "kubedrill.io/simulated", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}


# ---------------------------------------------------------------------------------------------- static binding
def test_a_pending_claim_binds_to_the_smallest_matching_available_volume(sc):
    c = sc
    for name, size, labels in (("big", "10Gi", {"tier": "gold"}), ("small", "2Gi", {"tier": "gold"}),
                               ("tiny", "500Mi", {"tier": "gold"}), ("other", "2Gi", {"tier": "bronze"})):
        c.api.create(pv(name, size, labels=labels))
    c.run_for(0.01)
    assert {phase(v) for v in c.store.list("persistentvolumes")} == {"Available"}
    c.api.create(pvc("want", cls="", size="1Gi", selector={"matchLabels": {"tier": "gold"}}))
    c.run_for(0.01)
    bound = claim(c, "want")
    volume = c.store.get("persistentvolumes", "", "small")
    assert bound["spec"]["volumeName"] == "small" and phase(bound) == "Bound"
    assert bound["status"]["capacity"] == {"storage": "2Gi"} and bound["status"]["accessModes"] == ["ReadWriteOnce"]
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert phase(volume) == "Bound" and volume["spec"]["claimRef"]["uid"] == bound["metadata"]["uid"]
    assert volume["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"


def test_find_best_match_checks_class_modes_capacity_and_selector():
    claim_obj = {"metadata": {"name": "c", "namespace": "default", "uid": "u"},
                 "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "",
                          "resources": {"requests": {"storage": "1Gi"}}}}
    def vol(name, size, modes, cls=""):
        return {"metadata": {"name": name}, "status": {"phase": "Available"},
                "spec": {"capacity": {"storage": size}, "accessModes": modes, "storageClassName": cls}}
    volumes = [vol("rwo", "1Gi", ["ReadWriteOnce"]), vol("classy", "1Gi", ["ReadWriteMany"], "gold"),
               vol("small", "512Mi", ["ReadWriteMany"]), vol("ok", "5Gi", ["ReadWriteMany", "ReadOnlyMany"])]
    assert find_best_match(volumes, claim_obj)["metadata"]["name"] == "ok"
    assert find_best_match(volumes[:3], claim_obj) is None


def test_a_claim_without_class_or_volume_reports_failed_binding(sc):
    c = sc
    c.api.create(pvc("lonely", cls=""))
    c.run_for(1)
    assert phase(claim(c, "lonely")) == "Pending"
    ev = events(c, "FailedBinding", "lonely")
    assert [e["message"] for e in ev] == ["no persistent volumes available for this claim and no storage class is set"]
    assert ev[0]["source"]["component"] == "persistentvolume-controller"
    # A matching volume appearing later is picked up.
    c.api.create(pv("late", "1Gi"))
    c.run_for(0.01)
    assert claim(c, "lonely")["spec"]["volumeName"] == "late" and phase(claim(c, "lonely")) == "Bound"


# ---------------------------------------------------------------------------------------------- provisioning
def test_immediate_class_provisions_pvc_uid_volume_with_events(sc):
    c = sc
    c.api.create(IMMEDIATE)
    made = c.api.create(pvc("quick", cls="fast", size="3Gi"))
    c.run_for(0.01)
    assert [e["reason"] for e in events(c, None, "quick")] == ["ExternalProvisioning", "Provisioning"]
    t = run_until(c, lambda: phase(claim(c, "quick")) == "Bound", 10)
    assert 1.0 <= t <= 3.1
    name = f"pvc-{made['metadata']['uid']}"
    volume = c.store.get("persistentvolumes", "", name)
    assert volume["spec"]["csi"]["driver"] == "kubedrill.io/simulated"
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert volume["spec"]["capacity"] == {"storage": "3Gi"} and phase(volume) == "Bound"
    assert volume["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "kubedrill.io/simulated"
    assert [e["message"] for e in events(c, "ProvisioningSucceeded", "quick")] == [
        f"Successfully provisioned volume {name}"]
    assert claim(c, "quick")["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == \
        "kubedrill.io/simulated"


def test_a_wait_for_first_consumer_claim_binds_only_when_its_pod_is_scheduled(sc):
    c = sc
    c.api.create(pvc("late"))  # default class: standard, WaitForFirstConsumer
    c.run_for(60)
    pending = claim(c, "late")
    assert pending["spec"]["storageClassName"] == "standard" and phase(pending) == "Pending"
    waits = events(c, "WaitForFirstConsumer", "late")
    assert [e["message"] for e in waits] == ["waiting for first consumer to be created before binding"]
    assert waits[0]["type"] == "Normal"
    assert not c.store.list("persistentvolumes")
    c.api.create(pod("consumer", "late"))
    run_until(c, lambda: c.store.get("pods", "default", "consumer")["spec"].get("nodeName"), 10)
    node = c.store.get("pods", "default", "consumer")["spec"]["nodeName"]
    assert claim(c, "late")["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    run_until(c, lambda: phase(claim(c, "late")) == "Bound", 10)
    run_until(c, lambda: running_ready(c.store.get("pods", "default", "consumer")), 60)


def test_local_path_volumes_are_pinned_to_the_selected_node(sc):
    c = sc
    c.api.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local-path"},
                  "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"})
    c.api.create(pvc("pinned", cls="local-path"))
    c.api.create(pod("user", "pinned"))
    run_until(c, lambda: phase(claim(c, "pinned")) == "Bound", 10)
    node = c.store.get("pods", "default", "user")["spec"]["nodeName"]
    volume = c.store.get("persistentvolumes", "", claim(c, "pinned")["spec"]["volumeName"])
    assert volume["spec"]["hostPath"]["type"] == "DirectoryOrCreate"
    terms = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]


# ---------------------------------------------------------------------------------------------- reclaim
def test_pv_reclaim_retain_keeps_the_volume_and_data_delete_removes_it(sc):
    c = sc
    c.api.create(pv("keeper", "1Gi", policy="Retain"))
    c.api.create(pvc("keep-claim", cls=""))
    c.api.create(pod("db", "keep-claim", writes=5))
    run_until(c, lambda: running_ready(c.store.get("pods", "default", "db")), 60)
    c.run_for(10)
    rows = c.store.get("persistentvolumes", "", "keeper")["metadata"]["annotations"][DATA_ROWS]
    assert int(rows) >= 45
    c.api.delete("pods", "default", "db", grace_period=0)
    c.api.delete("persistentvolumeclaims", "default", "keep-claim")
    c.run_for(1)
    kept = c.store.get("persistentvolumes", "", "keeper")
    assert phase(kept) == "Released" and kept["metadata"]["annotations"][DATA_ROWS] == rows
    assert kept["spec"]["claimRef"]["name"] == "keep-claim"
    # A new claim does not get a Released volume; removing claimRef makes it Available again.
    c.api.create(pvc("second", cls=""))
    c.run_for(1)
    assert phase(claim(c, "second")) == "Pending"
    c.api.patch("persistentvolumes", None, "keeper", [{"op": "remove", "path": "/spec/claimRef"}], "json")
    c.run_for(0.01)
    assert claim(c, "second")["spec"]["volumeName"] == "keeper"
    assert c.store.get("persistentvolumes", "", "keeper")["metadata"]["annotations"][DATA_ROWS] == rows
    # Delete policy (the default class): the PV goes with its claim.
    c.api.create(IMMEDIATE)
    c.api.create(pvc("scratch", cls="fast"))
    run_until(c, lambda: phase(claim(c, "scratch")) == "Bound", 10)
    volume = claim(c, "scratch")["spec"]["volumeName"]
    c.api.delete("persistentvolumeclaims", "default", "scratch")
    c.run_for(0.01)
    assert c.store.find("persistentvolumes", "", volume) is None


# ---------------------------------------------------------------------------------------------- attach/detach
def test_multi_attach_error_when_a_rwo_volume_is_used_on_two_nodes(sc):
    c = sc
    c.api.create(IMMEDIATE)
    c.api.create(pvc("shared", cls="fast"))
    run_until(c, lambda: phase(claim(c, "shared")) == "Bound", 10)
    volume = claim(c, "shared")["spec"]["volumeName"]
    c.api.create(pod("first", "shared", node="node-1"))
    c.run_for(0.01)
    assert c.store.get("persistentvolumes", "", volume)["metadata"]["annotations"][ATTACHED_NODE] == "node-1"
    assert [e["message"] for e in events(c, "SuccessfulAttachVolume", "first")] == [
        f'AttachVolume.Attach succeeded for volume "{volume}" ']
    second = c.api.create(pod("second", "shared", node="node-2"))
    c.run_for(0.01)
    failed = events(c, "FailedAttachVolume", "second")
    assert [e["message"] for e in failed] == [
        f'Multi-Attach error for volume "{volume}" Volume is already used by pod(s) first']
    assert failed[0]["type"] == "Warning" and failed[0]["source"]["component"] == "attachdetach-controller"
    assert attach_blocker(c.store, c.store.get("pods", "default", "second")) == (
        f'Multi-Attach error for volume "{volume}" Volume is already exclusively attached to one node and can\'t be '
        "attached to another")
    assert attach_blocker(c.store, c.store.get("pods", "default", "first")) is None
    # node-1 is healthy: once "first" is gone the volume is detached at once and attached to node-2.
    c.api.delete("pods", "default", "first", grace_period=0)
    c.run_for(0.01)
    assert c.store.get("persistentvolumes", "", volume)["metadata"]["annotations"][ATTACHED_NODE] == "node-2"
    assert attach_blocker(c.store, second) is None


# ---------------------------------------------------------------------------------------------- data
def test_data_on_empty_dir_is_lost_with_the_pod_and_container_layer_with_a_restart(sc):
    c = sc
    c.api.create(pod("scratchy", None, writes=2, empty_dir=True))
    c.api.create(pod("layered", None, writes=3))
    run_until(c, lambda: running_ready(c.store.get("pods", "default", "layered"))
              and running_ready(c.store.get("pods", "default", "scratchy")), 60)
    c.run_for(10)
    ann = c.store.get("pods", "default", "layered")["metadata"]["annotations"]
    assert int(ann[EPHEMERAL_ROWS]) >= 27
    assert int(c.store.get("pods", "default", "scratchy")["metadata"]["annotations"][EPHEMERAL_ROWS]) >= 18
    c.crash_container("default", "layered")
    c.crash_container("default", "scratchy")
    run_until(c, lambda: c.store.get("pods", "default", "layered")["status"]["containerStatuses"][0]
              .get("restartCount", 0) >= 1, 60)
    c.run_for(0.01)
    # The container layer starts empty again; the emptyDir survives a container restart.
    assert int(c.store.get("pods", "default", "layered")["metadata"]["annotations"][EPHEMERAL_ROWS]) < 27
    assert int(c.store.get("pods", "default", "scratchy")["metadata"]["annotations"][EPHEMERAL_ROWS]) >= 18
