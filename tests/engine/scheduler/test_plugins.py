"""Table tests for each scheduler plugin as a pure function (upstream ``*_test.go`` style)."""
from __future__ import annotations

import pytest
from scheduler_testkit import CONTROL_PLANE_TAINT, make_node, make_pod

from engine.etcd.store import Store
from engine.scheduler.framework import SchedulerCache
from engine.scheduler.plugins import (balanced_allocation, inter_pod_affinity, node_affinity, node_name,
                                      node_ports, node_resources_fit, node_unschedulable, pod_topology_spread,
                                      taint_toleration, volume_binding)
from engine.scheduler.plugins.helpers import default_normalize_score
from engine.scheduler.types import UNRESOLVABLE, UNSCHEDULABLE, NodeInfo, PodInfo, pod_requests


def node_info(node: dict, *pods: dict) -> NodeInfo:
    ni = NodeInfo(node["metadata"]["name"])
    ni.set_node(node)
    for p in pods:
        pi = PodInfo(p)
        pi.node_name = ni.name
        ni.add_pod(pi)
    return ni


def reasons(status) -> tuple | None:
    return None if status is None else status.reasons


# ------------------------------------------------------------------ requests
@pytest.mark.parametrize("spec, expect", [
    ({"containers": [{"resources": {"requests": {"cpu": "500m", "memory": "128Mi"}}},
                     {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]},
     {"cpu": 1500, "memory": 128 * 2**20 + 2**30}),
    # an init container larger than the sum sets the floor
    ({"initContainers": [{"resources": {"requests": {"cpu": "2"}}}],
      "containers": [{"resources": {"requests": {"cpu": "500m"}}}]}, {"cpu": 2000}),
    # a sidecar (restartable init container) adds to the containers
    ({"initContainers": [{"restartPolicy": "Always", "resources": {"requests": {"cpu": "200m"}}}],
      "containers": [{"resources": {"requests": {"cpu": "500m"}}}]}, {"cpu": 700}),
    # limits stand in for missing requests; overhead is added; "1e3" is 1000 cores
    ({"containers": [{"resources": {"limits": {"cpu": "1e3"}}}], "overhead": {"cpu": "250m"}}, {"cpu": 1_000_250}),
])
def test_pod_requests(spec, expect):
    assert pod_requests({"spec": spec}) == expect


def test_scoring_defaults_only_for_unset_requests():
    pi = PodInfo(make_pod("p", cpu=None, memory=None))
    assert (pi.cpu, pi.mem) == (0, 0)
    assert (pi.nz_cpu, pi.nz_mem) == (100, 200 * 2**20)
    assert pi.best_effort
    explicit_zero = PodInfo(make_pod("z", cpu="0", memory="0"))
    assert (explicit_zero.nz_cpu, explicit_zero.nz_mem) == (0, 0)


# ------------------------------------------------------------------ NodeResourcesFit
@pytest.mark.parametrize("node_kw, existing, pod_kw, expect", [
    ({"cpu": "1"}, [], {"cpu": "500m"}, None),
    ({"cpu": "1"}, [("a", "600m", "1Mi")], {"cpu": "500m"}, ("Insufficient cpu",)),
    ({"memory": "1Gi"}, [], {"memory": "2Gi"}, ("Insufficient memory",)),
    ({"cpu": "1", "memory": "1Gi"}, [], {"cpu": "2", "memory": "2Gi"}, ("Insufficient cpu", "Insufficient memory")),
    ({"pods": "1"}, [("a", "1m", "1Mi")], {"cpu": "1m"}, ("Too many pods",)),
    # a pod without requests only needs a pod slot
    ({"cpu": "1"}, [("a", "1", "1Mi")], {"cpu": None, "memory": None}, None),
])
def test_node_resources_fit_filter(node_kw, existing, pod_kw, expect):
    ni = node_info(make_node("n1", **node_kw), *[make_pod(n, c, m) for n, c, m in existing])
    st = node_resources_fit.filter(PodInfo(make_pod("p", **pod_kw)), ni)
    assert reasons(st) == expect
    if st is not None:
        assert st.code == UNSCHEDULABLE


def test_node_resources_fit_extended_resource():
    ni = node_info(make_node("n1"))
    pod = make_pod("p")
    pod["spec"]["containers"][0]["resources"]["limits"] = {"nvidia.com/gpu": "1"}
    assert reasons(node_resources_fit.filter(PodInfo(pod), ni)) == ("Insufficient nvidia.com/gpu",)


@pytest.mark.parametrize("existing_cpu, pod_cpu, expect", [
    ("0", "1", (4000 - 1000) * 100 // 4000),        # cpu 75; memory part below
    ("2", "1", (4000 - 3000) * 100 // 4000),
])
def test_least_allocated_score(existing_cpu, pod_cpu, expect):
    ni = node_info(make_node("n1", cpu="4", memory="16Gi"), make_pod("a", existing_cpu, "0"))
    pi = PodInfo(make_pod("p", pod_cpu, "4Gi"))
    mem_score = (16 - 4) * 100 // 16
    assert node_resources_fit.score(pi, ni) == (expect + mem_score) // 2


def test_least_allocated_counts_defaults_for_pods_without_requests():
    empty = node_info(make_node("n1", cpu="1", memory="1000Mi"))
    pi = PodInfo(make_pod("p", cpu=None, memory=None))
    # 100m of 1000m and 200Mi of 1000Mi used -> (90 + 80) / 2
    assert node_resources_fit.score(pi, empty) == 85


def test_balanced_allocation_score():
    ni = node_info(make_node("n1", cpu="4", memory="16Gi"))
    pi = PodInfo(make_pod("p", "2", "4Gi"))
    # fractions 0.5 and 0.25 -> std 0.125 -> 87
    assert balanced_allocation.score(pi, ni) == 87
    assert balanced_allocation.skip(PodInfo(make_pod("b", None, None)))


# ------------------------------------------------------------------ NodeUnschedulable / NodeName
def test_node_unschedulable():
    cordoned = node_info(make_node("n1", unschedulable=True))
    assert reasons(node_unschedulable.filter(PodInfo(make_pod("p")), cordoned)) == ("node(s) were unschedulable",)
    tolerant = make_pod("t", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                           "effect": "NoSchedule"}])
    assert node_unschedulable.filter(PodInfo(tolerant), cordoned) is None
    assert node_unschedulable.filter(PodInfo(make_pod("p")), node_info(make_node("n2"))) is None


def test_node_name():
    pi = PodInfo(make_pod("p", node="n2"))
    assert reasons(node_name.filter(pi, node_info(make_node("n1")))) == ("node(s) didn't match the requested node name",)
    assert node_name.filter(pi, node_info(make_node("n2"))) is None


# ------------------------------------------------------------------ TaintToleration
@pytest.mark.parametrize("taints, tolerations, expect", [
    ([CONTROL_PLANE_TAINT], [], "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
    ([{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}], [], "node(s) had untolerated taint {dedicated: gpu}"),
    ([CONTROL_PLANE_TAINT], [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                              "effect": "NoSchedule"}], None),
    ([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
     [{"key": "dedicated", "operator": "Equal", "value": "cpu"}], "node(s) had untolerated taint {dedicated: gpu}"),
    ([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
     [{"key": "dedicated", "value": "gpu"}], None),
    ([{"key": "anything", "effect": "NoSchedule"}], [{"operator": "Exists"}], None),   # tolerate everything
    ([{"key": "soft", "effect": "PreferNoSchedule"}], [], None),                      # soft taints never filter
])
def test_taint_toleration_filter(taints, tolerations, expect):
    ni = node_info(make_node("n1", taints=taints))
    st = taint_toleration.filter(PodInfo(make_pod("p", tolerations=tolerations)), ni)
    assert (st.reasons[0] if st else None) == expect
    if st:
        assert st.code == UNRESOLVABLE


def test_taint_toleration_score_prefers_fewer_soft_taints():
    soft = {"key": "soft", "effect": "PreferNoSchedule"}
    soft2 = {"key": "soft2", "effect": "PreferNoSchedule"}
    pi = PodInfo(make_pod("p"))
    raw = [taint_toleration.score(pi, node_info(make_node(f"n{i}", taints=t)))
           for i, t in enumerate([[], [soft], [soft, soft2]])]
    assert raw == [0, 1, 2]
    assert taint_toleration.normalize(raw) == [100, 50, 0]
    assert default_normalize_score(100, True, [0, 0]) == [100, 100]


# ------------------------------------------------------------------ NodeAffinity
def _req(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


@pytest.mark.parametrize("labels, spec_extra, fits", [
    ({"disk": "ssd"}, {"nodeSelector": {"disk": "ssd"}}, True),
    ({"disk": "hdd"}, {"nodeSelector": {"disk": "ssd"}}, False),
    ({"zone": "a"}, {"affinity": _req({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]})}, True),
    ({"zone": "c"}, {"affinity": _req({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]})}, False),
    ({"zone": "c"}, {"affinity": _req({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]})}, True),
    ({}, {"affinity": _req({"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]})}, True),
    ({"cores": "16"}, {"affinity": _req({"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]})}, True),
    ({"cores": "4"}, {"affinity": _req({"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]})}, False),
    # terms are ORed; an empty term matches nothing
    ({"x": "1"}, {"affinity": _req({}, {"matchExpressions": [{"key": "x", "operator": "Exists"}]})}, True),
    ({"x": "1"}, {"affinity": _req({})}, False),
    ({}, {"affinity": _req({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]})}, True),
])
def test_node_affinity_filter(labels, spec_extra, fits):
    ni = node_info(make_node("n1", labels=labels))
    st = node_affinity.filter(PodInfo(make_pod("p", **spec_extra)), ni)
    assert (st is None) == fits
    if st:
        assert st.reasons == ("node(s) didn't match Pod's node affinity/selector",)


def test_node_affinity_prefilter_pins_daemonset_pods_to_named_nodes():
    pi = PodInfo(make_pod("ds", affinity=_req({"matchFields": [{"key": "metadata.name", "operator": "In",
                                                                "values": ["n2"]}]})))
    assert node_affinity.pre_filter(pi) == ({"n2"}, None)
    assert node_affinity.pre_filter(PodInfo(make_pod("plain"))) == (None, None)


def test_node_affinity_preferred_score():
    pod = make_pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
        {"weight": 5, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}}]}})
    pi = PodInfo(pod)
    raw = [node_affinity.score(pi, node_info(make_node(f"n{i}", labels=lab)))
           for i, lab in enumerate([{"disk": "ssd", "zone": "a"}, {"disk": "ssd"}, {}])]
    assert raw == [15, 10, 0]
    assert node_affinity.normalize(raw) == [100, 66, 0]


# ------------------------------------------------------------------ NodePorts
@pytest.mark.parametrize("used, wanted, fits", [
    ([8080], [8080], False),
    ([8080], [9090], True),
    ([], [8080], True),
])
def test_node_ports(used, wanted, fits):
    ni = node_info(make_node("n1"), *([make_pod("a", host_ports=used)] if used else []))
    st = node_ports.filter(PodInfo(make_pod("p", host_ports=wanted)), ni)
    assert (st is None) == fits
    if st:
        assert st.reasons == ("node(s) didn't have free ports for the requested pod ports",)
        assert st.code == UNSCHEDULABLE


def test_node_ports_host_ip_overlap():
    used = {("10.0.0.1", "TCP", 80): 1}
    assert node_ports.conflicts(used, "0.0.0.0", "TCP", 80)
    assert node_ports.conflicts(used, "10.0.0.1", "TCP", 80)
    assert not node_ports.conflicts(used, "10.0.0.2", "TCP", 80)
    assert not node_ports.conflicts(used, "10.0.0.1", "UDP", 80)
    assert node_ports.conflicts({("0.0.0.0", "TCP", 80): 1}, "10.0.0.2", "TCP", 80)


# ------------------------------------------------------------------ cluster-wide plugins
def cache_with(nodes: list[dict], pods: list[dict], store: Store | None = None) -> SchedulerCache:
    cache = SchedulerCache(store)
    for n in nodes:
        cache.add_node(n)
    for p in pods:
        cache.add_pod(PodInfo(p))
    return cache


def zone_nodes(*zones: str) -> list[dict]:
    return [make_node(f"n{i}", labels={"topology.kubernetes.io/zone": z}) for i, z in enumerate(zones)]


def _anti(key: str, app: str) -> dict:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}


def _aff(key: str, app: str) -> dict:
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}


def test_inter_pod_anti_affinity_filters_same_host():
    nodes = zone_nodes("a", "b")
    cache = cache_with(nodes, [make_pod("web-1", labels={"app": "web"}, node="n0")])
    pi = PodInfo(make_pod("web-2", labels={"app": "web"}, affinity=_anti("kubernetes.io/hostname", "web")))
    state = inter_pod_affinity.pre_filter(pi, cache)
    n0, n1 = cache.node_infos["n0"], cache.node_infos["n1"]
    assert reasons(inter_pod_affinity.filter(pi, n0, state)) == ("node(s) didn't match pod anti-affinity rules",)
    assert inter_pod_affinity.filter(pi, n1, state) is None


def test_inter_pod_affinity_follows_topology_key_and_first_pod_rule():
    nodes = zone_nodes("a", "a", "b")
    cache = cache_with(nodes, [make_pod("db-0", labels={"app": "db"}, node="n0")])
    pi = PodInfo(make_pod("api", labels={"app": "api"}, affinity=_aff("topology.kubernetes.io/zone", "db")))
    state = inter_pod_affinity.pre_filter(pi, cache)
    fits = [inter_pod_affinity.filter(pi, cache.node_infos[n], state) is None for n in ("n0", "n1", "n2")]
    assert fits == [True, True, False]        # same zone as db-0, even on another node
    assert reasons(inter_pod_affinity.filter(pi, cache.node_infos["n2"], state)) == (
        "node(s) didn't match pod affinity rules",)
    # The first pod of a self-affine group may land anywhere.
    first = PodInfo(make_pod("cache-0", labels={"app": "cache"}, affinity=_aff("topology.kubernetes.io/zone", "cache")))
    st = inter_pod_affinity.pre_filter(first, cache)
    assert inter_pod_affinity.filter(first, cache.node_infos["n2"], st) is None


def test_existing_pods_anti_affinity_is_symmetric():
    nodes = zone_nodes("a", "b")
    cache = cache_with(nodes, [make_pod("loner", labels={"app": "loner"}, node="n0",
                                        affinity=_anti("kubernetes.io/hostname", "web"))])
    pi = PodInfo(make_pod("web-1", labels={"app": "web"}))
    state = inter_pod_affinity.pre_filter(pi, cache)
    assert reasons(inter_pod_affinity.filter(pi, cache.node_infos["n0"], state)) == (
        "node(s) didn't satisfy existing pods anti-affinity rules",)
    assert inter_pod_affinity.filter(pi, cache.node_infos["n1"], state) is None


def test_inter_pod_preferred_affinity_score():
    nodes = zone_nodes("a", "b")
    cache = cache_with(nodes, [make_pod("db-0", labels={"app": "db"}, node="n0")])
    pod = make_pod("api", affinity={"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}},
                                           "topologyKey": "topology.kubernetes.io/zone"}}]}})
    pi = PodInfo(pod)
    state = inter_pod_affinity.pre_score(pi, cache)
    feasible = [cache.node_infos["n0"], cache.node_infos["n1"]]
    raw = [inter_pod_affinity.score(pi, ni, state) for ni in feasible]
    assert raw == [50, 0]
    assert inter_pod_affinity.normalize(raw) == [100, 0]
    assert inter_pod_affinity.pre_score(PodInfo(make_pod("plain")), cache) is None


def _spread(key: str, skew: int = 1, when: str = "DoNotSchedule") -> list[dict]:
    return [{"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
             "labelSelector": {"matchLabels": {"app": "web"}}}]


def test_pod_topology_spread_filter_max_skew():
    nodes = zone_nodes("a", "b")
    pods = [make_pod("w0", labels={"app": "web"}, node="n0"), make_pod("w1", labels={"app": "web"}, node="n0")]
    cache = cache_with(nodes, pods)
    pi = PodInfo(make_pod("w2", labels={"app": "web"},
                          topologySpreadConstraints=_spread("topology.kubernetes.io/zone")))
    state = pod_topology_spread.pre_filter(pi, cache)
    assert state.pair_counts == {("topology.kubernetes.io/zone", "a"): 2, ("topology.kubernetes.io/zone", "b"): 0}
    assert reasons(pod_topology_spread.filter(pi, cache.node_infos["n0"], state)) == (
        "node(s) didn't match pod topology spread constraints",)
    assert pod_topology_spread.filter(pi, cache.node_infos["n1"], state) is None


def test_pod_topology_spread_missing_label_and_terminating_pods():
    nodes = [make_node("n0", labels={"topology.kubernetes.io/zone": "a"}), make_node("bare")]
    dying = make_pod("w0", labels={"app": "web"}, node="n0")
    dying["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    cache = cache_with(nodes, [dying])
    pi = PodInfo(make_pod("w1", labels={"app": "web"}, topologySpreadConstraints=_spread("topology.kubernetes.io/zone")))
    state = pod_topology_spread.pre_filter(pi, cache)
    assert state.pair_counts == {("topology.kubernetes.io/zone", "a"): 0}   # terminating pods do not count
    st = pod_topology_spread.filter(pi, cache.node_infos["bare"], state)
    assert st.reasons == ("node(s) didn't match pod topology spread constraints (missing required label)",)
    assert st.code == UNRESOLVABLE


def test_pod_topology_spread_score_prefers_emptier_domain():
    nodes = zone_nodes("a", "b")
    cache = cache_with(nodes, [make_pod("w0", labels={"app": "web"}, node="n0")])
    pi = PodInfo(make_pod("w1", labels={"app": "web"},
                          topologySpreadConstraints=_spread("kubernetes.io/hostname", when="ScheduleAnyway")))
    feasible = [cache.node_infos["n0"], cache.node_infos["n1"]]
    state = pod_topology_spread.pre_score(pi, cache, feasible)
    raw = [pod_topology_spread.score(pi, ni, state) for ni in feasible]
    assert raw[0] > raw[1]
    assert pod_topology_spread.normalize(raw, feasible, state)[1] == 100


def test_system_default_spreading_uses_owner_selector():
    store = Store()
    store.create("replicasets", {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "metadata": {"name": "web-abc", "namespace": "default", "uid": "rs-1"},
                                 "spec": {"selector": {"matchLabels": {"app": "web"}}}})
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs-1", "controller": True}]
    existing = make_pod("w0", labels={"app": "web"}, node="n0")
    cache = cache_with(zone_nodes("a", "b"), [existing], store)
    pod = make_pod("w1", labels={"app": "web"})
    pod["metadata"]["ownerReferences"] = owner
    pi = PodInfo(pod)
    constraints = pod_topology_spread.default_constraints(pi, store)
    assert [(c.topology_key, c.max_skew) for c in constraints] == [
        ("kubernetes.io/hostname", 3), ("topology.kubernetes.io/zone", 5)]
    feasible = [cache.node_infos["n0"], cache.node_infos["n1"]]
    state = pod_topology_spread.pre_score(pi, cache, feasible)
    scores = pod_topology_spread.normalize([pod_topology_spread.score(pi, ni, state) for ni in feasible],
                                           feasible, state)
    assert scores[1] == 100 and scores[0] < 100
    assert pod_topology_spread.default_constraints(PodInfo(make_pod("bare", labels={"app": "web"})), store) == []


def test_volume_binding_prefilter():
    store = Store()
    store.create("storageclasses", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                                    "metadata": {"name": "local"}, "provisioner": "rancher.io/local-path",
                                    "volumeBindingMode": "WaitForFirstConsumer"})
    for name, cls in (("data-imm", ""), ("data-wait", "local")):
        store.create("persistentvolumeclaims", {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                                "metadata": {"name": name, "namespace": "default"},
                                                "spec": {"storageClassName": cls}})

    def pod_with(claim: str) -> PodInfo:
        return PodInfo(make_pod("p", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]))

    state, st = volume_binding.pre_filter(pod_with("data-imm"), store)
    assert st.reasons == ("pod has unbound immediate PersistentVolumeClaims",) and st.code == UNRESOLVABLE
    state, st = volume_binding.pre_filter(pod_with("data-wait"), store)
    assert st is None and len(state.delayed) == 1
    assert volume_binding.filter(pod_with("data-wait"), node_info(make_node("n1")), state, store) is None
    _, st = volume_binding.pre_filter(pod_with("missing"), store)
    assert st.reasons == ('persistentvolumeclaim "missing" not found',)
    assert volume_binding.pre_filter(PodInfo(make_pod("novol")), store) == (None, None)


def test_volume_binding_bound_pv_node_affinity():
    store = Store()
    store.create("persistentvolumes", {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
                                       "spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [
                                           {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                                                  "values": ["n1"]}]}]}}}})
    store.create("persistentvolumeclaims", {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                            "metadata": {"name": "c", "namespace": "default"},
                                            "spec": {"volumeName": "pv1"}})
    pi = PodInfo(make_pod("p", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}]))
    state, st = volume_binding.pre_filter(pi, store)
    assert st is None
    assert volume_binding.filter(pi, node_info(make_node("n1")), state, store) is None
    assert reasons(volume_binding.filter(pi, node_info(make_node("n2")), state, store)) == (
        "node(s) had volume node affinity conflict",)
