"""The server's chart history (engine/history.py): series on simulated time, markers saying what and who,
bounded for hours, and resumed after a restart."""
from __future__ import annotations

import pytest

from engine.apiserver.audit import Identity
from engine.cluster import Cluster

ALICE_KUBECTL = Identity("alice", ("system:authenticated",), "kubectl/v1.32.0")
BOB_DASHBOARD = Identity("bob", ("system:authenticated",), "kubedrill-dashboard")
CAROL_DASHBOARD = Identity("carol", ("system:authenticated",), "kubedrill-dashboard")
from engine.history_series import COARSE_WIDTH, MID_WIDTH, Series

from simulate import deployment

WEB = "deployments/default/web"


def _cluster(**kwargs) -> Cluster:
    c = Cluster(seed=1, profile="kubernetes", nodes=3, empty=True, **kwargs)
    c.apply(deployment("web", 3))
    c.run_for(60)
    return c


def _series(c: Cluster, key: str) -> dict:
    return next(s for s in c.history.view()["series"] if s["key"] == key)


def _pods(c: Cluster) -> list[str]:
    return sorted(p["metadata"]["name"] for p in c.store.list("pods", "default"))


def _markers(c: Cluster, kind: str) -> list[dict]:
    return [m for m in c.history.view()["markers"] if m["kind"] == kind]


def test_replicas_are_sampled_each_simulated_second_and_only_changes_are_kept():
    c = _cluster()
    web = _series(c, WEB)
    assert web["title"] == "Deployment web" and web["kind"] == "replicas" and web["live"]
    # Ready climbs 0 -> 3 within seconds, then holds: a handful of points, the last one "now".
    assert web["a"][-1] == 3 and web["b"][-1] == 3 and web["t"][-1] == c.now == 60
    assert web["b"][0] == 0 and len(web["t"]) < 8
    assert all(isinstance(t, int) for t in web["t"][:-1]) and web["t"] == sorted(web["t"])
    c.scale("Deployment", "default", "web", 1)
    c.run_for(30)
    web = _series(c, WEB)
    assert web["a"][-1] == 1 and web["b"][-1] == 1
    assert 60 < next(t for t, a in zip(web["t"], web["a"]) if a == 1) <= 62   # sampled within a second


def test_a_deletion_through_the_api_is_a_marker_naming_the_user():
    c = _cluster()
    victim = _pods(c)[0]
    with c.api.audit.acting(ALICE_KUBECTL):
        c.api.delete("pods", "default", victim)
    c.run_for(5)
    [marker] = _markers(c, "delete")
    assert marker == {"n": marker["n"], "t": 60, "kind": "delete", "what": f"pod default/{victim} deleted",
                      "who": "alice (kubectl)"}
    # The graceful delete's end and the replacement pod add no second marker; since= filters by time.
    c.run_for(60)
    assert len(_markers(c, "delete")) == 1
    assert c.history.view(since=61)["markers"] == []


def test_a_crash_from_the_dashboard_names_who_crashed_it():
    c = _cluster()
    victim = _pods(c)[1]
    with c.api.audit.acting(BOB_DASHBOARD):
        c.crash_container("default", victim)
    [marker] = _markers(c, "crash")
    assert marker["what"] == f"container app of pod default/{victim} crashed (exit 1)"
    assert marker["who"] == "bob (dashboard)"


def test_a_chaos_fault_is_a_marker_and_so_is_the_pod_it_kills():
    c = _cluster()
    c.apply({"apiVersion": "chaos.kubedrill.io/v1", "kind": "PodChaos", "metadata": {"name": "kill-web"},
             "spec": {"action": "pod-kill", "mode": "one", "selector": {"labelSelectors": {"app": "web"}}}})
    c.run_for(2)
    [fault] = _markers(c, "chaos")
    [deleted] = _markers(c, "delete")
    assert fault["what"].startswith("PodChaos kill-web: pod-kill default/web-")
    assert fault["who"] == deleted["who"] == "chaos:kill-web"


def test_an_eviction_names_the_controller_and_a_power_off_is_a_marker():
    c = _cluster()
    node = c.store.find("pods", "default", _pods(c)[0])["spec"]["nodeName"]
    with c.api.audit.acting(CAROL_DASHBOARD):
        c.power_off_node(node)
    [off] = _markers(c, "power-off")
    assert off["what"] == f"node {node} powered off" and off["who"] == "carol (dashboard)"
    c.run_for(400)    # 40 s grace, then the 300 s not-ready toleration: the taint manager evicts
    evicted = _markers(c, "delete")
    assert evicted and {m["who"] for m in evicted} == {"node-controller"}
    web = _series(c, WEB)
    assert min(web["b"]) < 3 and web["b"][-1] == 3      # the dip is in the curve, and the recovery


def test_downsampling_keeps_a_dip_at_its_depth():
    s = Series(WEB, "Deployment web", "replicas")
    for t in range(0, 8 * 3600):
        s.add(t, 3, 1 if 1000 <= t < 1003 else 3)       # a 3-s dip to 1 ready
        if t % 10 == 0:
            s.roll(t)
    assert not [p for p in s.fine if p[2] == 1] and not [p for p in s.mid if p[2] == 1]
    dips = [p for p in s.coarse if p[2] == 1]
    assert dips == [(960, 3, 1)]                         # one 60-s bucket, still at 1 ready
    assert s.coarse[s.coarse.index(dips[0]) + 1] == (1020, 3, 3)
    # The same dip 20 minutes later sits in a 10-s bucket.
    s2 = Series(WEB, "Deployment web", "replicas")
    for t in range(0, 2400):
        s2.add(t, 3, 1 if 1000 <= t < 1003 else 3)
        if t % 10 == 0:
            s2.roll(t)
    assert [p for p in s2.mid if p[2] == 1] == [(1000, 3, 1)]


def test_rates_keep_the_lowest_value_of_a_bucket():
    s = Series("svc/default/web", "Service web", "rate")
    for t in range(0, 7 * 3600):
        s.add(t, 40.0 if t == 2000 else 100.0, None)
        if t % 10 == 0:
            s.roll(t)
    assert (1980, 40.0, None) in s.coarse and (2040, 100.0, None) in s.coarse


def test_history_stays_bounded_after_simulated_hours_of_change():
    s = Series(WEB, "Deployment web", "replicas")
    for t in range(0, 30 * 3600):
        s.add(t, 3, t % 4)                               # changes every second: the worst case
        if t % 10 == 0:
            s.roll(t)
    # Each tier holds its span, plus up to one bucket of the next not yet folded.
    assert len(s.fine) <= 15 * 60 + MID_WIDTH
    assert len(s.mid) <= (6 * 3600 - 15 * 60 + COARSE_WIDTH) // MID_WIDTH + 1
    assert len(s.coarse) <= (24 * 3600 - 6 * 3600) // COARSE_WIDTH + 2
    assert s.coarse[0][0] >= 30 * 3600 - 24 * 3600 - COARSE_WIDTH


def test_markers_stay_bounded():
    c = Cluster(seed=1, profile="kubernetes", nodes=1, empty=True)
    for i in range(6000):
        c.history.mark("delete", f"pod default/p{i} deleted", "pods deleted", who=f"u{i}")
    c.run_for(10)
    assert len(c.history.markers) == 5000


@pytest.mark.parametrize("closing", [True, False])
def test_a_restart_resumes_the_history(db_url: str, closing: bool):
    c = _cluster(store_url=db_url, fresh=True)
    victim = _pods(c)[0]
    with c.api.audit.acting(ALICE_KUBECTL):
        c.api.delete("pods", "default", victim)
    c.run_for(30)
    if closing:
        c.close()
    else:
        # Without a clean close, what the last periodic write held survives (at most 10 s older).
        c.persistence.close()
    before = c.history.view()
    again = Cluster(seed=1, profile="kubernetes", store_url=db_url)
    try:
        after = again.history.view()
        assert after["markers"] == before["markers"]
        web_before = next(s for s in before["series"] if s["key"] == WEB)
        web_after = next(s for s in after["series"] if s["key"] == WEB)
        # The same points (the closing "now" point comes back with the first sample after the restart).
        assert web_after["t"] == web_before["t"][:-1] and web_after["b"] == web_before["b"][:-1]
        again.run_for(20)
        web = _series(again, WEB)
        assert web["live"] and web["t"][-1] == again.now and web["b"][-1] == 3
    finally:
        again.close()
