"""The classroom in real browsers: an instructor and two students, each in a browser context of their own.

Issue #13, point 10: A's drill, pause and reset do not touch B; the instructor's tiles follow both;
B gets a 403 on A's cluster; kubectl with each student's kubeconfig sees only that student's
cluster; a restart of the server brings all three back (cookies, clusters, objects, tiles).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, expect

from webapp import create_app, shutdown_app
from webapp.server import ThreadedServer

NORMAL = 30_000
WEB_READY = '.pod-chip[data-owner="web"][data-class="ok"]:not([data-gone])'
KUBECTL = shutil.which("kubectl")
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  owner: {name}
"""


def _start(config: dict[str, Any], port: int = 0) -> ThreadedServer:
    return ThreadedServer(create_app(dict(config)), port=port).start()


def _stop(server: ThreadedServer) -> None:
    done = threading.Event()

    def stop() -> None:
        server.stop()
        shutdown_app(server.app)
        done.set()
    threading.Thread(target=stop, daemon=True).start()
    assert done.wait(30), "the server did not stop within 30 s"


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    if KUBECTL is None:
        pytest.fail("kubectl is not on PATH")
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), KUBECACHEDIR=str(kubeconfig.parent / "cache"),
               HOME=str(kubeconfig.parent))
    return subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env)


def _join(context: BrowserContext, url: str, code: str, name: str) -> tuple[Page, str]:
    """Join through the form like a student; return their dashboard page and cluster id."""
    page = context.new_page()
    page.set_default_timeout(NORMAL)
    page.goto(f"{url}/join")
    page.get_by_label("Join code").fill(code)
    page.get_by_label(re.compile("Your name")).fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#joined")).to_be_visible()
    cluster = page.locator("#joined-cluster").inner_text()
    page.get_by_role("link", name="Go to my cluster").click()
    expect(page).to_have_url(re.compile(rf"/c/{re.escape(cluster)}/$"))
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(page.locator(WEB_READY)).to_have_count(3)
    return page, cluster


def _kubeconfig(context: BrowserContext, url: str, path: Path) -> Path:
    resp = context.request.get(f"{url}/class/kubeconfig")
    assert resp.status == 200, resp.text()
    path.write_text(resp.text())
    return path


def test_an_instructor_and_two_students(browser: Browser, tmp_path: Path) -> None:
    config = {"TESTING": True, "SEED": 1, "START_THREADS": True, "CLASSROOM": True,
              "DB_URL": f"sqlite:///{tmp_path / 'class.db'}"}
    server = _start(config)
    port, url = server.port, server.url
    contexts = [browser.new_context() for _ in range(3)]
    teacher_ctx, alice_ctx, bob_ctx = contexts
    try:
        store = server.app.extensions["kubedrill.class"]
        code = store.info.join_code
        token = store.mint_instructor_login()

        # The instructor's login URL leaves the address bar; the grid is live and empty.
        grid = teacher_ctx.new_page()
        grid.set_default_timeout(NORMAL)
        grid.goto(f"{url}/class?token={token}")
        expect(grid).to_have_url(f"{url}/class")
        expect(grid.locator("#grid-connection")).to_have_attribute("data-state", "connected")
        expect(grid.locator("#join-code")).to_have_text(code)

        alice, a_id = _join(alice_ctx, url, code, "Alice")
        bob, b_id = _join(bob_ctx, url, code, "Bob")
        assert a_id != b_id
        a_tile, b_tile = (grid.locator(f'.tile[data-cluster="{c}"]') for c in (a_id, b_id))
        expect(a_tile.locator(".tile-name")).to_have_text("Alice")
        expect(b_tile.locator(".tile-name")).to_have_text("Bob")
        expect(a_tile.locator(".nodes")).to_have_text(re.compile(r"nodes (\d)/\1 Ready"))

        # Alice pauses, starts a drill, then resets: Bob's cluster does none of it.
        alice.locator("#sim-pause").click()
        expect(alice.locator("#sim-pause .label")).to_have_text("Resume")
        expect(a_tile.locator(".tile-pace")).to_have_text(re.compile("paused"))
        alice.get_by_role("tab", name="Drills", exact=True).click()
        card = alice.locator('#panel-drills .drill-card[data-drill="01-pod-kill"]')
        card.get_by_role("button", name="Briefing").click()   # the start button is in the briefing
        card.locator(".drill-start").click()
        expect(alice.locator("#drill-timer")).to_be_visible()
        expect(a_tile.locator(".tile-drill")).to_contain_text("pod is killed")
        expect(b_tile.locator(".tile-drill")).to_have_text("no drill")
        expect(bob.locator("#sim-pause .label")).to_have_text("Pause")
        bob.get_by_role("tab", name="Drills", exact=True).click()
        expect(bob.locator("#panel-drills .drill-card")).not_to_have_count(0)   # Bob still sees the picker
        expect(bob.locator("#drill-timer")).to_have_count(0)
        hub = server.app.extensions["kubedrill.hub"]
        alice.locator("#sim-speed").fill("5")   # the slider's 6th step: 10x
        expect(alice.locator("#sim-speed-value")).to_have_text("10×")
        alice.locator("#sim-reset").click()
        alice.locator("#sim-reset").click()     # the confirming second click
        expect(a_tile.locator(".tile-drill")).to_have_text("no drill")
        assert hub.get(a_id).speed == 10 and hub.get(b_id).speed == 1
        assert not hub.get(b_id).paused and hub.get(b_id).generation == 1
        expect(bob.locator("#toasts")).not_to_contain_text("reset")

        # Bob on Alice's cluster: the page, the API and the socket all refuse him.
        other = bob_ctx.new_page()
        response = other.goto(f"{url}/c/{a_id}/")
        assert response is not None and response.status == 403
        api = bob_ctx.request.delete(f"{url}/c/{a_id}/api/v1/namespaces/default/pods/web-1")
        assert api.status == 403
        status = api.json()
        assert status["reason"] == "Forbidden"
        assert status["message"] == (f'pods "web-1" is forbidden: User "Bob" cannot delete resource "pods" '
                                     f'in API group "" in the namespace "default"')
        other.close()

        # kubectl with each student's kubeconfig sees only that student's cluster.
        a_cfg = _kubeconfig(alice_ctx, url, tmp_path / "alice.kubeconfig")
        b_cfg = _kubeconfig(bob_ctx, url, tmp_path / "bob.kubeconfig")
        made = _kubectl(b_cfg, "apply", "-f", "-", stdin=CONFIGMAP.format(name="bobs-notes"))
        assert made.returncode == 0, made.stderr
        seen_by_bob = _kubectl(b_cfg, "get", "configmaps", "-o", "name")
        seen_by_alice = _kubectl(a_cfg, "get", "configmaps", "-o", "name")
        assert "configmap/bobs-notes" in seen_by_bob.stdout
        assert seen_by_alice.returncode == 0 and "bobs-notes" not in seen_by_alice.stdout
        # Alice points her kubeconfig at Bob's cluster id (her credentials ride in its server URL:
        # kubectl sends none to a plain-http server otherwise, see webapp/kube_api/kubeconfig.py).
        a_server = yaml.safe_load(a_cfg.read_text())["clusters"][0]["cluster"]["server"]
        forged = _kubectl(a_cfg, "--server", a_server.replace(f"/c/{a_id}", f"/c/{b_id}"), "get", "configmaps")
        assert forged.returncode != 0
        assert 'configmaps is forbidden: User "Alice" cannot list resource "configmaps"' in forged.stderr
        expect(b_tile.locator(".tile-last")).to_contain_text("kubectl")

        # Restart on the same database: all three come back where they were.
        _stop(server)
        server = _start(config, port=port)
        grid.reload()
        expect(grid.locator("#grid-connection")).to_have_attribute("data-state", "connected")
        expect(a_tile.locator(".tile-name")).to_have_text("Alice")
        expect(b_tile.locator(".tile-name")).to_have_text("Bob")
        bob.reload()
        expect(bob.locator("#connection")).to_have_attribute("data-state", "connected")
        bob.get_by_role("tab", name="Config", exact=True).click()
        expect(bob.get_by_role("button", name="bobs-notes")).to_be_visible()
        again = _kubectl(b_cfg, "get", "configmap", "bobs-notes", "-o", "name")
        assert again.returncode == 0, again.stderr
        alice.reload()
        expect(alice.locator("#connection")).to_have_attribute("data-state", "connected")
        expect(alice.locator("#cluster-id")).to_have_text(a_id)
    finally:
        for ctx in contexts:
            ctx.close()
        _stop(server)
