"""Work queues on the simulated clock, after client-go's workqueue and sample-controller.

Event handlers only enqueue keys; the queue runs ``sync(key)`` from a clock callback. A key is
never queued twice, a failed sync is retried with exponential back-off (5 ms doubling, capped),
and a stopped controller (ControlPlaneChaos) keeps its queue until it is started again.

As in client-go's ``processNextWorkItem``, any exception from ``sync(key)`` is handled per key: an
API error (StatusError: a Conflict, the API server down) is an expected outcome and only retried;
anything else is a bug in that controller, so it is also logged and counted against the component
(``clock.failures``, read by ``Cluster.health``). Either way the other keys, the other controllers
and the clock carry on.
"""
from __future__ import annotations

from collections import deque
from typing import Callable, Hashable

from ..clock import Clock, Handle
from ..errors import StatusError

RETRY_BASE = 0.005      # ItemExponentialFailureRateLimiter's base delay in DefaultControllerRateLimiter
RETRY_MAX = 60.0        # cap for API errors: they clear when the API server is back, so retry soon after
FAILURE_MAX = 1000.0    # upstream's cap, for sync bugs: a key that keeps failing costs little


class ItemExponentialFailureRateLimiter:
    """client-go's per-item back-off: ``base * 2**failures`` (simulated seconds), capped; ``forget`` resets."""

    def __init__(self, base: float = RETRY_BASE, max_delay: float = FAILURE_MAX):
        self.base = base
        self.max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        """The delay before ``key``'s next retry; counts one more failure for it."""
        exp = self._failures.get(key, 0)
        self._failures[key] = exp + 1
        if exp > 64:                           # 2**64 * 5 ms is far past any cap; avoid huge floats
            return self.max_delay
        return min(self.max_delay, self.base * (2 ** exp))

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)


class WorkQueue:
    """A rate-limited work queue of keys, drained by ``sync`` in a clock callback."""

    def __init__(self, clock: Clock, sync: Callable[[Hashable], None], name: str = ""):
        self.clock = clock
        self.sync = sync
        self.name = name
        self._queue: deque[Hashable] = deque()
        self._queued: set[Hashable] = set()
        self.rate_limiter = ItemExponentialFailureRateLimiter()
        self._delayed: dict[Hashable, Handle] = {}
        self._scheduled = False
        self.stopped = False
        self.errors: list[tuple[Hashable, str]] = []  # last sync errors, for diagnostics
        self.last_sync: tuple[Hashable, float] | None = None   # what the control-plane view calls its last action

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

        fired_handle = self.clock.schedule(delay, fire, self.name or None)
        self._delayed[key] = fired_handle

    def add_rate_limited(self, key: Hashable, max_delay: float | None = None) -> float:
        """Queue ``key`` again after its back-off (capped at ``max_delay`` when given); return the delay."""
        delay = self.rate_limiter.when(key)
        if max_delay is not None:
            delay = min(delay, max_delay)
        self.add_after(key, delay)
        return delay

    def num_requeues(self, key: Hashable) -> int:
        return self.rate_limiter.num_requeues(key)

    def forget(self, key: Hashable) -> None:
        """Reset ``key``'s back-off (after a successful sync)."""
        self.rate_limiter.forget(key)

    def _kick(self) -> None:
        if not self._scheduled and not self.stopped:
            self._scheduled = True
            self.clock.schedule(0, self._drain, self.name or None)

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
            self.last_sync = (key, self.clock.now)
            try:
                self.sync(key)
            except StatusError as err:
                self.errors = (self.errors + [(key, err.message)])[-20:]
                self.add_rate_limited(key, RETRY_MAX)
            except Exception as err:  # a bug in this component's sync: count it, retry the key, carry on
                self.clock.failures.record(self.name or type(self).__name__, err, key)
                self.errors = (self.errors + [(key, f"{type(err).__name__}: {err}")])[-20:]
                self.add_rate_limited(key)
            else:
                self.forget(key)
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
