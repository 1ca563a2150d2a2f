"""The dashboard in a real browser (Debian chromium via pytest-playwright) against a real server.

Each test gets a fresh app (seed 1, demo profile, engine running) from ``make_live_server`` and
waits for page state with ``expect``; nothing sleeps blindly. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from webapp import create_app, shutdown_app
from webapp.server import ThreadedServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SLOW = 60_000      # ms: a node death in the demo profile is grace 8 s + toleration 10 s + restart
NORMAL = 30_000
expect.set_options(timeout=NORMAL)

WEB = '.pod-chip[data-owner="web"]:not([data-gone])'
WEB_READY = '.pod-chip[data-owner="web"][data-class="ok"]:not([data-gone])'
XSS = "<img src=x onerror=alert(1)>"


def shot(page: Page, name: str) -> None:
    """Save a screenshot for humans (CI artefact); never asserted on."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture
def server(make_live_server: Any) -> Any:
    """A fresh app with the fixed seed for this test only."""
    return make_live_server()


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Messages of every alert/confirm the page opened (dismissed at once); XSS would land here."""
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(d.message), d.dismiss()))
    return seen


@pytest.fixture
def dash(page: Page, server: Any, dialogs: list[str]) -> Page:
    """The dashboard, connected and showing the demo cluster with its three web pods ready."""
    page.set_default_timeout(NORMAL)
    page.goto(f"{server.url}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(page.locator(WEB_READY)).to_have_count(3)
    return page


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def set_editor(page: Page, text: str) -> None:
    """Replace the Apply YAML editor's text (CodeMirror 5 keeps its instance on the wrapper)."""
    page.get_by_role("button", name="Apply YAML").click()
    expect(page.locator("#apply-dialog .CodeMirror")).to_be_visible()
    page.evaluate("t => document.querySelector('#apply-dialog .CodeMirror').CodeMirror.setValue(t)", text)


def test_demo_cluster_renders_nodes_pods_and_services(dash: Page) -> None:
    page = dash
    expect(page.locator(".node-card:not([data-gone])")).to_have_count(4)
    cp = page.locator('.node-card[data-node="control-plane"]')
    expect(cp.locator(".role-badge")).to_have_text("control-plane")
    expect(cp.locator(".pill-text")).to_have_text("Ready")
    expect(cp.locator(".taint").first).to_contain_text("node-role.kubernetes.io/control-plane")
    # Every chip names its pod in text and in its accessible name, and shows a status word.
    first = page.locator(WEB_READY).first
    name = first.get_attribute("data-pod")
    assert name and name.startswith("web-")
    expect(first.locator(".chip-name")).to_have_text(name)
    expect(first.locator(".chip-status")).to_contain_text("Running")
    expect(first).to_have_attribute("aria-label", re.compile(rf"Pod default/{re.escape(name)}: Running"))
    expect(page.locator('.card[data-kind="deployments"][data-name="web"]')).to_be_visible()
    open_tab(page, "Networking")
    service = page.locator('.card[data-kind="services"]').first
    expect(service).to_be_visible()
    expect(service.locator(".badge").first).to_have_text(re.compile("ClusterIP|NodePort|LoadBalancer|ExternalName"))
    expect(service).to_contain_text("Cluster IP")
    # The demo web Service carries synthetic traffic: its live success rate is shown.
    web = page.locator('.card[data-kind="services"][data-name="web"]')
    expect(web.locator(".rate b")).to_have_text("100.0 %")
    # The sim clock counts from the cluster's start (not a time of day).
    expect(page.locator("#sim-clock")).to_have_text(re.compile(r"^00:0\d:\d\d$"))
    shot(page, "dashboard-demo")


def test_delete_pod_shows_terminating_then_replacement_runs(dash: Page) -> None:
    page = dash
    # Pause so the Terminating state is held still long enough to see (and to assert on).
    page.locator("#sim-pause").click()
    expect(page.locator("#clock-box")).to_have_attribute("data-paused", "1")
    victim = page.locator(WEB_READY).first
    name = victim.get_attribute("data-pod")
    victim.click()
    expect(page.locator("#inspector .insp-title")).to_have_text(f"default/{name}")
    page.locator('#inspector button[data-action="delete"]').click()
    expect(page.locator(".toast-ok").last).to_contain_text(name)
    chip = page.locator(f'.pod-chip[data-pod="{name}"]:not([data-gone])')
    expect(chip).to_have_attribute("data-status", "Terminating")
    expect(chip.locator(".chip-status")).to_contain_text("Terminating")
    shot(page, "pod-terminating")
    page.locator("#sim-pause").click()
    expect(chip).to_have_count(0)
    expect(page.locator(WEB_READY)).to_have_count(3)
    expect(page.locator(f'.pod-chip[data-pod="{name}"][data-class="ok"]')).to_have_count(0)
    expect(page.locator(".insp-status")).to_have_text("deleted")


def test_power_off_node_marks_it_unready_and_pods_move(dash: Page) -> None:
    page = dash
    node = page.locator(".node-card", has=page.locator(WEB_READY)).first.get_attribute("data-node")
    card = page.locator(f'.node-card[data-node="{node}"]')
    on_node = card.locator(WEB).count()
    assert on_node >= 1
    card.locator('button[data-action="power-off"]').click()
    expect(page.locator(".toast-ok").last).to_contain_text(node)
    expect(card).to_have_attribute("data-ready", re.compile("NotReady|Unknown"), timeout=SLOW)
    expect(card.locator(".node-alert")).to_contain_text(re.compile(r"(unreachable|not ready) \d+ s"))
    shot(page, "node-unreachable")
    others = page.locator(f'.node-card:not([data-node="{node}"]) {WEB_READY}')
    expect(others).to_have_count(3, timeout=SLOW)
    shot(page, "node-pods-replaced")


def test_scale_deployment_to_five_shows_five_ready_chips(dash: Page) -> None:
    page = dash
    card = page.locator('.card[data-kind="deployments"][data-name="web"]')
    card.locator('input[data-action="scale"]').fill("5")
    card.locator('button[data-action="scale"]').click()
    expect(page.locator(".toast-ok").last).to_contain_text("to 5")
    expect(page.locator(WEB_READY)).to_have_count(5)
    expect(card.locator(".stat.ok b")).to_have_text("5")
    shot(page, "scaled-to-5")


def test_apply_invalid_yaml_shows_field_error_and_changes_nothing(dash: Page) -> None:
    page = dash
    set_editor(page, """apiVersion: v1
kind: ConfigMap
metadata:
  name: unrelated-config
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: -1
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
      - name: c
        image: nginx:1.27
""")
    page.locator("#apply-submit").click()
    err = page.locator(".field-error", has_text="spec.replicas")
    expect(err).to_be_visible()
    expect(err).to_contain_text("greater than or equal to 0")
    # The YAML line of that field is marked in the editor (line 12: "  replicas: -1").
    expect(err).to_contain_text("line 12")
    expect(page.locator("#apply-dialog .cm-error-line")).to_have_count(1)
    expect(page.locator("#apply-dialog .cm-error-widget")).to_contain_text("spec.replicas")
    shot(page, "apply-invalid")
    page.locator("#apply-cancel").click()
    expect(page.locator('.card[data-kind="deployments"][data-name="broken"]')).to_have_count(0)
    expect(page.locator(WEB_READY)).to_have_count(3)
    expect(page.locator('.pod-chip[data-owner="broken"]')).to_have_count(0)


def test_object_text_with_html_renders_as_text(dash: Page, dialogs: list[str]) -> None:
    page = dash
    set_editor(page, f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: xss-config
  namespace: default
data:
  greeting: "{XSS}"
---
apiVersion: v1
kind: Pod
metadata:
  name: xss-pod
  namespace: default
  annotations:
    note: "<script>alert(2)</script>"
spec:
  containers:
  - name: c
    image: nginx:1.27
---
apiVersion: v1
kind: Event
metadata:
  name: xss-event
  namespace: default
  annotations:
    kubedrill.io/explanation: "<b>why</b> it happened"
involvedObject: {{kind: Pod, name: xss-pod, namespace: default}}
reason: Testing
type: Warning
message: "{XSS}"
""")
    page.locator("#apply-submit").click()
    expect(page.locator("#apply-dialog .apply-status")).to_contain_text("xss-pod")
    page.locator("#apply-cancel").click()
    open_tab(page, "Events")
    event = page.locator('.event[data-reason="Testing"]')
    expect(event.locator(".ev-message")).to_have_text(XSS)
    expect(event.locator(".ev-explain")).to_have_text("<b>why</b> it happened")
    open_tab(page, "Config")
    value = page.locator('.card[data-kind="configmaps"][data-name="xss-config"] code.value')
    expect(value).to_have_text(XSS)
    page.locator('.pod-chip[data-pod="xss-pod"]').first.click()
    expect(page.locator("#inspector .insp-yaml")).to_contain_text("<script>alert(2)</script>")
    # Nothing was parsed as markup: no injected elements anywhere in the document.
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("body script:not([src])").count() == 0
    assert dialogs == []
    shot(page, "html-as-text")


def test_two_pages_see_the_same_change(dash: Page) -> None:
    first = dash
    second = first.context.new_page()
    second.goto(first.url)
    expect(second.locator(WEB_READY)).to_have_count(3)
    card = first.locator('.card[data-kind="deployments"][data-name="web"]')
    card.locator('input[data-action="scale"]').fill("4")
    card.locator('button[data-action="scale"]').click()
    expect(second.locator(WEB_READY)).to_have_count(4)
    expect(first.locator(WEB_READY)).to_have_count(4)
    second.close()


def stop_server(server: ThreadedServer, timeout: float = 30) -> None:
    """Stop a server like a process exit would (its WebSockets drop too); fail, not hang, if stuck."""
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            server.stop()   # closes the listener, the Socket.IO sessions and every open connection
            shutdown_app(server.app)
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)
    worker = threading.Thread(target=stop, name="stop-test-server", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        pytest.fail(f"stopping the server on port {server.port} took more than {timeout} s")
    if errors:
        pytest.fail(f"stopping the server on port {server.port} failed: {errors[0]!r}")


def test_page_reconnects_after_server_restart_and_catches_up(page: Page, tmp_path: Path) -> None:
    page.set_default_timeout(NORMAL)
    config = {"TESTING": True, "SEED": 1, "DB_URL": f"sqlite:///{tmp_path / 'cluster.db'}", "START_THREADS": True}
    first = ThreadedServer(create_app(dict(config))).start()
    port = first.port
    servers = [first]
    try:
        page.goto(f"{first.url}/")
        expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
        expect(page.locator(WEB_READY)).to_have_count(3)
        servers.remove(first)
        stop_server(first)
        expect(page.locator("#connection")).to_have_attribute("data-state", re.compile("reconnecting|offline"))
        shot(page, "reconnecting")
        second = ThreadedServer(create_app(dict(config)), port=port).start()
        servers.append(second)
        expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
        runtime = second.app.extensions["kubedrill"]
        runtime.call(lambda: runtime.cluster.scale("Deployment", "default", "web", 4))
        expect(page.locator(WEB_READY)).to_have_count(4)
        expect(page.locator("#rev")).to_have_text(re.compile(r"rv \d+"))
    finally:
        for s in servers:
            stop_server(s)


def test_projector_mode_enlarges_and_keeps_every_panel(page: Page, server: Any) -> None:
    page.goto(f"{server.url}/?projector=1")
    expect(page.locator("body")).to_have_class(re.compile("projector"))
    expect(page.locator(WEB_READY)).to_have_count(3, timeout=NORMAL)
    expect(page.get_by_role("tab", name="Storage")).to_be_visible()
    expect(page.get_by_role("tab", name="Events")).to_be_visible()
    size = page.evaluate("getComputedStyle(document.body).fontSize")
    assert float(size.rstrip("px")) >= 18
    shot(page, "projector")


POD_STATUS_CASES = [
    # (pod, kubectl STATUS) — printPod's rules, evaluated by the dashboard's own module.
    ({"status": {"phase": "Pending"}}, "Pending"),
    ({"status": {"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]}},
     "ContainerCreating"),
    ({"spec": {"initContainers": [{"name": "a"}, {"name": "b"}]},
      "status": {"phase": "Pending", "initContainerStatuses": [{"state": {"running": {}}}, {"state": {"waiting": {"reason": "PodInitializing"}}}]}},
     "Init:0/2"),
    ({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                 "containerStatuses": [{"ready": True, "state": {"running": {}}}]}}, "Running"),
    ({"metadata": {"deletionTimestamp": "2026-01-01T00:01:00Z"},
      "status": {"phase": "Running", "containerStatuses": [{"ready": True, "state": {"running": {}}}]}}, "Terminating"),
    ({"metadata": {"deletionTimestamp": "2026-01-01T00:01:00Z"}, "status": {"phase": "Running", "reason": "NodeLost"}}, "Unknown"),
    ({"status": {"phase": "Running", "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}},
     "CrashLoopBackOff"),
    ({"status": {"phase": "Running", "containerStatuses": [{"state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}},
     "OOMKilled"),
    ({"status": {"phase": "Running", "containerStatuses": [{"state": {"terminated": {"exitCode": 2}}}]}}, "ExitCode:2"),
    ({"status": {"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}},
     "Completed"),
    ({"status": {"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}]}},
     "ImagePullBackOff"),
    ({"status": {"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "CreateContainerConfigError"}}}]}},
     "CreateContainerConfigError"),
]


def test_pod_status_text_follows_kubectl_print_pod(page: Page, server: Any) -> None:
    page.goto(f"{server.url}/")
    got = page.evaluate("""async (cases) => {
        const m = await import('/static/js/k8s/pods.js');
        return cases.map(([pod]) => m.podStatusText({metadata: {}, spec: {}, ...pod}));
    }""", POD_STATUS_CASES)
    assert got == [want for _, want in POD_STATUS_CASES]


def test_field_error_line_is_found_in_multi_document_yaml(page: Page, server: Any) -> None:
    page.goto(f"{server.url}/")
    text = "kind: ConfigMap\nmetadata:\n  name: a\n---\nkind: Deployment\nmetadata:\n  name: web\nspec:\n" \
           "  template:\n    spec:\n      containers:\n      - name: a\n        image: x\n      - name: b\n        image: ''\n"
    lines = page.evaluate("""async (text) => {
        const m = await import('/static/js/views/apply.js');
        return [m.findFieldLine(text, 'spec.template.spec.containers[1].image', {kind: 'Deployment', name: 'web'}),
                m.findFieldLine(text, 'metadata.name', {kind: 'ConfigMap', name: 'a'}),
                m.findFieldLine(text, 'spec.nothing', {})];
    }""", text)
    assert lines == [14, 2, None]
