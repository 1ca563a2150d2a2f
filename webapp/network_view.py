"""The Networking tab's two read-only endpoints: trace a connection, and kube-proxy's rules on a node.

* ``GET /ui/trace?from=<namespace>/<pod>&to=<target>``: ``engine.network.trace`` (the pattern,
  the hops, or where and why it fails). ``to`` is ``localhost[:port]``, an IP, a Service or pod
  DNS name, or ``<node>:<nodePort>``.
* ``GET /ui/proxy-rules?node=<node>[&service=<namespace>/<name>]``: ``engine.network.iptables``
  (structured chains plus ``iptables-save`` text).

Both answer for the request's cluster (``/c/<id>/ui/...`` too). Bad input is a 400 ``Status`` naming
the parameter, an unknown pod, node or Service a 404; neither changes the simulation: the tracer
draws from its own random stream, never the cluster's.
"""
from __future__ import annotations

import re

from flask import request

from engine.apiserver.validation.common import dns1123_label_errors, dns1123_subdomain_errors
from engine.errors import BadRequest, Cause, NotFound

from .hub import current_runtime
from .views import ui_blueprint

bp = ui_blueprint("network_view", {"trace": {"from", "to"}, "proxy_rules": {"node", "service"}})
# A host (name or IPv4) with an optional numeric port: what the tracer can follow.
_TARGET = re.compile(r"^(?P<host>[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9.])?)(:(?P<port>[0-9]{1,5}))?$")


def _bad(param: str, why: str) -> BadRequest:
    return BadRequest(f'query parameter "{param}": {why}', causes=[Cause(param, why)])


def _required(param: str) -> str:
    value = request.args.get(param, "").strip()
    if not value:
        raise _bad(param, "required")
    return value


def _namespaced(param: str, value: str) -> tuple[str, str]:
    """``<namespace>/<name>`` with a valid namespace (DNS-1123 label) and name (DNS-1123 subdomain)."""
    ns, sep, name = value.partition("/")
    if not sep or "/" in name:
        raise _bad(param, f'"{value}" is not <namespace>/<name>')
    errors = dns1123_label_errors(ns) + dns1123_subdomain_errors(name)
    if errors:
        raise _bad(param, f'"{value}": {errors[0]}')
    return ns, name


def _target(value: str) -> str:
    match = _TARGET.match(value)
    if match is None:
        raise _bad("to", f'"{value}" is not a host[:port] (localhost, an IP, a DNS name or <node>:<nodePort>)')
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise _bad("to", f'"{value}": port must be between 1 and 65535, inclusive')
    return value


@bp.get("/ui/trace")
def trace() -> dict:
    """Follow one connection from a pod to ``to`` through the simulated network."""
    ns, name = _namespaced("from", _required("from"))
    target = _target(_required("to"))
    runtime = current_runtime()

    def run() -> dict:
        cluster = runtime.cluster     # read under the lock: a reset replaces it
        if cluster.store.find("pods", ns, name) is None:
            raise NotFound.of("pods", "", name)
        return cluster.network.trace((ns, name), target)

    result = runtime.call(run)
    return {"from": f"{ns}/{name}", "to": target, **result}


@bp.get("/ui/proxy-rules")
def proxy_rules() -> dict:
    """kube-proxy's iptables rules on ``node``, for one Service or all of them."""
    node = _required("node")
    errors = dns1123_subdomain_errors(node)
    if errors:
        raise _bad("node", f'"{node}": {errors[0]}')
    service = request.args.get("service")
    key = _namespaced("service", service) if service is not None else None
    runtime = current_runtime()

    def rules() -> dict:
        cluster = runtime.cluster
        if cluster.store.find("nodes", "", node) is None:
            raise NotFound.of("nodes", "", node)
        if key is not None and cluster.store.find("services", *key) is None:
            raise NotFound.of("services", "", key[1])
        return cluster.network.node_rules(node, None if key is None else [key])

    return runtime.call(rules)
