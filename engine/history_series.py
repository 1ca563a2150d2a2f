"""One chart series kept for hours in bounded memory: change points in three resolutions.

A series is a list of change points ``(t, a, b)``: the value ``(a, b)`` holds from ``t`` until the
next point ("last value holds"), so a series that does not change costs one point, however long.
``a, b`` are (desired, ready) replicas for a workload, (success rate %, None) for a Service; None
as a value is a gap (the workload was deleted).

Three tiers, oldest first:

* ``coarse``: 60-s buckets, from 24 h ago (older is dropped) to 6 h ago;
* ``mid``: 10-s buckets, from 6 h to 15 min ago;
* ``fine``: every change at 1-s resolution for the last 15 min.

When points age out of a tier they are folded into buckets of the next: a bucket's value is the
worst the tier saw within it -- the highest desired and the lowest ready, the lowest success
rate -- so a 3-s outage an hour ago still shows as a dip of the same depth, only wider (10 s or
60 s), never smoothed away. Folding happens once per bucket width, not per sample.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable

FINE_SECONDS = 15 * 60
MID_WIDTH = 10
MID_SECONDS = 6 * 3600
COARSE_WIDTH = 60
KEEP_SECONDS = 24 * 3600

Point = tuple  # (t: int, a, b)
Value = tuple  # (a, b)


def _low(x: Any, y: Any) -> Any:
    return y if x is None else x if y is None else min(x, y)


def _high(x: Any, y: Any) -> Any:
    return y if x is None else x if y is None else max(x, y)


# kind -> how two values in one bucket combine: the bucket keeps the worse of each.
WORST: dict[str, Callable[[Value, Value], Value]] = {
    "replicas": lambda x, y: (_high(x[0], y[0]), _low(x[1], y[1])),
    "rate": lambda x, y: (_low(x[0], y[0]), None),
}


def fold(points: list[Point], limit: int, width: int, worst: Callable[[Value, Value], Value]
         ) -> tuple[list[Point], list[Point]]:
    """Split change points at ``limit`` (a multiple of ``width``): (buckets before it, points from it on).

    Each bucket ``[start, start + width)`` gets the worst value holding at any time inside it; a
    stretch of whole buckets without a change is one point. The points kept start with the value
    holding at ``limit``, so nothing before it is needed to read them.
    """
    out: list[Point] = []
    value: Value | None = None     # the value holding at ``at`` (the end of the last bucket)
    at = 0
    i, n = 0, len(points)
    while i < n and points[i][0] < limit:
        t0 = points[i][0]
        start = t0 - t0 % width
        if value is not None and at < start:
            out.append((at, *value))          # whole buckets the carried value held alone
        acc = value if value is not None and t0 > start else None
        end = start + width
        while i < n and points[i][0] < end:
            value = points[i][1:]
            acc = value if acc is None else worst(acc, value)
            i += 1
        out.append((start, *acc))
        at = end
    rest = points[i:]
    if value is not None:
        if at < limit:
            out.append((at, *value))
        if not rest or rest[0][0] > limit:
            rest.insert(0, (limit, *value))
    return out, rest


def _extend(dst: list[Point], points: list[Point]) -> None:
    for p in points:
        if dst and dst[-1][1:] == p[1:]:
            continue                          # the value already holds: no point needed
        if dst and dst[-1][0] >= p[0]:
            dst[-1] = p
        else:
            dst.append(p)


class Series:
    """One workload's replicas or one Service's success rate over time (see the module docstring)."""

    __slots__ = ("key", "title", "kind", "coarse", "mid", "fine", "live", "dirty")

    def __init__(self, key: str, title: str, kind: str):
        self.key, self.title, self.kind = key, title, kind
        self.coarse: list[Point] = []
        self.mid: list[Point] = []
        self.fine: list[Point] = []
        self.live = True          # still sampled (its object exists)
        self.dirty = True         # changed since it was last persisted

    def add(self, t: int, a: Any, b: Any) -> None:
        """Record the value at ``t`` (ignored when it is the value already holding)."""
        fine = self.fine
        if fine and fine[-1][1] == a and fine[-1][2] == b:
            return
        _extend(fine, [(t, a, b)])
        self.dirty = True

    def last(self) -> Point | None:
        for tier in (self.fine, self.mid, self.coarse):
            if tier:
                return tier[-1]
        return None

    def roll(self, now: float) -> bool:
        """Fold what aged out of each tier into the next; drop what is older than 24 h.

        Returns False when nothing is left (an ended series whose last point is older than 24 h)."""
        worst = WORST[self.kind]
        limit = int(now - FINE_SECONDS) // MID_WIDTH * MID_WIDTH
        if self.fine and self.fine[0][0] < limit:
            buckets, self.fine = fold(self.fine, limit, MID_WIDTH, worst)
            _extend(self.mid, buckets)
            self.dirty = True
        limit = int(now - MID_SECONDS) // COARSE_WIDTH * COARSE_WIDTH
        if self.mid and self.mid[0][0] < limit:
            buckets, self.mid = fold(self.mid, limit, COARSE_WIDTH, worst)
            _extend(self.coarse, buckets)
            self.dirty = True
        cut = int(now - KEEP_SECONDS) // COARSE_WIDTH * COARSE_WIDTH
        coarse = self.coarse
        if coarse and coarse[0][0] < cut:
            j = bisect_left(coarse, (cut,))
            kept = coarse[j:]
            if not kept or kept[0][0] > cut:
                kept.insert(0, (cut, *coarse[j - 1][1:]))
            self.coarse = kept
            self.dirty = True
        if not self.live:
            last = self.last()
            if last is None or (last[0] < cut and last[1] is None):
                return False
        return True

    def points(self, since: float | None, now: float) -> dict[str, list]:
        """``{"t", "a", "b"}`` after ``since``, oldest first, ending with the value holding now."""
        t: list = []
        a: list = []
        b: list = []
        prev = None
        for tier in (self.coarse, self.mid, self.fine):
            for p in tier:
                if p[1:] == prev:
                    continue
                prev = p[1:]
                if since is None or p[0] > since:
                    t.append(p[0])
                    a.append(p[1])
                    b.append(p[2])
        if self.live and prev is not None and (not t or t[-1] < now) and (since is None or now > since):
            t.append(now)        # the last value holds until now: the curve reaches the present
            a.append(prev[0])
            b.append(prev[1])
        return {"t": t, "a": a, "b": b}

    # ------------------------------------------------------------------ persistence
    def to_json(self) -> dict:
        return {"key": self.key, "title": self.title, "kind": self.kind, "live": self.live,
                "coarse": self.coarse, "mid": self.mid, "fine": self.fine}

    @classmethod
    def from_json(cls, data: dict) -> "Series":
        s = cls(data["key"], data["title"], data["kind"])
        s.live = bool(data.get("live", True))
        s.coarse, s.mid, s.fine = ([tuple(p) for p in data.get(tier) or ()] for tier in ("coarse", "mid", "fine"))
        s.dirty = False
        return s
