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
    assert helped["time_to_detect"] == alone["time_to_detect"]


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
    assert report["time_to_detect"] is not None and report["time_to_detect"] <= 5


def test_hidden_faults_are_not_in_the_public_briefing():
    drill = load_drill(DRILLS_DIR / "04-statefulset-dead-node.yaml")
    public = drill.public()
    assert public["timeline"] == [] and "solution" not in public and public["hints"] == len(drill.hints)
