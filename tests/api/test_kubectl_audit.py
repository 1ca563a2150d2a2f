"""Real kubectl's requests in the audit trail: the admin user, kubectl's own User-Agent, the Kubernetes verb."""
from __future__ import annotations

import json

import pytest


@pytest.mark.kubectl
def test_kubectl_get_pods_is_a_list_by_the_admin(kubectl, api_server, namespace):
    since = api_server.call(lambda c: c.api.audit.seq)
    kubectl.ok("get", "pods")
    r = api_server.get("/ui/audit", params={"since": since})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in r.text.splitlines()]
    lists = [e for e in events if e["verb"] == "list" and e.get("objectRef", {}).get("resource") == "pods"]
    assert len(lists) == 1
    [event] = lists
    assert event["user"]["username"] == "kubernetes-admin"
    assert event["userAgent"].startswith("kubectl/")
    assert event["objectRef"]["namespace"] == namespace and event["responseStatus"]["code"] == 200
