"""The API server: the only write path into the store.

Every write — from kubectl, the dashboard, or a controller — passes through here: routing to a
resource type, schema and semantic validation with Kubernetes-style errors, defaulting, admission,
metadata management (uid, creationTimestamp, generation, generateName), graceful deletion with
finalizers, and the subresources (status, scale, binding, eviction).
"""
from __future__ import annotations

import uuid
from typing import Any, Callable, Iterable

from ..clock import Clock, rfc3339
from ..errors import AlreadyExists, BadRequest, Cause, Conflict, Forbidden, Invalid, NotFound, ServiceUnavailable
from ..errors import StatusError
from ..etcd.store import Store, Watch
from ..objects import clone, meta_of, random_string
from ..profile import Profile
from ..selectors import FieldSelector, LabelSelector
from . import deletion, fieldmanager, resources, subresources
from .audit import AuditedClient, AuditLog, Identity, audited, body_target, named_target, status_target
from . import patch as patching
from .events import EventRecorder
from .manifests import INT64_MAX, INT64_MIN, check_content, parse_manifests
from .registry import strategy_for
from .registry.core import SYSTEM_NAMESPACES
from .resources import ResourceType
from .schema import schema_causes, strict_decoding_message, unknown_fields

__all__ = ["SYSTEM_NAMESPACES", "APIServer", "ensure_namespaces"]

Admission = Callable[["APIServer", ResourceType, dict, "dict | None"], None]

# A grace period whose deletion time would be past year 9999 cannot be written as a timestamp.
MAX_GRACE_SECONDS = 10 ** 10


def _decodable(rt: ResourceType | None, obj: Any) -> None:
    """Refuse a client body the store could not persist and read back (400, as the apiserver's decoder does)."""
    what = f'{rt.kind} in version "{rt.api_version}" cannot be handled as a {rt.kind}' if rt else ""
    check_content(obj, what)


def _int_option(name: str, value: Any, *, minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> int | None:
    """An optional integer option (``gracePeriodSeconds``): None, or an int in range; 400 otherwise."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise BadRequest(f"{name}: Invalid value: {value!r}: must be an integer between {minimum} and {maximum}",
                         causes=[Cause(name, f"Invalid value: {value!r}")])
    return value


def _preconditions(value: Any) -> dict | None:
    """DeleteOptions ``preconditions``: an object whose ``uid`` and ``resourceVersion`` are strings."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"preconditions: Invalid value: {value!r}: must be an object with uid and/or resourceVersion",
                         causes=[Cause("preconditions", "Invalid value: must be an object")])
    for key in ("uid", "resourceVersion"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise BadRequest(f"preconditions.{key}: Invalid value: {value[key]!r}: must be a string",
                             causes=[Cause(f"preconditions.{key}", "Invalid value: must be a string")])
    return value


class APIServer:
    """Validates, defaults and admits writes; the store never sees an invalid object."""

    def __init__(self, store: Store, clock: Clock, profile: Profile):
        self.store = store
        self.clock = clock
        self.profile = profile
        self.events = EventRecorder(self)
        self.audit = AuditLog()
        self.admission: list[Admission] = []        # mutating, run on create and update
        self.available = True                       # False while ControlPlaneChaos stops the API server
        self.validate_schema = True

    def as_user(self, identity: Identity) -> AuditedClient:
        """A handle whose writes are ``identity``'s requests (what a component is built with)."""
        return AuditedClient(self, identity)

    # ------------------------------------------------------------------ helpers
    def _check_available(self) -> None:
        if not self.available:
            raise ServiceUnavailable("the API server is not available (stopped by a ControlPlaneChaos fault)")

    def resource(self, plural: str) -> ResourceType:
        rt = resources.find_plural(plural)
        if rt is None:
            raise NotFound("the server could not find the requested resource", kind=plural)
        return rt

    def type_of(self, obj: Any) -> ResourceType:
        if not isinstance(obj, dict):
            raise BadRequest("the object is not a JSON/YAML mapping")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not isinstance(api_version, str):
            raise BadRequest("Object 'apiVersion' is missing in the object", causes=[
                Cause("apiVersion", "Required value", "FieldValueRequired")])
        if not kind or not isinstance(kind, str):
            raise BadRequest("Object 'Kind' is missing in the object", causes=[
                Cause("kind", "Required value", "FieldValueRequired")])
        rt = resources.by_kind(api_version, kind)
        if rt is None:
            raise BadRequest(f'no matches for kind "{kind}" in version "{api_version}"',
                             kind=kind,
                             causes=[Cause("kind", f'Unsupported value: "{kind}"', "FieldValueNotSupported")])
        return rt

    def _new_uid(self) -> str:
        return str(uuid.UUID(int=self.clock.rng.getrandbits(128), version=4))

    def generate_name(self, base: str) -> str:
        # apimachinery's rand.String: 5 characters of its alphabet (no vowels, no 0/1/3).
        return base[:58] + random_string(self.clock.rng, 5)

    def _key(self, rt: ResourceType, obj: dict) -> tuple[str, str]:
        meta = obj["metadata"]
        return (meta.get("namespace", "") if rt.namespaced else ""), meta["name"]

    def _fail_invalid(self, rt: ResourceType, name: str, causes: list[Cause]) -> None:
        if causes:
            raise Invalid.of(rt.kind, rt.group, name, causes)

    # ------------------------------------------------------------------ reads
    def get(self, resource: str, namespace: str | None, name: str) -> dict:
        self._check_available()
        rt = self.resource(resource)
        obj = self.store.find(resource, namespace or "" if rt.namespaced else "", name)
        if obj is None:
            raise NotFound.of(rt.plural, rt.group, name)
        return obj

    def list(self, resource: str, namespace: str | None = None, *, label_selector: str | None = None,
             field_selector: str | None = None, limit: int = 0,
             continue_token: str | None = None) -> tuple[list[dict], str, str | None]:
        self._check_available()
        rt = self.resource(resource)
        labels = LabelSelector.parse(label_selector)
        fields = FieldSelector.parse(field_selector, resource)
        if limit < 0:
            raise BadRequest(f"invalid limit: {limit}")
        items, rv, token = self.store.list_page(resource, namespace if rt.namespaced else None, labels, fields,
                                                limit=limit, continue_token=continue_token)
        return items, str(rv), token

    def watch(self, resource: str, namespace: str | None = None, since: str | int | None = None,
              label_selector: str | None = None, field_selector: str | None = None) -> Watch:
        self._check_available()
        rt = self.resource(resource)
        return self.store.watch(since, resource, namespace if rt.namespaced else None,
                                LabelSelector.parse(label_selector), FieldSelector.parse(field_selector, resource))

    # ------------------------------------------------------------------ create
    @audited("create", body_target, 201)
    def create(self, obj: dict, namespace: str | None = None, *, dry_run: bool = False, strict: bool = False,
               field_manager: str | None = None, managed_fields: list | None = None) -> dict:
        """Create from a client: full validation, defaulting and admission.

        ``managed_fields`` is the field ownership server-side apply computed for a create-by-apply;
        otherwise ``field_manager`` (if given) is recorded as owning every field it set.
        """
        self._check_available()
        _decodable(self.type_of(obj), obj)
        return self._create(obj, namespace, dry_run=dry_run, strict=strict, trusted=False,
                            managed_fields=managed_fields, manager=None if managed_fields else field_manager)

    @audited("create", body_target, 201)
    def create_internal(self, obj: dict, namespace: str | None = None) -> dict:
        """Create from a controller or kubelet: same rules, schema check skipped (objects are ours)."""
        return self._create(obj, namespace, dry_run=False, strict=False, trusted=True)

    def _create(self, obj: dict, namespace: str | None, *, dry_run: bool, strict: bool, trusted: bool,
                managed_fields: list | None = None, manager: str | None = None) -> dict:
        rt = self.type_of(obj)
        obj = clone(obj)
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise Invalid.of(rt.kind, rt.group, "", [Cause("metadata", "Invalid value: must be an object")])
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if namespace and body_ns and body_ns != namespace:
                raise BadRequest("the namespace of the provided object does not match the namespace sent on "
                                 "the request")
            ns = body_ns or namespace or "default"
            if not isinstance(ns, str):
                raise Invalid.of(rt.kind, rt.group, "",
                                 [Cause("metadata.namespace", "Invalid value: must be a string")])
            meta["namespace"] = ns
            namespace_obj = self.store.find("namespaces", "", ns)
            if namespace_obj is None:
                raise NotFound.of("namespaces", "", ns)
            if namespace_obj["metadata"].get("deletionTimestamp"):
                raise _terminating_namespace(rt, meta.get("name", ""), ns)
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            if not isinstance(meta["generateName"], str):
                raise Invalid.of(rt.kind, rt.group, "",
                                 [Cause("metadata.generateName", "Invalid value: must be a string")])
            meta["name"] = self._unique_name(rt, meta)
        if not trusted and self.validate_schema:
            self._schema_check(rt, obj, strict)
        for key in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                    "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink"):
            meta.pop(key, None)
        strategy = strategy_for(rt)
        strategy.default(obj)
        for plugin in self.admission:
            plugin(self, rt, obj, None)
        name = meta.get("name", "")
        if not trusted:
            self._fail_invalid(rt, name if isinstance(name, str) else "", strategy.validate(rt, obj))
        elif not name:
            self._fail_invalid(rt, "", [Cause("metadata.name", "Required value: name or generateName is required",
                                               "FieldValueRequired")])
        strategy.prepare_for_create(obj, trusted=trusted)
        meta["uid"] = self._new_uid()
        meta["creationTimestamp"] = rfc3339(self.clock.now)
        if strategy.generation:
            meta["generation"] = 1
        if managed_fields:
            meta["managedFields"] = managed_fields
        elif manager:
            obj = self._record_manager(rt, None, obj, manager, None)
            meta = obj["metadata"]
        ns_key, name = self._key(rt, obj)
        if self.store.find(rt.plural, ns_key, name) is not None:
            raise AlreadyExists.of(rt.plural, rt.group, name)
        if dry_run:
            meta["resourceVersion"] = ""
            return obj
        return self.store.create(rt.plural, obj)

    def _unique_name(self, rt: ResourceType, meta: dict) -> str:
        ns = meta.get("namespace", "")
        for _ in range(16):
            name = self.generate_name(meta["generateName"])
            if self.store.find(rt.plural, ns, name) is None:
                return name
        return self.generate_name(meta["generateName"])

    def _schema_check(self, rt: ResourceType, obj: dict, strict: bool) -> None:
        name = meta_of(obj).get("name", "")
        if strict:
            unknown = unknown_fields(rt.api_version, rt.kind, obj)
            if unknown:
                raise BadRequest(strict_decoding_message(unknown))
        causes = schema_causes(rt.api_version, rt.kind, obj, strict=False)
        if causes:
            raise Invalid.of(rt.kind, rt.group, name if isinstance(name, str) else "", causes)

    # ------------------------------------------------------------------ update
    @audited("update", body_target)
    def update(self, obj: dict, *, subresource: str | None = None, strict: bool = False,
               dry_run: bool = False, field_manager: str | None = None) -> dict:
        """PUT from a client (optimistic concurrency when ``metadata.resourceVersion`` is set)."""
        self._check_available()
        _decodable(self.type_of(obj), obj)
        return self._update(obj, subresource=subresource, strict=strict, dry_run=dry_run, trusted=False,
                            manager=field_manager)

    @audited("update", body_target)
    def update_internal(self, obj: dict, *, subresource: str | None = None) -> dict:
        """PUT from a controller/kubelet: no schema check; still validated and conflict-checked."""
        return self._update(obj, subresource=subresource, strict=False, dry_run=False, trusted=True)

    @audited("update", status_target)
    def update_status(self, obj: dict) -> dict:
        return self._update(obj, subresource="status", strict=False, dry_run=False, trusted=True)

    def _update(self, obj: dict, *, subresource: str | None, strict: bool, dry_run: bool, trusted: bool,
                manager: str | None = None) -> dict:
        rt = self.type_of(obj)
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise Invalid.of(rt.kind, rt.group, "", [Cause("metadata.name", "Required value: name is required",
                                                            "FieldValueRequired")])
        ns = (meta.get("namespace") or "default") if rt.namespaced else ""
        existing = self.store.find(rt.plural, ns, meta["name"])
        if existing is None:
            raise NotFound.of(rt.plural, rt.group, meta["name"])
        want_rv = meta.get("resourceVersion")
        if want_rv not in (None, "") and str(want_rv) != existing["metadata"]["resourceVersion"]:
            raise Conflict.modified(rt.plural, rt.group, meta["name"])
        if not trusted and self.validate_schema:
            self._schema_check(rt, obj, strict)
        new = clone(obj)
        new["metadata"]["namespace"] = ns
        if not rt.namespaced:
            new["metadata"].pop("namespace", None)
        return self._write_update(rt, existing, new, subresource=subresource, trusted=trusted, dry_run=dry_run,
                                  manager=manager)

    def _write_update(self, rt: ResourceType, existing: dict, new: dict, *, subresource: str | None,
                      trusted: bool, dry_run: bool = False, manager: str | None = None,
                      applied: bool = False) -> dict:
        """Store ``new`` over ``existing``; a client write's ``manager`` takes ownership of what it changed.

        ``applied``: ``new`` carries the ownership server-side apply computed; keep it as it is.
        """
        strategy = strategy_for(rt)
        old_meta = existing["metadata"]
        meta = new.setdefault("metadata", {})
        if subresource == "status":
            merged = clone(existing)
            if "status" in new:
                merged["status"] = new["status"]
            new = merged
            meta = new["metadata"]
        else:
            strategy.prepare_for_update(rt, new, existing)
            strategy.default(new)
            for plugin in self.admission:
                plugin(self, rt, new, existing)
        # Fields the server owns.
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if subresource is None:
            self._fail_invalid(rt, meta["name"], strategy.validate_update(rt, new, existing))
            if strategy.generation and new.get("spec") != existing.get("spec"):
                meta["generation"] = int(old_meta.get("generation", 1)) + 1
        elif subresource == "status" and not trusted:
            self._fail_invalid(rt, meta["name"], strategy.validate_status_update(rt, new, existing))
        if manager:
            new = self._record_manager(rt, existing, new, manager, subresource)
            meta = new["metadata"]
        elif not trusted and not applied:
            # Ownership is the server's record: a client body cannot rewrite it.
            if "managedFields" in old_meta:
                meta["managedFields"] = old_meta["managedFields"]
            else:
                meta.pop("managedFields", None)
        if new == existing:
            return existing  # a no-op write keeps its resourceVersion, as in Kubernetes
        if dry_run:
            return new
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return deletion.remove(self.store, rt, new)
        return self.store.update(rt.plural, new)

    # ------------------------------------------------------------------ patch
    @audited("patch", named_target())
    def patch(self, resource: str, namespace: str | None, name: str, body: Any, patch_type: str, *,
              subresource: str | None = None, field_manager: str | None = None, force: bool = False,
              dry_run: bool = False, strict: bool = False) -> dict:
        self._check_available()
        rt = self.resource(resource)
        _decodable(rt, body)
        ns = (namespace or "default") if rt.namespaced else ""
        existing = self.store.find(resource, ns, name)
        if patch_type == "apply":
            if not isinstance(body, dict):
                raise BadRequest("apply patch must be an object")
            if existing is None:
                body = dict(body)
                body.setdefault("metadata", {})
                body["metadata"] = dict(body["metadata"], name=name)
                if rt.namespaced:
                    body["metadata"]["namespace"] = ns
                applied = fieldmanager.server_side_apply(None, body, field_manager or "unknown", rt.api_version,
                                                         rt.kind, force, rfc3339(self.clock.now))
                return self.create(applied, ns or None, dry_run=dry_run, strict=strict,
                                   managed_fields=meta_of(applied).get("managedFields"))
            result = fieldmanager.server_side_apply(existing, body, field_manager or "unknown", rt.api_version,
                                                    rt.kind, force, rfc3339(self.clock.now))
        else:
            if existing is None:
                raise NotFound.of(rt.plural, rt.group, name)
            if patch_type == "json":
                if not isinstance(body, list):
                    raise BadRequest("json patch must be a list of operations")
                result = patching.json_patch(existing, body)
            elif patch_type == "merge":
                if not isinstance(body, dict):
                    raise BadRequest("merge patch must be an object")
                result = patching.merge_patch(existing, body)
            elif patch_type == "strategic":
                if not isinstance(body, dict):
                    raise BadRequest("strategic merge patch must be an object")
                result = patching.strategic_merge_patch(existing, body, rt.api_version, rt.kind)
            else:
                raise BadRequest(f"unsupported patch type {patch_type!r}")
        if not isinstance(result, dict) or not isinstance(result.get("metadata"), dict):
            raise BadRequest("the patch produced an object without metadata")
        want_rv = result["metadata"].get("resourceVersion")
        if want_rv not in (None, "") and str(want_rv) != existing["metadata"]["resourceVersion"]:
            raise Conflict.modified(rt.plural, rt.group, name)
        result["metadata"]["name"] = name
        result["apiVersion"], result["kind"] = rt.api_version, rt.kind
        if rt.namespaced:
            result["metadata"]["namespace"] = ns
        _decodable(rt, result)   # e.g. a JSON patch adding a deep value to an already deep object
        if self.validate_schema:
            self._schema_check(rt, result, strict)
        applied = patch_type == "apply"
        return self._write_update(rt, existing, result, subresource=subresource, trusted=False, dry_run=dry_run,
                                  manager=None if applied else field_manager, applied=applied)

    def _record_manager(self, rt: ResourceType, existing: dict | None, new: dict, manager: str,
                        subresource: str | None) -> dict:
        """``new`` with ``metadata.managedFields`` naming ``manager`` as owner of what it set (an Update entry).

        Client writes only: controller and kubelet writes keep the ownership they found, which is
        what server-side apply conflicts need (e.g. a later ``apply --server-side`` of ``replicas``
        conflicts with the ``kubectl-client-side-apply`` or ``kubectl-scale`` that set it).
        """
        return fieldmanager.record_update_manager(existing, new, manager, now_iso=rfc3339(self.clock.now),
                                     api_version=rt.api_version, subresource=subresource)

    # ------------------------------------------------------------------ delete
    @audited("delete", named_target())
    def delete(self, resource: str, namespace: str | None, name: str, *, grace_period: int | None = None,
               propagation: str | None = None, preconditions: dict | None = None, dry_run: bool = False) -> dict:
        """Delete like the real registry: graceful for pods, finalizers honoured, propagation policies."""
        self._check_available()
        grace_period = _int_option("gracePeriodSeconds", grace_period, maximum=MAX_GRACE_SECONDS)
        preconditions = _preconditions(preconditions)
        if propagation is not None and not isinstance(propagation, str):
            raise BadRequest(f"propagationPolicy: Invalid value: {propagation!r}: must be a string",
                             causes=[Cause("propagationPolicy", "Invalid value: must be a string")])
        return self._delete(resource, namespace, name, grace_period=grace_period, propagation=propagation,
                            preconditions=preconditions, dry_run=dry_run)

    def delete_internal(self, resource: str, namespace: str | None, name: str, *, grace_period: int | None = None,
                        propagation: str | None = None, uid: str | None = None) -> dict | None:
        """Delete from a controller; None when the object is already gone (or was replaced)."""
        try:
            return self._delete_internal(resource, namespace, name, grace_period=grace_period,
                                         propagation=propagation, uid=uid)
        except NotFound:
            return None
        except Conflict:
            return None

    @audited("delete", named_target())   # the 404 or 409 a controller shrugs off is still its request
    def _delete_internal(self, resource: str, namespace: str | None, name: str, *, grace_period: int | None,
                         propagation: str | None, uid: str | None) -> dict:
        return self._delete(resource, namespace, name, grace_period=grace_period, propagation=propagation,
                            preconditions={"uid": uid} if uid else None, dry_run=False)

    def _delete(self, resource: str, namespace: str | None, name: str, *, grace_period: int | None,
                propagation: str | None, preconditions: dict | None, dry_run: bool) -> dict:
        return deletion.delete(self, self.resource(resource), namespace, name, grace_period=grace_period,
                               propagation=propagation, preconditions=preconditions, dry_run=dry_run)

    @audited("delete", named_target(resource="pods"))   # the kubelet's DELETE with grace period 0
    def finish_pod_termination(self, namespace: str, name: str, uid: str) -> None:
        """The kubelet confirms the containers are gone: remove the pod object (grace 0)."""
        deletion.finish_pod_termination(self.store, namespace, name, uid)

    @audited("patch", named_target())
    def remove_finalizer(self, resource: str, namespace: str, name: str, finalizer: str) -> None:
        deletion.remove_finalizer(self.store, resource, namespace, name, finalizer)

    # ------------------------------------------------------------------ subresources
    def get_scale(self, resource: str, namespace: str, name: str) -> dict:
        rt = self.resource(resource)
        subresources.require_scale(rt)
        return subresources.scale_of(rt, self.get(resource, namespace, name))

    @audited("update", named_target("scale"))
    def update_scale(self, resource: str, namespace: str, name: str, scale: dict,
                     field_manager: str | None = None) -> dict:
        self._check_available()
        rt = self.resource(resource)
        subresources.require_scale(rt)
        check_content(scale, "Scale in version \"autoscaling/v1\" cannot be handled as a Scale")
        obj = self.get(resource, namespace, name)
        new = subresources.scaled(rt, obj, name, scale)
        if field_manager:
            new = self._record_manager(rt, obj, new, field_manager, "scale")
        stored = self._write_update(rt, obj, new, subresource=None, trusted=True)
        return subresources.scale_of(rt, stored)

    @audited("patch", named_target("scale"))
    def patch_scale(self, resource: str, namespace: str, name: str, body: Any, patch_type: str,
                    field_manager: str | None = None) -> dict:
        check_content(body, "the scale patch could not be decoded")
        patched = subresources.patched_scale(self.get_scale(resource, namespace, name), body, patch_type)
        return self.update_scale(resource, namespace, name, patched, field_manager)

    @audited("create", named_target("binding", "pods"), 201)
    def bind(self, namespace: str, name: str, node_name: str) -> dict:
        """pods/binding: set ``spec.nodeName`` once (the scheduler's last step)."""
        self._check_available()
        if not isinstance(node_name, str) or not node_name:
            raise BadRequest("Binding target must name a node: target.name: Required value",
                             causes=[Cause("target.name", "Required value", "FieldValueRequired")])
        check_content(node_name, "Binding in version \"v1\" cannot be handled as a Binding")
        pod = self.store.find("pods", namespace, name)
        if pod is None:
            raise NotFound.of("pods", "", name)
        return self.store.update("pods", subresources.bound(pod, name, node_name, rfc3339(self.clock.now)))

    @audited("create", named_target("eviction", "pods"), 201)
    def evict(self, namespace: str, name: str, *, grace_period: int | None = None) -> None:
        """pods/eviction: delete unless a PodDisruptionBudget forbids it (429)."""
        self._check_available()
        grace_period = _int_option("deleteOptions.gracePeriodSeconds", grace_period, maximum=MAX_GRACE_SECONDS)
        pod = self.store.find("pods", namespace, name)
        if pod is None:
            raise NotFound.of("pods", "", name)
        if pod["metadata"].get("deletionTimestamp"):
            return
        self.store.update("pods", subresources.evicted(self.store, pod, name, rfc3339(self.clock.now)))
        self._delete("pods", namespace, name, grace_period=grace_period, propagation=None, preconditions=None,
                     dry_run=False)

    # ------------------------------------------------------------------ events
    @audited("patch", body_target)   # the recorder's correlator patches count and lastTimestamp
    def update_event(self, event: dict) -> dict:
        """Store the recorder's repeat of an Event it created (``count``, ``lastTimestamp``, explanation).

        Only the recorder calls this, on a copy of the stored Event, so defaulting, admission and validation
        are skipped (events are written often); a stale copy still fails with Conflict.
        """
        return self.store.update("events", event, expect_rv=event["metadata"].get("resourceVersion"))

    def record_event(self, involved: dict, reason: str, message: str, *, type: str = "Normal",
                     component: str, explanation: str = "", host: str = "", field_path: str = "") -> None:
        self.events.record(involved, reason, message, type=type, component=component, explanation=explanation,
                           host=host, field_path=field_path)

    # ------------------------------------------------------------------ manifests
    def apply_manifest(self, source: Any, *, field_manager: str = "kubedrill",
                       namespace: str | None = None) -> list[dict]:
        """Create-or-update every object in ``source`` (YAML/JSON text or dicts), all or nothing.

        Every document is validated first (dry run); if any fails nothing is written, so a bad
        manifest leaves the cluster unchanged.
        """
        self._check_available()
        objs = parse_manifests(source)
        if not objs:
            raise BadRequest("no objects found in the manifest")
        plans = []
        with self.audit.suppressed():   # validating dry runs: only the writes that follow are requests
            self._plan_manifest(objs, namespace, field_manager, plans)
        out = []
        for rt, ns, name, obj, absent in plans:
            if absent:
                out.append(self.create(obj, namespace))
            else:
                out.append(self.patch(rt.plural, ns, name, obj, "apply", field_manager=field_manager, force=True))
        return out

    def _plan_manifest(self, objs: list, namespace: str | None, field_manager: str, plans: list) -> None:
        for index, obj in enumerate(objs):
            try:
                rt = self.type_of(obj)
                name = meta_of(obj).get("name")
                ns = (meta_of(obj).get("namespace") or namespace or "default") if rt.namespaced else ""
                existing = self.store.find(rt.plural, ns, name) if isinstance(name, str) and name else None
                if existing is None:
                    self.create(obj, namespace, dry_run=True)
                else:
                    self.patch(rt.plural, ns, name, obj, "apply", field_manager=field_manager, force=True, dry_run=True)
                plans.append((rt, ns, name, obj, existing is None))
            except StatusError as err:
                if len(objs) > 1:
                    kind = obj.get("kind", "?") if isinstance(obj, dict) else "?"
                    err.message = f"document {index + 1} ({kind}): {err.message}"
                    err.args = (err.message,)
                raise


def _terminating_namespace(rt: ResourceType, name: str, ns: str) -> StatusError:
    return Forbidden(f'{rt.qualified} "{name}" is forbidden: unable to create new content in namespace {ns} '
                     "because it is being terminated", name=name, group=rt.group, kind=rt.plural)


def ensure_namespaces(api: APIServer, names: Iterable[str] = SYSTEM_NAMESPACES) -> None:
    for ns in names:
        if api.store.find("namespaces", "", ns) is None:
            api.create_internal({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                                 "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
