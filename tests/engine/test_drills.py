"""Every shipped drill, played headless: the scripted response passes; doing nothing fails exactly
where a human is needed and passes where Kubernetes heals alone."""
from __future__ import annotations

import pytest

from engine.cluster import Cluster
from engine.drills import DRILLS_DIR, DrillRun, list_drills, load_drill

DRILLS = list_drills()


def cluster_factory(**kwargs) -> Cluster:
    return Cluster(empty=True, **kwargs)


def play(drill, script=None) -> dict:
    return DrillRun(drill, cluster_factory=cluster_factory).run(script)


def test_at_least_ten_drills_with_every_field():
    assert len(DRILLS) >= 10
    for drill in DRILLS:
        assert drill.title and drill.teaches and drill.explanation and drill.hints and drill.probes
        assert drill.expect.get("solution") == "passed" and drill.expect.get("idle") in ("passed", "failed")


@pytest.mark.parametrize("drill", DRILLS, ids=[d.id for d in DRILLS])
def test_scripted_response_passes(drill):
    report = play(drill, drill.solution)
    assert all(a["ok"] for a in report["actions"]), report["actions"]
    assert all(f["ok"] for f in report["faults"]), report["faults"]
    assert report["verdict"] == "passed", report["reason"]
    assert [a["at"] for a in report["actions"]] == [s["at"] for s in drill.solution]


@pytest.mark.parametrize("drill", DRILLS, ids=[d.id for d in DRILLS])
def test_doing_nothing(drill):
    report = play(drill)
    assert report["verdict"] == drill.expect["idle"], report["reason"]
    failing = sorted(p["name"] for p in report["probes"] if not p["passing"])
    assert failing == sorted(drill.expect.get("idle_failing", []))
    assert report["actions"] == []


def test_controller_manager_drill_recovery_times():
    drill = load_drill(DRILLS_DIR / "09-controller-manager-down.yaml")
    helped, alone = play(drill, drill.solution), play(drill)
    assert helped["time_to_recover"] < drill.expect["solution_recovered_before"]
    assert alone["time_to_recover"] > drill.expect["idle_recovered_after"]   # only when the 60 s fault ends
    assert helped["first_failure_at"] == alone["first_failure_at"] is not None
    assert alone["time_to_detect"] is None           # nobody responded


def test_report_records_actions_hints_and_availability():
    drill = load_drill(DRILLS_DIR / "07-insufficient-cpu.yaml")
    run = DrillRun(drill, cluster_factory=cluster_factory).start()
    run.advance(5)
    assert run.reveal_hint() == drill.hints[0]
    bad = run.act("scale", kind="Deployment", name="missing", replicas=2)
    assert not bad["ok"] and "not found" in bad["error"]
    run.advance(10)
    run.act("apply", manifest=drill.solution[0]["args"]["manifest"])
    while not run.finished:
        run.advance(10)
    report = run.report()
    assert report["verdict"] == "passed"
    assert [(a["at"], a["action"], a["ok"]) for a in report["actions"]] == [(5, "scale", False), (15, "apply", True)]
    assert report["hints"][0]["at"] == 5
    assert report["steady_state_at_start"] == {"report-ready": False}
    assert report["time_to_recover"] is not None and 15 < report["time_to_recover"] < 30
    assert len(report["series"]) == drill.time_limit
    assert report["explanation"] == drill.explanation


def test_service_availability_and_downtime_are_reported():
    drill = load_drill(DRILLS_DIR / "02-node-lost.yaml")
    report = play(drill)
    web = report["services"]["default/web"]
    assert 0.5 < web["availability"] < 1.0
    assert web["downtime_seconds"] > 0
    assert report["first_failure_at"] - report["first_fault_at"] <= 5


def test_finishing_early_reports_the_time_played_not_the_time_limit():
    drill = load_drill(DRILLS_DIR / "01-pod-kill.yaml")
    run = DrillRun(drill, cluster_factory=cluster_factory).start()
    run.advance(30)
    run.finish_now()
    report = run.report()
    # The rest of the timeline is still played and scored ...
    assert run.finished and report["elapsed"] == drill.time_limit and len(report["series"]) == drill.time_limit
    assert report["verdict"] == "passed"
    # ... but the report says what the student played.
    assert report["played_seconds"] == 30 and report["finished_early"] is True
    assert report["played_note"].startswith("finished early: played 30 of 60 s")
    played_out = DrillRun(drill, cluster_factory=cluster_factory).run()
    assert played_out["played_seconds"] == 60 and played_out["finished_early"] is False


@pytest.mark.parametrize("name", ["01-pod-kill.yaml", "02-node-lost.yaml", "06-readiness-probe.yaml"])
def test_downtime_and_availability_come_from_one_definition(name):
    report = play(load_drill(DRILLS_DIR / name))
    assert report["definitions"]["downtime"] and report["definitions"]["availability"]
    probes = {p["name"]: p for p in report["probes"]}
    for p in probes.values():
        assert p["availability"] == round((p["samples"] - p["downtime_seconds"]) / p["samples"], 4)
    for svc in report["services"].values():
        probe = probes[svc["probe"]]
        assert (svc["downtime_seconds"], svc["availability"]) == (probe["downtime_seconds"], probe["availability"])
        assert (svc["availability"] == 1.0) == (svc["downtime_seconds"] == 0)
    rows = [r for r in report["series"] if r["ok"]]
    assert report["samples"] == len(rows)
    assert report["downtime_seconds"] == sum(1 for r in rows if not all(r["ok"].values()))
    assert report["availability"] == round(1 - report["downtime_seconds"] / len(rows), 4)
    # The steady state is down whenever one of its probes is, never less.
    assert report["downtime_seconds"] >= max(p["downtime_seconds"] for p in probes.values())


def test_time_to_detect_is_the_first_response_after_a_failing_probe():
    drill = load_drill(DRILLS_DIR / "02-node-lost.yaml")
    idle = play(drill)
    failed_at = idle["first_failure_at"]
    assert failed_at is not None and idle["time_to_detect"] is None and idle["detected_at"] is None
    assert idle["detection"].startswith("not detected: no action")
    assert "first failing probe" in idle["definitions"]["time_to_detect"]

    early = play(drill, [{"at": 1, "action": "scale", "args": {"kind": "Deployment", "name": "nope", "replicas": 1}}])
    assert early["time_to_detect"] is None and "every action came before" in early["detection"]

    # A failed action still counts: it is a response.
    late = play(drill, [{"at": 1, "action": "scale", "args": {"kind": "Deployment", "name": "nope", "replicas": 1}},
                        {"at": failed_at + 4, "action": "scale", "args": {"kind": "Deployment", "name": "nope",
                                                                        "replicas": 1}}])
    assert late["first_failure_at"] == failed_at
    assert late["detected_at"] == failed_at + 4 and late["time_to_detect"] == 4


def test_hidden_faults_are_not_in_the_public_briefing():
    drill = load_drill(DRILLS_DIR / "04-statefulset-dead-node.yaml")
    public = drill.public()
    assert public["timeline"] == [] and "solution" not in public and public["hints"] == len(drill.hints)
