"""Simulated time: one heap of ``(time, seq, callback)``, after SimPy's core.

Time moves only when an event pops. Ties run in the order they were scheduled (``seq``), which
with the cluster's single seeded ``random.Random`` makes every run reproducible.
"""
from __future__ import annotations

import datetime as _dt  # date arithmetic only: the engine never reads the wall clock (test_architecture.py)

import heapq
import random
from typing import Callable

# Simulated time 0 rendered as a wall date, so timestamps look real and stay deterministic.
EPOCH_ISO = "2026-01-01T00:00:00Z"
EPOCH_SECONDS = 1767225600  # 2026-01-01T00:00:00Z as a Unix timestamp


class Handle:
    """A scheduled callback; ``cancel()`` makes it a no-op when its time comes."""

    __slots__ = ("when", "seq", "callback", "cancelled")

    def __init__(self, when: float, seq: int, callback: Callable[[], object]):
        self.when = when
        self.seq = seq
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: "Handle") -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


class Clock:
    """A discrete-event clock with a seeded random source."""

    def __init__(self, seed: int = 0, start: float = 0.0):
        self.now = float(start)
        self.rng = random.Random(seed)
        self._heap: list[Handle] = []
        self._seq = 0

    def schedule(self, delay: float, callback: Callable[[], object]) -> Handle:
        """Run ``callback`` ``delay`` simulated seconds from now (0 = after current work)."""
        if delay < 0:
            raise ValueError("delay must be >= 0")
        return self.schedule_at(self.now + delay, callback)

    def schedule_at(self, when: float, callback: Callable[[], object]) -> Handle:
        """Run ``callback`` at absolute simulated time ``when`` (never in the past)."""
        self._seq += 1
        handle = Handle(max(when, self.now), self._seq, callback)
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
            handle.callback()
            return True
        return False

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
