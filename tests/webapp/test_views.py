"""The dashboard page: rendered with the runtime's profile/seed and the projector flag, text escaped."""
from __future__ import annotations

import jinja2
import pytest


def test_index_serves_the_dashboard_html(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    assert b'data-seed="1"' in r.data
    assert b'data-projector="0"' in r.data


def test_projector_flag_reaches_the_page(client):
    r = client.get("/?projector=1")
    assert r.status_code == 200 and b'data-projector="1"' in r.data


@pytest.mark.app_config(PROFILE="kubernetes", SEED=42)
def test_index_context_carries_profile_seed_and_projector(app, client):
    app.jinja_env.loader = jinja2.DictLoader({"index.html": "{{ profile }}|{{ seed }}|{{ projector }}"})
    assert client.get("/?projector=1").get_data(as_text=True) == "kubernetes|42|True"
    assert client.get("/").get_data(as_text=True) == "kubernetes|42|False"


def test_user_text_is_escaped_not_rendered_as_html(app, client):
    app.jinja_env.loader = jinja2.DictLoader({"index.html": "{{ request.args.get('q', '') }}"})
    body = client.get("/?q=<script>alert(1)</script>").get_data(as_text=True)
    assert body == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_unknown_ui_path_is_404(client):
    assert client.get("/ui/nothing-here").status_code == 404


@pytest.mark.app_config(PROFILE="kubernetes")
def test_profile_values_are_served(client):
    body = client.get("/ui/profile").get_json()
    assert body["name"] == "kubernetes"
    assert body["values"]["node_monitor_grace_period"] == 50.0
    assert body["values"]["default_toleration_seconds"] == 300
    assert body["values"]["crash_backoff_max"] == 300.0


def test_demo_profile_compresses_the_slow_timers(client):
    values = client.get("/ui/profile").get_json()["values"]
    assert values["node_monitor_grace_period"] < 50 and values["default_toleration_seconds"] < 300


def test_traffic_series_of_the_demo_web_service(runtime, client):
    runtime.advance(20.0)
    body = client.get("/ui/traffic/default/web").get_json()
    assert body["stats"]["rps"] == 20
    assert body["series"] and body["series"][-1]["sent"] == 20
