"""How long does the simulator take to compute a node failure and its recovery at scale?

Run: ``.venv/bin/python bench/recovery_bench.py [--nodes 5000 --pods 150000 --small 50]``

Builds a cluster of N nodes (kubelets, node lifecycle controller, ReplicaSet controller, scheduler
wired as in a real cluster) with P running pods owned by ReplicaSets (≤110 per node). Building takes
a shortcut: the pods are written to the store already bound and Running, with exactly the status
the kubelet would report, so nothing has to happen for them. Then one node is powered off and the
simulation runs, through the real components only, until every pod it held has been replaced by a
Running, Ready pod elsewhere (kubernetes profile: Unknown at ≈50 s, eviction at ≈350 s).

Prints: wall time to compute the recovery (target ≤ 1 s), the median wall cost per processed
clock event at the small and the large size (target ratio ≤ 1.5), and resident memory (target
≤ 1.5 GB).
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402

from engine.clock import rfc3339  # noqa: E402
from engine.cluster import Cluster  # noqa: E402
from engine.kubelet.stages import image_id, normalize_image  # noqa: E402
from engine.objects import pod_ready  # noqa: E402

PODS_PER_RS = 100
IMAGE = "nginx:1.27"


def build(nodes: int, pods: int) -> Cluster:
    """A cluster of ``nodes`` nodes running ``pods`` ReplicaSet pods, built through shortcuts."""
    cluster = Cluster(seed=7, profile="kubernetes", nodes=0, empty=True, bootstrap=False)
    manager = cluster.kubelet_manager
    api, store = cluster.api, cluster.store
    api.events.enabled = False           # registration events of thousands of nodes are not the point
    for i in range(nodes):
        manager.add_node(f"node-{i + 1}", cpu="32", memory="128Gi", pods=110)
    cluster.run_for(0.001)
    now = rfc3339(cluster.clock.now)
    n_rs = max(1, pods // PODS_PER_RS)
    tolerations = [{"key": k, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                   for k in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")]
    rs_objs = []
    for r in range(n_rs):
        template = {"metadata": {"labels": {"app": f"app-{r}"}},
                    "spec": {"containers": [{"name": "app", "image": IMAGE,
                                             "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                             "tolerations": tolerations}}
        rs = api.create_internal({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                  "metadata": {"name": f"app-{r}", "namespace": "default"},
                                  "spec": {"replicas": PODS_PER_RS, "selector": {"matchLabels": {"app": f"app-{r}"}},
                                           "template": template}})
        # One pod exactly as the API server stores it, to share the spec among the RS's pods
        # (objects in the store are never mutated in place, so sharing is safe).
        probe = api.create_internal({"apiVersion": "v1", "kind": "Pod",
                                     "metadata": {"name": f"app-{r}-template", "namespace": "default"},
                                     "spec": dict(template["spec"], nodeName="node-1")})
        store.delete("pods", "default", probe["metadata"]["name"])
        rs_objs.append((rs, probe["spec"]))
    # No clock step until the pods exist: the ReplicaSet controller then finds them all and creates none.
    kubelets = list(manager.kubelets.values())
    conditions = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
                  for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
    rng = cluster.clock.rng
    for i in range(pods):
        rs, pod_spec = rs_objs[i % n_rs]
        kubelet = kubelets[i % len(kubelets)]
        name = f"{rs['metadata']['name']}-{i:06d}"
        ip = kubelet.ipam.allocate()
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"{rng.getrandbits(128):032x}",
                         "creationTimestamp": now, "generateName": rs["metadata"]["name"] + "-",
                         "labels": rs["spec"]["template"]["metadata"]["labels"],
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": rs["metadata"]["name"], "uid": rs["metadata"]["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": dict(pod_spec, nodeName=kubelet.name),
            "status": {"phase": "Running", "conditions": conditions, "hostIP": kubelet.internal_ip,
                       "hostIPs": [{"ip": kubelet.internal_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
                       "startTime": now,
                       "containerStatuses": [{
                           "name": "app", "state": {"running": {"startedAt": now}}, "lastState": {},
                           "ready": True, "restartCount": 0, "image": normalize_image(IMAGE),
                           "imageID": image_id(IMAGE), "started": True,
                           "containerID": f"containerd://{rng.getrandbits(256):064x}"}],
                       "qosClass": "Burstable"},
        }
        kubelet.ipam.release(ip)   # the kubelet reserves it again when it adopts the pod
        store.create("pods", pod)
    cluster.run_for(0.001)
    api.events.enabled = True
    return cluster


def recover(cluster: Cluster, victim: str) -> dict:
    """Power off ``victim`` and step the clock until its pods are replaced and Ready elsewhere."""
    lost = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in cluster.store.pods_on_node(victim)}
    fresh: set[tuple[str, str]] = set()
    ready: set[tuple[str, str]] = set()
    t_off = cluster.clock.now

    def watch(ev) -> None:
        if ev.resource != "pods":
            return
        key = (ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])
        if ev.type == "ADDED":
            fresh.add(key)
        elif key in fresh and ev.type == "MODIFIED" and pod_ready(ev.obj) and \
                ev.obj["status"].get("phase") == "Running":
            ready.add(key)

    unsubscribe = cluster.store.subscribe(watch)
    costs: list[float] = []
    clock = cluster.clock
    perf = time.perf_counter
    start = perf()
    cluster.kubelets[victim].power_off()
    by_component: dict[str, float] = {}
    while len(ready) < len(lost):
        if clock.peek() is None:
            break
        callback = clock._heap[0].callback   # peek() left the next live handle on top
        owner = getattr(callback, "__self__", None)
        component = type(owner).__module__ if owner is not None else getattr(callback, "__module__", "?")
        if getattr(owner, "sync", None) is not None and getattr(owner, "name", ""):
            component = f"queue {owner.name}"   # a WorkQueue drain: name the controller behind it
        t0 = perf()
        clock.step()
        spent = perf() - t0
        costs.append(spent)
        by_component[component] = by_component.get(component, 0.0) + spent
        if clock.now - t_off > 2000:
            break
    wall = perf() - start
    unsubscribe()
    return {"wall": wall, "events": len(costs), "median_us": statistics.median(costs) * 1e6 if costs else 0.0,
            "sim_seconds": clock.now - t_off, "lost": len(lost), "replaced": len(ready),
            "by_component": dict(sorted(by_component.items(), key=lambda kv: -kv[1]))}


def audit_pairs(cluster: Cluster, pairs: int, first_victim: str) -> None:
    """Recover from one more node's loss at a time, alternately with ``AuditLog.record`` switched off.

    The node is lost for good each time, so every recovery runs on a cluster one node smaller: the
    alternation keeps that drift out of the comparison."""
    audit = cluster.api.audit
    victims = [n for n in sorted(cluster.kubelets) if n != first_victim and cluster.store.pods_on_node(n)]
    walls: dict[bool, list[float]] = {True: [], False: []}
    for i in range(2 * pairs):
        recording = i % 2 == 0
        if recording:
            audit.__dict__.pop("record", None)
        else:
            audit.record = lambda *a, **k: 0      # an instance attribute shadows the method
        before = audit.seq
        res = recover(cluster, victims[i * 7 % len(victims)])
        walls[recording].append(res["wall"])
        print(f"  audit {'on ' if recording else 'off'}: recovery of {res['lost']} pods in {res['wall']:.3f} s wall "
              f"({audit.seq - before} requests recorded)")
    audit.__dict__.pop("record", None)
    on, off = statistics.median(walls[True]), statistics.median(walls[False])
    print(f"audit trail: median recovery {on:.3f} s recording vs {off:.3f} s not: "
          f"{(on / off - 1) * 100:+.1f} % (target <= 5 %) {'OK' if on <= off * 1.05 else 'MISS'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=150_000)
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--audit-pairs", type=int, default=0, metavar="N",
                        help="then, on the large cluster, N more recoveries with the audit trail recording and N "
                             "without, alternating (what recording costs, measured on one cluster)")
    args = parser.parse_args()
    per_node = args.pods / args.nodes
    if per_node > 110:
        raise SystemExit("at most 110 pods per node")

    results = {}
    for nodes in (args.small, args.nodes):
        pods = int(per_node * nodes)
        t0 = time.perf_counter()
        cluster = build(nodes, pods)
        built = time.perf_counter() - t0
        gc.collect()
        gc.freeze()   # the built cluster is long-lived: keep the cyclic GC from rescanning it
        rss = psutil.Process().memory_info().rss / 2 ** 20
        victim = sorted(cluster.kubelets)[len(cluster.kubelets) // 2]
        res = recover(cluster, victim)
        res.update(nodes=nodes, pods=pods, build=built, rss_mb=rss)
        results[nodes] = res
        print(f"{nodes:>6} nodes {pods:>7} pods | build {built:6.1f} s | rss {rss:7.0f} MiB | "
              f"recovery of {res['lost']} pods ({res['replaced']} replaced) in {res['sim_seconds']:.0f} sim s: "
              f"{res['wall']:.3f} s wall, {res['events']} clock events, median {res['median_us']:.1f} µs/event")
        print("        wall by component (whose clock callback ran; it includes the store listeners it "
              "triggered): " + ", ".join(f"{k.replace('engine.', '')} {v:.3f} s" for k, v in res["by_component"].items()))
        if nodes == args.nodes and args.audit_pairs:
            audit_pairs(cluster, args.audit_pairs, victim)
        del cluster
        gc.unfreeze()
        gc.collect()
    small, large = results[args.small], results[args.nodes]
    ratio = large["median_us"] / small["median_us"] if small["median_us"] else float("inf")
    print(f"recovery wall at {args.nodes} nodes: {large['wall']:.3f} s (target <= 1 s) "
          f"{'OK' if large['wall'] <= 1 else 'MISS'}")
    print(f"median cost per clock event {args.nodes} vs {args.small} nodes: {ratio:.2f}x (target <= 1.5) "
          f"{'OK' if ratio <= 1.5 else 'MISS'}")
    print(f"resident memory at {args.nodes} nodes: {large['rss_mb']:.0f} MiB (target <= 1536) "
          f"{'OK' if large['rss_mb'] <= 1536 else 'MISS'}")


if __name__ == "__main__":
    main()
