"""Play a drill end to end in Chromium: pick, brief, start, hint, watch it heal, read and export the report.

Drill 02-node-lost heals without help (the node controller evicts, the ReplicaSet reschedules) and
its fault is hidden, so the test also checks the fault stays secret until the report. The server
starts paused (so the start can be checked at t = 0) and then runs at 20x: 90 simulated seconds
take ~5 s. Once a probe fails the test pauses and responds with a kubectl write, so the report has
a time to detect. After leaving the drill the report is still served. Every wait is on page state.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT = 30_000


def test_play_a_drill_end_to_end(page: Page, make_live_server: Any) -> None:
    server = make_live_server(PAUSED=True, SPEED=20.0)
    seen_dialogs: list[str] = []
    page.on("dialog", lambda d: (seen_dialogs.append(d.message), d.dismiss()))
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{server.url}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")

    # The picker: every drill with what it teaches; the briefing announces no hidden fault.
    page.get_by_role("tab", name="Drills", exact=True).click()
    panel = page.locator("#panel-drills")
    expect(panel.locator(".drill-card")).to_have_count(11)
    card = panel.locator('.drill-card[data-drill="02-node-lost"]')
    expect(card.locator(".drill-teaches")).not_to_be_empty()
    card.get_by_role("button", name="Briefing").click()
    expect(card.locator(".drill-briefing")).to_be_visible()
    expect(card.locator(".drill-probes-goal li")).to_have_count(2)
    expect(card).not_to_contain_text("lose-node")
    card.locator(".drill-start").click()

    # Started (time paused): full timer, probes passing, the hidden fault nowhere.
    expect(panel.locator("#drill-timer")).to_have_text("1:30")
    expect(panel.locator(".drill-probe")).to_have_count(2)
    expect(panel.locator('.drill-probe[data-passing="true"]')).to_have_count(2)
    hint_button = panel.locator(".drill-hint")
    expect(hint_button).to_have_text(re.compile(r"Reveal a hint \(\d+ left\)"))
    hint_button.click()
    expect(panel.locator(".drill-hint-text")).to_have_count(1)
    expect(panel.locator(".drill-hint-text")).not_to_be_empty()

    # Run until a probe fails (the hidden fault struck at 10 s), then pause: the fault is still not shown.
    # At 20x the failing window lasts under a second of wall time: poll the status over the socket.
    page.locator("#sim-pause").click()
    failing_at = page.evaluate("""async () => {
        const live = window.kubedrill.live;
        for (let i = 0; i < 2000; i++) {
            const s = (await live.action("drill.status", {})).result;
            if (s.phase !== "Running") return null;
            if (s.probes.some((p) => !p.passing)) { await live.action("sim.pause", {}); return s.t; }
        }
        return null;
    }""")
    assert failing_at is not None, "no probe failed while the drill ran"
    expect(panel.locator('.drill-probe[data-passing="false"]').first).to_be_attached()
    expect(page.locator("#sim-pause")).to_have_attribute("aria-pressed", "true")
    expect(panel).not_to_contain_text("lose-node")
    assert page.evaluate("() => window.kubedrill.state.list('nodechaos').length") == 0
    assert "lose-node" not in page.evaluate("() => JSON.stringify(window.kubedrill.state.list('events'))")
    # The student responds (a kubectl write counts) and lets the drill play on.
    kubectl = {"User-Agent": "kubectl/v1.32.0 (linux/amd64)", "Content-Type": "application/json"}
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "looking"}}
    resp = page.request.post(f"{server.url}/api/v1/namespaces/default/configmaps", headers=kubectl,
                             data=json.dumps(body))
    assert resp.status == 201, resp.text()
    expect(panel.locator(".drill-actions-log .drill-action")).to_have_count(1)
    page.locator("#sim-pause").click()

    # The report: verdict, why, detection and recovery times, the chart, the revealed fault.
    verdict = panel.locator("#drill-verdict")
    expect(verdict).to_have_text("passed", timeout=TIMEOUT)
    expect(panel.locator("#drill-reason")).to_contain_text("every probe passing again")
    expect(panel.locator("#drill-ttd")).to_have_text(re.compile(r"^\d+ s$"))
    expect(panel.locator("#drill-ttr")).to_have_text(re.compile(r"^\d+ s$"))
    expect(panel.locator("#drill-downtime")).to_have_text(re.compile(r"^\d+ s$"))
    expect(panel.locator("#drill-availability")).to_have_text(re.compile(r"^\d+\.\d\d %$"))
    expect(panel.locator("#drill-played")).to_have_text("90 / 90 s")
    expect(panel.locator(".drill-facts")).to_contain_text("from the first failing probe")
    expect(panel.locator(".drill-chart canvas").first).to_be_visible()
    expect(panel.locator(".drill-faults")).to_contain_text("lose-node")
    expect(panel.locator(".drill-explanation")).not_to_be_empty()
    expect(page.get_by_role("tab", name="Drills", exact=True)).to_have_text("Drills")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "drill-report.png"), full_page=True)

    # Export: the JSON download parses and says the same; the printable page too.
    with page.expect_download() as info:
        panel.locator("#drill-export-json").click()
    download = info.value
    assert download.suggested_filename == "kubedrill-02-node-lost-report.json"
    report = json.loads(Path(download.path()).read_text())
    assert report["drill"] == "02-node-lost" and report["verdict"] == "passed"
    assert report["time_to_detect"] == int(panel.locator("#drill-ttd").text_content().split()[0])
    assert report["time_to_recover"] == int(panel.locator("#drill-ttr").text_content().split()[0])
    assert [h["hint"] for h in report["hints"]] == [0]
    assert [(f["name"], f["hidden"]) for f in report["faults"]] == [("lose-node", True)]
    assert len(report["series"]) == 90
    assert [(a["action"], a["via"]) for a in report["actions"]] == [("create", "kubectl")]
    assert report["detected_at"] == report["actions"][0]["at"] >= report["first_failure_at"]
    assert report["availability"] == round(1 - report["downtime_seconds"] / report["samples"], 4)

    printable = page.context.new_page()
    printable.goto(f"{server.url}/ui/drills/report")
    expect(printable.locator("#verdict")).to_have_text("passed")
    expect(printable.locator("#time-to-recover")).to_have_text(f"{report['time_to_recover']} s")
    expect(printable.locator("#time-to-detect")).to_have_text(f"{report['time_to_detect']} s")
    expect(printable.locator("svg .action-marker")).to_have_count(1)
    expect(printable.locator("#actions tr.action")).to_have_count(1)
    printable.emulate_media(media="print")
    expect(printable.locator(".toolbar")).to_be_hidden()
    printable.close()

    # Back to the sandbox cluster: the picker again.
    panel.locator(".drill-exit").click()
    expect(panel.locator(".drill-card")).to_have_count(11)
    # The report outlives the drill: a teacher can still open and download it.
    kept = page.request.get(f"{server.url}/ui/drills/report.json")
    assert kept.status == 200 and json.loads(kept.text())["date"] == report["date"]
    assert seen_dialogs == []


def test_drill_catalogue_retries_after_a_failed_load(page: Page, make_live_server: Any) -> None:
    """A server too busy to answer once must not leave the picker empty until the user reloads."""
    server = make_live_server(PAUSED=True)
    failures = {"left": 1}

    def flaky(route: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            route.fulfill(status=503, content_type="application/json", body='{"kind": "Status"}')
        else:
            route.continue_()

    page.route(re.compile(r".*/ui/drills$"), flaky)
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{server.url}/")
    page.get_by_role("tab", name="Drills", exact=True).click()
    panel = page.locator("#panel-drills")
    expect(panel.locator(".drill-error")).to_contain_text("HTTP 503")
    expect(panel.locator(".drill-error")).to_contain_text("trying again")
    expect(panel.locator(".drill-card")).to_have_count(11)
    expect(panel.locator(".drill-error")).to_be_hidden()
    assert failures["left"] == 0
