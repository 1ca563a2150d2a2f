"""The Control plane tab in a real browser: requests animate along their edges, a stopped scheduler is
shown stopped (on the diagram and on its pod chip), and ending the fault from the panel brings it back."""
from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import WEB_READY, dash, dialogs, open_tab, server, shot  # noqa: F401 (fixtures)

STOP_SCHEDULER = """\
apiVersion: chaos.kubedrill.io/v1
kind: ControlPlaneChaos
metadata: {name: sched-off}
spec: {component: scheduler}
"""
RS_CREATE = '.cp-entry[data-actor="replicaset-controller"][data-verb="create"][data-resource="pods"]'
BINDING = '.cp-entry[data-actor="kube-scheduler"][data-verb="create"][data-resource="bindings"]'


def act(page: Page, type_: str, **args: Any) -> dict:
    ack = page.evaluate("([t, a]) => window.kubedrill.live.action(t, a)", [type_, args])
    assert ack["ok"], ack
    return ack


def step_until(page: Page, entry: str, limit: int = 150) -> None:
    """Step mode: advance one queued request at a time until ``entry`` is in the request log."""
    nxt = page.get_by_role("button", name="Next request")
    for _ in range(limit):
        if page.locator(entry).count():
            return
        expect(nxt).to_be_enabled()          # the feed has queued the next request
        nxt.click()
    raise AssertionError(f"{entry} never came in {limit} steps")


def test_requests_animate_and_a_stopped_scheduler_is_shown_and_ended(dash: Page) -> None:
    page = dash
    open_tab(page, "Control plane")
    panel = page.locator("#panel-controlplane")
    scheduler = panel.locator('.cp-node[data-node="scheduler"]')
    expect(scheduler).to_have_attribute("data-running", "1")
    expect(panel.locator('.cp-node[data-node^="kubelet:"]')).to_have_count(4)
    expect(panel.locator('tr[data-controller="replicaset-controller"] .cp-state')).to_have_text("running")

    # Step mode holds the feed; each "Next request" plays one request along its edges.
    panel.get_by_label("Step mode").check()
    victim = page.locator(WEB_READY).first.get_attribute("data-pod")
    act(page, "pod.delete", namespace="default", name=victim, force=True)
    step_until(page, RS_CREATE)
    expect(panel.locator('.cp-request[data-actor="replicaset-controller"][data-verb="create"]').first).to_be_attached()
    expect(panel.locator('.cp-edge[data-edge="cm"].is-active')).to_be_attached()
    step_until(page, BINDING)
    expect(panel.locator('.cp-request[data-actor="kube-scheduler"]').first).to_be_attached()
    shot(page, "control-plane-requests")
    panel.get_by_label("Step mode").uncheck()
    expect(page.locator(WEB_READY)).to_have_count(3)

    # A ControlPlaneChaos stops the scheduler: the diagram, the controller list and the pod chip say so.
    act(page, "apply", yaml=STOP_SCHEDULER)
    expect(scheduler).to_have_attribute("data-running", "0")
    expect(scheduler.locator(".cp-sub")).to_have_text("stopped by sched-off")
    chip = page.locator('.pod-chip[data-pod^="kube-scheduler-"]')
    expect(chip).to_have_attribute("data-stopped", "1")
    expect(chip.locator(".chip-status")).to_contain_text("stopped by sched-off")
    fault = panel.locator('.cp-fault[data-name="sched-off"]')
    expect(fault).to_contain_text("stops scheduler")
    shot(page, "control-plane-scheduler-stopped")

    fault.get_by_role("button", name="End ControlPlaneChaos sched-off").click()
    expect(scheduler).to_have_attribute("data-running", "1")
    expect(fault).to_have_count(0)
    expect(chip).not_to_have_attribute("data-stopped", "1")
    expect(chip.locator(".chip-status")).not_to_contain_text("stopped")

    # Every event row names the component that wrote it.
    open_tab(page, "Events")
    expect(page.locator(".event .ev-source", has_text="replicaset-controller").first).to_be_visible()
