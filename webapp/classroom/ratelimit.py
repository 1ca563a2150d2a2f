"""Token buckets for joins: per client address and for the whole server, with Retry-After.

A join creates a cluster and checks a code, so joins are what an attacker would flood (to fill the
class or guess the code). Each address may join ``per_address`` times a minute after a burst of
``burst``; the server as a whole ``per_minute`` times a minute after a burst of ``global_burst``
(a whole class joining in the first minute must pass). Buckets of idle addresses are forgotten.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable

Clock = Callable[[], float]
_EPSILON = 1e-9   # refills are float sums: 6 s at 1/6 token a second must make a whole token


class TokenBucket:
    """``burst`` tokens, refilled at ``per_minute`` a minute; one join takes one."""

    def __init__(self, per_minute: float, burst: float, now: float):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self) -> float:
        """Seconds until one token is there (0 when there is one now); call ``refill`` first."""
        missing = 1.0 - self.tokens
        return 0.0 if missing <= _EPSILON else missing / self.rate

    def full(self) -> bool:
        return self.tokens >= self.burst


class JoinLimiter:
    MAX_ADDRESSES = 10_000   # past this, buckets that have refilled (idle addresses) are dropped

    def __init__(self, per_address: float = 10, burst: float = 5, per_minute: float = 60,
                 global_burst: float = 60, clock: Clock = time.monotonic):
        self.per_address, self.burst = per_address, burst
        self.clock = clock
        self.total = TokenBucket(per_minute, global_burst, clock())
        self.buckets: dict[str, TokenBucket] = {}
        self.lock = threading.Lock()

    def take(self, address: str) -> int:
        """Take a join for ``address``: 0 if it may join now, else the whole seconds to wait (Retry-After).

        A refused join takes nothing from either bucket, so waiting the time said is enough.
        """
        with self.lock:
            now = self.clock()
            bucket = self.buckets.get(address)
            if bucket is None:
                self._forget_idle(now)
                bucket = self.buckets[address] = TokenBucket(self.per_address, self.burst, now)
            bucket.refill(now)
            self.total.refill(now)
            wait = max(bucket.wait(), self.total.wait())
            if wait > 0:
                return max(1, math.ceil(wait - _EPSILON))   # 1.0000000001 s is 1 s, not 2
            bucket.tokens -= 1
            self.total.tokens -= 1
            return 0

    def _forget_idle(self, now: float) -> None:
        if len(self.buckets) < self.MAX_ADDRESSES:
            return
        for address, bucket in list(self.buckets.items()):
            bucket.refill(now)
            if bucket.full():
                del self.buckets[address]
