"""Real kubectl against chaos.kubedrill.io: discovery, apply a PodChaos, see the pod killed, list, delete."""
from __future__ import annotations

import json

import pytest
from kubetools import start_server, stop_server
from test_kubectl import apply_web

POD_CHAOS = """\
apiVersion: chaos.kubedrill.io/v1
kind: PodChaos
metadata:
  name: kill-one-web
spec:
  action: pod-kill
  mode: one
  selector:
    labelSelectors:
      app: web
"""


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    live, server = start_server(tmp_path_factory.mktemp("chaos"))
    yield live
    stop_server(live, server)


def _live_web_pods(namespace: str):
    def read(cluster) -> set[str]:
        return {p["metadata"]["name"] for p in cluster.store.list("pods", namespace)
                if p["metadata"].get("labels", {}).get("app") == "web" and not p["metadata"].get("deletionTimestamp")}
    return read


def test_discovery_serves_the_chaos_kinds(kubectl):
    out = kubectl.ok("api-resources", "--api-group=chaos.kubedrill.io", ns=False)
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert set(rows) == {"controlplanechaos", "networkchaos", "nodechaos", "podchaos", "schedules"}
    assert rows["podchaos"][1:] == ["pc", "chaos.kubedrill.io/v1", "true", "PodChaos"]


def test_kubectl_apply_podchaos_kills_one_selected_pod(kubectl, namespace, api_server):
    apply_web(kubectl)
    before = api_server.call(_live_web_pods(namespace))
    assert len(before) == 3

    out = kubectl.ok("apply", "-f", "-", input=POD_CHAOS)
    assert out.strip() == "podchaos.chaos.kubedrill.io/kill-one-web created"

    # Exactly one web pod is killed, and its ReplicaSet replaces it with a new name.
    after = api_server.wait_until(lambda c: (lambda now: now if len(now) == 3 and len(now & before) == 2 else None)(
        _live_web_pods(namespace)(c)), timeout=30, what="one web pod replaced")
    (killed,) = before - after
    chaos = json.loads(kubectl.ok("get", "podchaos", "kill-one-web", "-o", "json"))
    records = chaos["status"]["experiment"]["containerRecords"]
    assert [r["id"] for r in records] == [f"{namespace}/{killed}"]
    assert records[0]["phase"] == "Injected" or records[0]["injectedCount"] == 1

    table = kubectl.ok("get", "podchaos").splitlines()
    assert table[0].split() == ["NAME", "ACTION", "MODE", "DURATION", "PHASE", "AGE"]
    assert table[1].split()[:5] == ["kill-one-web", "pod-kill", "one", "<none>", "Finished"]
    assert kubectl.ok("get", "pc", "-o", "name").split() == ["podchaos.chaos.kubedrill.io/kill-one-web"]
    assert "podchaos.chaos.kubedrill.io/kill-one-web" in kubectl.ok("get", "chaos", "-o", "name")
    events = kubectl.ok("get", "events", "--field-selector", "involvedObject.name=kill-one-web")
    assert "Applied" in events and killed in events

    out = kubectl.ok("delete", "podchaos", "kill-one-web")
    assert out.strip() == 'podchaos.chaos.kubedrill.io "kill-one-web" deleted'
    res = kubectl("get", "podchaos")
    assert res.code == 0 and f"No resources found in {namespace} namespace." in res.err
