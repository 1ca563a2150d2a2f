"""Simulated application data, so a learner can see what survives a pod.

A pod annotated ``kubedrill.io/writes-rows-per-second: "5"`` (put it on the pod template) is a database
writer: while it is Running and Ready it adds that many rows per simulated second to its data volume —
the volume named by ``kubedrill.io/data-volume``, else its first PersistentVolumeClaim, else its first
emptyDir, else the container's writable layer.

* On a PersistentVolume the count lives on the PV (``kubedrill.io/data-rows``, mirrored onto the bound
  PVC for display): it survives pod deletion and rescheduling, and goes only with the PV (reclaim Delete).
* In an emptyDir or the container layer it lives on the pod (``kubedrill.io/ephemeral-rows``): an emptyDir
  keeps it across container restarts but not across pod replacement; the container layer loses it on every
  container restart.

One clock tick per simulated second serves every writer; pods that do not write cost nothing.
"""
from __future__ import annotations

from typing import Any

from ..clock import Clock, Handle
from ..errors import StatusError
from ..etcd.store import DELETED, Event
from ..objects import annotations_of, clone, is_terminating, spec_of, status_of
from .controller_utils import is_running_and_ready

DATA_ROWS = "kubedrill.io/data-rows"
EPHEMERAL_ROWS = "kubedrill.io/ephemeral-rows"
WRITES_RATE = "kubedrill.io/writes-rows-per-second"
DATA_VOLUME = "kubedrill.io/data-volume"
TICK = 1.0


def write_rate(pod: dict) -> int:
    """Rows per second this pod writes (0 for pods that are not database writers)."""
    raw = annotations_of(pod).get(WRITES_RATE)
    try:
        return max(int(raw), 0) if raw is not None else 0
    except (TypeError, ValueError):
        return 0


def data_target(pod: dict) -> tuple[str, str]:
    """Where the pod's data lives: ("pvc", claim), ("emptyDir", volume) or ("container", "")."""
    volumes = spec_of(pod).get("volumes") or []
    wanted = annotations_of(pod).get(DATA_VOLUME)
    if wanted:
        volumes = [v for v in volumes if v.get("name") == wanted] or volumes
    for vol in volumes:
        claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            return "pvc", claim
    for vol in volumes:
        if "emptyDir" in vol:
            return "emptyDir", vol["name"]
    return "container", ""


def is_writing(pod: dict) -> bool:
    """Tell whether the pod writes rows now: a writer, not terminating, Running and Ready."""
    return write_rate(pod) > 0 and not is_terminating(pod) and is_running_and_ready(pod)


def _restarts(pod: dict) -> int:
    return sum(int(c.get("restartCount", 0) or 0) for c in status_of(pod).get("containerStatuses") or ())


class StorageDataWriter:
    """Grows the data of every writing pod once per simulated second."""

    name = "storage-data"

    def __init__(self, api: Any, clock: Clock):
        self.api = api
        self.clock = clock
        self.store = api.store
        self.writers: dict[tuple[str, str], str] = {}   # pod key → uid, for Running+Ready writer pods
        self._restarts: dict[str, int] = {}              # pod uid → restart count last seen (writers only)
        self._tick: Handle | None = None
        self.stopped = False
        self.store.subscribe(self.on_event)

    def stop(self) -> None:
        self.stopped = True

    def start(self) -> None:
        self.stopped = False
        self._arm()

    def resync(self) -> None:
        for pod in self.store.list("pods"):
            if write_rate(pod):
                self.on_event(Event("MODIFIED", "pods", pod, 0, None))

    # ------------------------------------------------------------------ events
    def on_event(self, ev: Event) -> None:
        if ev.resource != "pods":
            return
        pod = ev.obj
        if not write_rate(pod) and (ev.old is None or not write_rate(ev.old)):
            return
        meta = pod["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        uid = meta.get("uid", "")
        if ev.type == DELETED:
            if self.writers.get(key) == uid:
                del self.writers[key]
            self._restarts.pop(uid, None)
            return
        restarts = _restarts(pod)
        seen = self._restarts.get(uid)
        self._restarts[uid] = restarts
        if seen is not None and restarts > seen and data_target(pod)[0] == "container":
            self._reset_container_layer(pod)
        if is_writing(pod):
            self.writers[key] = uid
            self._arm()
        elif self.writers.get(key) == uid:
            del self.writers[key]

    def _arm(self) -> None:
        if self.writers and not self.stopped and (self._tick is None or self._tick.cancelled):
            self._tick = self.clock.schedule(TICK, self._on_tick)

    def _reset_container_layer(self, pod: dict) -> None:
        if annotations_of(pod).get(EPHEMERAL_ROWS, "0") == "0":
            return
        fresh = self.store.find("pods", pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
        if fresh is None or fresh["metadata"].get("uid") != pod["metadata"].get("uid"):
            return
        new = clone(fresh)
        new["metadata"]["annotations"][EPHEMERAL_ROWS] = "0"
        try:
            self.api.update_internal(new)
        except StatusError:
            pass

    # ------------------------------------------------------------------ the tick
    def _on_tick(self) -> None:
        self._tick = None
        if self.stopped:
            return
        for key in sorted(self.writers):
            pod = self.store.find("pods", *key)
            if pod is None or pod["metadata"].get("uid") != self.writers[key] or not is_writing(pod):
                self.writers.pop(key, None)
                continue
            try:
                self.write(pod, write_rate(pod))
            except StatusError:
                continue  # e.g. a conflict with another writer this instant: the rows come next second
        self._arm()

    def write(self, pod: dict, rows: int) -> None:
        """Add ``rows`` to the pod's data volume."""
        kind, name = data_target(pod)
        ns = pod["metadata"].get("namespace", "")
        if kind == "pvc":
            pvc = self.store.find("persistentvolumeclaims", ns, name)
            volume = spec_of(pvc).get("volumeName")
            pv = self.store.find("persistentvolumes", "", volume) if volume else None
            if pv is None or pvc is None:
                return  # not bound yet: the database cannot have started writing
            total = int(annotations_of(pv).get(DATA_ROWS, 0) or 0) + rows
            new_pv = clone(pv)
            new_pv["metadata"].setdefault("annotations", {})[DATA_ROWS] = str(total)
            self.api.update_internal(new_pv)
            new_pvc = clone(pvc)
            new_pvc["metadata"].setdefault("annotations", {})[DATA_ROWS] = str(total)
            self.api.update_internal(new_pvc)
            return
        total = int(annotations_of(pod).get(EPHEMERAL_ROWS, 0) or 0) + rows
        new = clone(pod)
        new["metadata"].setdefault("annotations", {})[EPHEMERAL_ROWS] = str(total)
        self.api.update_internal(new)
