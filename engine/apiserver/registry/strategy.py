"""Hold the per-kind write rules: one ``Strategy`` per kind, as upstream's ``pkg/registry/<group>/<kind>/strategy.go``.

A strategy holds only what differs between kinds; the API server runs the same pipeline for all of them and
asks the strategy at each step: defaulting, ``PrepareForCreate`` (status reset and initial status),
``PrepareForUpdate`` (status kept out of the main resource, allocations carried over), whether spec changes bump
``metadata.generation``, validation on create, update and ``/status`` update, and graceful deletion.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ...errors import Cause
from ...objects import spec_of
from ..validation.common import name_is_dns_subdomain, validate_object_meta, validate_object_meta_update

if TYPE_CHECKING:
    from ..resources import ResourceType
    from ..server import APIServer

Check = Callable[[list[Cause], Mapping[str, Any]], None]
UpdateCheck = Callable[[list[Cause], Mapping[str, Any], Mapping[str, Any]], None]


def no_defaults(obj: dict[str, Any]) -> None:
    """Leave the object as it is: the kind has no visible defaults."""


def no_status(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Return the empty status a reset leaves behind."""
    return {}


def no_checks(out: list[Cause], obj: Mapping[str, Any]) -> None:
    """Add no causes: the kind has no checks beyond its metadata."""


def no_update_checks(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """Add no causes: every field of the kind is mutable."""


def no_grace(obj: Mapping[str, Any], requested: int | None) -> int | None:
    """Return None: the kind is not deleted gracefully (only its finalizers delay it)."""
    return None


def on_spec(fn: Callable[[list[Cause], Mapping[str, Any]], None]) -> Check:
    """Adapt a ``validate_<kind>_spec(out, spec)`` taking the spec as a mapping (``{}`` when unset)."""
    def check(out: list[Cause], obj: Mapping[str, Any]) -> None:
        fn(out, spec_of(obj))
    return check


def on_raw_spec(fn: Callable[[list[Cause], Any], None]) -> Check:
    """Adapt a ``validate_<kind>_spec(out, spec)`` that reports a missing or mis-typed spec itself."""
    def check(out: list[Cause], obj: Mapping[str, Any]) -> None:
        fn(out, obj.get("spec"))
    return check


@dataclass(frozen=True)
class Strategy:
    """Everything the write path does differently for one kind; the defaults fit a plain custom kind."""

    kind: str
    # SetDefaults_* for the kind (defaults.py); idempotent, run on create and update.
    default: Callable[[dict[str, Any]], None] = no_defaults
    # PrepareForCreate: drop the client's status and start from initial_status.
    reset_status: bool = False
    initial_status: Callable[[Mapping[str, Any]], dict[str, Any]] = no_status
    # Spec changes bump metadata.generation (false for kinds without a spec/status split).
    generation: bool = True
    # Node's strategy lets a PUT of the main resource change status too; every other kind keeps it for /status.
    status_on_update: bool = False
    # PrepareForUpdate extras, e.g. Service keeps the cluster IP and node ports a client left out.
    carry_over: UpdateCheck | None = None
    # The metadata.name rule (apimachinery's NameIsDNSSubdomain unless the kind says otherwise).
    name_rule: Callable[[str, bool], list[str]] = name_is_dns_subdomain
    # The kind's own checks: on create and, again, on update; then the update-only rules; then /status.
    check: Check = no_checks
    check_update: UpdateCheck = no_update_checks
    check_status: Callable[[list[Cause], Any], None] = no_checks
    # CheckGracefulDelete: the grace period a delete waits (None: not graceful).
    grace_period: Callable[[Mapping[str, Any], int | None], int | None] = no_grace
    # A kind that deletes in its own way (Namespace: phase Terminating, then the namespace controller).
    delete: Callable[["APIServer", dict, bool], dict] | None = None

    def prepare_for_create(self, obj: dict[str, Any], *, trusted: bool) -> None:
        """Reset the status of a new object; controllers and the kubelet may create one with its status set."""
        if self.reset_status and (not trusted or "status" not in obj):
            obj["status"] = self.initial_status(obj)

    def prepare_for_update(self, rt: ResourceType, new: dict[str, Any], old: Mapping[str, Any]) -> None:
        """Keep what a PUT of the main resource may not change; ``new`` is a private copy."""
        if "status" in rt.subresources and not self.status_on_update:
            # The main resource ignores status changes (they go through /status), like the real registry.
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if self.carry_over is not None:
            self.carry_over(new, old)

    def validate(self, rt: ResourceType, obj: Mapping[str, Any]) -> list[Cause]:
        """Return every reason the apiserver would reject creating ``obj`` (defaulted) with 422 Invalid."""
        out: list[Cause] = []
        validate_object_meta(out, obj.get("metadata"), rt.namespaced, self.name_rule)
        self.check(out, obj)
        return out

    def validate_update(self, rt: ResourceType, new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
        """Return every reason the apiserver would reject replacing ``old`` by ``new`` (both defaulted)."""
        out: list[Cause] = []
        # The name is not revalidated on update: metadata only may not change identity.
        validate_object_meta_update(out, new.get("metadata"), old.get("metadata"))
        self.check(out, new)
        self.check_update(out, new, old)
        return out

    def validate_status_update(self, rt: ResourceType, new: Mapping[str, Any],
                               old: Mapping[str, Any]) -> list[Cause]:
        """Return the causes for a ``/status`` write: metadata may not change identity, plus the kind's rules."""
        out: list[Cause] = []
        validate_object_meta_update(out, new.get("metadata"), old.get("metadata"))
        self.check_status(out, new.get("status"))
        return out
