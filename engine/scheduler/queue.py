"""The scheduling queue (``internal/queue/scheduling_queue.go``): activeQ, backoffQ, unschedulable pods.

* activeQ pops the highest ``spec.priority`` first, then the pod that has waited longest.
* A pod that failed waits in the unschedulable pool until a cluster event that may help it (node
  added, pod deleted, ...) moves it; if it is still backing off it goes to backoffQ first. Back-off is
  ``initial * 2^(attempts-1)`` capped at ``max`` (1 s, 2 s, 4 s, 8 s, 10 s, 10 s ...).
* Pods left unschedulable for ``max_unschedulable`` (5 min) are moved anyway.

Timers sit on the simulated clock at the exact next deadline: nothing polls.
"""
from __future__ import annotations

import heapq
from typing import Any, Callable, Iterable

from ..objects import meta_of, spec_of

Key = tuple[str, str]


class QueuedPod:
    """A pod waiting to be scheduled plus its queue bookkeeping (``QueuedPodInfo``)."""

    __slots__ = ("key", "pod", "timestamp", "initial_attempt", "attempts", "where", "seq",
                 "unschedulable_plugins", "cycle")

    def __init__(self, key: Key, pod: dict, now: float):
        self.key = key
        self.pod = pod
        self.timestamp = now
        self.initial_attempt: float | None = None
        self.attempts = 0
        self.where = ""          # "active" | "backoff" | "unschedulable" | "inflight"
        self.seq = 0
        self.unschedulable_plugins: frozenset[str] = frozenset()
        self.cycle = 0

    @property
    def priority(self) -> int:
        return int(spec_of(self.pod).get("priority") or 0)


class SchedulingQueue:
    """Priority queue with back-off and an unschedulable pool, driven by the simulated clock."""

    def __init__(self, clock: Any, *, initial_backoff: float = 1.0, max_backoff: float = 10.0,
                 max_unschedulable: float = 300.0, on_active: Callable[[], None] | None = None):
        self.clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_unschedulable = max_unschedulable
        self.on_active = on_active or (lambda: None)
        self.pods: dict[Key, QueuedPod] = {}
        self._active: list[tuple[int, float, int, Key]] = []
        self._backoff: list[tuple[float, int, Key]] = []
        self._unschedulable: dict[Key, QueuedPod] = {}
        self._unsched_heap: list[tuple[float, int, Key]] = []
        self._seq = 0
        self._backoff_timer = None
        self._backoff_timer_at = float("inf")
        self._flush_timer = None
        self._flush_timer_at = float("inf")
        self.scheduling_cycle = 0
        self.move_request_cycle = -1

    # ---------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self.pods)

    def __contains__(self, key: Key) -> bool:
        return key in self.pods

    def where(self, key: Key) -> str | None:
        qp = self.pods.get(key)
        return qp.where if qp else None

    def has_active(self) -> bool:
        active = self._active
        pods = self.pods
        while active:
            _, _, seq, key = active[0]
            qp = pods.get(key)
            if qp is not None and qp.where == "active" and qp.seq == seq:
                return True
            heapq.heappop(active)
        return False

    def backoff_duration(self, qp: QueuedPod) -> float:
        """``initial * 2^(attempts-1)`` capped at ``max`` (0 before the first attempt)."""
        if qp.attempts == 0:
            return 0.0
        duration = self.initial_backoff
        for _ in range(1, qp.attempts):
            if duration >= self.max_backoff:
                break
            duration *= 2
        return min(duration, self.max_backoff)

    def backoff_expiry(self, qp: QueuedPod) -> float:
        return qp.timestamp + self.backoff_duration(qp)

    # ---------------------------------------------------------------- transitions
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _to_active(self, qp: QueuedPod) -> None:
        qp.where = "active"
        qp.seq = self._next_seq()
        heapq.heappush(self._active, (-qp.priority, qp.timestamp, qp.seq, qp.key))
        self.on_active()

    def _to_backoff(self, qp: QueuedPod) -> None:
        qp.where = "backoff"
        qp.seq = self._next_seq()
        expiry = self.backoff_expiry(qp)
        heapq.heappush(self._backoff, (expiry, qp.seq, qp.key))
        self._arm_backoff(expiry)

    def _to_unschedulable(self, qp: QueuedPod) -> None:
        qp.where = "unschedulable"
        qp.seq = self._next_seq()
        self._unschedulable[qp.key] = qp
        deadline = qp.timestamp + self.max_unschedulable
        heapq.heappush(self._unsched_heap, (deadline, qp.seq, qp.key))
        self._arm_flush(deadline)

    def _leave(self, qp: QueuedPod) -> None:
        if qp.where == "unschedulable":
            self._unschedulable.pop(qp.key, None)
        qp.where = ""
        qp.seq = self._next_seq()   # invalidates any heap entry

    def add(self, pod: dict) -> None:
        """A new pending pod (or one not yet queued) goes straight to activeQ."""
        key = _key(pod)
        qp = self.pods.get(key)
        if qp is not None:
            self.update(pod)
            return
        qp = QueuedPod(key, pod, self.clock.now)
        self.pods[key] = qp
        self._to_active(qp)

    def update(self, pod: dict, changed: bool = True) -> None:
        """A queued pod changed; a meaningful change gives an unschedulable pod another try."""
        qp = self.pods.get(_key(pod))
        if qp is None:
            self.add(pod)
            return
        qp.pod = pod
        if changed and qp.where == "unschedulable":
            self._move(qp)

    def delete(self, key: Key) -> None:
        qp = self.pods.pop(key, None)
        if qp is not None:
            self._leave(qp)

    def pop(self) -> QueuedPod | None:
        """The next pod to schedule, or None when activeQ is empty."""
        active = self._active
        while active:
            _, _, seq, key = heapq.heappop(active)
            qp = self.pods.get(key)
            if qp is None or qp.where != "active" or qp.seq != seq:
                continue
            qp.where = "inflight"
            qp.attempts += 1
            if qp.initial_attempt is None:
                qp.initial_attempt = self.clock.now
            self.scheduling_cycle += 1
            qp.cycle = self.scheduling_cycle
            return qp
        return None

    def done(self, key: Key) -> None:
        """The pod was bound: forget it."""
        self.delete(key)

    def add_unschedulable(self, qp: QueuedPod, plugins: Iterable[str]) -> None:
        """Return a pod that failed: back-off if a move request raced its cycle, else the pool."""
        if self.pods.get(qp.key) is not qp:
            return          # deleted (or re-added) while it was being scheduled
        qp.timestamp = self.clock.now
        qp.unschedulable_plugins = frozenset(plugins)
        if self.move_request_cycle >= qp.cycle:
            self._to_backoff(qp)
        else:
            self._to_unschedulable(qp)

    def add_backoff(self, qp: QueuedPod) -> None:
        """Return a pod after an error (e.g. binding failed): retry after its back-off."""
        if self.pods.get(qp.key) is not qp:
            return
        qp.timestamp = self.clock.now
        qp.unschedulable_plugins = frozenset()
        self._to_backoff(qp)

    def _move(self, qp: QueuedPod) -> None:
        self._leave(qp)
        if self.backoff_expiry(qp) > self.clock.now:
            self._to_backoff(qp)
        else:
            self._to_active(qp)

    def move_all(self, plugins: frozenset[str] | set[str] | None = None) -> int:
        """A cluster event that may help: move unschedulable pods rejected by ``plugins`` (None: all)."""
        self.move_request_cycle = self.scheduling_cycle
        if not self._unschedulable:
            return 0
        moved = 0
        for qp in list(self._unschedulable.values()):
            if plugins is None or not qp.unschedulable_plugins or qp.unschedulable_plugins & plugins:
                self._move(qp)
                moved += 1
        return moved

    # ---------------------------------------------------------------- timers
    def _arm_backoff(self, when: float) -> None:
        if when >= self._backoff_timer_at:
            return
        if self._backoff_timer is not None:
            self._backoff_timer.cancel()
        self._backoff_timer_at = when
        self._backoff_timer = self.clock.schedule_at(when, self._flush_backoff)

    def _flush_backoff(self) -> None:
        """Move pods whose back-off has expired to activeQ (``flushBackoffQCompleted``)."""
        self._backoff_timer = None
        self._backoff_timer_at = float("inf")
        heap = self._backoff
        now = self.clock.now
        while heap:
            expiry, seq, key = heap[0]
            qp = self.pods.get(key)
            if qp is None or qp.where != "backoff" or qp.seq != seq:
                heapq.heappop(heap)
                continue
            if expiry > now:
                self._arm_backoff(expiry)
                break
            heapq.heappop(heap)
            self._to_active(qp)

    def _arm_flush(self, when: float) -> None:
        if when >= self._flush_timer_at:
            return
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._flush_timer_at = when
        self._flush_timer = self.clock.schedule_at(when, self._flush_unschedulable)

    def _flush_unschedulable(self) -> None:
        """Move pods unschedulable for longer than the limit (``flushUnschedulablePodsLeftover``)."""
        self._flush_timer = None
        self._flush_timer_at = float("inf")
        heap = self._unsched_heap
        now = self.clock.now
        while heap:
            deadline, seq, key = heap[0]
            qp = self._unschedulable.get(key)
            if qp is None or qp.seq != seq:
                heapq.heappop(heap)
                continue
            if deadline > now:
                self._arm_flush(deadline)
                break
            heapq.heappop(heap)
            self._move(qp)


def _key(pod: dict) -> Key:
    meta = meta_of(pod)
    return (meta.get("namespace") or "default", meta.get("name", ""))
