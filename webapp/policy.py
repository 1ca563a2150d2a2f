"""Who may do what, on which cluster: the one policy the HTTP API, the socket and the pages all ask.

A request has a ``Principal`` (from its session cookie or bearer token, ``principal_from_environ``)
and names a cluster; ``authorize`` lets it through or raises the error kube-apiserver would send:

* ``Unauthorized`` (401, message ``Unauthorized``, or a sentence saying what to do when the reason
  is known) for a class-mode request without valid credentials;
* ``Forbidden`` (403) in the authorization filter's shape (k8s.io/apiserver
  ``responsewriters.forbiddenMessage`` wrapped by apimachinery ``errors.NewForbidden``)::

      pods "web-1" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "default"
      deployments.apps "web" is forbidden: User "alice" cannot update resource "deployments/scale" in API group ...
      nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope

  with ``details`` ``{"name", "group", "kind": <resource without subresource>}`` as NewForbidden sets them.

The rules depend on the role and the cluster only, never on the resource: admin (no class mode) and
instructor may do everything everywhere; a student everything on their own cluster and the read
verbs on the demo cluster; a viewer the read verbs everywhere. The simulation itself (speed, pause,
reset, drills) is the resource ``simulation`` of API group ``kubedrill.io``, named by the cluster id,
and changing it is the verb ``control``, so only the owner and the instructor pass.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from flask import current_app, g, request
from werkzeug.http import parse_cookie

from engine.apiserver.manifests import parse_manifests
from engine.apiserver.resources import by_kind, by_kind_name, find_plural
from engine.errors import Forbidden, StatusError, Unauthorized

from .classroom.tokens import split_credential

if TYPE_CHECKING:
    from .classroom.store import ClassStore

SESSION_COOKIE = "kubedrill_session"
DEMO_CLUSTER = "demo"            # the instructor's / single user's cluster (webapp.hub.DEFAULT_CLUSTER)
READ_VERBS = frozenset({"get", "list", "watch"})
CONTROL = "control"              # the verb of the simulation controls
SIMULATION = "simulation"        # ... and their resource,
SIM_GROUP = "kubedrill.io"       # in this API group (not served: it only names the controls in messages)
ROLES = ("admin", "instructor", "student", "viewer", "anonymous")


@dataclass(frozen=True)
class Principal:
    role: str                      # one of ROLES
    name: str                      # the Kubernetes user name messages show: "alice", "instructor", "viewer"
    cluster: str | None = None     # a student's own cluster
    refused: str = ""              # anonymous only: why the credentials offered were refused ("" = none offered)


ADMIN = Principal("admin", "kubernetes-admin")   # everybody outside class mode: kubeadm's admin, as audited
ANONYMOUS = Principal("anonymous", "system:anonymous")


def allowed(p: Principal, verb: str, cluster: str) -> bool:
    """May ``p`` do ``verb`` on cluster ``cluster``? (The whole rule set; everything else explains it.)"""
    if p.role in ("admin", "instructor"):
        return True
    if p.role == "student":
        return cluster == p.cluster or (cluster == DEMO_CLUSTER and verb in READ_VERBS)
    if p.role == "viewer":
        return verb in READ_VERBS
    return False


def authorize(p: Principal, verb: str, cluster: str, *, resource: str = "", group: str = "",
              namespace: str | None = None, name: str | None = None, path: str | None = None) -> None:
    """Return if ``allowed``, else raise Unauthorized (anonymous) or Forbidden in kube-apiserver's words.

    ``resource`` is the plural, with ``/<subresource>`` when there is one (``deployments/scale``);
    ``namespace`` None or "" means cluster-scoped. A ``simulation`` without a name is the cluster's
    own (its name is the cluster id). ``resource=""`` is a non-resource request: give its ``path``.
    """
    if allowed(p, verb, cluster):
        return
    if p.role == "anonymous":
        raise Unauthorized(p.refused or "Unauthorized")
    if resource == SIMULATION and name is None:
        name = cluster
    raise forbidden(p, verb, resource=resource, group=group, namespace=namespace, name=name, path=path)


def authorize_class(p: Principal, verb: str, resource: str, *, viewer: bool = False) -> None:
    """The class's own endpoints (grid, roster, reports, join code, bulk): the instructor's.

    ``viewer``: a read (``verb`` in READ_VERBS) the read-only link may do too (the grid, the roster).
    Refused like a cluster-scoped resource of ``kubedrill.io``: ``reports.kubedrill.io is forbidden: ...``.
    """
    if p.role in ("admin", "instructor") or (viewer and p.role == "viewer" and verb in READ_VERBS):
        return
    if p.role == "anonymous":
        raise Unauthorized(p.refused or "Unauthorized")
    raise forbidden(p, verb, resource=resource, group=SIM_GROUP)


def forbidden(p: Principal, verb: str, *, resource: str = "", group: str = "", namespace: str | None = None,
              name: str | None = None, path: str | None = None) -> Forbidden:
    """The 403 kube-apiserver sends when ``p`` may not ``verb`` the resource (or the path)."""
    plural = resource.split("/", 1)[0]
    user = _quote(p.name)
    if not resource:
        # kube-apiserver: NewForbidden with an empty GroupResource, "forbidden: " + the path message
        what = f"path {_quote(path)}" if path is not None else "resources"
        return Forbidden(f"forbidden: User {user} cannot {verb} {what}")
    scope = f"in the namespace {_quote(namespace)}" if namespace else "at the cluster scope"
    reason = (f"User {user} cannot {verb} resource {_quote(resource)} in API group {_quote(group)} {scope}")
    qualified = f"{plural}.{group}" if group else plural
    subject = f"{qualified} {_quote(name)}" if name else qualified
    return Forbidden(f"{subject} is forbidden: {reason}", name=name or "", group=group, kind=plural)


def why_not(p: Principal, verb: str, cluster: str) -> str:
    """The sentence a disabled control shows (empty when ``p`` may ``verb`` on ``cluster``)."""
    if allowed(p, verb, cluster):
        return ""
    if p.role == "anonymous":
        return p.refused or "Sign in first: join the class with its code."
    if p.role == "viewer":
        return "This is a read-only view."
    if p.role == "student" and cluster == DEMO_CLUSTER:
        return "The demo cluster is the instructor's: you can watch it, not change it."
    if p.role == "student":
        return "This cluster belongs to another student: you can only use your own."
    return "You may not do this here."


def authorize_action(p: Principal, cluster: str, action_type: str, args: Mapping[str, Any]) -> None:
    """``authorize`` a dashboard action; the refusal's details are worked out only when it is refused."""
    # Every verb but apply's comes from the type alone; apply's details need the manifest parsed.
    verb = "create" if action_type == "apply" else action_verb(action_type, args)[0]
    if allowed(p, verb, cluster):
        return
    verb, resource, group, namespace, name = action_verb(action_type, args)
    authorize(p, verb, cluster, resource=resource, group=group, namespace=namespace, name=name)


# ---------------------------------------------------------------------- dashboard actions
# What each socket action (webapp.control.ACTIONS) amounts to in Kubernetes verbs. Faults injected
# on an object (crash a container, fail readiness, power a node off or on) are "update" of that
# object: they change its state the way a write does. Cordon, uncordon, drain, set image and rollback
# are "patch", which is what kubectl sends for them (drain patches the node before evicting).
_POD_WRITES = {"pod.delete": "delete", "pod.crash": "update", "pod.readiness": "update"}
_NODE_WRITES = {"node.power_off": "update", "node.power_on": "update", "node.cordon": "patch",
                "node.uncordon": "patch", "node.drain": "patch"}
_WORKLOAD_WRITES = {"workload.scale": ("update", "/scale"), "workload.set_image": ("patch", ""),
                    "workload.rollback": ("patch", "")}
_SIM_READS = {"drill.list": "list", "drill.status": "get"}


def action_verb(action_type: str, args: Mapping[str, Any]) -> tuple[str, str, str, str | None, str | None]:
    """``(verb, resource, group, namespace, name)`` a dashboard action amounts to.

    ``sim.*`` and ``drill.*`` are ``control`` of the ``simulation`` (``drill.list`` and
    ``drill.status`` are reads of it); an action type this table does not know is ``control`` too, so
    that a new action is refused to everyone but the owner until it is given its verb here. For
    ``apply`` (verb ``create``) the resource is the manifest's first object's, which takes a parse of
    the manifest: ``authorize_action`` only pays it for a refusal.
    """
    ns, name = _text(args.get("namespace")), _text(args.get("name"))
    if action_type in _POD_WRITES:
        return _POD_WRITES[action_type], "pods", "", ns, name
    if action_type in _NODE_WRITES:
        return _NODE_WRITES[action_type], "nodes", "", None, name
    if action_type in _WORKLOAD_WRITES:
        verb, sub = _WORKLOAD_WRITES[action_type]
        rt = by_kind_name(str(args.get("kind", "")))
        plural, group = (rt.plural, rt.group) if rt else (str(args.get("kind", "")).lower() + "s", "apps")
        return verb, plural + sub, group, ns, name
    if action_type == "object.delete":
        resource = _text(args.get("resource")) or ""
        rt = find_plural(resource)
        return "delete", resource, rt.group if rt else "", ns or None, name
    if action_type == "apply":
        return ("create", *_first_object(args.get("yaml")))
    if action_type in _SIM_READS:
        resource = "drills" if action_type == "drill.list" else SIMULATION
        return _SIM_READS[action_type], resource, SIM_GROUP, None, None
    return CONTROL, SIMULATION, SIM_GROUP, None, None


def _first_object(manifest: Any) -> tuple[str, str, str | None, str | None]:
    """``(resource, group, namespace, name)`` of a manifest's first object; ``("", "", None, None)`` if none."""
    try:
        objects = parse_manifests(manifest) if isinstance(manifest, str) else []
    except StatusError:
        objects = []
    if not objects:
        return "", "", None, None
    obj = objects[0]
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    rt = by_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if rt is None:
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        return str(obj.get("kind", "")).lower() + "s", group, _text(meta.get("namespace")), _text(meta.get("name"))
    namespace = (_text(meta.get("namespace")) or "default") if rt.namespaced else None
    return rt.plural, rt.group, namespace, _text(meta.get("name"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _quote(text: str | None) -> str:
    """Go's ``%q`` closely enough: double quotes, with quotes, backslashes and control characters escaped."""
    return json.dumps(text or "", ensure_ascii=False)


# ---------------------------------------------------------------------- credentials
def principal_from_environ(environ: Mapping[str, Any], sessions: "ClassStore | None") -> Principal:
    """The principal of a WSGI request (or Socket.IO handshake): ``ADMIN`` when not in class mode.

    Like kube-apiserver's union authenticator, the bearer token and the session cookie are tried in
    that order and the first valid one wins; when none is, the principal is anonymous and remembers
    why the first credential offered was refused (so the 401 can say what to do).
    """
    if sessions is None:
        return ADMIN
    refused = ""
    for credential in offered_credentials(environ):
        session, reason = sessions.lookup(credential)
        if session is not None:
            sessions.touch(session)
            return Principal(session.role, session.name, session.cluster)
        refused = refused or (reason or "")
    return Principal(ANONYMOUS.role, ANONYMOUS.name, refused=refused)


def offered_credentials(environ: Mapping[str, Any]) -> list[str]:
    """The credentials a request offers, in the order they are tried: bearer (or Basic password), then cookie."""
    found = []
    scheme, _, value = str(environ.get("HTTP_AUTHORIZATION", "")).strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        found.append(value.strip())
    elif scheme.lower() == "basic" and value.strip():
        # kubectl sends no token to a plain-http server, only the kubeconfig server URL's userinfo
        # (webapp.kube_api.kubeconfig): its password is the token, the user name is not checked.
        try:
            password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            password = ""
        if split_credential(password) is not None:   # another kind of password is no credential of ours
            found.append(password)
    cookie = parse_cookie(environ.get("HTTP_COOKIE", "")).get(SESSION_COOKIE)
    if cookie:
        found.append(cookie)
    return found


def current_principal() -> Principal:
    """The principal of the Flask request being served (worked out once per request)."""
    principal = g.get("kubedrill_principal")
    if principal is None:
        principal = principal_from_environ(request.environ, current_app.extensions.get("kubedrill.class"))
        g.kubedrill_principal = principal
    return principal
