"""The scheduler cache's incremental per-node counts equal a from-scratch recount, and decisions are unchanged."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scheduler_testkit import make_node, make_pod

from engine.cluster import Cluster
from engine.scheduler import framework
from engine.scheduler.framework import TERM_KINDS, SchedulerCache, term_key
from engine.scheduler.plugins import pod_topology_spread
from engine.scheduler.types import PodInfo
from engine.selectors import LabelSelector

NODES = ["n0", "n1", "n2", "gone"]          # "gone" never gets a Node object (a ghost NodeInfo)
NAMESPACES = ["default", "other"]
SELECTORS = [
    LabelSelector.parse("app=web"),
    LabelSelector.parse("app=web,tier=front"),
    LabelSelector.parse("tier in (front,back)"),
    LabelSelector.parse("app"),
    LabelSelector.parse("app!=web"),
    LabelSelector.parse("tier notin (front)"),
    LabelSelector(),                                    # everything
    LabelSelector.from_dict(None),                      # nothing
]
LABELS = st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["web", "db", "front", "back"]),
                         max_size=2)


def brute_counts(cache: SchedulerCache, namespace: str, selector: LabelSelector, with_terminating: bool) -> dict:
    out: dict[str, int] = {}
    for p in cache.all_pods():
        if p.namespace == namespace and selector.matches(p.labels) and (with_terminating or not p.terminating):
            out[p.node_name] = out.get(p.node_name, 0) + 1
    return out


def brute_groups(cache: SchedulerCache, kind: str) -> dict:
    out: dict[tuple, dict[str, int]] = {}
    for p in cache.all_pods():
        for t in getattr(p, kind):
            counts = out.setdefault(term_key(t), {})
            counts[p.node_name] = counts.get(p.node_name, 0) + 1
    return out


def pod_dict(name: str, ns: str, labels: dict, node: str, terminating: bool, anti: bool) -> dict:
    extra = {}
    if anti:
        extra["affinity"] = {"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}},
                                                   "topologyKey": "kubernetes.io/hostname"}}],
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"tier": "front"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    pod = make_pod(name, namespace=ns, labels=labels, node=node, **extra)
    if terminating:
        pod["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return pod


OPS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 5), st.sampled_from(NAMESPACES), LABELS, st.sampled_from(NODES),
              st.booleans(), st.booleans()),
    st.tuples(st.just("assume"), st.integers(0, 5), st.sampled_from(NAMESPACES), LABELS, st.sampled_from(NODES),
              st.just(False), st.booleans()),
    st.tuples(st.just("forget"), st.integers(0, 5), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("remove"), st.integers(0, 5), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("ask"), st.integers(0, len(SELECTORS) - 1), st.sampled_from(NAMESPACES), st.booleans()),
), max_size=40)


@settings(max_examples=150, deadline=None)
@given(OPS, st.integers(2, 50))
def test_memo_equals_recount_through_adds_moves_relabels_terminations_and_deletions(ops, cap):
    """Every memoized selector (and every live view handed out) tracks the pods exactly, evictions included."""
    old_cap = framework.MAX_SPREAD_MEMOS
    framework.MAX_SPREAD_MEMOS = cap
    try:
        cache = SchedulerCache()
        for n in NODES[:-1]:
            cache.add_node(make_node(n))
        views: list[tuple[str, LabelSelector, bool, object]] = []
        for op in ops:
            kind = op[0]
            if kind in ("add", "assume"):
                _, i, ns, labels, node, terminating, anti = op
                pi = PodInfo(pod_dict(f"p{i}", ns, labels, node, terminating, anti))
                (cache.add_pod if kind == "add" else cache.assume)(pi)   # same key again: an update or a move
            elif kind == "forget":
                cache.forget((op[2], f"p{op[1]}"))
            elif kind == "remove":
                cache.remove_pod((op[2], f"p{op[1]}"))
            else:
                _, s, ns, with_term = op
                view = cache.spread_counts(ns, SELECTORS[s], with_term)
                views.append((ns, SELECTORS[s], with_term, view))
            for memo in cache._memos.values():
                assert dict(memo.counts) == brute_counts(cache, memo.namespace, memo.selector, memo.with_terminating)
            for ns, sel, with_term, view in views[-cap:]:
                assert dict(view) == brute_counts(cache, ns, sel, with_term)
            for k in TERM_KINDS:
                got = {term_key(t): dict(counts) for t, counts in cache.affinity_term_counts(k)}
                assert got == brute_groups(cache, k)
        assert len(cache._memos) <= cap
        # Every index bucket still points at a live memo, and nothing live is missing from the index.
        indexed = [m for ms in cache._memo_anchored.values() for m in ms] + \
                  [m for ms in cache._memo_scan.values() for m in ms]
        assert sorted(map(id, indexed)) == sorted(map(id, cache._memos.values()))
    finally:
        framework.MAX_SPREAD_MEMOS = old_cap


def test_counts_are_read_only_and_equal_selectors_share_one_memo():
    cache = SchedulerCache()
    cache.add_node(make_node("n0"))
    cache.add_pod(PodInfo(make_pod("a", labels={"app": "web", "tier": "front"}, node="n0")))
    view = pod_topology_spread.count_by_node(cache, LabelSelector.parse("app=web,tier=front"), "default")
    with pytest.raises(TypeError):
        view["n0"] = 5                                          # type: ignore[index]
    assert dict(view) == {"n0": 1}
    same = cache.spread_counts("default", LabelSelector.parse("tier=front,app=web,app=web"))
    assert same is view and len(cache._memos) == 1
    cache.add_pod(PodInfo(make_pod("b", labels={"app": "web", "tier": "front"}, node="n0")))
    assert view["n0"] == 2


def test_an_assumed_pod_counts_until_forgotten():
    cache = SchedulerCache()
    for n in ("n0", "n1"):
        cache.add_node(make_node(n))
    sel = LabelSelector.parse("app=web")
    counts = cache.spread_counts("default", sel)
    pi = PodInfo(make_pod("a", labels={"app": "web"}))
    pi.node_name = "n1"
    cache.assume(pi)
    assert dict(counts) == {"n1": 1}
    cache.forget(pi.key)
    assert dict(counts) == {}


# ------------------------------------------------------------------ whole-cluster behaviour
def _deployment(name: str, replicas: int, *, affinity: dict | None = None, spread: list | None = None) -> dict:
    labels = {"app": name}
    spec: dict = {"containers": [{"name": "app", "image": "nginx:1.27", "resources": {"requests": {"cpu": "10m"}}}]}
    if affinity:
        spec["affinity"] = affinity
    if spread:
        spec["topologySpreadConstraints"] = spread
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def _placements(cluster: Cluster, app: str) -> dict[str, str]:
    return {p["metadata"]["name"]: p["spec"].get("nodeName", "")
            for p in cluster.store.list("pods", "default", LabelSelector.parse(f"app={app}"))}


def test_default_constrained_scale_up_spreads_pods_evenly():
    cluster = Cluster(seed=3, profile="demo", nodes=8, empty=True)
    cluster.run_for(1)
    cluster.api.create(_deployment("web", 100))
    cluster.run_for(60)
    placed = _placements(cluster, "web")
    assert len(placed) == 100 and all(placed.values())
    per_node: dict[str, int] = {}
    for node in placed.values():
        per_node[node] = per_node.get(node, 0) + 1
    workers = [n["metadata"]["name"] for n in cluster.store.list("nodes")
               if not (n.get("spec") or {}).get("taints")]
    counts = [per_node.get(n, 0) for n in workers]
    assert max(counts) - min(counts) <= 1, per_node


def _churn(cluster: Cluster) -> list[dict[str, str]]:
    """Scale up three workloads that use spread constraints and pod (anti-)affinity, kill some pods, scale again."""
    cluster.run_for(1)
    for i, node in enumerate(sorted(n["metadata"]["name"] for n in cluster.store.list("nodes"))):
        cluster.api.patch("nodes", "", node, {"metadata": {"labels": {"topology.kubernetes.io/zone": f"z{i % 3}"}}},
                          "merge")
    cluster.run_for(1)
    zone_spread = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"app": "zoned"}}},
                   {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"app": "zoned"}}}]
    anti = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "anti"}},
                                           "topologyKey": "kubernetes.io/hostname"}}]}}
    near = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "anti"}}, "topologyKey": "topology.kubernetes.io/zone"}]}}
    cluster.api.create(_deployment("zoned", 30, spread=zone_spread))
    cluster.api.create(_deployment("anti", 20, affinity=anti))
    cluster.run_for(30)
    cluster.api.create(_deployment("near", 10, affinity=near))
    cluster.run_for(30)
    snapshots = [_placements(cluster, a) for a in ("zoned", "anti", "near")]
    for app in ("zoned", "anti"):
        for name in sorted(_placements(cluster, app))[:5]:
            cluster.delete_pod("default", name)
    cluster.scale("Deployment", "default", "zoned", 40)
    cluster.scale("Deployment", "default", "anti", 25)
    cluster.run_for(60)
    return snapshots + [_placements(cluster, a) for a in ("zoned", "anti", "near")]


def test_incremental_counts_make_the_same_decisions_as_recounting(monkeypatch):
    """Same seed, same placements whether counts come from the memo or from a full recount per cycle."""
    fast = _churn(Cluster(seed=11, profile="demo", nodes=9, empty=True))

    def recount(self, namespace, selector, with_terminating=False):
        return brute_counts(self, namespace, selector, with_terminating)

    def regroup(self, kind):
        out: dict[tuple, tuple] = {}
        for p in self.all_pods():
            for t in getattr(p, kind):
                term, counts = out.setdefault(term_key(t), (t, {}))
                counts[p.node_name] = counts.get(p.node_name, 0) + 1
        return list(out.values())

    monkeypatch.setattr(SchedulerCache, "spread_counts", recount)
    monkeypatch.setattr(SchedulerCache, "affinity_term_counts", regroup)
    slow = _churn(Cluster(seed=11, profile="demo", nodes=9, empty=True))
    assert fast == slow
    for placed, size in zip(fast[3:], (40, 25, 10)):      # every workload did scale up and schedule
        assert len(placed) == size and all(placed.values()), placed
