"""The classroom in real chromium, on a class-mode server (``CLASSROOM``, a SQLite file): joining from
the page, the instructor's grid and its bulk actions, the viewer link, the reports, and issue #13
point 10 end to end (an instructor and two students in separate browser contexts, real kubectl with
each student's kubeconfig, and a restart).

Every wait is on what a page shows (or on a cluster's state for what no page shows); simulated time
runs at the server's pace. These need the class endpoints (webapp/classroom/routes.py and the class
mode of create_app): the front end and this file were written against them before they were merged.
"""
from __future__ import annotations

import re
import sys
from urllib.parse import urlsplit
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
import requests
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, expect

from webapp import create_app, shutdown_app
from webapp.server import ThreadedServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from kubetools import Kubectl, need_kubectl  # noqa: E402

TIMEOUT = 30_000
WEB_READY = '.pod-chip[data-owner="web"][data-class="ok"]:not([data-gone])'
CM_PATH = "/api/v1/namespaces/default/configmaps"
SIM_CONTROLS = ("#sim-pause", "#sim-step", "#sim-speed", "#sim-reset", "#open-apply")


def _configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


class Classroom:
    """A class-mode server on one database; ``restart`` stops it like a process exit and starts it
    again on the same database and port (so pages, cookies and kubeconfigs still point at it)."""

    def __init__(self, db: Path, **config: Any):
        self.config = {"TESTING": True, "SEED": 1, "DB_URL": f"sqlite:///{db}", "START_THREADS": True,
                       "CLASSROOM": True, **config}
        self.port = 0
        self.server: ThreadedServer | None = None
        self.start()

    def start(self) -> None:
        self.server = ThreadedServer(create_app(dict(self.config)), port=self.port).start()
        self.port = self.server.port

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            shutdown_app(self.server.app)
            self.server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def hub(self) -> Any:
        return self.server.app.extensions["kubedrill.hub"]

    @property
    def store(self) -> Any:
        return self.server.app.extensions["kubedrill.class"]

    @property
    def code(self) -> str:
        return self.store.info.join_code

    def login_url(self) -> str:
        """The instructor's login URL, as app.py prints it at start."""
        return f"{self.url}/class?token={self.store.mint_instructor_login()}"

    def api(self) -> requests.Session:
        """An HTTP client with an instructor's bearer token (like the kubeconfig app.py writes)."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.store.add_session('instructor', 'instructor', None)}"
        return session

    def join(self, name: str) -> dict:
        """Join over the HTTP API (a script's way in); returns the 201 body."""
        r = requests.post(f"{self.url}/class/join", json={"code": self.code, "name": name}, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def classroom(tmp_path: Path) -> Iterator[Classroom]:
    room = Classroom(tmp_path / "k.db")
    yield room
    room.stop()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Any]:
    """``contexts()``: a new browser context (its own cookies: one person); all closed at the end."""
    made: list[BrowserContext] = []

    def make() -> BrowserContext:
        ctx = browser.new_context(accept_downloads=True)
        ctx.set_default_timeout(TIMEOUT)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def _connected(page: Page) -> None:
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)


def _instructor(contexts: Any, room: Classroom) -> Page:
    page = contexts().new_page()
    page.goto(room.login_url())
    expect(page).to_have_url(f"{room.url}/class")           # the token is gone from the address bar
    expect(page.locator("#grid-connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
    return page


def _join_in_page(page: Page, room: Classroom, name: str) -> str:
    """Join from /join as a student would; return the cluster id the success panel names."""
    page.goto(f"{room.url}/join?code={room.code}")
    expect(page.locator("#join-code-input")).to_have_value(room.code)
    page.locator("#join-name-input").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#joined")).to_be_visible(timeout=TIMEOUT)
    cluster = page.locator("#joined-cluster").inner_text()
    assert re.fullmatch(r"[a-z0-9-]+-[0-9a-f]{4}", cluster), cluster
    return cluster


def _tile(page: Page, cluster: str) -> Any:
    return page.locator(f'.tile[data-cluster="{cluster}"]')


def _kubeconfig(page: Page, tmp: Path, cluster: str) -> Path:
    """Download the kubeconfig from the success panel, like the student; return where it was saved."""
    with page.expect_download() as info:
        page.get_by_role("button", name="Download kubeconfig").click()
    download = info.value
    assert download.suggested_filename == f"kubedrill-{cluster}.kubeconfig"
    target = tmp / download.suggested_filename
    download.save_as(target)
    return target


def _kubectl(path: Path) -> Kubectl:
    need_kubectl()
    return Kubectl(SimpleNamespace(kubeconfig=path, cache_dir=path.parent / f"cache-{path.stem}"))


def _create_configmap(kubectl: Kubectl, name: str) -> None:
    # apply -f: kubectl's generators (kubectl create configmap) send protobuf, which Kubedrill does not read.
    kubectl.ok("apply", "-f", "-", input=yaml.safe_dump(_configmap(name)))


# ---------------------------------------------------------------------- joining
def test_a_student_joins_from_the_page_and_gets_their_cluster_and_kubeconfig(
        classroom: Classroom, contexts: Any, tmp_path: Path) -> None:
    page = contexts().new_page()
    cluster = _join_in_page(page, classroom, "Alice")
    expect(page.locator("#joined-name")).to_have_text("Alice")
    expect(page.locator("#kubectl-lines")).to_have_text(
        f"export KUBECONFIG=~/Downloads/kubedrill-{cluster}.kubeconfig\nkubectl get pods")
    expect(page.locator("#dashboard-link")).to_have_text(f"{classroom.url}/c/{cluster}/")
    path = _kubeconfig(page, tmp_path, cluster)
    config = yaml.safe_load(path.read_text())
    # (Over plain http the server URL may carry the token as userinfo too: kubectl sends a user's
    # token to TLS servers only. Where it points is what counts here.)
    server = urlsplit(config["clusters"][0]["cluster"]["server"])
    assert f"{server.scheme}://{server.hostname}:{server.port}{server.path}" == f"{classroom.url}/c/{cluster}"
    assert config["users"][0]["user"]["token"].startswith(f"{classroom.store.info.id}.")

    page.get_by_role("link", name="Go to my cluster").click()
    expect(page).to_have_url(f"{classroom.url}/c/{cluster}/")
    _connected(page)
    expect(page.locator(WEB_READY)).to_have_count(3, timeout=TIMEOUT)
    expect(page.locator("#cluster-id")).to_have_text(cluster)
    expect(page.locator("#cluster-owner")).to_have_text("(yours)")
    for control in SIM_CONTROLS:
        expect(page.locator(control)).to_be_enabled()
    # The header's kubeconfig help (from /class/api/me), on the student's own cluster and on the demo.
    lines = f"export KUBECONFIG=~/Downloads/kubedrill-{cluster}.kubeconfig\nkubectl get pods"
    expect(page.locator("#kubectl-lines")).to_have_text(lines)
    expect(page.locator("#download-kubeconfig")).to_have_attribute("download", f"kubedrill-{cluster}.kubeconfig")
    page.goto(f"{classroom.url}/")
    _connected(page)
    expect(page.locator("#kubectl-lines")).to_have_text(lines)
    expect(page.locator("#own-cluster")).to_have_attribute("href", f"/c/{cluster}/")
    expect(page.locator("#role-note")).to_have_text(
        "The demo cluster is the instructor's: you can watch it, not change it.")

    # Coming back to /join with the cookie says where the cluster is.
    page.goto(f"{classroom.url}/join")
    expect(page.locator("#already")).to_contain_text("You joined as Alice")
    expect(page.locator("#already a")).to_have_attribute("href", f"{classroom.url}/c/{cluster}/")

    kubectl = _kubectl(path)
    assert "web-" in kubectl.ok("get", "pods")


def test_the_join_form_puts_each_refusal_under_its_field(classroom: Classroom, contexts: Any) -> None:
    classroom.join("Bob")
    page = contexts().new_page()
    page.goto(f"{classroom.url}/join")
    code, name = page.locator("#join-code-input"), page.locator("#join-name-input")
    expect(code).to_be_focused()

    code.fill("WRONG1")
    name.fill("Carol")
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#join-code-error")).to_have_text("the join code is not right: check it with your instructor")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#join-name-error")).to_be_hidden()

    code.fill(classroom.code.lower())          # any case will do
    name.fill("bob")
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#join-name-error")).to_have_text(
        'a student called "bob" has already joined: choose another name, e.g. "bob2"')
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#join-code-error")).to_be_hidden()
    expect(code).to_have_attribute("aria-invalid", "false")

    name.fill("instructor")
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#join-name-error")).to_contain_text("is reserved for the server: choose another name")
    assert [s.name for s in classroom.store.students()] == ["Bob"]   # none of that made anything

    # The page's text is text: a name with markup is shown as typed.
    name.fill("<b>Dee</b>")
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#joined-name")).to_have_text("<b>Dee</b>", timeout=TIMEOUT)
    expect(page.locator("#joined-name b")).to_have_count(0)


# ---------------------------------------------------------------------- the grid
def test_the_grid_follows_the_students_and_bulk_actions_report_each_cluster(
        classroom: Classroom, contexts: Any) -> None:
    page = _instructor(contexts, classroom)
    expect(page.locator("#join-code")).to_have_text(classroom.code)
    expect(page.locator("#no-students")).to_be_visible()
    a = classroom.join("Alice")["cluster"]
    b = classroom.join("Bob <i>the builder</i>")["cluster"]
    # New students appear live, named as they typed (as text).
    expect(page.locator(".tile")).to_have_count(2, timeout=TIMEOUT)
    expect(_tile(page, a).locator(".tile-name")).to_have_text("Alice")
    expect(_tile(page, b).locator(".tile-name")).to_have_text("Bob <i>the builder</i>")
    expect(page.locator(".tile i")).to_have_count(0)
    expect(_tile(page, a).locator(".tile-nodes")).to_have_text("nodes 4/4 Ready", timeout=TIMEOUT)
    expect(_tile(page, a).locator(".tile-watch")).to_have_attribute("href", f"/c/{a}/")
    expect(page.locator("#student-count")).to_have_text("2 students")

    # A drill for the selected student only.
    _tile(page, a).locator(".tile-select").check()
    expect(page.locator("#selected-count")).to_have_text("Actions go to the 1 selected student only")
    page.locator("#bulk-drill").select_option("01-pod-kill")
    page.get_by_role("button", name="Start drill").click()
    result = page.locator("#bulk-result")
    expect(result.locator(".bulk-summary")).to_have_text(
        "Start drill “A pod is killed — the ReplicaSet replaces it”: done on 1 of 1 cluster.", timeout=TIMEOUT)
    expect(result.locator(f'li[data-cluster="{a}"][data-ok="1"]')).to_have_count(1)
    expect(_tile(page, a).locator(".drill-title")).to_have_text("A pod is killed — the ReplicaSet replaces it")
    expect(_tile(page, a).locator(".drill-time")).to_contain_text("/ 1:00")
    expect(_tile(page, a).locator(".probe-dot")).not_to_have_count(0)
    expect(_tile(page, b).locator(".drill-title")).to_have_text("no drill")

    # A fault for everybody; where it cannot be done, that cluster's error is shown, the others done.
    page.locator("#select-all").check()
    page.locator("#select-all").uncheck()
    expect(page.locator("#selected-count")).to_have_text("Actions go to every student")
    scaled = classroom.api().patch(f"{classroom.url}/c/{b}/apis/apps/v1/namespaces/default/deployments/web/scale",
                                   json={"spec": {"replicas": 0}},
                                   headers={"Content-Type": "application/merge-patch+json"}, timeout=10)
    assert scaled.status_code == 200, scaled.text
    expect(_tile(page, b).locator(".tile-workloads")).to_contain_text("/9 available", timeout=TIMEOUT)
    page.locator("#bulk-fault").select_option("kill-web")
    expect(page.locator("#fault-what")).to_contain_text("Deletes one pod of Deployment web")
    page.get_by_role("button", name="Inject").click()
    expect(result.locator(".bulk-summary")).to_have_text("Delete one web pod: done on 1 of 2 clusters, 1 failed.",
                                                         timeout=TIMEOUT)
    failed = result.locator(f'li[data-cluster="{b}"][data-ok="0"]')
    expect(failed).to_contain_text('no pod matches "app=web" in namespace "default"')
    expect(failed.locator("b")).to_have_text("Bob <i>the builder</i>")

    # Pause all, lock the speed, unlock, resume: the tiles say so.
    page.get_by_role("button", name="Pause").click()
    expect(_tile(page, a).locator(".tile-pace")).to_contain_text("paused", timeout=TIMEOUT)
    expect(_tile(page, b).locator(".tile-pace")).to_contain_text("paused", timeout=TIMEOUT)
    page.locator("#bulk-speed").fill("5")
    page.get_by_role("button", name="Lock speed").click()
    expect(result.locator(".bulk-summary")).to_have_text("Lock the speed at 5×: done on 2 of 2 clusters.")
    expect(_tile(page, a).locator(".tile-pace")).to_have_text("❚❚ paused (5×) locked", timeout=TIMEOUT)
    assert classroom.hub.get(b).speed == 5.0
    page.get_by_role("button", name="Unlock").click()
    page.get_by_role("button", name="Resume").click()
    expect(_tile(page, a).locator(".tile-pace")).to_have_text("5×", timeout=TIMEOUT)

    # Reset asks first; cancelling changes nothing, confirming resets every student's cluster.
    page.get_by_role("button", name="Reset…").click()
    dialog = page.locator("#reset-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#reset-what")).to_have_text("Reset every student's cluster (2)?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert classroom.hub.get(a).drill is not None
    page.get_by_role("button", name="Reset…").click()
    dialog.get_by_role("button", name="Reset").click()
    expect(result.locator(".bulk-summary")).to_have_text("Reset: done on 2 of 2 clusters.", timeout=TIMEOUT)
    expect(_tile(page, b).locator(".tile-workloads")).to_contain_text("/12 available", timeout=TIMEOUT)

    # A new code: shown at once, and the old one no longer lets anyone in.
    old = classroom.code
    page.get_by_role("button", name="New code").click()
    expect(page.locator("#join-code")).not_to_have_text(old, timeout=TIMEOUT)
    new = page.locator("#join-code").inner_text()
    assert new == classroom.code
    expect(page.locator("#join-url")).to_have_text(f"{classroom.url}/join?code={new}")
    refused = requests.post(f"{classroom.url}/class/join", json={"code": old, "name": "Eve"}, timeout=10)
    assert refused.status_code == 403


def test_the_viewer_link_shows_the_grid_and_the_clusters_read_only(classroom: Classroom, contexts: Any) -> None:
    a = classroom.join("Alice")["cluster"]
    page = _instructor(contexts, classroom)
    page.get_by_role("button", name="Copy viewer link").click()
    link = page.locator("#viewer-link")
    expect(link).to_be_visible()
    url = link.input_value()
    assert re.fullmatch(re.escape(classroom.url) + r"/class/view\?token=\S+", url), url
    expect(page.locator("#viewer-copied")).not_to_be_empty()

    projector = contexts().new_page()
    projector.goto(url)
    expect(projector).to_have_url(f"{classroom.url}/class")
    expect(projector.locator("#readonly-note")).to_be_visible()
    expect(_tile(projector, a).locator(".tile-name")).to_have_text("Alice", timeout=TIMEOUT)
    why = projector.locator("body").get_attribute("data-why-not")
    for name in ("Start drill", "Inject", "Pause", "Resume", "Lock speed", "Unlock", "Reset…"):
        button = projector.get_by_role("button", name=name, exact=True)
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("title", why)
    expect(_tile(projector, a).locator(".tile-select")).to_be_disabled()
    expect(_tile(projector, a).locator(".tile-watch")).to_have_text("Watch")
    expect(projector.locator("#reports-error")).to_have_text(
        "The drill reports are the instructor's: this view cannot read them.")

    # Watching a student's cluster: live, every control disabled and saying why.
    _tile(projector, a).locator(".tile-watch").click()
    expect(projector).to_have_url(f"{classroom.url}/c/{a}/")
    _connected(projector)
    for control in SIM_CONTROLS:
        expect(projector.locator(control)).to_be_disabled()
    expect(projector.locator("#role-note")).to_have_text("This is a read-only view.")
    expect(projector.locator("#back-to-class")).to_be_visible()
    assert projector.request.post(f"{classroom.url}/class/api/bulk", data={"action": "sim.pause"}).status == 403
    assert not classroom.hub.get(a).paused


def test_reports_fill_the_table_and_the_chart_when_drills_end(classroom: Classroom, contexts: Any) -> None:
    a = classroom.join("Alice")["cluster"]
    b = classroom.join("Bob")["cluster"]
    page = _instructor(contexts, classroom)
    expect(page.locator("#no-reports")).to_be_visible()
    page.get_by_role("button", name="Start drill").click()    # the first drill, for every student
    expect(page.locator("#bulk-result .bulk-summary")).to_contain_text("done on 2 of 2 clusters", timeout=TIMEOUT)
    for cid in (a, b):
        classroom.hub.get(cid).stop_drill(finish=True)           # both play it out at once ("Finish now")
    # The grid sees the drills end and reloads the reports by itself.
    rows = page.locator("#reports-table tbody tr")
    expect(rows).to_have_count(2, timeout=TIMEOUT)
    students = sorted(rows.locator(".report-student").all_inner_texts())
    assert students == ["Alice", "Bob"]
    expect(rows.first.locator(".report-verdict")).to_have_text(re.compile(r"passed|failed"))
    expect(page.locator("#ttr-summary")).not_to_be_empty()
    expect(page.locator(".ttr-figure")).to_be_visible()
    csv = page.request.get(f"{classroom.url}{page.locator('#reports-csv').get_attribute('href')}")
    assert csv.status == 200 and "Alice" in csv.text() and "Bob" in csv.text()
    report_id = rows.first.get_attribute("data-id")
    full = page.request.get(f"{classroom.url}/class/api/reports/{report_id}")
    assert full.status == 200 and "actions" in full.json()


# ---------------------------------------------------------------------- issue #13 point 10
def test_two_students_and_an_instructor_each_see_their_own_and_all_come_back_after_a_restart(
        classroom: Classroom, contexts: Any, tmp_path: Path) -> None:
    teacher = _instructor(contexts, classroom)
    pa, pb = contexts().new_page(), contexts().new_page()
    a = _join_in_page(pa, classroom, "Alice")
    config_a = _kubeconfig(pa, tmp_path, a)
    kube_a = _kubectl(config_a)
    b = _join_in_page(pb, classroom, "Bob")
    kube_b = _kubectl(_kubeconfig(pb, tmp_path, b))
    for page, cid in ((pa, a), (pb, b)):
        page.get_by_role("link", name="Go to my cluster").click()
        expect(page).to_have_url(f"{classroom.url}/c/{cid}/")
        _connected(page)
        expect(page.locator(WEB_READY)).to_have_count(3, timeout=TIMEOUT)

    # kubectl with each kubeconfig reaches that student's cluster only.
    _create_configmap(kube_b, "bobs-notes")
    expect(_tile(teacher, b).locator(".tile-last")).to_contain_text("via kubectl", timeout=TIMEOUT)
    assert "bobs-notes" in kube_b.ok("get", "configmaps")
    assert "bobs-notes" not in kube_a.ok("get", "configmaps")
    # A's own credentials aimed at B's cluster (the server URL may carry them: keep all but the path).
    server_a = yaml.safe_load(config_a.read_text())["clusters"][0]["cluster"]["server"]
    other = kube_a("--server", server_a.replace(f"/c/{a}", f"/c/{b}"), "get", "pods")
    assert other.code != 0 and f'User "Alice" cannot list resource "pods"' in other.err, other

    # B has the inspector open on one of their pods: A's drill, speed and reset must not touch it.
    pb.locator(WEB_READY).first.click()
    inspector_b = pb.locator("#inspector")
    expect(inspector_b).to_be_visible()
    title_b = inspector_b.locator(".insp-title").inner_text()

    pa.get_by_role("tab", name="Drills", exact=True).click()
    card = pa.locator('#panel-drills .drill-card[data-drill="01-pod-kill"]')
    card.get_by_role("button", name="Briefing").click()
    card.locator(".drill-start").click()
    expect(pa.locator("#panel-drills #drill-timer")).to_be_visible(timeout=TIMEOUT)
    # The slider's 5th step is 5× (header.js SPEEDS); moving it is an input then a change event.
    pa.locator("#sim-speed").evaluate("""(el) => { el.value = "4";
        el.dispatchEvent(new Event("input")); el.dispatchEvent(new Event("change")); }""")
    expect(pa.locator("#sim-speed-value")).to_have_text("5×", timeout=TIMEOUT)

    # The instructor's tiles follow both.
    expect(_tile(teacher, a).locator(".drill-title")).to_have_text("A pod is killed — the ReplicaSet replaces it",
                                                                  timeout=TIMEOUT)
    expect(_tile(teacher, a).locator(".tile-pace")).to_have_text("5×", timeout=TIMEOUT)
    expect(_tile(teacher, b).locator(".drill-title")).to_have_text("no drill")
    expect(_tile(teacher, b).locator(".tile-pace")).to_have_text("1×")
    # B: no drill, still 1×, inspector still on the same pod.
    expect(pb.locator('#side-tabs [data-tab="drills"]')).to_have_text("Drills")
    expect(pb.locator("#sim-speed-value")).to_have_text("1×")
    expect(inspector_b).to_be_visible()
    expect(inspector_b.locator(".insp-title")).to_have_text(title_b)
    assert classroom.hub.get(b).drill is None and classroom.hub.get(b).speed == 1.0

    # B's own action shows on B's tile.
    pb.locator("#sim-pause").click()
    expect(_tile(teacher, b).locator(".tile-pace")).to_contain_text("paused", timeout=TIMEOUT)
    pb.locator("#sim-pause").click()

    # A resets: only A's cluster. (Leave the drill first: Reset is the sandbox's.)
    pa.get_by_role("button", name="Stop drill").click()
    pa.get_by_role("button", name="Back to my cluster").click()
    expect(pa.locator('#side-tabs [data-tab="drills"]')).to_have_text("Drills", timeout=TIMEOUT)
    _create_configmap(kube_a, "alices-notes")
    generation_b = classroom.hub.get(b).generation
    pa.get_by_role("tab", name="Config", exact=True).click()
    expect(pa.get_by_text("alices-notes")).to_be_visible(timeout=TIMEOUT)
    pa.locator("#sim-reset").click()
    pa.locator("#sim-reset").click()    # the second click confirms
    expect(pa.get_by_text("alices-notes")).to_have_count(0, timeout=TIMEOUT)
    assert "alices-notes" not in kube_a.ok("get", "configmaps")
    expect(pb.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(inspector_b).to_be_visible()
    expect(inspector_b.locator(".insp-title")).to_have_text(title_b)
    expect(pb.locator("#toasts")).not_to_contain_text("reset")
    assert classroom.hub.get(b).generation == generation_b
    assert "bobs-notes" in kube_b.ok("get", "configmaps")

    # B gets a 403 on A's cluster: the page and the API, in kube-apiserver's words.
    denied = pb.goto(f"{classroom.url}/c/{a}/")
    assert denied is not None and denied.status == 403
    expect(pb.locator("body")).to_contain_text("forbidden")
    api = pb.request.get(f"{classroom.url}/c/{a}{CM_PATH}")
    assert api.status == 403
    assert api.json()["message"] == ('configmaps is forbidden: User "Bob" cannot list resource "configmaps" '
                                     'in API group "" in the namespace "default"')
    pb.goto(f"{classroom.url}/c/{b}/")
    _connected(pb)

    # A restart (same database, same port) brings all three back: cookies, kubeconfigs, clusters.
    classroom.restart()
    for page in (pa, pb):
        expect(page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
    expect(teacher.locator("#grid-connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
    teacher.reload()
    expect(teacher.locator(".tile")).to_have_count(2, timeout=TIMEOUT)
    expect(_tile(teacher, a).locator(".tile-name")).to_have_text("Alice")
    expect(_tile(teacher, b).locator(".tile-name")).to_have_text("Bob")
    pb.reload()
    _connected(pb)
    expect(pb.locator("#cluster-owner")).to_have_text("(yours)")
    pb.get_by_role("tab", name="Config", exact=True).click()
    expect(pb.get_by_text("bobs-notes")).to_be_visible(timeout=TIMEOUT)
    assert "bobs-notes" in kube_b.ok("get", "configmaps")
    assert "bobs-notes" not in kube_a.ok("get", "configmaps")
    pa.reload()
    _connected(pa)
    expect(pa.locator("#cluster-id")).to_have_text(a)
    expect(pa.locator("#sim-speed-value")).to_have_text("5×", timeout=TIMEOUT)
