"""The event recorder: Kubernetes core/v1 Events with aggregation, plus a learner explanation.

Repeats of the same (object, reason, message, source) bump ``count`` and ``lastTimestamp`` on one
Event, as the real recorder's correlator does, so a crash loop does not flood the store. Writes go through
the API server like every write: ``create_internal``, ``update_event`` for repeats, ``delete_internal`` on expiry.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import parse_rfc3339, rfc3339
from ..errors import AlreadyExists
from ..objects import meta_of

if TYPE_CHECKING:
    from .server import APIServer

EXPLANATION = "kubedrill.io/explanation"
_HEX = "0123456789abcdef"
_NAME_ATTEMPTS = 4


class EventRecorder:
    """Record Events for the components; ``enabled`` off (ControlPlaneChaos) drops them."""

    def __init__(self, api: "APIServer"):
        self.api = api
        self._index: dict[tuple, tuple[str, str]] = {}
        self.enabled = True

    def record(self, involved: dict, reason: str, message: str, *, type: str = "Normal",
               component: str, explanation: str = "", host: str = "", field_path: str = "",
               action: str = "") -> None:
        if not self.enabled:
            return
        api = self.api
        meta = meta_of(involved)
        ns = meta.get("namespace") or "default"
        name = meta.get("name", "")
        now = api.clock.now
        key = (meta.get("uid", ""), reason, message, component, field_path)
        found = self._index.get(key)
        if found is not None:
            existing = api.store.find("events", *found)
            if existing is not None:
                ev = dict(existing)
                ev["count"] = int(existing.get("count", 1)) + 1
                ev["lastTimestamp"] = rfc3339(now)
                ev["metadata"] = dict(existing["metadata"])
                if explanation:
                    ev["metadata"]["annotations"] = {EXPLANATION: explanation}
                api.update_event(ev)
                return
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "", "namespace": ns},
            "involvedObject": {k: v for k, v in (
                ("kind", involved.get("kind", "")), ("namespace", meta.get("namespace", "")),
                ("name", name), ("uid", meta.get("uid", "")), ("apiVersion", involved.get("apiVersion", "")),
                ("resourceVersion", meta.get("resourceVersion", "")), ("fieldPath", field_path)) if v},
            "reason": reason, "message": message, "type": type,
            "source": {"component": component, **({"host": host} if host else {})},
            "firstTimestamp": rfc3339(now), "lastTimestamp": rfc3339(now), "count": 1,
            "eventTime": None, "reportingComponent": component, "reportingInstance": host or component,
        }
        if action:
            event["action"] = action
        if explanation:
            event["metadata"]["annotations"] = {EXPLANATION: explanation}
        for attempt in range(_NAME_ATTEMPTS):
            event["metadata"]["name"] = f"{name}.{''.join(api.clock.rng.choice(_HEX) for _ in range(16))}"
            try:
                stored = api.create_internal(event)
                break
            except AlreadyExists:
                # An Event by that name exists already (e.g. restored from the database): recording
                # again must never fail, so draw another name, as a new timestamp would upstream.
                if attempt == _NAME_ATTEMPTS - 1:
                    raise
        stored_key = (stored["metadata"]["namespace"], stored["metadata"]["name"])
        self._index[key] = stored_key
        api.clock.schedule(api.profile.event_ttl, lambda: self._expire(key, stored_key))

    def _expire(self, key: tuple, stored_key: tuple[str, str]) -> None:
        # Like the etcd lease behind a real Event, the TTL counts from the last update.
        existing = self.api.store.find("events", *stored_key)
        if existing is not None:
            left = parse_rfc3339(existing["lastTimestamp"]) + self.api.profile.event_ttl - self.api.clock.now
            if left > 0:
                self.api.clock.schedule(left, lambda: self._expire(key, stored_key))
                return
        if self._index.get(key) == stored_key:
            del self._index[key]
        with self.api.audit.suppressed():   # an etcd lease running out, not anybody's API request
            self.api.delete_internal("events", *stored_key)
