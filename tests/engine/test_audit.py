"""The audit trail names who did what, in order, with the identities a real cluster's components use."""
from __future__ import annotations

from engine.apiserver.audit import AuditLog, Identity
from engine.cluster import Cluster

from simulate import deployment, run_until, running_ready

ALICE = Identity("alice", ("system:authenticated",), "kubectl/v1.32.0")
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}


def _ready_web(cluster: Cluster) -> dict:
    cluster.apply([deployment("web", 1), SERVICE])
    run_until(cluster, lambda: len(running_ready(cluster, "app=web")) == 1)
    cluster.run_for(5)
    return running_ready(cluster, "app=web")[0]


def _who(event: dict) -> tuple:
    ref = event.get("objectRef", {})
    return (event["user"]["username"], event["verb"], ref.get("resource"), ref.get("subresource"))


def test_deleting_a_deployments_pod_is_traced_through_every_component(cluster: Cluster):
    old = _ready_web(cluster)
    audit = cluster.api.audit
    start = audit.seq
    with audit.acting(ALICE):
        cluster.delete_pod("default", old["metadata"]["name"])
    run_until(cluster, lambda: any(p["metadata"]["uid"] != old["metadata"]["uid"]
                                   for p in running_ready(cluster, "app=web")))
    cluster.run_for(5)
    trail = audit.since(start, 5000)
    new = next(p for p in running_ready(cluster, "app=web") if p["metadata"]["uid"] != old["metadata"]["uid"])
    node = new["spec"]["nodeName"]

    def first(pred, after: int = -1) -> int:
        return next(i for i, e in enumerate(trail) if i > after and pred(e))

    delete = first(lambda e: _who(e) == ("alice", "delete", "pods", None)
                   and e["objectRef"]["name"] == old["metadata"]["name"])
    create = first(lambda e: _who(e) == ("system:serviceaccount:kube-system:replicaset-controller", "create",
                                         "pods", None), delete)
    bind = first(lambda e: _who(e) == ("system:kube-scheduler", "create", "pods", "binding")
                 and e["objectRef"]["name"] == new["metadata"]["name"], create)
    status = first(lambda e: _who(e) == (f"system:node:{node}", "update", "pods", "status")
                   and e["objectRef"]["name"] == new["metadata"]["name"], bind)
    first(lambda e: _who(e) == ("system:serviceaccount:kube-system:endpointslice-controller", "update",
                                "endpointslices", None), status)

    assert trail[delete]["userAgent"] == "kubectl/v1.32.0"
    assert trail[delete]["requestURI"] == f"/api/v1/namespaces/default/pods/{old['metadata']['name']}"
    assert trail[create]["objectRef"]["name"] == new["metadata"]["name"]
    assert trail[create]["responseStatus"] == {"metadata": {}, "code": 201}
    assert trail[create]["user"]["groups"] == ["system:serviceaccounts", "system:serviceaccounts:kube-system",
                                               "system:authenticated"]
    assert trail[status]["user"]["groups"] == ["system:nodes", "system:authenticated"]
    # The revision a write produced is the one the store holds for it (the replacement's first revision).
    assert int(trail[create]["objectRef"]["resourceVersion"]) < int(trail[bind]["objectRef"]["resourceVersion"])
    assert [e["seq"] for e in trail] == list(range(start + 1, start + 1 + len(trail)))
    stamps = [e["stageTimestamp"] for e in trail]
    assert stamps == sorted(stamps) and stamps[0].endswith("Z") and len(stamps[0]) == len("2026-01-01T00:00:00.000000Z")
    # Events are audited as the component that recorded them.
    assert any(_who(e) == ("system:kube-scheduler", "create", "events", None) for e in trail)


def test_components_never_write_as_the_admin(cluster: Cluster):
    _ready_web(cluster)
    start = cluster.api.audit.seq
    cluster.power_off_node(running_ready(cluster, "app=web")[0]["spec"]["nodeName"])
    cluster.run_for(400)   # the node goes Unknown, its pods are evicted and replaced
    users = {e["user"]["username"] for e in cluster.api.audit.since(start, 20_000)}
    assert "kubernetes-admin" not in users
    assert "system:serviceaccount:kube-system:node-controller" in users


def test_a_refused_request_is_recorded_with_its_status_and_changes_nothing(cluster: Cluster):
    start = cluster.api.audit.seq
    revision = cluster.store.revision
    try:
        cluster.delete_pod("default", "no-such-pod")
    except Exception:
        pass
    assert cluster.store.revision == revision
    [event] = cluster.api.audit.since(start, 10)
    assert event["user"]["username"] == "kubernetes-admin"
    assert event["responseStatus"]["code"] == 404
    assert event["responseStatus"]["reason"] == "NotFound" and event["responseStatus"]["status"] == "Failure"


def test_the_log_stays_bounded_and_knows_its_oldest_seq():
    log = AuditLog(max_events=3)
    assert log.oldest_seq == 1 and log.since(0, 10) == []
    for i in range(5):
        log.record(float(i), "get", None, "", "", "", 200)
    assert log.oldest_seq == 3 and len(log.entries) == 3
    assert [e["seq"] for e in log.since(0, 10)] == [3, 4, 5]
    assert [e["seq"] for e in log.since(3, 1)] == [4]


def test_the_cluster_log_drops_its_oldest_entries(cluster: Cluster):
    audit = cluster.api.audit
    audit.entries = type(audit.entries)(audit.entries, maxlen=50)
    cluster.apply([deployment("web", 2), SERVICE])
    cluster.run_for(60)
    assert audit.seq > 50 and len(audit.entries) == 50 and audit.oldest_seq == audit.seq - 49


def test_audit_ids_are_the_same_for_the_same_seed():
    def ids() -> list[str]:
        c = Cluster(seed=3, profile="kubernetes", nodes=1, empty=True)
        c.run_for(10)
        return [e["auditID"] for e in c.api.audit.since(0, 100)]
    first = ids()
    assert first == ids() and len(set(first)) == len(first)
