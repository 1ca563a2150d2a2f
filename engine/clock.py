"""Simulated time: one heap of ``(time, seq, callback)``, after SimPy's core.

Time moves only when an event pops. Ties run in the order they were scheduled (``seq``), which
with the cluster's single seeded ``random.Random`` makes every run reproducible.

A callback that raises does not stop the clock: ``Failures`` records the error against the
callback's owner (the component that scheduled it) and the next event runs, as client-go's
``HandleError`` logs and carries on. The components catch their own errors first (per key, with
back-off); this is the last line of defence. ``Clock.strict`` re-raises instead (engine tests).
"""
from __future__ import annotations

import datetime as _dt  # date arithmetic only: the engine never reads the wall clock (test_architecture.py)

import heapq
import logging
import random
from typing import Callable, Hashable

log = logging.getLogger(__name__)

# Simulated time 0 rendered as a wall date, so timestamps look real and stay deterministic.
EPOCH_ISO = "2026-01-01T00:00:00Z"
EPOCH_SECONDS = 1767225600  # 2026-01-01T00:00:00Z as a Unix timestamp


RETRY_BASE = 0.005    # seconds: client-go's ItemExponentialFailureRateLimiter base delay
RETRY_MAX = 1000.0    # seconds: its cap


class Handle:
    """A scheduled callback; ``cancel()`` makes it a no-op when its time comes."""

    __slots__ = ("when", "seq", "callback", "cancelled", "owner", "failures")

    def __init__(self, when: float, seq: int, callback: Callable[[], object], owner: str | None = None):
        self.when = when
        self.seq = seq
        self.callback = callback
        self.cancelled = False
        self.owner = owner
        self.failures = 0   # times the callback raised: it is retried with exponential back-off

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: "Handle") -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


def describe_key(key: Hashable | None) -> str:
    """Render a work-queue key for people: ``("pods", "default", "web")`` reads ``pods/default/web``."""
    if key is None:
        return ""
    if isinstance(key, tuple):
        return "/".join(str(part) for part in key if part not in ("", None))
    return str(key)


def owner_of(callback: Callable[[], object]) -> str:
    """Name the component a callback belongs to: its class's ``name`` (a controller's), else the class or function."""
    func = getattr(callback, "func", callback)        # functools.partial
    target = getattr(func, "__self__", None)
    if target is not None:
        # A class-level name only: a Kubelet's instance ``name`` is its node, not a component.
        name = getattr(type(target), "name", None)
        return name if isinstance(name, str) and name else type(target).__name__
    qualname = getattr(func, "__qualname__", "") or type(func).__name__
    return qualname.split(".<locals>", 1)[0].split(".", 1)[0] or "clock"


class Failures:
    """Count the errors components caught and carried on after: per component, the last one and when.

    Logging is rate limited per component without a wall clock: the first error with its traceback,
    then one line each time the count reaches a power of two (2, 4, 8, ...).
    """

    def __init__(self, clock: "Clock"):
        self.clock = clock
        self._by_component: dict[str, dict] = {}

    def __bool__(self) -> bool:
        return bool(self._by_component)

    def record(self, component: str, err: BaseException, key: Hashable | None = None) -> None:
        """Record ``err`` against ``component`` (and the key it was working on); re-raise it when strict.

        Call it from an ``except`` block: strict clocks (engine tests) re-raise there, so a bug fails
        the test that hit it with its own traceback instead of only being counted.
        """
        if self.clock.strict:
            raise err
        entry = self._by_component.get(component)
        if entry is None:
            entry = self._by_component[component] = {"errors": 0}
        entry.update(errors=entry["errors"] + 1, last_error=f"{type(err).__name__}: {err}",
                     last_key=describe_key(key), at=round(self.clock.now, 3))
        count = entry["errors"]
        if count == 1:
            log.error("%s failed (key %r) at t=%.3f; it carries on", component, entry["last_key"], self.clock.now,
                      exc_info=err)
        elif count & (count - 1) == 0:
            log.error("%s has failed %d times; last (key %r): %s", component, count, entry["last_key"],
                      entry["last_error"])

    def count(self, component: str) -> int:
        entry = self._by_component.get(component)
        return entry["errors"] if entry else 0

    def health(self) -> dict[str, dict]:
        """A copy: component -> {"errors", "last_error", "last_key", "at"} (empty when nothing failed)."""
        # list() first: the web layer may read this while the engine thread records (no lock held).
        return {name: dict(entry) for name, entry in list(self._by_component.items())}

    def clear(self) -> None:
        self._by_component.clear()


class Clock:
    """A discrete-event clock with a seeded random source."""

    # Re-raise what a callback (or a component's ``Failures.record``) caught instead of carrying on.
    # Off in the app; the engine tests turn it on (tests/engine/conftest.py) so bugs fail loudly.
    strict = False

    def __init__(self, seed: int = 0, start: float = 0.0, strict: bool | None = None):
        self.now = float(start)
        self.rng = random.Random(seed)
        self._heap: list[Handle] = []
        self._seq = 0
        self.running: Handle | None = None   # the callback being run (who is acting, for engine.history)
        if strict is not None:
            self.strict = strict
        self.failures = Failures(self)

    def schedule(self, delay: float, callback: Callable[[], object], owner: str | None = None) -> Handle:
        """Run ``callback`` ``delay`` simulated seconds from now (0 = after current work).

        ``owner`` names the component its errors are counted against (default: ``owner_of``)."""
        if delay < 0:
            raise ValueError("delay must be >= 0")
        return self.schedule_at(self.now + delay, callback, owner)

    def schedule_at(self, when: float, callback: Callable[[], object], owner: str | None = None) -> Handle:
        """Run ``callback`` at absolute simulated time ``when`` (never in the past)."""
        self._seq += 1
        handle = Handle(max(when, self.now), self._seq, callback, owner)
        heapq.heappush(self._heap, handle)
        return handle

    def peek(self) -> float | None:
        """Time of the next live event, or None when nothing is scheduled."""
        heap = self._heap
        while heap and heap[0].cancelled:
            heapq.heappop(heap)
        return heap[0].when if heap else None

    def step(self) -> bool:
        """Pop and run the next live event; False when there is none."""
        heap = self._heap
        while heap:
            handle = heapq.heappop(heap)
            if handle.cancelled:
                continue
            self.now = handle.when
            self.running = handle
            try:
                handle.callback()
            except Exception as err:  # the last line of defence: one failing callback stops nobody else
                callback = handle.callback
                self.failures.record(handle.owner or owner_of(callback), err,
                                     getattr(callback, "__qualname__", None) or repr(callback))
                self._retry(handle)
            finally:
                self.running = None
            return True
        return False

    def _retry(self, handle: Handle) -> None:
        """Run a callback that raised again later, with the work queues' back-off (5 ms doubling, ≤ 1000 s).

        The same handle goes back on the heap, so whoever holds it can still cancel the retry.
        """
        handle.failures += 1
        self._seq += 1
        handle.when = self.now + min(RETRY_BASE * 2 ** (handle.failures - 1), RETRY_MAX)
        handle.seq = self._seq
        heapq.heappush(self._heap, handle)

    def run_until(self, t: float) -> int:
        """Run every event due at or before ``t``, then set the clock to ``t``; returns events run."""
        ran = 0
        while True:
            nxt = self.peek()
            if nxt is None or nxt > t:
                break
            self.step()
            ran += 1
        if t > self.now:
            self.now = t
        return ran

    def pending(self) -> int:
        """Number of scheduled, not-cancelled events (O(n); for tests and stats)."""
        return sum(1 for h in self._heap if not h.cancelled)


def rfc3339(sim_seconds: float) -> str:
    """Render simulated time as RFC 3339 (whole seconds, UTC), as Kubernetes timestamps are."""
    stamp = _dt.datetime.fromtimestamp(EPOCH_SECONDS + int(sim_seconds), tz=_dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(sim_seconds: float) -> str:
    """RFC 3339 with microseconds (Lease renewTime, MicroTime fields)."""
    micros = int(round(sim_seconds * 1_000_000))
    stamp = _dt.datetime.fromtimestamp(EPOCH_SECONDS, tz=_dt.timezone.utc) + _dt.timedelta(microseconds=micros)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> float:
    """Inverse of ``rfc3339``: simulated seconds for a timestamp string."""
    stamp = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp.timestamp() - EPOCH_SECONDS
