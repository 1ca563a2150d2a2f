"""The dashboard of one cluster among many, in real chromium: its base path, and what a role may not do.

Without class mode every request is the admin's, so the roles here come from a real class store
(``webapp.classroom.store.ClassStore``) attached to the running app by hand: the policy, the page and
the socket ask it exactly as in class mode. The class's own pages and endpoints (/join, /class,
/class/api/*) are tested in test_classroom_flow.py.
"""
from __future__ import annotations

import re
from typing import Any

import requests
from playwright.sync_api import BrowserContext, Page, expect

from webapp.classroom.store import ClassStore
from webapp.policy import SESSION_COOKIE

NORMAL = 30_000
WEB_READY = '.pod-chip[data-owner="web"][data-class="ok"]:not([data-gone])'
READ_ONLY = "This is a read-only view."
DEMO_IS_THE_INSTRUCTORS = "The demo cluster is the instructor's: you can watch it, not change it."
SIM_CONTROLS = ("#sim-pause", "#sim-step", "#sim-speed", "#sim-reset", "#open-apply")


def _configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def _with_class(server: Any) -> ClassStore:
    """Give ``server``'s app a class (in memory): its sessions are who the requests are from."""
    store = ClassStore(None)
    store.open_or_create_class()
    server.app.extensions["kubedrill.class"] = store
    return store


def _sign_in(context: BrowserContext, server: Any, credential: str) -> None:
    context.add_cookies([{"name": SESSION_COOKIE, "value": credential, "url": server.url,
                          "httpOnly": True, "sameSite": "Strict"}])


def _class_server(make_live_server: Any, context: BrowserContext, role: str, name: str,
                  cluster: str | None = None, owner: str | None = None) -> tuple[Any, Any, ClassStore]:
    """A server with a class, a cluster ``cluster`` of ``owner`` (if given), and the browser signed in."""
    server = make_live_server()
    hub = server.app.extensions["kubedrill.hub"]
    if cluster is not None:
        hub.create(cluster, owner=owner or name)
    store = _with_class(server)
    _sign_in(context, server, store.add_session(role, name, cluster if role == "student" else None))
    return server, hub, store


def _open(page: Page, url: str) -> None:
    page.set_default_timeout(NORMAL)
    page.goto(url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")


def test_the_demo_cluster_under_c_demo_streams_and_asks_its_own_ui_urls(page: Page, make_live_server: Any) -> None:
    server = make_live_server()
    paths: list[str] = []
    page.on("request", lambda r: paths.append(re.sub(r"^https?://[^/]+", "", r.url)))
    _open(page, f"{server.url}/c/demo/")
    expect(page.locator(WEB_READY)).to_have_count(3)
    # A change made through the API below the same prefix arrives on the page.
    url = f"{server.url}/c/demo/api/v1/namespaces/default/configmaps"
    assert requests.post(url, json=_configmap("under-the-prefix"), timeout=10).status_code == 201
    page.get_by_role("tab", name="Config", exact=True).click()
    expect(page.get_by_text("under-the-prefix")).to_be_visible()
    # The drill catalogue and the health poll are fetched below /c/demo, never from the root.
    page.get_by_role("tab", name="Drills", exact=True).click()
    expect(page.locator("#panel-drills .drill-card")).to_have_count(11)
    page.wait_for_function("() => window.kubedrill.health() !== null")
    ui = [p for p in paths if re.match(r"(/c/[^/]+)?/ui/", p)]
    assert "/c/demo/ui/drills" in ui and "/c/demo/ui/health" in ui, ui
    assert all(p.startswith("/c/demo/ui/") for p in ui), ui
    # Nobody is restricted outside class mode: nothing is disabled, no note.
    for control in SIM_CONTROLS:
        expect(page.locator(control)).to_be_enabled()
    expect(page.locator("#role-note")).to_be_hidden()
    expect(page.locator("#class-links")).to_have_count(0)


def test_a_viewer_watches_a_students_cluster_and_every_control_says_why_it_is_off(
        page: Page, context: BrowserContext, make_live_server: Any) -> None:
    server, hub, _ = _class_server(make_live_server, context, "viewer", "viewer", "alice-0001", owner="alice")
    _open(page, f"{server.url}/c/alice-0001/")
    expect(page.locator(WEB_READY)).to_have_count(3)
    expect(page.locator("#cluster-id")).to_have_text("alice-0001")
    expect(page.locator("#cluster-owner")).to_have_text("(alice's)")
    expect(page.locator("#back-to-class")).to_have_attribute("href", "/class")
    expect(page.locator("#download-kubeconfig")).to_have_count(0)

    # Header: every simulation control and Apply YAML disabled, the reason as a title and as text.
    for control in SIM_CONTROLS:
        expect(page.locator(control)).to_be_disabled()
        expect(page.locator(control)).to_have_attribute("title", READ_ONLY)
    expect(page.locator("#role-note")).to_have_text(READ_ONLY)

    # Inspector: the pod's actions are there, disabled, with the sentence.
    page.locator(WEB_READY).first.click()
    inspector = page.locator("#inspector")
    expect(inspector).to_be_visible()
    expect(inspector.locator('.insp-actions button[data-action="delete"]')).to_be_disabled()
    expect(inspector.locator(".insp-actions .denied-note")).to_have_text(READ_ONLY)
    inspector.locator(".insp-close").click()

    # Drills: the picker's start buttons are disabled, with the sentence above them.
    page.get_by_role("tab", name="Drills", exact=True).click()
    panel = page.locator("#panel-drills")
    card = panel.locator('.drill-card[data-drill="02-node-lost"]')
    card.get_by_role("button", name="Briefing").click()
    expect(card.locator(".drill-start")).to_be_disabled()
    expect(panel.locator(":scope > .denied-note")).to_have_text(READ_ONLY)

    # Disabling is a courtesy: the server refuses the action anyway, and nothing changes.
    pods_before = len(hub.get("alice-0001").cluster.store.list("pods", "default"))
    ack = page.evaluate("""() => {
        const pod = window.kubedrill.state.list('pods').find((p) => p.metadata.labels?.app === 'web');
        return window.kubedrill.live.action('pod.delete', {namespace: 'default', name: pod.metadata.name});
    }""")
    assert ack["ok"] is False and ack["error"]["code"] == 403, ack
    assert 'User "viewer" cannot delete resource "pods"' in ack["error"]["message"]
    assert len(hub.get("alice-0001").cluster.store.list("pods", "default")) == pods_before


def test_a_student_may_act_on_their_own_cluster_and_only_watch_the_demo(
        page: Page, context: BrowserContext, make_live_server: Any) -> None:
    server, hub, _ = _class_server(make_live_server, context, "student", "bob", "bob-0002")
    _open(page, f"{server.url}/c/bob-0002/")
    expect(page.locator("#cluster-owner")).to_have_text("(yours)")
    expect(page.locator("#download-kubeconfig")).to_have_attribute("href", re.compile(r"/class/kubeconfig$"))
    for control in SIM_CONTROLS:
        expect(page.locator(control)).to_be_enabled()
    expect(page.locator("#role-note")).to_be_hidden()
    page.locator("#sim-pause").click()
    expect(page.locator("#sim-pause .label")).to_have_text("Resume")
    assert hub.get("bob-0002").paused and not hub.get("demo").paused

    _open(page, f"{server.url}/")
    expect(page.locator("#cluster-id")).to_have_text("demo")
    expect(page.locator("#cluster-owner")).to_have_text("(the instructor's demo cluster)")
    for control in SIM_CONTROLS:
        expect(page.locator(control)).to_be_disabled()
    expect(page.locator("#role-note")).to_have_text(DEMO_IS_THE_INSTRUCTORS)
    expect(page.locator("#back-to-class")).to_have_count(0)


def test_a_locked_speed_disables_the_slider_and_says_at_what_speed(page: Page, make_live_server: Any) -> None:
    server = make_live_server()
    runtime = server.app.extensions["kubedrill.hub"].get("demo")
    _open(page, f"{server.url}/")
    slider, note = page.locator("#sim-speed"), page.locator("#speed-lock-note")
    expect(slider).to_be_enabled()
    expect(note).to_be_hidden()

    runtime.set_speed(2.0)
    with runtime.lock:
        runtime.speed_lock = 2.0     # what the instructor's "lock speed" does (the clock carries it)
    runtime.notify()
    expect(slider).to_be_disabled()
    expect(slider).to_have_attribute("title", "The instructor has locked the speed at 2×")
    expect(note).to_have_text("the instructor has locked the speed at 2×")
    expect(page.locator("#sim-speed-value")).to_have_text("2×")

    with runtime.lock:
        runtime.speed_lock = None    # unlocked: the next clock has no speed_lock at all
    runtime.notify()
    expect(slider).to_be_enabled()
    expect(note).to_be_hidden()


def test_a_live_stream_the_server_refuses_says_why_instead_of_reconnecting(
        page: Page, context: BrowserContext, make_live_server: Any) -> None:
    server, hub, _ = _class_server(make_live_server, context, "student", "carol", "carol-0003")
    _open(page, f"{server.url}/c/carol-0003/")

    # The class is replaced (as by a server restarted on another database): carol's cookie is now
    # from an earlier class. The server drops her stream; the page's reconnect is refused.
    _with_class(server)
    for sid, _ in list(hub.server.manager.get_participants("/live", "cluster:carol-0003")):
        hub.server.disconnect(sid, namespace="/live")
    expect(page.locator("#connection")).to_have_attribute("data-state", "refused")
    expect(page.locator("#connection .conn-text")).to_have_text("Refused")
    loading = page.locator("#loading")
    expect(loading).to_be_visible()
    expect(loading).to_contain_text("The server refused this page's live stream: this session belongs to "
                                    "another class or an earlier one")
    # It stays refused: the client gave this connection up (Socket.IO's "active" is whether it retries).
    assert page.evaluate("() => window.kubedrill.live.socket.active") is False
