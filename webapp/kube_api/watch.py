"""``?watch=true``: a chunked stream of ``{"type": ..., "object": ...}`` lines, one per change.

Semantics follow the apiserver's watch cache: ``resourceVersion`` unset or ``"0"`` starts with
synthetic ADDED events for the current objects; ``N`` delivers every change after N (410 Expired as
an ERROR event when N has left the history window); objects that stop matching a label/field
selector are sent as DELETED and ones that start matching as ADDED. BOOKMARKs (when asked) go out
about every minute of wall time and right before the stream ends at ``timeoutSeconds``.

The generator takes the runtime lock only to poll and never while encoding or waiting; it blocks
in ``runtime.wait_for_revision``. Works under Werkzeug's threaded server and gunicorn's gthread
workers (each yield is written and flushed as one chunk: the lines of all events one poll found).

Fan-out: N watchers of one collection see the same store events, so a JSON event line is encoded
once and its bytes shared (``EventLines``, keyed by generation, revision, type and shape); only
Table watches (whose rows depend on the watcher's columns and the clock) are encoded per watcher.
"""
from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from flask import Response, current_app, request

from engine.errors import Expired, StatusError, TooManyRequests
from engine.selectors import FieldSelector, LabelSelector

from . import media, printers
from .common import dumps_bytes, q_bool, q_int, q_str, runtime

BOOKMARK_EVERY = 60.0     # wall seconds (defaultBookmarkFrequency)
WAKE_EVERY = 5.0          # wall seconds between idle checks (reset, deadline)
SHARED_LINES = 4096       # encoded event lines kept for other watchers (a few frames of heavy churn)
# Open watches per remote address (app config MAX_WATCHES_PER_CLIENT): each holds a server thread, so one
# client must not be able to take them all. kubectl uses one or two, a controller-style client one per type.
MAX_WATCHES_PER_CLIENT = 100


class WatchSlots:
    """How many watches each remote address has open; ``acquire`` refuses past the limit (429)."""

    def __init__(self):
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, client: str, limit: int) -> Callable[[], None]:
        """Take a slot for ``client`` and return its release (idempotent); TooManyRequests when none is free."""
        with self._lock:
            count = self._open.get(client, 0)
            if count >= limit:
                raise TooManyRequests(f"too many watches from {client}: {count} are open and at most {limit} may be; "
                                      "close some and retry (the limit is the app's MAX_WATCHES_PER_CLIENT)",
                                      retry_after=1)
            self._open[client] = count + 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                left = self._open.get(client, 1) - 1
                if left > 0:
                    self._open[client] = left
                else:
                    self._open.pop(client, None)
        return release

    def count(self, client: str) -> int:
        with self._lock:
            return self._open.get(client, 0)


def slots() -> WatchSlots:
    """This app's watch slots (one table per app, so test apps do not share counts)."""
    return current_app.extensions.setdefault("kubedrill.watch_slots", WatchSlots())


class EventLines:
    """A small, thread-safe LRU of encoded watch-event lines shared by every watcher of the process.

    Committed store objects are never mutated, so the line for (object, event type, shape) is the
    same bytes for every watcher that sends it. Entries are keyed by the object's ``id`` and keep a
    reference to the object (checked on a hit), so an id cannot be reused while its entry lives.
    """

    def __init__(self, size: int = SHARED_LINES):
        self.size = size
        self._lines: OrderedDict[tuple, tuple[dict, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, obj: dict, ev_type: str, shape: str, make: Callable[[], bytes]) -> bytes:
        """The line for ``obj`` sent as ``ev_type`` in ``shape``; ``make()`` encodes it (unlocked) on a miss."""
        key = (id(obj), ev_type, shape)
        with self._lock:
            hit = self._lines.get(key)
            if hit is not None and hit[0] is obj:
                self._lines.move_to_end(key)
                return hit[1]
        line = make()
        with self._lock:
            self._lines[key] = (obj, line)
            self._lines.move_to_end(key)
            if len(self._lines) > self.size:
                self._lines.popitem(last=False)
        return line

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()


SHARED = EventLines()


def _matches(obj: dict | None, labels: LabelSelector, fields: FieldSelector) -> bool:
    if obj is None:
        return False
    if not labels.empty and not labels.matches((obj.get("metadata") or {}).get("labels")):
        return False
    if not fields.empty and not fields.matches(obj):
        return False
    return True


def translate(ev_type: str, obj: dict, old: dict | None, labels: LabelSelector,
              fields: FieldSelector) -> str | None:
    """The watch event type a selector-filtered client sees for a store event (None = not at all)."""
    if labels.empty and fields.empty:
        return ev_type
    now_in = _matches(obj, labels, fields)
    if ev_type == "ADDED":
        return "ADDED" if now_in else None
    if ev_type == "DELETED":
        return "DELETED" if now_in else None
    was_in = _matches(old, labels, fields)
    if now_in and was_in:
        return "MODIFIED"
    if now_in:
        return "ADDED"
    if was_in:
        return "DELETED"
    return None


@dataclass
class WatchQuery:
    """What a ``?watch=true`` request asks for, read once from the query string."""
    output: str
    include: str
    label_text: str | None
    field_text: str | None
    labels: LabelSelector
    fields: FieldSelector
    timeout: float
    bookmarks: bool
    since: str | None
    namespace: str | None

    @classmethod
    def from_request(cls, target) -> "WatchQuery":
        rt = target.rt
        label_text, field_text = q_str("labelSelector"), q_str("fieldSelector")
        timeout = q_int("timeoutSeconds", minimum=0)
        if not timeout:
            timeout = 1800 * (1 + random.random())  # MinRequestTimeout x (1 + rand), like the apiserver
        return cls(output=media.choose_output(request.headers.get("Accept")),
                   include=q_str("includeObject") or "Metadata",
                   label_text=label_text, field_text=field_text,
                   labels=LabelSelector.parse(label_text), fields=FieldSelector.parse(field_text, rt.plural),
                   timeout=timeout, bookmarks=q_bool("allowWatchBookmarks"), since=q_str("resourceVersion"),
                   namespace=target.namespace if rt.namespaced else None)


class EventEncoder:
    """Encode one watcher's event lines: JSON and metadata-only lines are shared, Table rows are not."""

    def __init__(self, rt, query: WatchQuery):
        self.rt = rt
        self.table = query.output == "table"
        self.partial = query.output in ("partial", "partiallist")
        self.include = query.include
        self.first_row = True     # the first Table row carries the column definitions

    @staticmethod
    def line(ev_type: str, payload: Any) -> bytes:
        return dumps_bytes({"type": ev_type, "object": payload}) + b"\n"

    def encode(self, ev_type: str, obj: dict, now: float) -> bytes:
        if self.table:
            payload = printers.table(self.rt.plural, [obj], now, include_object=self.include,
                                     with_columns=self.first_row)
            self.first_row = False
            return self.line(ev_type, payload)
        if self.partial:
            return self.line(ev_type, {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                       "metadata": obj.get("metadata") or {}})
        return self.line(ev_type, obj)

    def shared(self, ev_type: str, obj: dict, now: float) -> bytes:
        if self.table:   # rows depend on this watcher's columns and the clock: never shared
            return self.encode(ev_type, obj, now)
        return SHARED.get(obj, ev_type, "partial" if self.partial else "json", lambda: self.encode(ev_type, obj, now))

    def bookmark(self, rv: int) -> bytes:
        return self.line("BOOKMARK", {"kind": self.rt.kind, "apiVersion": self.rt.api_version,
                                      "metadata": {"resourceVersion": str(rv)}})


def _open(cluster, rt, query: WatchQuery) -> tuple[Any, list[dict], float]:
    """Open the store watch (after a list when no resourceVersion was given); return it, the initial objects, now."""
    if query.since in (None, "", "0"):
        items, _, _ = cluster.api.list(rt.plural, query.namespace, label_selector=query.label_text,
                                       field_selector=query.field_text)
        return cluster.api.watch(rt.plural, query.namespace, since=str(cluster.store.revision)), list(items), \
            cluster.clock.now
    return cluster.api.watch(rt.plural, query.namespace, since=query.since), [], cluster.clock.now


def _stream(rt_obj, w, initial: list[dict], now: float, error: dict | None, query: WatchQuery,
            encoder: EventEncoder, generation: int) -> Iterator[bytes]:
    """Yield the watch's chunks until its timeout, a reset of the cluster or an error."""
    # An empty first chunk makes the server send the headers now: clients (client-go's Do, requests)
    # wait for them before reading events, and a quiet watch must not look like a hung request.
    yield b""
    if error is not None:
        yield encoder.line("ERROR", error)
        return
    deadline = time.monotonic() + query.timeout
    last_bookmark = time.monotonic()
    for i in range(0, len(initial), 100):   # the synthetic ADDED events, a hundred lines per write
        yield b"".join(encoder.shared("ADDED", obj, now) for obj in initial[i:i + 100])

    def poll():   # runs under the runtime lock
        return w.poll(), w.cursor, rt_obj.cluster.clock.now

    while True:
        if rt_obj.generation != generation:
            return  # the cluster was reset: clients re-list, as after a closed watch
        try:
            events, cursor, t = rt_obj.call(poll)
        except StatusError as e:
            yield encoder.line("ERROR", e.to_status())
            return
        lines = [encoder.shared(kind, ev.obj, t) for ev in events
                 if (kind := translate(ev.type, ev.obj, ev.old, query.labels, query.fields)) is not None]
        if lines:
            yield b"".join(lines)   # one chunk (one write) for everything this poll found
        wall = time.monotonic()
        if wall >= deadline:
            if query.bookmarks:
                yield encoder.bookmark(cursor)
            return
        if query.bookmarks and wall - last_bookmark >= BOOKMARK_EVERY:
            last_bookmark = wall
            yield encoder.bookmark(cursor)
        wait = min(deadline - wall, WAKE_EVERY)
        if query.bookmarks:
            wait = min(wait, max(0.0, BOOKMARK_EVERY - (wall - last_bookmark)))
        rt_obj.wait_for_revision(cursor, wait, generation)


def _released(chunks: Iterator[bytes], release: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        release()


def _watching(rt_obj, release_slot: Callable[[], None]) -> Callable[[], None]:
    """Count an open watch on the runtime (a watched cluster is never idle, see webapp.hub); once-only release."""
    with rt_obj.lock:
        rt_obj.watchers += 1
    released = False

    def release() -> None:
        nonlocal released
        with rt_obj.lock:
            if released:
                return
            released = True
            rt_obj.watchers -= 1
        release_slot()
    return release


def serve(target) -> Response:
    """Start a watch for ``target`` (a routes.Target without a name) and stream it."""
    rt, rt_obj = target.rt, runtime()
    query = WatchQuery.from_request(target)
    generation = rt_obj.generation
    error: dict | None = None
    limit = int(current_app.config.get("MAX_WATCHES_PER_CLIENT", MAX_WATCHES_PER_CLIENT))
    release = _watching(rt_obj, slots().acquire(request.remote_addr or "unknown", limit))
    try:
        try:
            w, initial, now = rt_obj.call(lambda: _open(rt_obj.cluster, rt, query))
        except Expired as e:
            w, initial, now, error = None, [], 0.0, e.to_status()
        # Other StatusErrors (bad selector, bad resourceVersion) propagate as a plain error response.
        encoder = EventEncoder(rt, query)
    except BaseException:
        release()
        raise
    content_type = media.TABLE_CONTENT_TYPE if encoder.table else "application/json"
    resp = Response(_released(_stream(rt_obj, w, initial, now, error, query, encoder, generation), release),
                    status=200, content_type=content_type)
    resp.call_on_close(release)   # also when the stream is never iterated (client gone before the first write)
    resp.headers["Cache-Control"] = "no-cache, private"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
