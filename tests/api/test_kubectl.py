"""The real kubectl 1.32 against a live Kubedrill: every everyday command, checked by output and state.

Each test gets its own namespace on a server shared by the module; simulated time runs 20x faster
than wall time, so rollouts finish in a second or two.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

MANIFESTS = Path(__file__).parent / "manifests"

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
"""


def apply_web(kubectl, replicas: int = 3) -> None:
    out = kubectl.ok("apply", "-f", "-", input=DEPLOYMENT.replace("replicas: 3", f"replicas: {replicas}"))
    assert "deployment.apps/web created" in out
    kubectl.ok("rollout", "status", "deployment/web", "--timeout=60s")


def pod_names(kubectl, selector: str = "app=web") -> list[str]:
    return sorted(kubectl.ok("get", "pods", "-l", selector, "-o", "jsonpath={.items[*].metadata.name}").split())


def test_version_reports_server_1_32(kubectl):
    out = kubectl.ok("version", ns=False)
    assert "Server Version: v1.32.0" in out


def test_get_family(kubectl, namespace):
    apply_web(kubectl)
    kubectl.ok("create", "-f", "-", input='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},'
                                        '"data":{"a":"1","b":"2"}}')
    kubectl.ok("create", "-f", "-", input='{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds"},'
                                        '"stringData":{"user":"admin"}}')
    kubectl.ok("expose", "deployment", "web", "--port=80", "--type=NodePort")

    pods = kubectl.ok("get", "pods")
    assert pods.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = [l.split() for l in pods.splitlines()[1:]]
    assert len(rows) == 3 and all(r[1:3] == ["1/1", "Running"] for r in rows)

    wide = kubectl.ok("get", "po", "-o", "wide").splitlines()
    assert wide[0].split()[5:] == ["IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    assert all(re.match(r"\d+\.\d+\.\d+\.\d+", l.split()[5]) for l in wide[1:])

    deploy = kubectl.ok("get", "deploy").splitlines()
    assert deploy[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deploy[1].split()[:4] == ["web", "3/3", "3", "3"]
    rs = kubectl.ok("get", "rs").splitlines()
    assert rs[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"] and rs[1].split()[1:4] == ["3", "3", "3"]
    svc = kubectl.ok("get", "svc", "web").splitlines()
    assert svc[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert svc[1].split()[1] == "NodePort" and re.match(r"80:3\d{4}/TCP", svc[1].split()[4])
    assert kubectl.ok("get", "cm", "settings").splitlines()[1].split()[:2] == ["settings", "2"]
    assert kubectl.ok("get", "secrets", "creds").splitlines()[1].split()[:3] == ["creds", "Opaque", "1"]
    events = kubectl.ok("get", "events")
    assert "SuccessfulCreate" in events and "ScalingReplicaSet" in events

    everything = kubectl.ok("get", "all")
    for kind in ("pod/web-", "service/web", "deployment.apps/web", "replicaset.apps/web-"):
        assert kind in everything

    labelled = kubectl.ok("get", "pods", "-l", "app=web", "-o", "name").split()
    assert len(labelled) == 3 and all(n.startswith("pod/web-") for n in labelled)
    assert "No resources found" in kubectl("get", "pods", "-l", "app=nothing").err

    as_yaml = kubectl.ok("get", "deploy", "web", "-o", "yaml")
    assert "kind: Deployment" in as_yaml and "replicas: 3" in as_yaml
    as_json = json.loads(kubectl.ok("get", "deploy", "web", "-o", "json"))
    assert as_json["status"]["readyReplicas"] == 3

    sorted_out = kubectl.ok("get", "pods", "--sort-by=.metadata.name", "-o", "name").split()
    assert sorted_out == sorted(sorted_out)

    across = kubectl.ok("get", "pods", "-A")
    assert across.splitlines()[0].split()[0] == "NAMESPACE"
    assert any(l.split()[0] == namespace for l in across.splitlines()[1:])

    missing = kubectl("get", "pod", "nosuch")
    assert missing.code == 1
    assert 'Error from server (NotFound): pods "nosuch" not found' in missing.err


def test_cluster_scoped_gets(kubectl):
    nodes = kubectl.ok("get", "nodes", ns=False).splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert len(nodes) >= 4 and all(l.split()[1].startswith("Ready") for l in nodes[1:])
    assert "Ready" in kubectl.ok("get", "no", "-o", "wide", ns=False)
    assert kubectl("get", "pv", ns=False).code == 0
    assert kubectl("get", "sc", ns=False).code == 0
    ns = kubectl.ok("get", "ns", ns=False)
    assert "default" in ns and "kube-system" in ns


def test_describe_pod_and_deployment_show_events(kubectl):
    apply_web(kubectl, replicas=1)
    (pod,) = pod_names(kubectl)
    out = kubectl.ok("describe", "pod", pod)
    assert f"Name:" in out and pod in out and "Events:" in out
    assert "Scheduled" in out and "Started" in out
    out = kubectl.ok("describe", "deployment", "web")
    assert "ScalingReplicaSet" in out and "NewReplicaSet:" in out


def test_apply_guestbook_create_then_update(kubectl, tmp_path):
    out = kubectl.ok("apply", "-f", str(MANIFESTS / "guestbook"))
    for name in ("deployment.apps/frontend", "deployment.apps/redis-leader", "deployment.apps/redis-follower",
                 "service/frontend", "service/redis-leader", "service/redis-follower"):
        assert f"{name} created" in out
    again = kubectl.ok("apply", "-f", str(MANIFESTS / "guestbook"))
    assert "deployment.apps/frontend unchanged" in again
    changed = tmp_path / "frontend.yaml"
    changed.write_text((MANIFESTS / "guestbook" / "frontend-deployment.yaml").read_text()
                       .replace("replicas: 3", "replicas: 2"))
    assert "deployment.apps/frontend configured" in kubectl.ok("apply", "-f", str(changed))
    kubectl.ok("rollout", "status", "deployment/frontend", "--timeout=60s")
    assert kubectl.ok("get", "deploy", "frontend", "-o", "jsonpath={.status.readyReplicas}") == "2"


def test_apply_statefulset_web_create_then_update(kubectl, tmp_path):
    out = kubectl.ok("apply", "-f", str(MANIFESTS / "web.yaml"))
    assert "service/nginx created" in out and "statefulset.apps/web created" in out
    kubectl.ok("rollout", "status", "statefulset/web", "--timeout=90s")
    assert pod_names(kubectl, "app=nginx") == ["web-0", "web-1"]
    pvcs = kubectl.ok("get", "pvc", "-o", "name").split()
    assert pvcs == ["persistentvolumeclaim/www-web-0", "persistentvolumeclaim/www-web-1"]
    changed = tmp_path / "web.yaml"
    changed.write_text((MANIFESTS / "web.yaml").read_text().replace("nginx-slim:0.7", "nginx-slim:0.8"))
    assert "statefulset.apps/web configured" in kubectl.ok("apply", "-f", str(changed))
    kubectl.ok("rollout", "status", "statefulset/web", "--timeout=90s")
    images = kubectl.ok("get", "pods", "-l", "app=nginx", "-o", "jsonpath={.items[*].spec.containers[0].image}")
    assert images.split() == ["registry.k8s.io/nginx-slim:0.8"] * 2


def test_run_expose_and_create(kubectl):
    assert "pod/solo created" in kubectl.ok("run", "solo", "--image=nginx:1.27", "--port=80")
    kubectl.ok("wait", "--for=condition=Ready", "pod/solo", "--timeout=60s")
    assert "service/solo exposed" in kubectl.ok("expose", "pod", "solo", "--port=8080", "--target-port=80")
    svc = json.loads(kubectl.ok("get", "svc", "solo", "-o", "json"))
    assert svc["spec"]["selector"] == {"run": "solo"} and svc["spec"]["ports"][0]["port"] == 8080


def test_wait_for_condition_ready(kubectl):
    apply_web(kubectl, replicas=2)
    out = kubectl.ok("wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=60s")
    assert out.count("condition met") == 2


def test_delete_graceful_force_and_orphan(kubectl):
    kubectl.ok("run", "graceful", "--image=nginx:1.27")
    kubectl.ok("wait", "--for=condition=Ready", "pod/graceful", "--timeout=60s")
    assert 'pod "graceful" deleted' in kubectl.ok("delete", "pod", "graceful", "--timeout=60s")
    assert kubectl("get", "pod", "graceful").code == 1

    kubectl.ok("run", "forced", "--image=nginx:1.27")
    kubectl.ok("wait", "--for=condition=Ready", "pod/forced", "--timeout=60s")
    res = kubectl("delete", "pod", "forced", "--force", "--grace-period=0")
    assert res.code == 0 and "Immediate deletion does not wait" in res.err
    assert kubectl("get", "pod", "forced").code == 1

    apply_web(kubectl, replicas=2)
    kubectl.ok("delete", "deployment", "web", "--cascade=orphan")
    assert kubectl("get", "deploy", "web").code == 1
    time.sleep(1)
    assert len(kubectl.ok("get", "rs", "-o", "name").split()) == 1  # the ReplicaSet stays, orphaned
    assert len(pod_names(kubectl)) == 2


def test_scale_with_and_without_current_replicas(kubectl):
    apply_web(kubectl, replicas=1)
    assert "deployment.apps/web scaled" in kubectl.ok("scale", "deploy", "web", "--replicas=3")
    kubectl.ok("rollout", "status", "deployment/web", "--timeout=60s")
    assert len(pod_names(kubectl)) == 3
    res = kubectl("scale", "deploy", "web", "--current-replicas=2", "--replicas=1")
    assert res.code != 0 and "expected replicas to be 2, was 3" in res.err.lower()
    assert "scaled" in kubectl.ok("scale", "deploy", "web", "--current-replicas=3", "--replicas=1")
    kubectl.ok("rollout", "status", "deployment/web", "--timeout=60s")
    for _ in range(100):
        if len(pod_names(kubectl)) == 1:
            break
        time.sleep(0.1)
    assert len(pod_names(kubectl)) == 1


def test_set_image_rollout_status_history_undo_restart(kubectl):
    apply_web(kubectl, replicas=2)
    assert "image updated" in kubectl.ok("set", "image", "deployment/web", "nginx=nginx:1.28")
    out = kubectl.ok("rollout", "status", "deployment/web", "--timeout=60s")
    assert 'deployment "web" successfully rolled out' in out
    # Done means every live pod runs the new image; old pods may still be Terminating for a moment,
    # as in a real cluster (rollout status counts replicas, not pods still shutting down).
    pods = json.loads(kubectl.ok("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 2 and {p["spec"]["containers"][0]["image"] for p in live} == {"nginx:1.28"}
    history = kubectl.ok("rollout", "history", "deployment/web")
    assert re.search(r"^1\s", history, re.M) and re.search(r"^2\s", history, re.M)
    assert "rolled back" in kubectl.ok("rollout", "undo", "deployment/web")
    kubectl.ok("rollout", "status", "deployment/web", "--timeout=60s")
    assert kubectl.ok("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}") == "nginx:1.27"
    before = set(pod_names(kubectl))
    assert "restarted" in kubectl.ok("rollout", "restart", "deployment/web")
    kubectl.ok("rollout", "status", "deployment/web", "--timeout=60s")
    assert kubectl.ok("get", "deploy", "web", "-o",
                      "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}")
    for _ in range(100):
        if not (set(pod_names(kubectl)) & before):
            break
        time.sleep(0.1)
    assert not (set(pod_names(kubectl)) & before)


def test_label_annotate_and_patch(kubectl):
    kubectl.ok("create", "-f", "-", input='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"p"},'
                                        '"data":{"a":"1"}}')
    assert "labeled" in kubectl.ok("label", "cm", "p", "tier=fe")
    assert "annotated" in kubectl.ok("annotate", "cm", "p", "note=hello")
    kubectl.ok("patch", "cm", "p", "-p", '{"data":{"b":"2"}}')
    kubectl.ok("patch", "cm", "p", "--type=merge", "-p", '{"data":{"a":null}}')
    kubectl.ok("patch", "cm", "p", "--type=json", "-p", '[{"op":"add","path":"/data/c","value":"3"}]')
    got = json.loads(kubectl.ok("get", "cm", "p", "-o", "json"))
    assert got["metadata"]["labels"] == {"tier": "fe"}
    assert got["metadata"]["annotations"]["note"] == "hello"
    assert got["data"] == {"b": "2", "c": "3"}
    bad = kubectl("patch", "cm", "p", "--type=json", "-p", '[{"op":"remove","path":"/data/nothere"}]')
    assert bad.code != 0


def test_logs(kubectl):
    kubectl.ok("run", "talker", "--image=nginx:1.27")
    kubectl.ok("wait", "--for=condition=Ready", "pod/talker", "--timeout=60s")
    out = kubectl.ok("logs", "talker")
    assert out.strip()
    assert len(kubectl.ok("logs", "talker", "--tail=1").strip().splitlines()) == 1
    res = kubectl("logs", "nosuch")
    assert res.code == 1 and 'pods "nosuch" not found' in res.err


def test_get_pods_watch_sees_deletion(kubectl):
    kubectl.ok("run", "watched", "--image=nginx:1.27")
    kubectl.ok("wait", "--for=condition=Ready", "pod/watched", "--timeout=60s")
    live = kubectl.live
    import os
    env = dict(os.environ, KUBECONFIG=str(live.kubeconfig), KUBECACHEDIR=str(live.cache_dir))
    proc = subprocess.Popen([shutil.which("kubectl"), "get", "pods", "-w", "-n", kubectl.namespace,
                             "--output-watch-events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        time.sleep(1.5)
        kubectl.ok("delete", "pod", "watched", "--wait=false")
        time.sleep(3)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "watched" in out and "DELETED" in out


def test_exec_explains_it_is_not_simulated(kubectl):
    kubectl.ok("run", "box", "--image=nginx:1.27")
    res = kubectl("exec", "box", "--", "ls")
    assert res.code != 0 and "not simulated" in res.err


def test_create_generators_explain_the_protobuf_limit(kubectl):
    res = kubectl("create", "configmap", "gen", "--from-literal=a=b")
    assert res.code == 1
    assert "kubectl apply -f" in res.err
    assert kubectl("get", "cm", "gen").code == 1
    # the documented workaround works
    yaml_text = kubectl.ok("create", "configmap", "gen", "--from-literal=a=b", "--dry-run=client", "-o", "yaml")
    assert "configmap/gen created" in kubectl.ok("apply", "-f", "-", input=yaml_text)


def test_explain_uses_served_schemas(kubectl):
    out = kubectl.ok("explain", "deployment.spec.replicas", ns=False)
    assert "KIND:       Deployment" in out and "replicas" in out and "<integer>" in out


def test_server_side_apply_creates_then_updates(kubectl, tmp_path):
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {colour: blue}\n")
    assert "configmap/ssa serverside-applied" in kubectl.ok("apply", "--server-side", "-f", str(manifest))
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {colour: green}\n")
    assert "configmap/ssa serverside-applied" in kubectl.ok("apply", "--server-side", "-f", str(manifest))
    cm = kubectl("get", "configmap", "ssa", "-o", "json", "--show-managed-fields").json()
    assert cm["data"] == {"colour": "green"}
    assert any(m["manager"] == "kubectl" and m["operation"] == "Apply" for m in cm["metadata"]["managedFields"])


def test_server_side_apply_conflicts_with_fields_client_side_apply_and_scale_set(kubectl):
    """Every client write records its field manager, so apply --server-side meets the real conflicts."""
    apply_web(kubectl, replicas=2)
    managed = kubectl("get", "deploy", "web", "-o", "json", "--show-managed-fields").json()["metadata"]["managedFields"]
    owner = next(m for m in managed if m["manager"] == "kubectl-client-side-apply")
    assert owner["operation"] == "Update" and "f:replicas" in owner["fieldsV1"]["f:spec"]
    bumped = DEPLOYMENT.replace("replicas: 3", "replicas: 4")
    res = kubectl("apply", "--server-side", "-f", "-", input=bumped)
    assert res.code != 0
    assert 'conflict with "kubectl-client-side-apply"' in res.err and ".spec.replicas" in res.err
    assert kubectl.ok("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}") == "2"
    assert "serverside-applied" in kubectl.ok("apply", "--server-side", "--force-conflicts", "-f", "-", input=bumped)
    assert kubectl.ok("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}") == "4"
    managed = kubectl("get", "deploy", "web", "-o", "json", "--show-managed-fields").json()["metadata"]["managedFields"]
    owns_replicas = [m["manager"] for m in managed if "f:replicas" in m["fieldsV1"].get("f:spec", {})]
    assert owns_replicas == ["kubectl"]   # forced: the applier took the field over
    # kubectl scale sends no fieldManager: the server names it after the User-Agent, "kubectl".
    kubectl.ok("scale", "deploy", "web", "--replicas=3")
    res = kubectl("apply", "--server-side", "-f", "-", input=bumped)
    assert res.code != 0 and 'conflict with "kubectl" with subresource "scale"' in res.err
