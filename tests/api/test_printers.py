"""Table printers: the cells ``kubectl get`` shows, per kind (pure; no server)."""
from __future__ import annotations

import pytest

from engine.clock import rfc3339
from webapp.kube_api import printers
from webapp.kube_api.printers import human_duration, pod_row, table


@pytest.mark.parametrize("seconds,text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (125, "2m5s"),
    (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"), (3 * 3600 + 5 * 60, "3h5m"), (8 * 3600, "8h"),
    (47 * 3600, "47h"), (2 * 86400, "2d"), (2 * 86400 + 3 * 3600, "2d3h"), (8 * 86400, "8d"),
    (400 * 86400, "400d"), (2 * 365 * 86400, "2y"), (3 * 365 * 86400 + 10 * 86400, "3y10d"),
    (9 * 365 * 86400, "9y"),
])
def test_human_duration_matches_kubectl(seconds, text):
    assert human_duration(seconds) == text


def _pod(**status) -> dict:
    return {"metadata": {"name": "web-0", "namespace": "default", "creationTimestamp": rfc3339(0)},
            "spec": {"nodeName": "node-1", "containers": [{"name": "nginx", "image": "nginx:1.27"}]},
            "status": status}


def test_running_ready_pod_row_has_all_wide_cells():
    pod = _pod(phase="Running", podIPs=[{"ip": "10.244.1.5"}], conditions=[{"type": "Ready", "status": "True"}],
               containerStatuses=[{"name": "nginx", "ready": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": rfc3339(3)}}}])
    assert pod_row(pod, 300) == ["web-0", "1/1", "Running", "0", "5m", "10.244.1.5", "node-1", "<none>", "<none>"]


def test_waiting_reason_wins_and_restarts_show_last_termination():
    pod = _pod(phase="Running", containerStatuses=[{
        "name": "nginx", "ready": False, "restartCount": 3,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": rfc3339(100)}}}])
    row = pod_row(pod, 142)
    assert row[1:4] == ["0/1", "CrashLoopBackOff", "3 (42s ago)"]


def test_pending_unscheduled_pod_shows_none_for_ip_and_node():
    pod = _pod(phase="Pending")
    pod["spec"].pop("nodeName")
    assert pod_row(pod, 10)[1:7] == ["0/1", "Pending", "0", "10s", "<none>", "<none>"]


def test_terminated_without_reason_shows_exit_code_or_signal():
    pod = _pod(phase="Running", containerStatuses=[{"name": "nginx", "state": {"terminated": {"exitCode": 2}}}])
    assert pod_row(pod, 0)[2] == "ExitCode:2"
    pod["status"]["containerStatuses"][0]["state"]["terminated"] = {"exitCode": 137, "signal": 9}
    assert pod_row(pod, 0)[2] == "Signal:9"


def test_deleting_pod_is_terminating_or_unknown_when_node_lost():
    pod = _pod(phase="Running")
    pod["metadata"]["deletionTimestamp"] = rfc3339(30)
    assert pod_row(pod, 0)[2] == "Terminating"
    pod["status"]["reason"] = "NodeLost"
    assert pod_row(pod, 0)[2] == "Unknown"


def test_init_containers_progress():
    pod = _pod(phase="Pending", initContainerStatuses=[
        {"name": "init", "state": {"running": {}}, "restartCount": 0}])
    pod["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    assert pod_row(pod, 0)[2] == "Init:0/1"
    pod["status"]["initContainerStatuses"][0]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    assert pod_row(pod, 0)[2] == "Init:ImagePullBackOff"


def test_completed_with_a_running_container_is_running_or_notready():
    pod = _pod(phase="Running", conditions=[{"type": "Ready", "status": "False"}], containerStatuses=[
        {"name": "a", "ready": True, "state": {"running": {}}},
        {"name": "b", "ready": False, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}])
    pod["spec"]["containers"].append({"name": "b", "image": "x"})
    assert pod_row(pod, 0)[1:3] == ["1/2", "NotReady"]


def test_service_ports_and_external_ip():
    svc = {"metadata": {"name": "web", "creationTimestamp": rfc3339(0)},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"],
                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                    "selector": {"app": "web", "tier": "fe"}}}
    assert printers.service_row(svc, 60) == ["web", "NodePort", "10.96.0.12", "<none>", "80:30080/TCP,53/UDP",
                                             "60s", "app=web,tier=fe"]
    svc["spec"]["type"] = "LoadBalancer"
    assert printers.service_row(svc, 60)[3] == "<pending>"
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
    assert printers.service_row(svc, 60)[3] == "203.0.113.7"
    headless = {"metadata": {"name": "nginx"}, "spec": {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 80}]}}
    assert printers.service_row(headless, 0)[1:5] == ["ClusterIP", "None", "<none>", "80/TCP"]


def test_node_status_and_roles():
    node = {"metadata": {"name": "node-1", "creationTimestamp": rfc3339(0),
                         "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                    "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.7.24"}}}
    row = printers.node_row(node, 3 * 86400)
    assert row[:5] == ["node-1", "Ready,SchedulingDisabled", "control-plane", "3d", "v1.32.0"]
    assert row[5:] == ["172.18.0.2", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0", "containerd://1.7.24"]
    node["spec"] = {}
    node["status"]["conditions"][0]["status"] = "Unknown"
    node["metadata"]["labels"] = {}
    assert printers.node_row(node, 0)[1:3] == ["NotReady", "<none>"]


def test_workload_rows():
    tmpl = {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}}
    dep = {"metadata": {"name": "web", "creationTimestamp": rfc3339(0)},
           "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl},
           "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert printers.deployment_row(dep, 30) == ["web", "2/3", 3, 2, "30s", "nginx,log", "nginx:1.27,busybox",
                                                "app=web"]
    rs = dict(dep, status={"replicas": 3, "readyReplicas": 1})
    assert printers.replicaset_row(rs, 30)[:4] == ["web", 3, 3, 1]
    sts = dict(dep, status={"readyReplicas": 1})
    assert printers.statefulset_row(sts, 30) == ["web", "1/3", "30s", "nginx,log", "nginx:1.27,busybox"]
    sel = {"matchLabels": {"b": "1"}, "matchExpressions": [{"key": "a", "operator": "In", "values": ["y", "x"]},
                                                           {"key": "c", "operator": "DoesNotExist"}]}
    assert printers.format_label_selector(sel) == "a in (x,y),b=1,!c"


def test_config_storage_and_event_rows():
    meta = {"name": "x", "creationTimestamp": rfc3339(0)}
    assert printers.configmap_row({"metadata": meta, "data": {"a": "1", "b": "2"}}, 5) == ["x", 2, "5s"]
    assert printers.secret_row({"metadata": meta, "type": "Opaque", "data": {"a": "MQ=="}}, 5) == ["x", "Opaque", 1, "5s"]
    sc = {"metadata": dict(meta, name="standard", annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
          "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"}
    assert printers.storageclass_row(sc, 5) == ["standard (default)", "rancher.io/local-path", "Delete",
                                                "WaitForFirstConsumer", False, "5s"]
    pvc = {"metadata": dict(meta, name="data-web-0"),
           "spec": {"volumeName": "pvc-1", "storageClassName": "standard", "resources": {"requests": {"storage": "1Gi"}}},
           "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}}
    assert printers.pvc_row(pvc, 5)[:8] == ["data-web-0", "Bound", "pvc-1", "1Gi", "RWO", "standard", "<unset>", "5s"]
    ev = {"metadata": {"name": "web-0.17f"}, "type": "Normal", "reason": "Scheduled",
          "message": "Successfully assigned default/web-0 to node-1",
          "involvedObject": {"kind": "Pod", "name": "web-0"}, "source": {"component": "default-scheduler"},
          "firstTimestamp": rfc3339(0), "lastTimestamp": rfc3339(60), "count": 2}
    assert printers.event_row(ev, 120) == ["60s", "Normal", "Scheduled", "pod/web-0", "", "default-scheduler",
                                           "Successfully assigned default/web-0 to node-1", "2m", 2, "web-0.17f"]


def test_table_shape_has_partial_object_metadata_and_wide_priorities():
    pod = _pod(phase="Pending")
    t = table("pods", [pod], 0, resource_version="42")
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "42"}
    names = [(c["name"], c["priority"]) for c in t["columnDefinitions"]]
    assert names[:5] == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0)]
    assert all(p == 1 for _, p in names[5:])
    assert t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert t["rows"][0]["object"]["metadata"]["namespace"] == "default"
    assert len(t["rows"][0]["cells"]) == len(t["columnDefinitions"])
    full = table("pods", [pod], 0, include_object="Object")
    assert full["rows"][0]["object"] is pod


@pytest.mark.parametrize("resource", sorted(printers.PRINTERS))
def test_every_printer_has_one_cell_per_column(resource):
    obj = {"metadata": {"name": "x", "creationTimestamp": rfc3339(0)}}
    cols, fn = printers.printer_for(resource)
    assert len(fn(obj, 10)) == len(cols)
