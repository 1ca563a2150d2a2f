"""The audit trail: every API request as a Kubernetes audit event (``audit.k8s.io/v1`` ``Event``, level Metadata).

Who records what:

* a component's write is recorded by the API server method it calls, under the identity of the
  ``AuditedClient`` the component was built with (``api.as_user(...)``). Components read from the
  store, as informers read their cache: those reads are no API requests and are not audited;
* a request of the HTTP API (kubectl) is recorded once, by the web layer, with its URI, status code
  and user agent; the engine calls it makes are part of that one request (``serving``);
* a write nobody claimed (a dashboard action, a drill step, a test) is the cluster admin's.

Entries are kept as tuples and become dicts only when read: recording must stay cheap, since the
kubelets and controllers write all the time. ``seq`` is our addition, a counter without gaps that
``since`` pages by. At most ``MAX_EVENTS`` are kept; the oldest are dropped first.
"""
from __future__ import annotations

import datetime as _dt
import functools
import uuid
from collections import deque
from contextlib import contextmanager
from itertools import islice
from typing import Any, Callable, Iterator

from ..clock import EPOCH_SECONDS
from ..errors import StatusError
from ..objects import meta_of
from . import resources

MAX_EVENTS = 20_000
SYSTEM_MASTERS = ("system:masters", "system:authenticated")
_AUDIT_NS = uuid.UUID("6f1c8c1e-5b1a-4d0e-9a57-6b7562656472")  # fixed: auditIDs depend on salt and seq only


class Identity(tuple):
    """(username, groups, userAgent): who makes a request, as the authenticator hands it to the audit filter."""

    __slots__ = ()

    def __new__(cls, username: str, groups: tuple[str, ...] = ("system:authenticated",),
                user_agent: str = "") -> "Identity":
        return tuple.__new__(cls, (username, tuple(groups), user_agent))


# The kubeadm cluster-admin credential (admin.conf): what acts when nobody else claims a write.
ADMIN = Identity("kubernetes-admin", SYSTEM_MASTERS, "kubedrill")
# kube-apiserver's own loopback client, which creates the system namespaces.
APISERVER = Identity("system:apiserver", SYSTEM_MASTERS, "kube-apiserver")
SCHEDULER = Identity("system:kube-scheduler", user_agent="kube-scheduler/v1.32.0")


def service_account(name: str, namespace: str = "kube-system", user_agent: str = "") -> Identity:
    return Identity(f"system:serviceaccount:{namespace}:{name}",
                    ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
                    user_agent or "kube-controller-manager/v1.32.0")


def node(name: str) -> Identity:
    return Identity(f"system:node:{name}", ("system:nodes", "system:authenticated"), "kubelet/v1.32.0")


def short_name(identity: Identity) -> str:
    """Who, in a few words: ``alice (kubectl)``, ``alice (dashboard)``, ``node-controller``, ``kubelet on node-2``."""
    user, _, agent = identity
    if user.startswith("system:serviceaccount:"):
        return user.rsplit(":", 1)[1]
    if user.startswith("system:node:"):
        return f"kubelet on {user[len('system:node:'):]}"
    if user == "system:kube-scheduler":
        return "kube-scheduler"
    client = agent.split("/", 1)[0].strip()[:32]
    client = {"kubedrill-dashboard": "dashboard", "": "api"}.get(client, client)
    return f"{user} ({client})"


def _micro(sim_seconds: float) -> str:
    micros = int(round(sim_seconds * 1_000_000))
    stamp = _dt.datetime.fromtimestamp(EPOCH_SECONDS, tz=_dt.timezone.utc) + _dt.timedelta(microseconds=micros)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def request_uri(rt: resources.ResourceType | None, namespace: str, name: str, sub: str) -> str:
    """The URI the request would have had over HTTP (a create names no object)."""
    if rt is None:
        return "/api"
    path = f"/apis/{rt.group}/{rt.version}" if rt.group else "/api/v1"
    if rt.namespaced and namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{rt.plural}"
    if name:
        path += f"/{name}"
    if sub:
        path += f"/{sub}"
    return path


class AuditLog:
    """The bounded, in-memory audit trail of one API server."""

    def __init__(self, salt: str = "", max_events: int = MAX_EVENTS):
        self.entries: deque[tuple] = deque(maxlen=max_events)
        self.seq = 0               # the last seq handed out
        self.actor: Identity = ADMIN
        self.initiator: Identity = ADMIN   # the user whose request is being served, through the components' writes
        self.depth = 0             # > 0: inside a request already being audited (its inner calls are part of it)
        self.salt = salt           # makes auditIDs differ between clusters and across a restart, not between runs
        self.behalf = ""           # finer than the identity: the chaos object a fault injection acts for

    @property
    def max_events(self) -> int:
        return self.entries.maxlen or 0

    @property
    def oldest_seq(self) -> int:
        """The oldest seq still held (``seq + 1`` while the log is empty)."""
        return self.entries[0][0] if self.entries else self.seq + 1

    def record(self, now: float, verb: str, rt: resources.ResourceType | None, namespace: str, name: str,
               sub: str, code: int, rv: str = "", error: StatusError | None = None, *,
               actor: Identity | None = None, uri: str = "", stage: str = "ResponseComplete") -> int:
        self.seq += 1
        failure = (error.reason, error.message) if error is not None else None
        self.entries.append((self.seq, now, actor or self.actor, verb, rt, namespace, name, sub, code, rv,
                             failure, uri, stage))
        return self.seq

    def since(self, seq: int, limit: int) -> list[dict]:
        """Up to ``limit`` events with a seq above ``seq``, oldest first (seqs are contiguous in the deque)."""
        start = max(0, seq + 1 - self.oldest_seq)
        return [self._event(entry) for entry in islice(self.entries, start, start + limit)]

    def _event(self, entry: tuple) -> dict:
        seq, now, (user, groups, agent), verb, rt, ns, name, sub, code, rv, failure, uri, stage = entry
        ref: dict[str, Any] = {}
        if rt is not None:
            ref["resource"] = rt.plural
            if sub:
                ref["subresource"] = sub
            if ns and rt.namespaced:
                ref["namespace"] = ns
            if name:
                ref["name"] = name
            ref["apiGroup"] = rt.group
            ref["apiVersion"] = rt.version
            if rv:
                ref["resourceVersion"] = rv
        status: dict[str, Any] = {"metadata": {}, "code": code}
        if failure is not None:
            status.update(status="Failure", reason=failure[0], message=failure[1])
        stamp = _micro(now)
        event = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
                 "auditID": str(uuid.uuid5(_AUDIT_NS, f"{self.salt}/{seq}")), "stage": stage,
                 "requestURI": uri or request_uri(rt, ns, "" if verb == "create" and not sub else name, sub),
                 "verb": verb, "user": {"username": user, "groups": list(groups)}, "userAgent": agent}
        if ref:
            event["objectRef"] = ref
        event.update(responseStatus=status, requestReceivedTimestamp=stamp, stageTimestamp=stamp, seq=seq)
        return event

    @contextmanager
    def suppressed(self) -> Iterator[None]:
        """Calls made inside are part of a request audited elsewhere (an HTTP request, event expiry)."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    @property
    def claimed(self) -> bool:
        """Is somebody known acting now (a user, a component's write, a chaos object), not the unclaimed admin?"""
        return bool(self.behalf) or self.initiator is not ADMIN or self.actor is not ADMIN

    @property
    def blame(self) -> Identity:
        """Whom what happens now is owed to: the user being served, else the component writing."""
        return self.initiator if self.initiator is not ADMIN else self.actor

    @contextmanager
    def on_behalf_of(self, label: str) -> Iterator[None]:
        """What happens inside is done for ``label`` (``chaos:<name>``): chart markers name it."""
        saved, self.behalf = self.behalf, label
        try:
            yield
        finally:
            self.behalf = saved

    def serving(self, identity: Identity):
        """An HTTP request of ``identity``, audited once by the web layer: its engine calls are not
        recorded again, but what they cause (a chart marker) is still ``identity``'s doing."""
        return self._as(identity, self.depth + 1)

    def acting(self, identity: Identity):
        """Writes made inside are ``identity``'s own requests (a dashboard user's action)."""
        return self._as(identity, 0)

    @contextmanager
    def _as(self, identity: Identity, depth: int) -> Iterator[None]:
        saved = self.actor, self.initiator, self.depth
        self.actor, self.initiator, self.depth = identity, identity, depth
        try:
            yield
        finally:
            self.actor, self.initiator, self.depth = saved


# ---------------------------------------------------------------------- what a server method touched
# Each takes the call's (args, kwargs, result or None) and returns (rt, namespace, name, subresource).


def _of_object(obj: Any, namespace: Any = None, sub: str = "") -> tuple:
    meta = meta_of(obj) if isinstance(obj, dict) else {}
    rt = resources.by_kind(obj.get("apiVersion"), obj.get("kind")) if isinstance(obj, dict) else None
    ns = meta.get("namespace") or namespace or ("default" if rt is not None and rt.namespaced else "")
    name = meta.get("name")
    return rt, ns if isinstance(ns, str) else "", name if isinstance(name, str) else "", sub or ""


def body_target(args: tuple, kwargs: dict, result: Any) -> tuple:
    """create/update(obj, namespace?, subresource=?): the stored object when there is one, else the body."""
    obj = result if isinstance(result, dict) else (args[0] if args else kwargs.get("obj"))
    namespace = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("namespace")
    return _of_object(obj, namespace, kwargs.get("subresource") or "")


def status_target(args: tuple, kwargs: dict, result: Any) -> tuple:
    return body_target(args, kwargs, result)[:3] + ("status",)


def named_target(sub: str = "", resource: str = "") -> Callable[[tuple, dict, Any], tuple]:
    """Methods taking (resource, namespace, name, ...), or (namespace, name, ...) when ``resource`` is fixed."""
    def target(args: tuple, kwargs: dict, result: Any) -> tuple:
        plural, rest = (resource, args) if resource else (args[0] if args else "", args[1:])
        ns = rest[0] if rest and isinstance(rest[0], str) else ""
        name = rest[1] if len(rest) > 1 and isinstance(rest[1], str) else ""
        return (resources.find_plural(plural) if isinstance(plural, str) else None, ns, name,
                sub or kwargs.get("subresource") or "")
    return target


def audited(verb: str, target: Callable[[tuple, dict, Any], tuple], code: int = 200) -> Callable:
    """Record each outermost call of an API server method as one request of the acting identity."""
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def method(self, *args: Any, **kwargs: Any) -> Any:
            log = self.audit
            if log.depth:
                return fn(self, *args, **kwargs)
            log.depth = 1
            try:
                result = fn(self, *args, **kwargs)
            except StatusError as err:
                rt, ns, name, sub = target(args, kwargs, None)
                log.record(self.clock.now, verb, rt, ns, name, sub, err.code, error=err)
                raise
            finally:
                log.depth = 0
            rt, ns, name, sub = target(args, kwargs, result)
            rv = meta_of(result).get("resourceVersion", "") if isinstance(result, dict) else ""
            log.record(self.clock.now, verb, rt, ns, name, sub, code, rv)
            return result
        return method
    return decorate


class AuditedClient:
    """A component's handle on the API server: the same methods, each call made as ``identity``.

    Everything is the server's; only the write methods (``WRITES``) set the acting identity for the
    duration of the call, so that what the server records, and any Event the call records, is theirs.
    """

    __slots__ = ("_server", "_identity")
    WRITES = ("create", "create_internal", "update", "update_internal", "update_status", "patch", "delete",
              "delete_internal", "finish_pod_termination", "remove_finalizer", "update_scale", "patch_scale",
              "bind", "evict", "update_event", "record_event", "apply_manifest")

    def __init__(self, server: Any, identity: Identity):
        object.__setattr__(self, "_server", server)
        object.__setattr__(self, "_identity", identity)

    @property
    def identity(self) -> Identity:
        return self._identity

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._server, name, value)   # e.g. chaos stopping the API server (``available``)


def _acting(name: str) -> Callable:
    def call(self: AuditedClient, *args: Any, **kwargs: Any) -> Any:
        log = self._server.audit
        saved = log.actor, log.depth
        log.actor, log.depth = self._identity, 0
        try:
            return getattr(self._server, name)(*args, **kwargs)
        finally:
            log.actor, log.depth = saved
    call.__name__ = name
    return call


for _name in AuditedClient.WRITES:
    setattr(AuditedClient, _name, _acting(_name))
