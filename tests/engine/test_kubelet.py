"""Kubelet: the pod lifecycle on simulated time (kubernetes profile unless said otherwise)."""
from __future__ import annotations

import ipaddress

import pytest

from engine.cluster import Cluster
from engine.errors import BadRequest
from engine.kubelet.kubelet import KubeletManager
from engine.kubelet.logs import pod_logs
from engine.objects import clone
from tests.engine.kubelet_helpers import Recorder, condition, get, kubectl_status, make_cluster, pod


@pytest.fixture
def kc():
    return make_cluster()


def run_collect(cluster, name, until, step=0.05):
    """Step the clock to ``until`` and return the distinct kubectl STATUS values seen, in order."""
    seen = []
    while cluster.clock.now < until:
        cluster.run_for(step)
        p = cluster.store.find("pods", "default", name)
        status = kubectl_status(p) if p else "<gone>"
        if not seen or seen[-1] != status:
            seen.append(status)
    return seen


def test_pod_goes_pending_containercreating_running_with_events_in_order_and_ip_from_node_cidr(kc):
    rec = Recorder(kc)
    kc.apply(pod("web"))
    seen = run_collect(kc, "web", 10)
    assert seen[0] in ("Pending", "ContainerCreating")
    assert "ContainerCreating" in seen and seen[-1] == "Running"
    p = get(kc, "web")
    assert p["status"]["phase"] == "Running"
    cidr = kc.api.get("nodes", None, "w1")["spec"]["podCIDR"]
    assert ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network(cidr)
    assert p["status"]["podIPs"] == [{"ip": p["status"]["podIP"]}]
    assert p["status"]["hostIP"] == next(a["address"] for a in kc.api.get("nodes", None, "w1")["status"]["addresses"]
                                         if a["type"] == "InternalIP")
    assert rec.reasons("web") == ["Pulling", "Pulled", "Created", "Started"]
    msgs = [m for _, _, m in rec.of("web")]
    assert msgs[0] == 'Pulling image "nginx:1.27"'
    assert msgs[1].startswith('Successfully pulled image "nginx:1.27" in ') and "Image size: " in msgs[1]
    assert msgs[2:] == ["Created container: app", "Started container app"]
    cs = p["status"]["containerStatuses"][0]
    assert cs["ready"] is True and cs["started"] is True and cs["restartCount"] == 0
    assert cs["image"] == "docker.io/library/nginx:1.27"
    assert cs["imageID"].startswith("docker.io/library/nginx@sha256:") and len(cs["imageID"].split(":")[-1]) == 64
    assert cs["containerID"].startswith("containerd://") and len(cs["containerID"]) == len("containerd://") + 64
    for ctype in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"):
        assert condition(p, ctype) == "True"


def test_second_pod_finds_the_image_already_present_and_gets_another_ip(kc):
    rec = Recorder(kc)
    kc.apply(pod("a"))
    kc.run_for(10)
    kc.apply(pod("b"))
    kc.run_for(10)
    assert ('Pulled', 'Container image "nginx:1.27" already present on machine') in \
        [(r, m) for _, r, m in rec.of("b")]
    assert "Pulling" not in rec.reasons("b")
    assert get(kc, "a")["status"]["podIP"] != get(kc, "b")["status"]["podIP"]


def test_crashing_container_backs_off_10_20_40_capped_at_300(kc):
    kc.apply(pod("crash"))
    kc.run_for(10)
    rt = kc.kubelet_manager.kubelets["w1"].pods[("default", "crash")]
    c = rt.containers[0]
    kc.kubelets["w1"].set_failure("default", "crash", "crash-loop", True)
    starts, exits = [], []
    last_start, last_exit = c.started_at, None
    while kc.clock.now < 2000 and len(starts) < 9:
        kc.step()
        if c.finished_at is not None and c.finished_at != last_exit:
            last_exit = c.finished_at
            exits.append(last_exit)
        if c.started_at != last_start and c.state == "Running":
            last_start = c.started_at
            starts.append(last_start)
    waits = [s - e for e, s in zip(exits, starts)]
    low, high = kc.profile.container_start_seconds
    expected = [0, 10, 20, 40, 80, 160, 300, 300]
    for wait, backoff in zip(waits, expected):
        assert backoff + low - 1e-6 <= wait <= backoff + high + 1e-6, (waits, expected)
    p = get(kc, "crash")
    assert p["status"]["containerStatuses"][0]["restartCount"] >= 8
    assert p["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1
    assert p["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "Error"


def test_crash_loop_shows_crashloopbackoff_and_backoff_event(kc):
    rec = Recorder(kc)
    kc.apply(pod("crash"))
    kc.run_for(10)
    kc.kubelets["w1"].set_failure("default", "crash", "crash-loop", True)
    kc.run_for(8)  # exit, immediate restart, exit again → 10 s back-off
    p = get(kc, "crash")
    assert kubectl_status(p) == "CrashLoopBackOff"
    waiting = p["status"]["containerStatuses"][0]["state"]["waiting"]
    uid = p["metadata"]["uid"]
    assert waiting["message"] == f"back-off 10s restarting failed container=app pod=crash_default({uid})"
    assert ("BackOff", f"Back-off restarting failed container app in pod crash_default({uid})") in \
        [(r, m) for _, r, m in rec.of("crash")]
    assert condition(p, "Ready") == "False"


def test_crash_container_once_restarts_immediately(kc):
    kc.apply(pod("once"))
    kc.run_for(10)
    result = kc.kubelets["w1"].crash_container("default", "once")
    assert result["exitCode"] == 1
    kc.run_for(2)
    cs = get(kc, "once")["status"]["containerStatuses"][0]
    assert cs["restartCount"] == 1 and "running" in cs["state"]
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert "app started" in pod_logs(kc, "default", "once", previous=True)
    assert "exiting with status 1" not in pod_logs(kc, "default", "once")


def test_readiness_probe_failure_flips_ready_and_back(kc):
    rec = Recorder(kc)
    probe = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 10, "failureThreshold": 3}
    kc.apply(pod("ready", containers=[{"name": "app", "image": "nginx:1.27", "readinessProbe": probe}]))
    kc.run_for(10)
    assert condition(get(kc, "ready"), "Ready") == "True"
    t0 = kc.clock.now
    kc.kubelets["w1"].set_readiness_failing("default", "ready", True)
    kc.run_for(19)
    assert condition(get(kc, "ready"), "Ready") == "True"   # only 2 failures so far
    kc.run_for(11)
    p = get(kc, "ready")
    assert condition(p, "Ready") == "False" and condition(p, "ContainersReady") == "False"
    unhealthy = [(t, m) for t, r, m in rec.of("ready") if r == "Unhealthy"]
    assert unhealthy[0][1] == "Readiness probe failed: HTTP probe failed with statuscode: 503"
    assert t0 < unhealthy[0][0] <= t0 + 10
    kc.kubelets["w1"].set_readiness_failing("default", "ready", False)
    kc.run_for(10)
    assert condition(get(kc, "ready"), "Ready") == "True"
    assert get(kc, "ready")["status"]["containerStatuses"][0]["restartCount"] == 0


def test_liveness_failure_restarts_the_container(kc):
    rec = Recorder(kc)
    probe = {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 10, "failureThreshold": 3}
    kc.apply(pod("live", containers=[{"name": "app", "image": "nginx:1.27", "livenessProbe": probe}]))
    kc.run_for(10)
    kc.kubelets["w1"].set_failure("default", "live", "liveness", True)
    kc.run_for(35)
    msgs = [(r, m) for _, r, m in rec.of("live")]
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500") in msgs
    assert ("Killing", "Container app failed liveness probe, will be restarted") in msgs
    cs = get(kc, "live")["status"]["containerStatuses"][0]
    assert cs["restartCount"] >= 1


def test_init_containers_run_in_order(kc):
    inits = [{"name": "init-a", "image": "busybox:1.36"}, {"name": "init-b", "image": "busybox:1.36"}]
    kc.apply(pod("init", initContainers=inits))
    seen = run_collect(kc, "init", 30)
    assert seen.index("Init:0/2") < seen.index("Init:1/2") < seen.index("Running")
    p = get(kc, "init")
    assert [s["state"]["terminated"]["reason"] for s in p["status"]["initContainerStatuses"]] == ["Completed"] * 2
    assert condition(p, "Initialized") == "True"


def test_missing_configmap_key_gives_createcontainerconfigerror_until_it_exists(kc):
    rec = Recorder(kc)
    env = [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}}]
    kc.apply(pod("cfg", containers=[{"name": "app", "image": "nginx:1.27", "env": env}]))
    kc.run_for(10)
    p = get(kc, "cfg")
    waiting = p["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "CreateContainerConfigError", "message": 'configmap "cfg" not found'}
    assert kubectl_status(p) == "CreateContainerConfigError"
    assert ("Failed", 'Error: configmap "cfg" not found') in [(r, m) for _, r, m in rec.of("cfg")]
    kc.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"other": "x"}})
    kc.run_for(1)
    waiting = get(kc, "cfg")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"] == "couldn't find key mode in ConfigMap default/cfg"
    kc.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"mode": "fast"}})
    kc.run_for(3)
    assert kubectl_status(get(kc, "cfg")) == "Running"


def test_missing_configmap_volume_stays_containercreating_with_failedmount(kc):
    rec = Recorder(kc)
    kc.apply(pod("vol", volumes=[{"name": "conf", "configMap": {"name": "settings"}}]))
    kc.run_for(20)
    p = get(kc, "vol")
    assert kubectl_status(p) == "ContainerCreating" and "podIP" not in p["status"]
    assert ("FailedMount", 'MountVolume.SetUp failed for volume "conf" : configmap "settings" not found') in \
        [(r, m) for _, r, m in rec.of("vol")]
    kc.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}})
    kc.run_for(8)
    assert kubectl_status(get(kc, "vol")) == "Running"


def test_unbound_pvc_waits_until_bound(kc):
    # A class with no provisioner and no volume yet: the claim stays Pending until a PV appears.
    kc.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
              "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                       "resources": {"requests": {"storage": "1Gi"}}}})
    kc.apply(pod("db", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]))
    kc.run_for(10)
    assert kc.store.find("persistentvolumeclaims", "default", "data")["status"].get("phase") == "Pending"
    assert kubectl_status(get(kc, "db")) in ("Pending", "ContainerCreating")
    assert get(kc, "db")["status"].get("phase") == "Pending"
    kc.apply({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "manual-1"},
              "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                       "storageClassName": "manual", "hostPath": {"path": "/data/manual-1"}}})
    kc.run_for(15)
    assert kc.store.find("persistentvolumeclaims", "default", "data")["status"].get("phase") == "Bound"
    assert kubectl_status(get(kc, "db")) == "Running"


def test_image_pull_failure_errimagepull_then_imagepullbackoff(kc):
    rec = Recorder(kc)
    kc.apply(pod("bad", containers=[{"name": "app", "image": "nginx:doesnotexist"}]))
    seen = run_collect(kc, "bad", 20)
    assert "ErrImagePull" in seen and "ImagePullBackOff" in seen
    msgs = [(r, m) for _, r, m in rec.of("bad")]
    assert ("Failed", "Error: ErrImagePull") in msgs and ("Failed", "Error: ImagePullBackOff") in msgs
    assert ("BackOff", 'Back-off pulling image "nginx:doesnotexist"') in msgs
    failed = next(m for r, m in msgs if r == "Failed" and m.startswith("Failed to pull image"))
    assert 'docker.io/library/nginx:doesnotexist: not found' in failed


def test_oom_kill_reports_exit_137_oomkilled(kc):
    kc.apply(pod("oom"))
    kc.run_for(10)
    kc.kubelets["w1"].set_failure("default", "oom", "oom", True)
    kc.run_for(3)
    cs = get(kc, "oom")["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    assert cs["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert "out of memory" in pod_logs(kc, "default", "oom", previous=True)


def test_graceful_termination_takes_sigterm_time_then_pod_is_gone(kc):
    rec = Recorder(kc)
    kc.apply(pod("bye"))
    kc.run_for(10)
    ip = get(kc, "bye")["status"]["podIP"]
    t0 = kc.clock.now
    kc.delete_pod("default", "bye")
    kc.run_for(0.2)
    assert kc.store.find("pods", "default", "bye") is not None
    assert ("Killing", "Stopping container app") in [(r, m) for _, r, m in rec.of("bye")]
    while kc.store.find("pods", "default", "bye") is not None:
        kc.step()
    low, high = kc.profile.sigterm_exit_seconds
    assert low - 1e-6 <= kc.clock.now - t0 <= high + 1e-6
    assert int(ip.rsplit(".", 1)[1]) not in kc.kubelets["w1"].ipam.used


def test_ignore_sigterm_waits_for_the_grace_period(kc):
    kc.apply(pod("stubborn", annotations={"kubedrill.io/ignore-sigterm": "true"}, terminationGracePeriodSeconds=20))
    kc.run_for(10)
    kc.delete_pod("default", "stubborn")
    kc.run_for(19.5)
    assert kc.store.find("pods", "default", "stubborn") is not None
    kc.run_for(1)
    assert kc.store.find("pods", "default", "stubborn") is None


def test_force_delete_is_immediate_and_releases_the_ip(kc):
    kc.apply(pod("gone"))
    kc.run_for(10)
    kubelet = kc.kubelets["w1"]
    used = set(kubelet.ipam.used)
    kc.delete_pod("default", "gone", force=True)
    assert kc.store.find("pods", "default", "gone") is None
    kc.run_for(0.01)
    assert ("default", "gone") not in kubelet.pods and len(kubelet.ipam.used) == len(used) - 1


def test_restart_policy_never_failed_and_onfailure_completed(kc):
    kc.apply(pod("never", restartPolicy="Never"))
    kc.run_for(10)
    kc.kubelets["w1"].crash_container("default", "never")
    kc.run_for(2)
    p = get(kc, "never")
    assert p["status"]["phase"] == "Failed"
    assert p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1


def test_logs_errors_use_kubernetes_wording(kc):
    kc.apply(pod("two", containers=[{"name": "a", "image": "nginx:1.27"}, {"name": "b", "image": "redis:7"}]))
    with pytest.raises(BadRequest, match=r"a container name must be specified for pod two, choose one of: \[a b\]"):
        pod_logs(kc, "default", "two")
    kc.run_for(0.1)
    with pytest.raises(BadRequest, match='container "a" in pod "two" is waiting to start: ContainerCreating'):
        pod_logs(kc, "default", "two", "a")
    kc.run_for(10)
    assert "container a started (image nginx:1.27)" in pod_logs(kc, "default", "two", "a")
    with pytest.raises(BadRequest, match='previous terminated container "a" in pod "two" not found'):
        pod_logs(kc, "default", "two", "a", previous=True)


def test_logs_show_probe_failures_and_tail(kc):
    probe = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}
    kc.apply(pod("lg", containers=[{"name": "app", "image": "nginx:1.27", "readinessProbe": probe}]))
    kc.run_for(10)
    kc.kubelets["w1"].set_readiness_failing("default", "lg", True)
    kc.run_for(20)
    text = pod_logs(kc, "default", "lg")
    assert "readiness probe failed: HTTP probe failed with statuscode: 503" in text
    assert len(pod_logs(kc, "default", "lg", tail_lines=2).splitlines()) == 2


def test_status_is_written_only_when_it_changes(kc):
    kc.apply(pod("quiet"))
    kc.run_for(10)
    rv = get(kc, "quiet")["metadata"]["resourceVersion"]
    kc.run_for(600)
    assert get(kc, "quiet")["metadata"]["resourceVersion"] == rv


def test_demo_profile_compresses_crash_backoff():
    cluster = make_cluster("demo")
    cluster.apply(pod("crash"))
    cluster.run_for(5)
    cluster.kubelets["w1"].set_failure("default", "crash", "crash-loop", True)
    cluster.run_for(6)
    waiting = get(cluster, "crash")["status"]["containerStatuses"][0]["state"].get("waiting", {})
    assert waiting.get("reason") == "CrashLoopBackOff" and "back-off 2s" in waiting.get("message", "")


def test_unknown_fault_kind_is_rejected(kc):
    kc.apply(pod("x"))
    with pytest.raises(BadRequest, match='unsupported fault "explode"'):
        kc.kubelets["w1"].set_failure("default", "x", "explode", True)


def test_resume_after_restart_keeps_running_pods_and_heartbeats():
    kc = make_cluster()
    kc.apply(pod("keep"))
    kc.run_for(10)
    kc.kubelets["w2"].power_off()
    before = get(kc, "keep")
    objects = [(resource, clone(obj)) for resource, obj in kc.store.items()]
    fresh = Cluster(seed=2, profile="kubernetes", nodes=0, empty=True, bootstrap=False)
    fresh.store.restore(objects, kc.store.revision)
    fresh.clock.now = kc.clock.now
    manager = getattr(fresh, "kubelet_manager", None) or KubeletManager(fresh.api, fresh.clock, fresh.profile)
    manager.resume()
    fresh.run_for(5)
    after = fresh.api.get("pods", "default", "keep")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]   # nothing to rewrite
    assert manager.kubelets["w1"].connected and not manager.kubelets["w2"].powered
    assert manager.kubelets["w1"].pods[("default", "keep")].ip == before["status"]["podIP"]
    fresh.apply(pod("next"))
    fresh.run_for(10)
    assert fresh.api.get("pods", "default", "next")["status"]["podIP"] != before["status"]["podIP"]
