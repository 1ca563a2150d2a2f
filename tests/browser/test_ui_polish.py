"""What a teacher trying the dashboard saw wrong (issue #14, point 6), in real chromium.

Each test gets a fresh demo cluster (seed 1) from ``make_live_server`` and waits on DOM conditions;
screenshots of every tab in both modes go to test-artifacts/ (ignored by git).
"""
from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from test_dashboard import SLOW, WEB_READY, dash, dialogs, open_tab, server, shot  # noqa: F401 - dash, dialogs, server: fixtures

TABS = ["Workloads", "Networking", "Storage", "Config", "Events", "Charts", "Drills"]

# Text nodes of visible elements that read null/undefined: what String(null) leaves on a page.
NULL_TEXTS = """() => {
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    const text = walker.currentNode.textContent;
    if (el && el.checkVisibility() && /\\b(null|undefined)\\b/.test(text)) bad.push(`${el.className}: ${text.trim().slice(0, 80)}`);
  }
  return bad;
}"""


def at_size(page: Page, width: int = 1920, height: int = 1080) -> Page:
    page.set_viewport_size({"width": width, "height": height})
    return page


@pytest.fixture
def projector(page: Page, server: Any) -> Page:
    """The dashboard in projector mode on a 1920×1080 screen, the demo cluster's web pods ready."""
    at_size(page).goto(f"{server.url}/?projector=1")
    expect(page.locator(WEB_READY)).to_have_count(3)
    return page


def boxes_overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


@pytest.mark.parametrize("mode", ["normal", "projector"])
def test_no_tab_dialog_or_inspector_shows_null_or_undefined(request: pytest.FixtureRequest, mode: str) -> None:
    page = at_size(request.getfixturevalue("dash" if mode == "normal" else "projector"))
    # Started/Created/Pulled carry no explanation: those rows printed a literal "null".
    page.wait_for_function("window.kubedrill.state.list('events').some((e) => e.reason === 'Started')")
    # Every tab the page has (read from its tab bar, so a new tab is walked too).
    tabs = page.locator("#side-tabs [role=tab]").evaluate_all("els => els.map((t) => t.dataset.tab)")
    assert set(TABS) | {"Control plane"} <= set(page.locator("#side-tabs [role=tab]").all_inner_texts())
    for tab in tabs:
        page.locator(f'#side-tabs [data-tab="{tab}"]').click()
        expect(page.locator(f"#panel-{tab}")).to_be_visible()
        if tab == "events":
            expect(page.locator("#panel-events .event").first).to_be_visible()
        if tab == "controlplane":
            expect(page.locator('#panel-controlplane .cp-node[data-node="scheduler"]')).to_be_visible()
        shot(page, f"polish-{mode}-{tab}")
        assert page.evaluate(NULL_TEXTS) == [], tab
    page.locator(WEB_READY).first.click()
    expect(page.locator("#inspector")).to_be_visible()
    page.locator('#inspector [data-tab="events"]').click()
    expect(page.locator("#inspector .insp-events .event").first).to_be_visible()
    assert page.evaluate(NULL_TEXTS) == [], "inspector"
    page.locator('#inspector [data-tab="why"]').click()
    expect(page.locator("#inspector .insp-why .why-step").first).to_be_visible()
    assert page.evaluate(NULL_TEXTS) == [], "inspector: why"
    page.locator("#inspector .insp-close").click()
    page.get_by_role("button", name="Apply YAML").click()
    page.evaluate("document.querySelector('#apply-dialog .CodeMirror').CodeMirror.setValue('')")
    page.locator("#apply-submit").click()
    expect(page.locator("#apply-dialog .apply-errors")).to_have_text("Nothing to apply: the editor has no documents.")
    shot(page, f"polish-{mode}-apply-empty")
    assert page.evaluate(NULL_TEXTS) == [], "apply dialog"


def test_drill_time_badge_is_an_svg_icon_not_a_missing_glyph(dash: Page) -> None:
    page = at_size(dash)
    open_tab(page, "Drills")
    badge = page.locator(".drill-card .drill-limit").first
    expect(badge).to_have_text(re.compile(r"^\s*\d+:\d\d$"))   # no ⏱ (U+23F1: in neither DejaVu nor Liberation)
    expect(badge.locator("svg.icon-stopwatch")).to_be_visible()


def test_powered_off_node_says_so_at_once_then_why_its_statefulset_pod_waits(dash: Page) -> None:
    page = at_size(dash)
    node = page.locator(".node-card", has=page.locator('.pod-chip[data-owner="sql"]')).first.get_attribute("data-node")
    card = page.locator(f'.node-card[data-node="{node}"]')
    # Paused: the API still says Ready, so only the kubelet state the live stream carries can tell.
    page.locator("#sim-pause").click()
    expect(page.locator("#clock-box")).to_have_attribute("data-paused", "1")
    card.locator('button[data-action="power-off"]').click()
    expect(card.locator(".power-badge")).to_have_text("Powered off")
    expect(card).to_have_attribute("data-ready", "Ready")
    expect(card.locator(".node-alert")).to_contain_text(re.compile(r"NotReady in 0:0\d \(node-monitor-grace-period 8 s"))
    shot(page, "polish-powered-off")
    page.locator("#sim-pause").click()
    expect(card).to_have_attribute("data-ready", "Unknown", timeout=SLOW)
    # After the toleration the pods are marked for deletion; the StatefulSet's cannot be replaced yet.
    wait = card.locator(".node-wait")
    expect(wait).to_contain_text("StatefulSet", timeout=SLOW)
    expect(wait).to_contain_text("Power the node on, or force-delete the pod")
    expect(card.locator(".node-alert")).to_contain_text("Terminating: the kubelet cannot confirm they stopped")
    chip = card.locator('.pod-chip[data-owner="sql"][data-status="Terminating"]').first
    expect(chip.locator(".chip-status")).to_have_text("Terminating")
    assert float(chip.evaluate("el => getComputedStyle(el).opacity")) >= 0.6
    shot(page, "polish-statefulset-waits")


def test_set_image_field_shows_the_rolled_back_image(dash: Page) -> None:
    page = at_size(dash)
    card = page.locator('.card[data-kind="deployments"][data-name="web"]')
    field = card.locator('input[data-action="set-image"]')
    good = field.input_value()
    field.fill("nginx:no-such-tag")
    card.locator('button[data-action="set-image"]').click()
    expect(card.locator(".image")).to_have_text("nginx:no-such-tag")
    card.locator('button[data-action="rollback"]').click()
    expect(card.locator(".image")).to_have_text(good)
    expect(field).to_have_value(good)


def test_scale_field_follows_an_api_scale_unless_being_edited(dash: Page, server: Any) -> None:
    page = at_size(dash)
    card = page.locator('.card[data-kind="deployments"][data-name="web"]')
    field = card.locator('input[data-action="scale"]')
    url = f"{server.url}/apis/apps/v1/namespaces/default/deployments/web/scale"
    merge = {"Content-Type": "application/merge-patch+json"}
    assert requests.patch(url, json={"spec": {"replicas": 4}}, headers=merge, timeout=10).status_code == 200
    expect(card.locator(".stat b").first).to_have_text("4")
    expect(field).to_have_value("4")
    # A value the user typed and has not applied stays, even when the object changes again.
    field.fill("7")
    page.locator("#sim-clock").click()   # focus elsewhere
    assert requests.patch(url, json={"spec": {"replicas": 2}}, headers=merge, timeout=10).status_code == 200
    expect(card.locator(".stat b").first).to_have_text("2")
    expect(field).to_have_value("7")


@pytest.mark.parametrize("width", [1280, 1600])
def test_tab_bar_is_one_row(dash: Page, width: int) -> None:
    page = at_size(dash, width, 900)
    tabs = page.locator("#side-tabs [role=tab]")
    tops = tabs.evaluate_all("els => els.map((t) => t.offsetTop)")
    assert len(set(tops)) == 1, tops
    bar = page.locator("#side-tabs").bounding_box()
    drills = page.get_by_role("tab", name="Drills", exact=True).bounding_box()
    assert drills["x"] + drills["width"] <= bar["x"] + bar["width"] + 0.5   # in view, not scrolled away


def test_projector_type_is_readable_and_the_demo_cluster_fits_one_screen(projector: Page) -> None:
    page = projector
    sizes = page.locator(WEB_READY).first.evaluate(
        "c => [c.querySelector('.chip-name'), c.querySelector('.chip-status')].map((e) => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes[0] >= 22 and sizes[1] >= 18, sizes
    bottoms = page.locator(".node-card").evaluate_all("cs => cs.map((c) => c.getBoundingClientRect().bottom)")
    assert len(bottoms) == 4 and max(bottoms) <= 1080, bottoms
    # Control-plane pod names are whole, not cut with an ellipsis.
    cut = page.locator('.node-card[data-node="control-plane"] .chip-name').evaluate_all(
        "ns => ns.filter((n) => n.scrollWidth > n.clientWidth + 1).map((n) => n.textContent)")
    assert cut == []
    for tab in ("Storage", "Config"):
        expect(page.get_by_role("tab", name=tab, exact=True)).to_be_visible()
    expect(page.locator("#sim-step")).to_be_visible()
    expect(page.locator('.node-card[data-node="node-1"] button[data-action="power-off"]')).to_be_visible()
    expect(page.locator('.card[data-kind="deployments"][data-name="web"] .image')).to_have_text(re.compile("nginx:"))
    shot(page, "polish-projector-1920")


def test_storage_rows_list_each_data_value_once(dash: Page) -> None:
    page = at_size(dash)
    open_tab(page, "Storage")
    claim = page.locator('.card[data-kind="persistentvolumeclaims"][data-name="data-sql-0"]')
    expect(claim.locator("dt", has_text="data-rows")).to_have_count(1)
    for keys in page.locator('.card[data-kind="persistentvolumeclaims"]').evaluate_all(
            "cs => cs.map((c) => [...c.querySelectorAll('dt')].map((d) => d.textContent))"):
        assert len(keys) == len(set(keys)), keys


def test_inspector_leaves_the_tab_bar_usable(dash: Page) -> None:
    page = at_size(dash)
    page.locator(WEB_READY).first.click()
    expect(page.locator("#inspector")).to_be_visible()
    inspector = page.locator("#inspector").bounding_box()
    assert not boxes_overlap(inspector, page.locator("#side-tabs").bounding_box())
    open_tab(page, "Events")   # a real click: would hit the drawer if it covered the tabs
    expect(page.locator("#panel-events")).to_be_visible()


def test_error_toast_is_short_closable_and_off_the_node_actions(dash: Page) -> None:
    page = at_size(dash)
    card = page.locator('.card[data-kind="deployments"][data-name="web"]')
    card.locator('input[data-action="set-image"]').fill("")
    card.locator('button[data-action="set-image"]').click()
    toast = page.locator(".toast-error").last
    expect(toast).to_be_visible()
    box = toast.bounding_box()
    for button in page.locator(".node-actions button").all():
        assert not boxes_overlap(box, button.bounding_box())
    timeouts = page.evaluate("async () => (await import('/static/js/ui/toast.js')).TIMEOUT_MS")
    assert timeouts["error"] <= 6000 < 9000
    toast.locator(".toast-close").click()
    expect(page.locator(".toast-error")).to_have_count(0)


def test_taints_wrap_between_words(dash: Page) -> None:
    page = at_size(dash)
    taint = page.locator('.node-card[data-node="control-plane"] .taint').first
    expect(taint).to_contain_text("node-role.kubernetes.io/control-plane:NoSchedule")
    # A narrow card forces the long taint onto several lines: each line must end at a separator.
    page.locator('.node-card[data-node="control-plane"]').evaluate("c => { c.style.width = '200px'; }")
    breaks = taint.evaluate("""li => {
      const text = li.textContent, range = document.createRange(), out = [];
      let node = null, offset = 0, top = null;
      const walker = document.createTreeWalker(li, NodeFilter.SHOW_TEXT);
      let i = 0;
      while ((node = walker.nextNode())) {
        for (offset = 0; offset < node.length; offset++, i++) {
          range.setStart(node, offset); range.setEnd(node, offset + 1);
          const t = range.getBoundingClientRect().top;
          if (top !== null && t > top + 2) out.push(text[i - 1]);
          top = t;
        }
      }
      return out;
    }""")
    assert breaks, "the taint did not wrap at 200 px"
    assert all(c in "/=:-" for c in breaks), breaks


def test_projector_lays_sixty_replicas_out_several_chips_a_row(projector: Page) -> None:
    page = projector
    ack = page.evaluate("([t, a]) => window.kubedrill.live.action(t, a)",
                        ["workload.scale", {"kind": "Deployment", "namespace": "default", "name": "web", "replicas": 60}])
    assert ack["ok"], ack
    expect(page.locator('.pod-chip[data-owner="web"]:not([data-gone])')).to_have_count(60)
    shot(page, "polish-projector-60-replicas")
    # Per node card, chips share rows: fewer distinct row tops than chips.
    rows = page.locator(".node-card").evaluate_all(
        "cards => cards.map((c) => { const chips = [...c.querySelectorAll('.pod-chip[data-owner=\"web\"]')];"
        " return [chips.length, new Set(chips.map((p) => Math.round(p.getBoundingClientRect().top))).size]; })")
    busy = [(chips, tops) for chips, tops in rows if chips >= 10]
    assert busy and all(tops <= chips / 2 for chips, tops in busy), rows
