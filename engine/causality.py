"""The why of a change: the chain of requests that led to an object, read back from the audit trail.

Controllers do not say why they act: they watch, compare desired with observed, and write. So the
chain is rebuilt the way a person reads an audit log, one rule per component (each the trigger that
component's sync loop reacts to):

* a pod the ReplicaSet (StatefulSet, DaemonSet) controller created: the latest change before it that
  left the owner short of pods — a pod of that owner deleted or evicted by anyone, or the owner
  created or scaled; a ReplicaSet the Deployment controller created or scaled: the latest change of
  the Deployment's spec before it. Each cause is traced back the same way, up to a user's request.
* then forward from the pod's creation: the scheduler's binding, the kubelet's first and last status
  writes before it became Ready, the EndpointSlice controller's write that added its IP, and
  kube-proxy's reprogramming (a watch, not a request: its time is when its rules last changed).

The chain can only reach as far back as the bounded audit trail; ``complete`` says whether it did.
Cost: one pass over the trail per question (at most ``audit.MAX_EVENTS`` entries), only when asked.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from .apiserver.audit import AuditLog
from .objects import labels_of, meta_of, owner_controller, pod_ready, spec_of, status_of
from .selectors import LabelSelector

SA_PREFIX = "system:serviceaccount:kube-system:"
NODE_PREFIX = "system:node:"
COMPONENTS = {   # the controller manager's service accounts, as a teacher names them
    "replicaset-controller": "the ReplicaSet controller", "deployment-controller": "the Deployment controller",
    "statefulset-controller": "the StatefulSet controller", "daemon-set-controller": "the DaemonSet controller",
    "endpointslice-controller": "the EndpointSlice controller", "endpoint-controller": "the Endpoints controller",
    "node-controller": "the node lifecycle controller", "generic-garbage-collector": "the garbage collector",
    "namespace-controller": "the namespace controller", "persistent-volume-binder": "the volume binder",
    "attachdetach-controller": "the attach/detach controller", "service-controller": "the service controller",
    "chaos-controller-manager": "the chaos controller",
}
OWNER_CONTROLLERS = {"ReplicaSet": "replicaset-controller", "StatefulSet": "statefulset-controller",
                     "DaemonSet": "daemon-set-controller"}
MAX_DEPTH = 6        # causes followed back; a longer chain is cut with complete=False


def who(username: str) -> str:
    """A component's name as a teacher says it, or the user's name."""
    if username == "system:kube-scheduler":
        return "the scheduler"
    if username.startswith(NODE_PREFIX):
        return f"the kubelet on {username[len(NODE_PREFIX):]}"
    if username.startswith(SA_PREFIX):
        account = username[len(SA_PREFIX):]
        return COMPONENTS.get(account, account)
    return username


def is_component(username: str) -> bool:
    return username.startswith(("system:",))


class _Trail:
    """The audit entries as (seq, t, user, agent, verb, resource, namespace, name, sub, code), oldest first."""

    def __init__(self, log: AuditLog):
        self.rows = [(e[0], e[1], e[2][0], e[2][2], e[3], e[4].plural if e[4] is not None else "", e[5], e[6],
                      e[7], e[8]) for e in log.entries]

    def find(self, before: int | None = None, after: int | None = None, *, latest: bool = False, **want: Any):
        """The first (``latest``: last) successful entry with ``after < seq < before`` whose fields equal ``want``'s
        (or are in it, for a set)."""
        def match(row: tuple) -> bool:
            return all(_field(row, k) in v if isinstance(v, (set, frozenset)) else _field(row, k) == v
                       for k, v in want.items())
        return self.find_where(match, before, after, latest=latest)

    def find_where(self, pred: Callable[[tuple], bool], before: int | None = None, after: int | None = None, *,
                   latest: bool = False) -> tuple | None:
        rows: Iterable = reversed(self.rows) if latest else self.rows
        for row in rows:
            seq = row[0]
            if (before is not None and seq >= before) or (after is not None and seq <= after) or row[9] >= 400:
                continue
            if pred(row):
                return row
        return None


_FIELDS = {"seq": 0, "t": 1, "user": 2, "agent": 3, "verb": 4, "resource": 5, "namespace": 6, "name": 7, "sub": 8}


def _field(row: tuple, key: str) -> Any:
    return row[_FIELDS[key]]


def _step(row: tuple, text: str, kind: str = "request") -> dict:
    seq, t, user, agent, verb, resource, ns, name, sub = row[:9]
    return {"seq": seq, "t": t, "who": who(user), "user": user, "userAgent": agent, "verb": verb,
            "objectRef": {"resource": resource, "namespace": ns, "name": name, **({"subresource": sub} if sub else {})},
            "text": text, "kind": kind}


class Why:
    """Answers "why is this object the way it is?" for one cluster."""

    def __init__(self, api: Any, proxy: Any = None):
        self.api = api
        self.store = api.store
        self.proxy = proxy

    def explain(self, resource: str, namespace: str, name: str) -> dict:
        """``{"object", "chain": [step…], "complete"}``; steps oldest first, each with ``who`` and ``text``."""
        trail = _Trail(self.api.audit)
        obj = self.store.find(resource, namespace, name)
        created = trail.find(latest=True, verb="create", resource=resource, namespace=namespace, name=name, sub="")
        chain: list[dict] = []
        complete = created is not None
        if created is not None:
            complete = self._causes(trail, created, resource, namespace, name, obj, chain, 0)
            chain.append(_step(created, self._created_text(created, resource, name, obj)))
        if resource == "pods":
            chain.extend(self._pod_life(trail, namespace, name, obj, created))
        else:
            chain.extend(self._later_writes(trail, resource, namespace, name, created))
        return {"object": {"resource": resource, "namespace": namespace, "name": name, "exists": obj is not None},
                "chain": chain, "complete": complete}

    # ------------------------------------------------------------------ backwards: what made a controller act
    def _causes(self, trail: _Trail, row: tuple, resource: str, ns: str, name: str, obj: dict | None,
                chain: list[dict], depth: int) -> bool:
        """Prepend to ``chain`` the causes of the write ``row`` (the creation of ``resource`` ns/name)."""
        user = row[2]
        if not is_component(user):
            return True                                   # a user's request: the root
        if depth >= MAX_DEPTH:
            return False
        account = user[len(SA_PREFIX):] if user.startswith(SA_PREFIX) else ""
        owner = owner_controller(obj) if obj is not None else None
        if resource == "pods" and account in OWNER_CONTROLLERS.values():
            owner_name = owner.get("name") if owner else _owner_by_name(name)
            owner_kind = owner.get("kind") if owner else "ReplicaSet"
            cause = self._pod_shortfall(trail, row[0], ns, owner_kind, owner_name, name)
        elif resource == "replicasets" and account == "deployment-controller":
            dep = owner.get("name") if owner else name.rsplit("-", 1)[0]
            cause = trail.find_where(lambda r: r[5] == "deployments" and r[6] == ns and r[7] == dep and r[8] == ""
                                     and r[4] in ("create", "update", "patch") and r[2] != user, before=row[0],
                                     latest=True)
        else:
            return True                                   # a component acting on its own schedule: nothing to add
        if cause is None:
            return False
        complete = self._causes(trail, cause, cause[5], cause[6], cause[7], self.store.find(cause[5], cause[6],
                                                                                           cause[7]), chain, depth + 1)
        chain.append(_step(cause, self._cause_text(cause)))
        return complete

    @staticmethod
    def _pod_shortfall(trail: _Trail, before: int, ns: str, owner_kind: str, owner: str, pod: str) -> tuple | None:
        """The latest request before ``before`` that left the owner short of pods (or asked for more)."""
        plural = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}[owner_kind]
        prefix = f"{owner}-"

        def shortfall(r: tuple) -> bool:
            if r[6] != ns or r[2].startswith(NODE_PREFIX):   # a kubelet's delete only confirms an earlier one
                return False
            if r[5] == "pods":
                # A StatefulSet's replacement has the same name as the pod it replaces.
                sibling = r[7] == pod if owner_kind == "StatefulSet" else (r[7].startswith(prefix) and r[7] != pod)
                return sibling and (r[4] == "delete" or (r[4] == "create" and r[8] == "eviction"))
            return r[5] == plural and r[7] == owner and r[4] in ("create", "update", "patch") and r[8] in ("", "scale")
        return trail.find_where(shortfall, before=before, latest=True)

    def _cause_text(self, row: tuple) -> str:
        verb, resource, name, sub = row[4], row[5], row[7], row[8]
        actor = who(row[2])
        if resource == "pods" and sub == "eviction":
            return f"{actor} evicted pod {name}"
        if resource == "pods" and verb == "delete":
            return f"{actor} deleted pod {name}"
        if sub == "scale":
            return f"{actor} scaled {_kind(resource)} {name}"
        if verb == "create":
            return f"{actor} created {_kind(resource)} {name}"
        return f"{actor} changed {_kind(resource)} {name}"

    def _created_text(self, row: tuple, resource: str, name: str, obj: dict | None) -> str:
        actor = who(row[2])
        owner = owner_controller(obj) if obj is not None else None
        if owner is not None and is_component(row[2]):
            want = self._wanted(owner, row[6])
            seen = f" saw fewer pods than the {want} it wants and" if want is not None and resource == "pods" else ""
            return f"{actor}{seen} created {_kind(resource)} {name}"
        return f"{actor} created {_kind(resource)} {name}"

    def _wanted(self, owner: dict, ns: str) -> int | None:
        plural = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets"}.get(owner.get("kind", ""))
        found = self.store.find(plural, ns, owner.get("name", "")) if plural else None
        replicas = spec_of(found).get("replicas") if found is not None else None
        return replicas if isinstance(replicas, int) else None

    # ------------------------------------------------------------------ forwards: a pod's life after its creation
    def _pod_life(self, trail: _Trail, ns: str, name: str, pod: dict | None, created: tuple | None) -> list[dict]:
        steps: list[dict] = []
        after = created[0] if created is not None else None
        bind = trail.find(after=after, verb="create", resource="pods", namespace=ns, name=name, sub="binding")
        if bind is not None:
            node = spec_of(pod).get("nodeName", "") if pod is not None else ""
            steps.append(_step(bind, f"the scheduler bound it to {node}" if node else "the scheduler bound it"))
            statuses = [r for r in trail.rows if r[0] > bind[0] and r[9] < 400 and r[4] in ("update", "patch")
                        and r[5] == "pods" and r[6] == ns and r[7] == name and r[8] == "status"
                        and r[2].startswith(NODE_PREFIX)]
            if statuses:
                steps.append(_step(statuses[0], f"{who(statuses[0][2])} began starting it (image pull, then its containers)"))
            if pod is not None and pod_ready(pod) and len(statuses) > 1:
                steps.append(_step(statuses[-1], f"{who(statuses[-1][2])} reported it Ready"))
            ready_at = statuses[-1][0] if statuses else bind[0]
            steps.extend(self._endpoints(trail, ns, name, pod, ready_at))
        deleted = trail.find_where(lambda r: r[4] == "delete" and r[5] == "pods" and r[6] == ns and r[7] == name
                                   and not r[2].startswith(NODE_PREFIX), after=after, latest=True)
        if deleted is not None:
            steps.append(_step(deleted, self._cause_text(deleted)))
        steps.sort(key=lambda s: s["seq"])
        return steps

    def _endpoints(self, trail: _Trail, ns: str, name: str, pod: dict | None, after: int) -> list[dict]:
        if pod is None or not pod_ready(pod):
            return []
        ip = status_of(pod).get("podIP", "")
        steps = []
        for svc in self.store.list("services", ns):
            selector = spec_of(svc).get("selector")
            if not selector or not LabelSelector.from_dict(selector).matches(labels_of(pod)):
                continue
            svc_name = meta_of(svc).get("name", "")
            slices = {meta_of(s).get("name") for s in self.store.list("endpointslices", ns)
                      if labels_of(s).get("kubernetes.io/service-name") == svc_name}
            row = trail.find(after=after, verb={"create", "update", "patch"}, resource="endpointslices",
                             namespace=ns, name=frozenset(slices),
                             user=SA_PREFIX + "endpointslice-controller")
            if row is None:
                continue
            steps.append(_step(row, f"the EndpointSlice controller added its IP {ip} to Service {svc_name}"))
            synced = self._proxy_synced(ns, svc_name, ip)
            if synced is not None:
                nodes = len(self.store.list("nodes"))
                steps.append({"seq": row[0], "t": max(synced, row[1]), "who": "kube-proxy", "user": "kube-proxy",
                              "userAgent": "", "verb": "watch",
                              "objectRef": {"resource": "endpointslices", "namespace": ns, "name": row[7]},
                              "text": f"kube-proxy on all {nodes} nodes reprogrammed Service {svc_name}'s rules",
                              "kind": "watch"})
        return steps

    def _proxy_synced(self, ns: str, svc: str, ip: str) -> float | None:
        if self.proxy is None:
            return None
        rules = self.proxy.describe((ns, svc))
        if ip and any(e["ip"] == ip for e in rules["endpoints"]):
            return rules["syncedAt"]
        return None

    def _later_writes(self, trail: _Trail, resource: str, ns: str, name: str, created: tuple | None) -> list[dict]:
        after = created[0] if created is not None else None
        rows = [r for r in trail.rows if (after is None or r[0] > after) and r[9] < 400 and r[5] == resource
                and r[6] == ns and r[7] == name and r[4] in ("update", "patch", "delete") and r[8] in ("", "scale")]
        return [_step(r, self._cause_text(r)) for r in rows[-10:]]


def _kind(plural: str) -> str:
    return {"pods": "pod", "replicasets": "ReplicaSet", "deployments": "Deployment", "statefulsets": "StatefulSet",
            "daemonsets": "DaemonSet", "services": "Service", "endpointslices": "EndpointSlice"}.get(plural, plural)


def _owner_by_name(pod: str) -> str:
    """A ReplicaSet's pod is named ``<replicaset>-<5 random>``: the owner of a pod gone from the store."""
    return pod.rsplit("-", 1)[0]
