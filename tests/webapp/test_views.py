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
