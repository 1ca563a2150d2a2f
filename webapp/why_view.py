"""``GET <cluster base>/ui/why?resource=<plural>&namespace=<ns>&name=<name>``: why an object is as it is.

The chain of requests that led to it, oldest first, read back from the audit trail by
``engine.causality`` (the inspector's "Why?" tab). ``namespace`` is empty for a cluster-scoped
object. An object that is gone still has its chain while the trail remembers it; one neither in the
store nor in the trail is a 404. Bad parameters are a 400 ``Status`` naming them.
"""
from __future__ import annotations

from flask import request

from engine.apiserver.resources import find_plural
from engine.apiserver.validation.common import dns1123_label_errors, dns1123_subdomain_errors
from engine.errors import BadRequest, Cause, NotFound

from .hub import current_runtime
from .views import ui_blueprint

why_bp = ui_blueprint("why", {"why": {"resource", "namespace", "name"}})


def _bad(param: str, why: str) -> BadRequest:
    return BadRequest(f'query parameter "{param}": {why}', causes=[Cause(param, why)])


@why_bp.get("/ui/why")
def why() -> dict:
    resource = request.args.get("resource", "")
    rt = find_plural(resource) if resource else None
    if rt is None:
        raise _bad("resource", f'"{resource}" is not a resource this server serves (e.g. "pods")' if resource
                   else "required")
    namespace = request.args.get("namespace", "")
    if rt.namespaced and not namespace:
        raise _bad("namespace", f"required: {rt.plural} are namespaced")
    if namespace and dns1123_label_errors(namespace):
        raise _bad("namespace", f'"{namespace}": {dns1123_label_errors(namespace)[0]}')
    name = request.args.get("name", "")
    if not name or dns1123_subdomain_errors(name):
        raise _bad("name", f'"{name}": {dns1123_subdomain_errors(name)[0]}' if name else "required")
    runtime = current_runtime()

    def explain() -> dict:
        answer = runtime.cluster.why.explain(rt.plural, namespace if rt.namespaced else "", name)
        if not answer["object"]["exists"] and not answer["chain"]:
            raise NotFound.of(rt.plural, rt.group, name)
        return answer

    return runtime.call(explain)
