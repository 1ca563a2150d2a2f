"""Work queues on the simulated clock, after client-go's workqueue and sample-controller.

Event handlers only enqueue keys; the queue runs ``sync(key)`` from a clock callback. A key is
never queued twice, a failed sync is retried with exponential back-off (5 ms doubling, capped),
and a stopped controller (ControlPlaneChaos) keeps its queue until it is started again.
"""
from __future__ import annotations

from collections import deque
from typing import Callable, Hashable

from ..clock import Clock, Handle
from ..errors import StatusError

RETRY_BASE = 0.005
RETRY_MAX = 60.0


class WorkQueue:
    def __init__(self, clock: Clock, sync: Callable[[Hashable], None], name: str = ""):
        self.clock = clock
        self.sync = sync
        self.name = name
        self._queue: deque[Hashable] = deque()
        self._queued: set[Hashable] = set()
        self._retries: dict[Hashable, int] = {}
        self._delayed: dict[Hashable, Handle] = {}
        self._scheduled = False
        self.stopped = False
        self.errors: list[tuple[Hashable, str]] = []  # last sync errors, for diagnostics

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: Hashable) -> None:
        if key in self._queued:
            return
        self._queued.add(key)
        self._queue.append(key)
        self._kick()

    def add_after(self, key: Hashable, delay: float) -> None:
        """Queue ``key`` after ``delay`` sim seconds (the earliest request wins)."""
        if delay <= 0:
            self.add(key)
            return
        when = self.clock.now + delay
        handle = self._delayed.get(key)
        if handle is not None and not handle.cancelled and handle.when <= when:
            return
        if handle is not None:
            handle.cancel()

        def fire() -> None:
            if self._delayed.get(key) is fired_handle:
                del self._delayed[key]
            self.add(key)

        fired_handle = self.clock.schedule(delay, fire)
        self._delayed[key] = fired_handle

    def forget(self, key: Hashable) -> None:
        self._retries.pop(key, None)

    def _kick(self) -> None:
        if not self._scheduled and not self.stopped:
            self._scheduled = True
            self.clock.schedule(0, self._drain)

    def start(self) -> None:
        self.stopped = False
        if self._queue:
            self._kick()

    def stop(self) -> None:
        self.stopped = True

    def _drain(self) -> None:
        self._scheduled = False
        if self.stopped:
            return
        batch = len(self._queue)
        for _ in range(batch):
            if self.stopped or not self._queue:
                break
            key = self._queue.popleft()
            self._queued.discard(key)
            try:
                self.sync(key)
            except StatusError as err:
                tries = self._retries.get(key, 0)
                self._retries[key] = tries + 1
                self.errors = (self.errors + [(key, err.message)])[-20:]
                self.add_after(key, min(RETRY_MAX, RETRY_BASE * (2 ** tries)))
            else:
                self._retries.pop(key, None)
        if self._queue:
            self._kick()


class Controller:
    """Base for controllers: a name, a queue, and start/stop for ControlPlaneChaos."""

    name = "controller"

    def __init__(self, api, clock: Clock):
        self.api = api
        self.clock = clock
        self.store = api.store
        self.queue = WorkQueue(clock, self.sync, self.name)

    def sync(self, key: Hashable) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def stopped(self) -> bool:
        return self.queue.stopped

    def stop(self) -> None:
        self.queue.stop()

    def start(self) -> None:
        self.queue.start()
