"""StatefulSet scenarios on the full simulated cluster (kubernetes profile), named after the e2e tests they mirror."""
from __future__ import annotations

import pytest
from simulate import events, run_until

from engine.cluster import Cluster
from engine.controllers.statefulset import (parent_and_ordinal, pod_dns_name, POD_INDEX_LABEL, POD_NAME_LABEL,
                                            REVISION_LABEL, StatefulSetController, WAITING_REASON)
from engine.controllers.volume_binding import AttachDetachController, PersistentVolumeController
from engine.controllers.volume_data import DATA_ROWS, StorageDataWriter

STANDARD_CLASS = {
    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "kubedrill.io/simulated", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
}


def wire_storage(cluster: Cluster) -> Cluster:
    """Add the StatefulSet/storage components and the default class unless wiring/bootstrap already did."""
    for cls in (StatefulSetController, PersistentVolumeController, AttachDetachController, StorageDataWriter):
        if cls.name not in cluster.controllers:
            cluster.controllers[cls.name] = cls(cluster.api, cluster.clock)
    if cluster.store.find("storageclasses", "", "standard") is None:
        cluster.api.create(STANDARD_CLASS)
    return cluster


@pytest.fixture
def sts_cluster(cluster: Cluster) -> Cluster:
    return wire_storage(cluster)


def statefulset(name: str, replicas: int, *, policy: str = "OrderedReady", claims: bool = True,
                strategy: dict | None = None, writes: int = 0, retention: dict | None = None,
                image: str = "nginx:1.27") -> dict:
    labels = {"app": name}
    tmeta: dict = {"labels": labels}
    if writes:
        tmeta["annotations"] = {"kubedrill.io/writes-rows-per-second": str(writes)}
    spec: dict = {
        "serviceName": name, "replicas": replicas, "podManagementPolicy": policy,
        "selector": {"matchLabels": labels},
        "template": {"metadata": tmeta, "spec": {"containers": [{
            "name": "app", "image": image,
            "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1}}]}},
    }
    if claims:
        spec["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    if strategy:
        spec["updateStrategy"] = strategy
    if retention:
        spec["persistentVolumeClaimRetentionPolicy"] = retention
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": spec}


def sts(cluster: Cluster, name: str) -> dict:
    return cluster.store.get("statefulsets", "default", name)


def set_pods(cluster: Cluster, name: str) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in cluster.store.list("pods", "default")
            if parent_and_ordinal(p["metadata"]["name"])[0] == name}


def running_ready(pod: dict | None) -> bool:
    if pod is None or pod["metadata"].get("deletionTimestamp") or pod.get("status", {}).get("phase") != "Running":
        return False
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or ())


def ready_count(cluster: Cluster, name: str) -> int:
    return sum(running_ready(p) for p in set_pods(cluster, name).values())


def messages(cluster: Cluster, reason: str, name: str) -> list[str]:
    return [e["message"] for e in events(cluster, reason, name)]


def scale(cluster: Cluster, name: str, replicas: int) -> None:
    cluster.scale("StatefulSet", "default", name, replicas)


# ---------------------------------------------------------------------------------------------- identity
def test_pods_have_stable_identity_labels_dns_and_claims(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("web", 2))
    run_until(c, lambda: ready_count(c, "web") == 2, 120)
    c.run_for(0.01)  # the controller syncs right after the last pod turns Ready
    pod = c.store.get("pods", "default", "web-1")
    labels = pod["metadata"]["labels"]
    st = sts(c, "web")["status"]
    assert labels[POD_NAME_LABEL] == "web-1" and labels[POD_INDEX_LABEL] == "1"
    assert labels[REVISION_LABEL] == st["updateRevision"] == st["currentRevision"]
    assert st["currentRevision"].startswith("web-")
    assert pod["spec"]["hostname"] == "web-1" and pod["spec"]["subdomain"] == "web"
    assert pod_dns_name(pod) == "web-1.web.default.svc.cluster.local"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}} in pod["spec"]["volumes"]
    revision = c.store.get("controllerrevisions", "default", st["updateRevision"])
    assert revision["revision"] == 1 and revision["metadata"]["ownerReferences"][0]["name"] == "web"
    assert st == {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "currentReplicas": 2,
                  "updatedReplicas": 2, "observedGeneration": 1, "currentRevision": st["currentRevision"],
                  "updateRevision": st["currentRevision"], "collisionCount": 0}
    # Claim before pod, in the real wording.
    assert messages(c, "SuccessfulCreate", "web")[:2] == ["create Claim data-web-0 Pod web-0 in StatefulSet web success",
                                                          "create Pod web-0 in StatefulSet web successful"]
    created = events(c, "SuccessfulCreate", "web")
    assert all(e["metadata"]["annotations"]["kubedrill.io/explanation"] for e in created)


def test_the_kubernetes_io_web_tutorial_manifest_applies_and_becomes_ready(sts_cluster):
    c = sts_cluster
    with open("tests/engine/manifests/web.yaml") as fh:
        c.apply(fh.read())
    t = run_until(c, lambda: (sts(c, "web").get("status") or {}).get("readyReplicas") == 2, 120)
    assert t < 60
    for ordinal in (0, 1):
        pvc = c.store.get("persistentvolumeclaims", "default", f"www-web-{ordinal}")
        assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["storageClassName"] == "standard"
        pod = c.store.get("pods", "default", f"web-{ordinal}")
        assert pod_dns_name(pod) == f"web-{ordinal}.nginx.default.svc.cluster.local"


# ---------------------------------------------------------------------------------------------- ordering
def test_statefulset_scaling_should_happen_in_predictable_order_and_halt_if_any_stateful_pod_is_unhealthy(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("ss", 1, claims=False))
    run_until(c, lambda: ready_count(c, "ss") == 1, 60)
    # Break ss-0's readiness, then scale up: nothing new may start while ss-0 is unhealthy.
    c.set_readiness_failing("default", "ss-0", True)
    run_until(c, lambda: not running_ready(c.store.get("pods", "default", "ss-0")), 30)
    scale(c, "ss", 3)
    c.run_for(30)
    assert sorted(set_pods(c, "ss")) == ["ss-0"]
    assert sts(c, "ss")["status"]["replicas"] == 1 and "readyReplicas" not in sts(c, "ss")["status"]
    c.set_readiness_failing("default", "ss-0", False)
    run_until(c, lambda: ready_count(c, "ss") == 3, 120)
    # Scale-up was in order, each pod created only once its predecessor was Running and Ready.
    created = [m for m in messages(c, "SuccessfulCreate", "ss")]
    assert created == [f"create Pod ss-{i} in StatefulSet ss successful" for i in range(3)]
    creates = {e["message"].split()[2]: e["firstTimestamp"] for e in events(c, "SuccessfulCreate", "ss")}
    assert creates["ss-0"] < creates["ss-1"] < creates["ss-2"]
    # Scale down with the pods unhealthy (like the e2e test, every probe broken): nothing is deleted.
    for i in range(3):
        c.set_readiness_failing("default", f"ss-{i}", True)
    run_until(c, lambda: ready_count(c, "ss") == 0, 30)
    scale(c, "ss", 0)
    c.run_for(30)
    assert sorted(set_pods(c, "ss")) == ["ss-0", "ss-1", "ss-2"]
    assert messages(c, "SuccessfulDelete", "ss") == []
    for i in range(3):
        c.set_readiness_failing("default", f"ss-{i}", False)
    run_until(c, lambda: not set_pods(c, "ss"), 300)
    c.run_for(0.01)
    # Deleted in reverse order, each only after the previous was fully gone.
    assert messages(c, "SuccessfulDelete", "ss") == [f"delete Pod ss-{i} in StatefulSet ss successful"
                                                     for i in (2, 1, 0)]
    assert sts(c, "ss")["status"]["replicas"] == 0


def test_burst_scaling_should_run_to_completion_even_with_unhealthy_pods(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("burst", 1, policy="Parallel", claims=False))
    run_until(c, lambda: ready_count(c, "burst") == 1, 60)
    c.set_readiness_failing("default", "burst-0", True)
    run_until(c, lambda: not running_ready(c.store.get("pods", "default", "burst-0")), 30)
    scale(c, "burst", 3)
    c.run_for(0.01)
    # All created at once, without waiting for burst-0.
    assert sorted(set_pods(c, "burst")) == ["burst-0", "burst-1", "burst-2"]
    run_until(c, lambda: ready_count(c, "burst") == 2, 60)
    assert not running_ready(c.store.get("pods", "default", "burst-0"))
    scale(c, "burst", 0)
    c.run_for(0.01)
    assert all(p["metadata"].get("deletionTimestamp") for p in set_pods(c, "burst").values())
    run_until(c, lambda: not set_pods(c, "burst"), 120)
    assert len(messages(c, "SuccessfulDelete", "burst")) == 3


# ---------------------------------------------------------------------------------------------- updates
def test_should_perform_canary_updates_and_phased_rolling_updates(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("ss2", 3, claims=False,
                             strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 3}}))
    run_until(c, lambda: ready_count(c, "ss2") == 3, 120)
    old_rev = sts(c, "ss2")["status"]["currentRevision"]
    c.set_image("StatefulSet", "default", "ss2", "nginx:1.28")
    c.run_for(30)
    st = sts(c, "ss2")["status"]
    new_rev = st["updateRevision"]
    assert new_rev != old_rev and st["currentRevision"] == old_rev
    assert {p["metadata"]["labels"][REVISION_LABEL] for p in set_pods(c, "ss2").values()} == {old_rev}
    # Canary: partition 2 updates only ss2-2.
    c.api.patch("statefulsets", "default", "ss2", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 2}}}},
                "merge")
    run_until(c, lambda: running_ready(c.store.find("pods", "default", "ss2-2"))
              and c.store.get("pods", "default", "ss2-2")["metadata"]["labels"][REVISION_LABEL] == new_rev, 120)
    revs = {n: p["metadata"]["labels"][REVISION_LABEL] for n, p in set_pods(c, "ss2").items()}
    assert revs == {"ss2-0": old_rev, "ss2-1": old_rev, "ss2-2": new_rev}
    assert c.store.get("pods", "default", "ss2-2")["spec"]["containers"][0]["image"] == "nginx:1.28"
    # A pod below the partition that is deleted comes back at the old revision.
    c.delete_pod("default", "ss2-0")
    run_until(c, lambda: ready_count(c, "ss2") == 3 and c.store.find("pods", "default", "ss2-0") is not None
              and running_ready(c.store.get("pods", "default", "ss2-0")), 120)
    assert c.store.get("pods", "default", "ss2-0")["metadata"]["labels"][REVISION_LABEL] == old_rev
    st = sts(c, "ss2")["status"]
    assert st["currentReplicas"] == 2 and st["updatedReplicas"] == 1
    # Phased roll-out: partition 0 updates ss2-1 then ss2-0, highest ordinal first.
    before = len(messages(c, "SuccessfulDelete", "ss2"))
    c.api.patch("statefulsets", "default", "ss2", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}},
                "merge")
    run_until(c, lambda: sts(c, "ss2")["status"].get("currentRevision") == new_rev, 300)
    assert messages(c, "SuccessfulDelete", "ss2")[before:] == [
        "delete Pod ss2-1 in StatefulSet ss2 successful", "delete Pod ss2-0 in StatefulSet ss2 successful"]
    st = sts(c, "ss2")["status"]
    assert st["currentReplicas"] == st["updatedReplicas"] == st["readyReplicas"] == 3


def test_on_delete_strategy_updates_only_deleted_pods(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("od", 2, claims=False, strategy={"type": "OnDelete"}))
    run_until(c, lambda: ready_count(c, "od") == 2, 120)
    c.set_image("StatefulSet", "default", "od", "nginx:1.28")
    c.run_for(30)
    assert all(p["spec"]["containers"][0]["image"] == "nginx:1.27" for p in set_pods(c, "od").values())
    c.delete_pod("default", "od-1")
    run_until(c, lambda: running_ready(c.store.find("pods", "default", "od-1"))
              and c.store.get("pods", "default", "od-1")["spec"]["containers"][0]["image"] == "nginx:1.28", 120)
    assert c.store.get("pods", "default", "od-0")["spec"]["containers"][0]["image"] == "nginx:1.27"


def test_should_recreate_evicted_statefulset(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("ss", 1, claims=False))
    run_until(c, lambda: ready_count(c, "ss") == 1, 60)
    old = c.store.get("pods", "default", "ss-0")
    evicted = dict(old, status=dict(old["status"], phase="Failed", reason="Evicted",
                                    message="The node was low on resource: memory."))
    c.api.update_status(evicted)
    c.run_for(0.01)
    new = c.store.find("pods", "default", "ss-0")
    assert new is not None and new["metadata"]["uid"] != old["metadata"]["uid"]
    assert messages(c, "SuccessfulDelete", "ss") == ["delete Pod ss-0 in StatefulSet ss successful"]
    run_until(c, lambda: ready_count(c, "ss") == 1, 60)


# ---------------------------------------------------------------------------------------------- storage & identity
def test_a_deleted_sql_1_comes_back_as_sql_1_with_the_same_pvc_and_its_data(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("sql", 2, writes=5))
    run_until(c, lambda: ready_count(c, "sql") == 2, 120)
    c.run_for(20)
    pvc = c.store.get("persistentvolumeclaims", "default", "data-sql-1")
    pv = c.store.get("persistentvolumes", "", pvc["spec"]["volumeName"])
    rows = int(pv["metadata"]["annotations"][DATA_ROWS])
    assert rows >= 95 and rows % 5 == 0                        # 5 rows/s for ~20 s
    assert pvc["metadata"]["annotations"][DATA_ROWS] == str(rows)  # mirrored for display
    old_uid = c.store.get("pods", "default", "sql-1")["metadata"]["uid"]
    c.delete_pod("default", "sql-1")
    run_until(c, lambda: running_ready(c.store.find("pods", "default", "sql-1"))
              and c.store.get("pods", "default", "sql-1")["metadata"]["uid"] != old_uid, 120)
    again = c.store.get("persistentvolumeclaims", "default", "data-sql-1")
    assert again["metadata"]["uid"] == pvc["metadata"]["uid"] and again["spec"]["volumeName"] == pv["metadata"]["name"]
    pod = c.store.get("pods", "default", "sql-1")
    assert pod["spec"]["hostname"] == "sql-1"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-sql-1"}} in pod["spec"]["volumes"]
    c.run_for(5)
    after = int(c.store.get("persistentvolumes", "", pv["metadata"]["name"])["metadata"]["annotations"][DATA_ROWS])
    assert after > rows  # the data survived and keeps growing


def test_sql_1_on_a_dead_node_is_not_replaced_until_force_deleted(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("sql", 2, writes=5))
    run_until(c, lambda: ready_count(c, "sql") == 2, 120)
    c.run_for(10)
    node = c.store.get("pods", "default", "sql-1")["spec"]["nodeName"]
    pv_name = c.store.get("persistentvolumeclaims", "default", "data-sql-1")["spec"]["volumeName"]
    c.power_off_node(node)
    t_off = c.now
    run_until(c, lambda: c.store.get("pods", "default", "sql-1")["metadata"].get("deletionTimestamp"), 600)
    assert c.now - t_off >= 300                               # 50 s grace + 300 s toleration
    c.run_for(300)
    # Still there, terminating: at most one sql-1 exists, and no replacement was made.
    pod = c.store.get("pods", "default", "sql-1")
    assert pod["spec"]["nodeName"] == node and pod["metadata"].get("deletionTimestamp")
    assert messages(c, "SuccessfulCreate", "sql").count("create Pod sql-1 in StatefulSet sql successful") == 1
    waiting = events(c, WAITING_REASON, "sql")
    assert len(waiting) == 1 and waiting[0]["count"] == 1 and waiting[0]["type"] == "Normal"
    assert waiting[0]["message"] == (f"sql-1 is terminating on {node}, which is not responding: at most one sql-1 may "
                                     "exist, so the replacement waits until the kubelet confirms or the pod is "
                                     "force-deleted")
    rows_before = int(c.store.get("persistentvolumes", "", pv_name)["metadata"]["annotations"][DATA_ROWS])
    c.delete_pod("default", "sql-1", force=True)
    c.run_for(0.01)
    new = c.store.get("pods", "default", "sql-1")
    assert not new["metadata"].get("deletionTimestamp")
    run_until(c, lambda: c.store.get("pods", "default", "sql-1")["spec"].get("nodeName"), 30)
    new_node = c.store.get("pods", "default", "sql-1")["spec"]["nodeName"]
    assert new_node != node
    # The RWO volume is still attached to the silent node: Multi-Attach until it is force-detached (6 min).
    run_until(c, lambda: events(c, "FailedAttachVolume", "sql-1"), 30)
    failed = events(c, "FailedAttachVolume", "sql-1")[0]
    assert failed["type"] == "Warning" and failed["source"]["component"] == "attachdetach-controller"
    assert failed["message"] == (f'Multi-Attach error for volume "{pv_name}" Volume is already exclusively attached '
                                 "to one node and can't be attached to another")
    t_force = c.now
    run_until(c, lambda: events(c, "SuccessfulAttachVolume", "sql-1")
              and events(c, "SuccessfulAttachVolume", "sql-1")[-1]["lastTimestamp"] > failed["firstTimestamp"], 400)
    assert 355 <= c.now - t_force <= 361
    pv = c.store.get("persistentvolumes", "", pv_name)
    assert pv["metadata"]["annotations"]["kubedrill.io/attached-node"] == new_node
    run_until(c, lambda: running_ready(c.store.get("pods", "default", "sql-1")), 120)
    c.run_for(3)
    assert int(c.store.get("persistentvolumes", "", pv_name)["metadata"]["annotations"][DATA_ROWS]) > rows_before


def test_scale_down_keeps_claims_by_default_and_scale_up_reuses_them(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("keep", 2))
    run_until(c, lambda: ready_count(c, "keep") == 2, 120)
    uid = c.store.get("persistentvolumeclaims", "default", "data-keep-1")["metadata"]["uid"]
    scale(c, "keep", 1)
    run_until(c, lambda: "keep-1" not in set_pods(c, "keep"), 120)
    c.run_for(5)
    assert c.store.get("persistentvolumeclaims", "default", "data-keep-1")["metadata"]["uid"] == uid
    scale(c, "keep", 2)
    run_until(c, lambda: ready_count(c, "keep") == 2, 120)
    assert c.store.get("persistentvolumeclaims", "default", "data-keep-1")["metadata"]["uid"] == uid
    assert messages(c, "SuccessfulCreate", "keep").count(
        "create Claim data-keep-1 Pod keep-1 in StatefulSet keep success") == 1


def test_retention_policy_when_scaled_and_when_deleted_delete(sts_cluster):
    c = sts_cluster
    c.api.create(statefulset("tmp", 3, retention={"whenScaled": "Delete", "whenDeleted": "Delete"}))
    run_until(c, lambda: ready_count(c, "tmp") == 3, 180)
    claim = c.store.get("persistentvolumeclaims", "default", "data-tmp-0")
    assert [r["kind"] for r in claim["metadata"]["ownerReferences"]] == ["StatefulSet"]
    scale(c, "tmp", 1)
    run_until(c, lambda: c.store.find("persistentvolumeclaims", "default", "data-tmp-1") is None
              and c.store.find("persistentvolumeclaims", "default", "data-tmp-2") is None, 180)
    assert sorted(set_pods(c, "tmp")) == ["tmp-0"]
    assert c.store.find("persistentvolumeclaims", "default", "data-tmp-0") is not None
    c.delete_object("statefulsets", "default", "tmp")
    run_until(c, lambda: c.store.find("persistentvolumeclaims", "default", "data-tmp-0") is None, 180)
    # reclaimPolicy Delete of the default class: the volumes go with their claims.
    run_until(c, lambda: not c.store.list("persistentvolumes"), 60)
