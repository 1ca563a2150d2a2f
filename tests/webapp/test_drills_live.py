"""Drills over the live socket: drill.* actions, the ``drill`` event, recorded actions, hidden faults, exports.

The app runs without its threads: each test moves simulated time with ``runtime.advance`` and
pushes the live stream with ``live.flush()``.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from live_helpers import action, messages, subscribe
from markupsafe import escape

XSS = "<img src=x onerror=alert(1)>"


def _web_pod(runtime: Any) -> str:
    with runtime.lock:
        pods = [p["metadata"]["name"] for p in runtime.cluster.store.list("pods", "default")
                if p["metadata"].get("labels", {}).get("app") == "web" and not p["metadata"].get("deletionTimestamp")]
    assert pods
    return sorted(pods)[0]


def _mentions(payload: Any, text: str) -> bool:
    return text in json.dumps(payload)


def test_drill_list_shows_the_catalogue_without_secrets(sio_client: Any) -> None:
    ack = action(sio_client, "drill.list")
    assert ack["ok"], ack
    drills = {d["id"]: d for d in ack["result"]}
    assert len(drills) >= 10
    pod_kill = drills["01-pod-kill"]
    assert pod_kill["title"].startswith("A pod is killed")
    assert pod_kill["time_limit"] == 60 and pod_kill["hints"] == 2
    # Hints and solutions are counted, never sent; hidden faults are not announced.
    assert "solution" not in pod_kill and not _mentions(pod_kill, "ReplicaSet notices")
    assert not _mentions(drills["02-node-lost"], "lose-node")


def test_start_swaps_the_cluster_and_every_client_resyncs(sio_client: Any, runtime: Any, live: Any) -> None:
    sandbox = runtime.cluster
    generation = runtime.generation
    assert subscribe(sio_client)["ok"]
    messages(sio_client)
    ack = action(sio_client, "drill.start", id="01-pod-kill")
    assert ack["ok"], ack
    assert ack["result"]["phase"] == "Running" and ack["result"]["t"] == 0
    assert runtime.cluster is not sandbox and runtime.cluster is runtime.drill.run.cluster
    assert runtime.generation == generation + 1
    got = messages(sio_client)
    names = [n for n, _ in got]
    assert names.index("resync") < names.index("snapshot") < names.index("drill")
    snap = dict(got)["snapshot"]
    assert snap["generation"] == runtime.generation
    assert any(o["resource"] == "deployments" and o["object"]["metadata"]["name"] == "web" for o in snap["objects"])
    drill = [p for n, p in got if n == "drill"][-1]
    assert drill["id"] == "01-pod-kill" and drill["remaining"] == 60
    assert [p["name"] for p in drill["probes"]] == ["web-ready", "web-traffic"]

    # Leaving the drill brings the sandbox cluster back, and clients resync again.
    ack = action(sio_client, "drill.exit")
    assert ack["ok"], ack
    assert runtime.cluster is sandbox and runtime.drill is None
    assert runtime.generation == generation + 2


def test_status_timer_probes_and_hints(sio_client: Any, runtime: Any, live: Any) -> None:
    assert action(sio_client, "drill.status")["result"] == {"active": False}
    assert action(sio_client, "drill.start", id="01-pod-kill")["ok"]
    subscribe(sio_client)
    runtime.advance(12)
    live.flush()
    pushed = [p for n, p in messages(sio_client) if n == "drill"]
    assert pushed and pushed[-1]["t"] == 12 and pushed[-1]["remaining"] == 48
    status = action(sio_client, "drill.status")["result"]
    assert status["t"] == 12 and status["phase"] == "Running"
    assert {p["name"]: p["passing"] for p in status["probes"]} == {"web-ready": True, "web-traffic": True}
    # The visible pod-kill fault fired at 10 s and is announced.
    assert [(f["at"], f["kind"], f["name"]) for f in status["faults"]] == [(10, "PodChaos", "kill-web")]

    first = action(sio_client, "drill.hint")["result"]
    assert first["hint"].startswith("Look at the pods") and first["left"] == 1
    second = action(sio_client, "drill.hint")["result"]
    assert "ReplicaSet" in second["hint"] and second["left"] == 0
    assert action(sio_client, "drill.hint")["result"] == {"hint": None, "index": None, "left": 0}
    status = action(sio_client, "drill.status")["result"]
    assert [h["at"] for h in status["hints"]] == [12, 12]


def test_dashboard_actions_and_kubectl_writes_are_recorded(sio_client: Any, runtime: Any, client: Any) -> None:
    assert action(sio_client, "drill.start", id="01-pod-kill")["ok"]
    runtime.advance(3)
    pod = _web_pod(runtime)
    assert action(sio_client, "pod.delete", namespace="default", name=pod)["ok"]
    assert not action(sio_client, "pod.delete", namespace="default", name="missing")["ok"]
    runtime.advance(2)
    resp = client.post("/api/v1/namespaces/default/configmaps", headers={"User-Agent": "kubectl/v1.32.0 (linux/amd64)"},
                       json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notes"}})
    assert resp.status_code == 201
    # A dry run and a read are not actions.
    client.post("/api/v1/namespaces/default/configmaps?dryRun=All",
                json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}})
    client.get("/api/v1/namespaces/default/pods")
    actions = action(sio_client, "drill.status")["result"]["actions"]
    assert [(a["at"], a["action"], a["via"], a["ok"]) for a in actions] == [
        (3, "pod.delete", "dashboard", True), (3, "pod.delete", "dashboard", False), (5, "create", "kubectl", True)]
    assert actions[0]["args"] == {"namespace": "default", "name": pod}
    assert "not found" in actions[1]["error"]
    assert actions[2]["args"] == {"namespace": "default", "resource": "configmaps"}
    # Simulator controls are not the student's actions.
    assert action(sio_client, "sim.pause")["ok"]
    assert len(action(sio_client, "drill.status")["result"]["actions"]) == 3


def test_hidden_faults_stay_hidden_until_the_report(sio_client: Any, runtime: Any, live: Any, client: Any) -> None:
    assert action(sio_client, "drill.start", id="02-node-lost")["ok"]
    assert subscribe(sio_client)["ok"]
    runtime.advance(15)      # the hidden NodeChaos lose-node fired at 10 s; traffic fails from 13 s
    live.flush()
    with runtime.lock:
        assert runtime.cluster.store.find("nodechaos", "default", "lose-node") is not None
    streamed = messages(sio_client)
    assert streamed and not any(_mentions(p, "lose-node") for _, p in streamed)
    # Nor does the dashboard say the node is powered off: kubectl still shows it Ready at 15 s.
    assert not any(_mentions(p, "powered-off") for _, p in streamed)
    status = action(sio_client, "drill.status")["result"]
    assert not _mentions(status, "lose-node")
    assert any(not p["passing"] for p in status["probes"])     # the student can see something is wrong
    assert client.get("/ui/drills/report.json").status_code == 404    # no report (with its faults) yet

    ack = action(sio_client, "drill.stop")
    assert ack["ok"], ack
    report = ack["result"]
    assert report["verdict"] == "failed" and report["stopped_at"] == 15
    assert report["reason"].startswith("still failing at the end") and "stopped by the user after 15 s" in report["reason"]
    assert [(f["name"], f["hidden"]) for f in report["faults"]] == [("lose-node", True)]
    got = messages(sio_client)
    names = [n for n, _ in got]
    assert "resync" in names, names           # clients reload the store, hidden objects included
    snap = [p for n, p in got if n == "snapshot"][-1]
    assert any(o["resource"] == "nodechaos" for o in snap["objects"])
    assert _mentions([o for o in snap["objects"] if o["resource"] == "leases"], "powered-off")
    assert _mentions([p for n, p in got if n == "drill"][-1], "lose-node")


def test_bad_drill_messages_are_rejected_and_change_nothing(sio_client: Any, runtime: Any) -> None:
    cluster, generation = runtime.cluster, runtime.generation
    cases = [
        ({"type": "drill.start", "args": {}}, "args.id"),
        ({"type": "drill.start", "args": {"id": 5}}, "args.id"),
        ({"type": "drill.start", "args": {"id": ""}}, "args.id"),
        ({"type": "drill.start", "args": {"id": "x", "speed": 2}}, "args.speed"),
        ({"type": "drill.stop", "args": {"finish": "yes"}}, "args.finish"),
        ({"type": "drill.hint", "args": {"n": 1}}, "args.n"),
        ({"type": "drill.launch"}, "type"),
    ]
    for message, field in cases:
        ack = sio_client.emit("action", message, namespace="/live", callback=True)
        assert not ack["ok"], message
        assert ack["error"]["reason"] == "BadRequest" and ack["error"]["details"]["causes"][0]["field"] == field
    unknown = action(sio_client, "drill.start", id="99-no-such-drill")
    assert unknown["error"]["code"] == 404 and '"01-pod-kill"' in unknown["error"]["message"]
    for kind in ("drill.hint", "drill.stop"):
        ack = action(sio_client, kind)
        assert ack["error"]["reason"] == "BadRequest" and "no drill is running" in ack["error"]["message"]
    assert runtime.cluster is cluster and runtime.generation == generation and runtime.drill is None


def test_finish_scores_the_drill_and_exports_it(sio_client: Any, runtime: Any, client: Any) -> None:
    assert action(sio_client, "drill.start", id="01-pod-kill")["ok"]
    runtime.advance(1)
    assert not action(sio_client, "pod.delete", namespace="default", name=XSS)["ok"]
    ack = action(sio_client, "drill.stop", finish=True)
    assert ack["ok"], ack
    report = ack["result"]
    assert report["verdict"] == "passed" and report["phase"] == "Finished" and report["elapsed"] == 60
    assert report["services"]["default/web"]["availability"] >= 0.99
    assert report["explanation"]
    assert action(sio_client, "drill.hint")["error"]["reason"] == "BadRequest"    # over: no more hints

    resp = client.get("/ui/drills/report.json")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"] == 'attachment; filename="kubedrill-01-pod-kill-report.json"'
    exported = json.loads(resp.get_data(as_text=True))
    assert exported["verdict"] == "passed" and len(exported["series"]) == 60
    assert exported["actions"][0]["args"]["name"] == XSS

    page = client.get("/ui/drills/report")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'data-verdict="passed"' in html and "A pod is killed" in html and "<svg" in html
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def _first_failure(runtime: Any, limit: int = 40) -> int:
    """Advance the running drill until one of its probes fails; return the drill time."""
    for _ in range(limit):
        runtime.advance(1)
        with runtime.lock:
            if any(p["everFailed"] for p in runtime.drill.run.probe_status()):
                return runtime.drill.run.t
    raise AssertionError("no probe failed")


def test_finish_now_reports_the_time_played_and_says_it_was_early(sio_client: Any, runtime: Any, client: Any) -> None:
    assert action(sio_client, "drill.start", id="01-pod-kill")["ok"]
    runtime.advance(30)
    report = action(sio_client, "drill.stop", finish=True)["result"]
    # The remaining time is still played for the score, but the student played 30 s.
    assert report["elapsed"] == 60 and len(report["series"]) == 60 and report["verdict"] == "passed"
    assert report["played_seconds"] == 30 and report["finished_early"] is True
    html = client.get("/ui/drills/report").get_data(as_text=True)
    assert '<span id="time-played">30 / 60 s</span>' in html and 'id="finished-early"' in html
    assert "finished early: played 30 of 60 s" in html


def test_downtime_and_availability_are_one_definition_on_the_page(sio_client: Any, runtime: Any,
                                                                 client: Any) -> None:
    assert action(sio_client, "drill.start", id="02-node-lost")["ok"]
    report = action(sio_client, "drill.stop", finish=True)["result"]
    web = report["services"]["default/web"]
    probe = {p["name"]: p for p in report["probes"]}["web-traffic"]
    assert (web["downtime_seconds"], web["availability"]) == (probe["downtime_seconds"], probe["availability"])
    assert web["availability"] == round(1 - web["downtime_seconds"] / web["samples"], 4) < 1
    html = client.get("/ui/drills/report").get_data(as_text=True)
    assert f'{web["availability"] * 100:.2f} % available, {web["downtime_seconds"]} s down' in html
    assert f'<span id="downtime">{report["downtime_seconds"]} s</span>' in html
    assert f'<span id="availability">{report["availability"] * 100:.2f} %</span>' in html
    for text in (report["definitions"]["downtime"], report["definitions"]["availability"]):
        assert str(escape(text)) in html


def test_time_to_detect_is_the_students_first_response(sio_client: Any, runtime: Any, client: Any) -> None:
    assert action(sio_client, "drill.start", id="02-node-lost")["ok"]
    failed_at = _first_failure(runtime)
    runtime.advance(3)
    resp = client.post("/api/v1/namespaces/default/configmaps", headers={"User-Agent": "kubectl/v1.32.0 (linux/amd64)"},
                       json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "looking"}})
    assert resp.status_code == 201
    runtime.advance(2)
    assert action(sio_client, "pod.delete", namespace="default", name=_web_pod(runtime))["ok"]
    report = action(sio_client, "drill.stop")["result"]
    assert report["first_failure_at"] == failed_at
    assert report["detected_at"] == failed_at + 3 and report["time_to_detect"] == 3
    html = client.get("/ui/drills/report").get_data(as_text=True)
    assert '<span id="time-to-detect">3 s</span>' in html
    assert str(escape(report["definitions"]["time_to_detect"])) in html and str(escape(report["detection"])) in html


def test_time_to_detect_is_none_without_a_response(sio_client: Any, runtime: Any, client: Any) -> None:
    assert action(sio_client, "drill.start", id="02-node-lost")["ok"]
    runtime.advance(2)
    assert not action(sio_client, "pod.delete", namespace="default", name="too-early")["ok"]
    _first_failure(runtime)
    report = action(sio_client, "drill.stop")["result"]
    assert report["time_to_detect"] is None and "every action came before" in report["detection"]
    assert '<span id="time-to-detect">—</span>' in client.get("/ui/drills/report").get_data(as_text=True)


def test_every_action_is_on_the_printable_timeline_and_in_the_lists(sio_client: Any, runtime: Any,
                                                                    client: Any) -> None:
    assert action(sio_client, "drill.start", id="01-pod-kill")["ok"]
    runtime.advance(2)
    action(sio_client, "workload.rollback", kind="Deployment", namespace="default", name="web")
    runtime.advance(3)
    assert action(sio_client, "pod.delete", namespace="default", name=_web_pod(runtime))["ok"]
    assert not action(sio_client, "pod.delete", namespace="default", name="missing")["ok"]
    runtime.advance(4)
    client.post("/api/v1/namespaces/default/configmaps", headers={"User-Agent": "kubectl/v1.32.0 (linux/amd64)"},
                json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notes"}})
    report = action(sio_client, "drill.stop")["result"]
    recorded = [(a["at"], a["action"]) for a in report["actions"]]
    assert recorded == [(2, "workload.rollback"), (5, "pod.delete"), (5, "pod.delete"), (9, "create")]
    exported = json.loads(client.get("/ui/drills/report.json").get_data(as_text=True))
    assert [(a["at"], a["action"]) for a in exported["actions"]] == recorded
    html = client.get("/ui/drills/report").get_data(as_text=True)
    svg = html[html.index("<svg"):html.index("</svg>")]
    for at, name in recorded:
        assert f'<g class="action-marker" data-action="{name}" data-at="{at}">' in svg
    assert svg.count('class="action-marker"') == len(recorded)
    table = html[html.index('<table id="actions">'):]
    assert [table.count(f'<tr class="action" data-action="{n}">') for n in ("workload.rollback", "pod.delete",
                                                                            "create")] == [1, 2, 1]


def test_reports_are_kept_after_leaving_the_drill(sio_client: Any, runtime: Any, client: Any) -> None:
    assert runtime.drill_reports.maxlen == 20
    assert action(sio_client, "drill.start", id="01-pod-kill")["ok"]
    runtime.advance(4)
    action(sio_client, "pod.delete", namespace="default", name=_web_pod(runtime))
    assert action(sio_client, "drill.stop", finish=True)["ok"]
    assert action(sio_client, "drill.exit")["ok"] and runtime.drill is None
    resp = client.get("/ui/drills/report.json")
    assert resp.status_code == 200
    kept = json.loads(resp.get_data(as_text=True))
    assert (kept["drill"], kept["verdict"], kept["phase"]) == ("01-pod-kill", "passed", "Finished")
    assert isinstance(kept["seed"], int)
    assert [(a["at"], a["action"]) for a in kept["actions"]] == [(4, "pod.delete")]
    assert datetime.fromisoformat(kept["date"]).tzinfo is not None
    assert datetime.fromisoformat(kept["started"]) <= datetime.fromisoformat(kept["date"])
    page = client.get("/ui/drills/report")
    assert page.status_code == 200 and 'data-verdict="passed"' in page.get_data(as_text=True)
    assert f'datetime="{kept["date"]}"' in page.get_data(as_text=True)

    # While another drill runs there is no report (an earlier try would give its hidden faults away) ...
    assert action(sio_client, "drill.start", id="02-node-lost")["ok"]
    assert client.get("/ui/drills/report.json").status_code == 404
    # ... and one left while running is stopped and kept, newest first.
    runtime.advance(5)
    assert action(sio_client, "drill.exit")["ok"]
    latest = json.loads(client.get("/ui/drills/report.json").get_data(as_text=True))
    assert latest["drill"] == "02-node-lost" and latest["phase"] == "Stopped" and latest["played_seconds"] == 5
    assert [r["drill"] for r in runtime.drill_reports] == ["02-node-lost", "01-pod-kill"]
