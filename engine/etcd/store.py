"""The etcd analogue: versioned objects, watch from a revision, a bounded history window.

Objects are Kubernetes-shaped dicts keyed by ``(resource, namespace, name)`` (namespace ``""`` for
cluster-scoped kinds). Every write bumps one global revision, stamped as
``metadata.resourceVersion``, and appends exactly one event to the history ring, so a watch is a
cursor over revisions. The store owns the dicts it is given: callers never mutate an object after
handing it over or after reading it (copy with ``objects.clone`` first).

Indexes answer "pods on node X", "objects owned by uid U", "objects with label k=v" and
"objects of a resource in namespace N" without scanning everything.

Every write touches as few large tables as it can: at 100k objects each table is bigger than the
CPU cache, so each extra one costs a cache miss per write (``bench/store_bench.py``). Objects live
in one namespace bucket (no separate key table or per-resource key set); a label key is indexed
only once some selector has asked for it (a running cluster selects on ``app``, rarely on most
other keys); and there is no uid index: like the real garbage collector, owners are looked up by
the reference's kind and name and then compared by uid.
"""
from __future__ import annotations

import base64
import gc
import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from ..errors import AlreadyExists, BadRequest, Conflict, Expired, NotFound
from ..objects import labels_of, spec_of
from ..selectors import FieldSelector, LabelSelector

Key = tuple[str, str, str]  # (resource, namespace, name)

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


@dataclass(frozen=True, slots=True)
class Event:
    """One change: ``type`` ADDED / MODIFIED / DELETED, the object after it (before it for DELETED)."""

    type: str
    resource: str
    obj: dict
    rv: int
    old: dict | None = None

    @property
    def key(self) -> Key:
        meta = self.obj["metadata"]
        return (self.resource, meta.get("namespace") or "", meta["name"])


def key_of(resource: str, obj: dict) -> Key:
    meta = obj["metadata"]
    return (resource, meta.get("namespace") or "", meta["name"])


class Watch:
    """A cursor over the history ring; ``poll()`` returns the changes since the last poll, in order."""

    def __init__(self, store: "Store", since: int, resource: str | None, namespace: str | None,
                 labels: LabelSelector | None, fields: FieldSelector | None):
        self.store = store
        self.cursor = since
        self.resource = resource
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        # Whether anything beyond the resource must be read from the object: most watches
        # (informers, the dashboard) filter by resource only and never touch the objects.
        self._inspects = bool(namespace or (labels is not None and not labels.empty)
                              or (fields is not None and not fields.empty))

    def _wants(self, ev: Event) -> bool:
        if self.resource is not None and ev.resource != self.resource:
            return False
        meta = ev.obj["metadata"]
        if self.namespace and (meta.get("namespace") or "") != self.namespace:
            return False
        if self.labels is not None and not self.labels.empty and not self.labels.matches(meta.get("labels")):
            return False
        if self.fields is not None and not self.fields.empty and not self.fields.matches(ev.obj):
            return False
        return True

    def poll(self, limit: int | None = None) -> list[Event]:
        """Every wanted change after the cursor (at most ``limit`` revisions scanned); advances it.

        Raises ``Expired`` when the cursor has fallen out of the history window.
        """
        store = self.store
        head = store.revision if limit is None else min(store.revision, self.cursor + limit)
        if self.cursor >= head:
            return []
        store.check_window(self.cursor)
        events = store._ring_slice(self.cursor, head)
        self.cursor = head
        if self._inspects:
            return [ev for ev in events if self._wants(ev)]
        resource = self.resource
        if resource is None:
            return events
        return [ev for ev in events if ev.resource == resource]


class _SortedKeys:
    """The keys of one resource in sorted order, kept up to date lazily.

    Membership changes are queued and merged on the next read: Timsort merges the sorted run with
    the sorted tail of additions in linear time, so paging through a large list costs one merge
    per page at worst, not one full sort (and not a scan from the start) per page.
    """

    __slots__ = ("_keys", "_added", "_removed")

    def __init__(self, keys: Iterable[Key]):
        self._keys: list[Key] = sorted(keys)
        self._added: set[Key] = set()
        self._removed: set[Key] = set()

    def add(self, key: Key) -> None:
        if key in self._removed:
            self._removed.discard(key)
        else:
            self._added.add(key)

    def remove(self, key: Key) -> None:
        if key in self._added:
            self._added.discard(key)
        else:
            self._removed.add(key)

    def view(self) -> list[Key]:
        """The sorted keys; a fresh list whenever membership changed, so held views stay valid."""
        if self._removed:
            removed, self._removed = self._removed, set()
            self._keys = [k for k in self._keys if k not in removed]
        if self._added:
            added, self._added = self._added, set()
            self._keys = self._keys + sorted(added)
            self._keys.sort()
        return self._keys


class Store:
    """Versioned object store with watch, selectors and secondary indexes."""

    def __init__(self, window: int = 100_000):
        if window < 1:
            raise ValueError("window must be positive")
        self.window = window
        self.revision = 0
        self._data: dict[str, dict[str, dict[str, dict]]] = {}        # resource -> namespace -> name -> obj
        self._by_node: dict[str, set[Key]] = {}                        # pods by spec.nodeName
        self._by_owner: dict[str, set[Key]] = {}                       # ownerReferences[].uid
        self._by_label: dict[tuple[str, str, str], set[Key]] = {}      # (resource, label, value)
        self._label_keys: dict[str, set[str]] = {}                     # resource -> label keys indexed
        self._sorted: dict[str, _SortedKeys] = {}                      # built on first list of a resource
        self._ring: list[Event | None] = [None] * window
        self._listeners: list[Callable[[Event], None]] = []
        self._dirty: dict[Key, dict | None] = {}
        self.compacted = 0  # revisions at or below this are outside the window even if the ring has room

    # ------------------------------------------------------------------ reads
    def get(self, resource: str, namespace: str, name: str) -> dict:
        obj = self.find(resource, namespace, name)
        if obj is None:
            raise NotFound.of(resource, "", name)
        return obj

    def find(self, resource: str, namespace: str, name: str) -> dict | None:
        """Like ``get`` but None when absent."""
        by_ns = self._data.get(resource)
        if by_ns is None:
            return None
        bucket = by_ns.get(namespace or "")
        return bucket.get(name) if bucket is not None else None

    def _at(self, key: Key) -> dict:
        """The object at an indexed key (always present: indexes hold only stored keys)."""
        return self._data[key[0]][key[1]][key[2]]

    def count(self, resource: str | None = None) -> int:
        resources = self._data if resource is None else (resource,)
        return sum(len(bucket) for r in resources for bucket in self._data.get(r, {}).values())

    def has_dependents(self, uid: str) -> bool:
        """Whether any object names ``uid`` in its ownerReferences."""
        return bool(self._by_owner.get(uid))

    def pods_on_node(self, node: str) -> list[dict]:
        """Pods bound to ``node``, ordered by (namespace, name)."""
        at = self._at
        return [at(k) for k in sorted(self._by_node.get(node, ()))]

    def owned_by(self, uid: str, resource: str | None = None) -> list[dict]:
        """Objects whose ownerReferences name ``uid``, ordered by key."""
        keys = sorted(self._by_owner.get(uid, ()))
        return [self._at(k) for k in keys if resource is None or k[0] == resource]

    def owned_keys(self, uid: str) -> list[Key]:
        return sorted(self._by_owner.get(uid, ()))

    def list(self, resource: str, namespace: str | None = None, labels: LabelSelector | None = None,
             fields: FieldSelector | None = None) -> list[dict]:
        """Objects of ``resource`` (in ``namespace`` if given) matching the selectors, ordered by key."""
        keys, lo, hi = self._candidate_range(resource, namespace, labels, fields)
        at, match = self._at, self._match
        out = []
        for i in range(lo, hi):
            obj = at(keys[i])
            if match(obj, labels, fields):
                out.append(obj)
        return out

    def list_page(self, resource: str, namespace: str | None = None, labels: LabelSelector | None = None,
                  fields: FieldSelector | None = None, limit: int = 0,
                  continue_token: str | None = None) -> tuple[list[dict], int, str | None]:
        """A page of ``list`` plus the list revision and a continue token (None on the last page)."""
        start_after: tuple[str, str] | None = None
        rv = self.revision
        if continue_token:
            rv, start_after = self._decode_continue(continue_token)
        keys, lo, hi = self._candidate_range(resource, namespace, labels, fields)
        if start_after is not None:
            # Resume right after the last key served, without walking the keys before it.
            lo = max(lo, bisect_right(keys, (resource, *start_after), lo, hi))
        out: list[dict] = []
        token = None
        for i in range(lo, hi):
            obj = self._at(keys[i])
            if not self._match(obj, labels, fields):
                continue
            if limit and len(out) == limit:
                last = out[-1]["metadata"]
                token = self._encode_continue(rv, last.get("namespace", ""), last["name"])
                break
            out.append(obj)
        return out, rv, token

    def _encode_continue(self, rv: int, ns: str, name: str) -> str:
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": f"{ns}/{name}"}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode()

    def _decode_continue(self, token: str) -> tuple[int, tuple[str, str]]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode() + b"==="))
            rv = int(data["rv"])
            ns, _, name = str(data["start"]).partition("/")
        except (ValueError, KeyError, TypeError):
            raise BadRequest(f"continue key is not valid: {token!r}") from None
        if rv < self.oldest_revision() - 1:
            raise Expired("The provided continue parameter is too old to display a consistent list result. "
                          "You can start a new list without the continue parameter, or use the continue "
                          "token in this response to retrieve the remainder of the results. Continuing "
                          "with the provided token results in an inconsistent list - objects that were "
                          "created, modified, or deleted between the time the first chunk was returned "
                          "and now may show up in the list.")
        return rv, (ns, name)

    def _candidate_range(self, resource: str, namespace: str | None, labels: LabelSelector | None,
                         fields: FieldSelector | None) -> tuple[list[Key], int, int]:
        """Sorted keys that may match, as ``keys[lo:hi]`` (a range, so big lists are not copied)."""
        sets: list[set[Key]] = []
        if fields is not None and not fields.empty:
            if not namespace:
                namespace = fields.exact("metadata.namespace") or namespace
            name = fields.exact("metadata.name")
            if name is not None:
                if namespace:
                    found = [(resource, namespace, name)] if self.find(resource, namespace, name) else []
                    return found, 0, len(found)
                # One probe per namespace bucket of the resource rather than a scan of every object.
                sets.append({(resource, ns, name) for ns, bucket in self._data.get(resource, {}).items()
                             if name in bucket})
            node = fields.exact("spec.nodeName") if resource == "pods" else None
            if node is not None:
                sets.append(self._by_node.get(node, set()))
        if labels is not None and not labels.empty:
            if labels.nothing:
                return [], 0, 0
            for lk, lv in labels.equalities():
                self._index_label_key(resource, lk)
                sets.append(self._by_label.get((resource, lk, lv), set()))
        if sets:
            best = min(sets, key=len)
            found = sorted(k for k in best if not namespace or k[1] == namespace)
            return found, 0, len(found)
        keys = self._sorted_keys(resource)
        if namespace:
            # Keys sort by (resource, namespace, name): one namespace is a contiguous run.
            lo = bisect_left(keys, (resource, namespace, ""))
            return keys, lo, bisect_left(keys, (resource, namespace + "\0", ""), lo)
        return keys, 0, len(keys)

    def _sorted_keys(self, resource: str) -> list[Key]:
        cache = self._sorted.get(resource)
        if cache is None:
            cache = self._sorted[resource] = _SortedKeys(
                (resource, ns, name) for ns, bucket in self._data.get(resource, {}).items() for name in bucket)
        return cache.view()

    def _index_label_key(self, resource: str, label: str) -> None:
        """Start indexing ``label`` for ``resource``: one scan now, kept up to date by every write after."""
        keys = self._label_keys.get(resource)
        if keys is None:
            keys = self._label_keys[resource] = set()
        elif label in keys:
            return
        keys.add(label)
        by_label = self._by_label
        for ns, bucket in self._data.get(resource, {}).items():
            for name, obj in bucket.items():
                value = labels_of(obj).get(label)
                if value is not None:
                    _add(by_label, (resource, label, value), (resource, ns, name))

    @staticmethod
    def _match(obj: dict, labels: LabelSelector | None, fields: FieldSelector | None) -> bool:
        if labels is not None and not labels.empty and not labels.matches(obj["metadata"].get("labels")):
            return False
        if fields is not None and not fields.empty and not fields.matches(obj):
            return False
        return True

    # ------------------------------------------------------------------ writes
    def create(self, resource: str, obj: dict) -> dict:
        """Insert a new object; AlreadyExists if the key is taken. Returns the stored object."""
        key = key_of(resource, obj)
        if self.find(*key) is not None:
            raise AlreadyExists.of(resource, "", key[2])
        return self._commit(ADDED, key, obj, None)

    def update(self, resource: str, obj: dict, expect_rv: str | int | None = None) -> dict:
        """Replace an existing object; Conflict when ``expect_rv`` is given and stale."""
        key = key_of(resource, obj)
        old = self.find(*key)
        if old is None:
            raise NotFound.of(resource, "", key[2])
        if expect_rv not in (None, "") and str(expect_rv) != old["metadata"]["resourceVersion"]:
            raise Conflict.modified(resource, "", key[2])
        return self._commit(MODIFIED, key, obj, old)

    def delete(self, resource: str, namespace: str, name: str, expect_rv: str | int | None = None) -> dict:
        """Remove an object; its last state (stamped with the deletion revision) is returned."""
        key = (resource, namespace or "", name)
        old = self.find(*key)
        if old is None:
            raise NotFound.of(resource, "", name)
        if expect_rv not in (None, "") and str(expect_rv) != old["metadata"]["resourceVersion"]:
            raise Conflict.modified(resource, "", name)
        gone = dict(old)
        gone["metadata"] = dict(old["metadata"])
        return self._commit(DELETED, key, gone, old)

    def _commit(self, kind: str, key: Key, obj: dict, old: dict | None) -> dict:
        self.revision += 1
        rv = self.revision
        obj["metadata"]["resourceVersion"] = str(rv)
        if kind == DELETED:
            self._unindex(key, old)
            self._dirty[key] = None
        elif old is not None:
            self._reindex(key, old, obj)
            self._dirty[key] = obj
        else:
            self._index(key, obj)
            self._dirty[key] = obj
        if kind != MODIFIED:
            cache = self._sorted.get(key[0])
            if cache is not None:
                if kind == ADDED:
                    cache.add(key)
                else:
                    cache.remove(key)
        ev = Event(kind, key[0], obj, rv, old)
        self._ring[rv % self.window] = ev
        for fn in self._listeners:
            fn(ev)
        return obj

    def _index(self, key: Key, obj: dict) -> None:
        # get-then-insert rather than setdefault(k, {}): setdefault builds a throwaway
        # container on every call, which was a measurable share of create and restore.
        resource, ns, name = key
        meta = obj["metadata"]
        by_ns = self._data.get(resource)
        if by_ns is None:
            by_ns = self._data[resource] = {}
        bucket = by_ns.get(ns)
        if bucket is None:
            bucket = by_ns[ns] = {}
        bucket[name] = obj
        if resource == "pods":
            spec = obj.get("spec")
            node = spec.get("nodeName") if spec else None
            if node:
                _add(self._by_node, node, key)
        refs = meta.get("ownerReferences")
        if refs:
            for ref in refs:
                _add(self._by_owner, ref.get("uid", ""), key)
        indexed = self._label_keys.get(resource)
        if indexed:
            labels = meta.get("labels")
            if labels:
                by_label = self._by_label
                for lk, lv in labels.items():
                    if lk in indexed:
                        _add(by_label, (resource, lk, lv), key)

    def _reindex(self, key: Key, old: dict, new: dict) -> None:
        """Move index entries from ``old`` to ``new`` (same key), touching only what changed."""
        resource, ns, name = key
        self._data[resource][ns][name] = new
        om, nm = old["metadata"], new["metadata"]
        if resource == "pods":
            ospec, nspec = old.get("spec"), new.get("spec")
            onode = ospec.get("nodeName") if ospec else None
            nnode = nspec.get("nodeName") if nspec else None
            if onode != nnode:
                if onode:
                    _discard(self._by_node, onode, key)
                if nnode:
                    _add(self._by_node, nnode, key)
        orefs, nrefs = om.get("ownerReferences"), nm.get("ownerReferences")
        if orefs != nrefs:
            ouids = {ref.get("uid", "") for ref in orefs or ()}
            nuids = {ref.get("uid", "") for ref in nrefs or ()}
            for u in ouids - nuids:
                _discard(self._by_owner, u, key)
            for u in nuids - ouids:
                _add(self._by_owner, u, key)
        indexed = self._label_keys.get(resource)
        if indexed:
            olabels, nlabels = om.get("labels") or {}, nm.get("labels") or {}
            if olabels != nlabels:
                by_label = self._by_label
                for lk, lv in olabels.items():
                    if lk in indexed and nlabels.get(lk, _MISSING) != lv:
                        _discard(by_label, (resource, lk, lv), key)
                for lk, lv in nlabels.items():
                    if lk in indexed and olabels.get(lk, _MISSING) != lv:
                        _add(by_label, (resource, lk, lv), key)

    def _unindex(self, key: Key, obj: dict) -> None:
        resource, ns, name = key
        meta = obj["metadata"]
        by_ns = self._data.get(resource)
        bucket = by_ns.get(ns) if by_ns is not None else None
        if bucket is not None:
            bucket.pop(name, None)
            if not bucket:
                del by_ns[ns]
        if resource == "pods":
            node = spec_of(obj).get("nodeName")
            if node:
                _discard(self._by_node, node, key)
        for ref in meta.get("ownerReferences") or ():
            _discard(self._by_owner, ref.get("uid", ""), key)
        indexed = self._label_keys.get(resource)
        if indexed:
            for lk, lv in (meta.get("labels") or {}).items():
                if lk in indexed:
                    _discard(self._by_label, (resource, lk, lv), key)

    # ------------------------------------------------------------------ watch
    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``fn(event)`` synchronously after every write (the in-process informer hook)."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def oldest_revision(self) -> int:
        """The oldest revision whose event is still in the history window."""
        return max(1, self.revision - self.window + 1, self.compacted + 1)

    def check_window(self, since: int) -> None:
        """Raise Expired unless every change after ``since`` is still in the window."""
        oldest = self.oldest_revision()
        if since < oldest - 1 and since < self.revision:
            raise Expired(f"too old resource version: {since} ({oldest - 1})")

    def watch(self, since: int | str | None = None, resource: str | None = None, namespace: str | None = None,
              labels: LabelSelector | None = None, fields: FieldSelector | None = None) -> Watch:
        """A watch delivering every matching change with revision > ``since`` (default: from now)."""
        if since in (None, "", "0", 0):
            start = self.revision
        else:
            try:
                start = int(since)
            except (TypeError, ValueError):
                raise BadRequest(f'invalid resource version "{since}"') from None
            if start < 0:
                raise BadRequest(f'invalid resource version "{since}"')
            if start > self.revision:
                raise Expired(f"too large resource version: {start}, current: {self.revision}")
            self.check_window(start)
        return Watch(self, start, resource, namespace, labels, fields)

    def events_since(self, since: int) -> Iterator[Event]:
        """Every change after ``since`` (raises Expired if outside the window)."""
        self.check_window(since)
        if since < self.revision:
            yield from self._ring_slice(since, self.revision)

    def _ring_slice(self, after: int, head: int) -> list[Event]:
        """The events with ``after < rv <= head``, in order; the caller has checked the window.

        Inside the window every slot holds exactly the event of its revision (each revision writes
        one slot; ``restore`` marks older revisions compacted), so this is a plain list slice,
        taken in C rather than one Python-level lookup per revision.
        """
        size = self.window
        start, count = (after + 1) % size, head - after
        ring = self._ring
        if start + count <= size:
            return ring[start:start + count]  # type: ignore[return-value]
        return ring[start:] + ring[:start + count - size]  # type: ignore[return-value]

    # ------------------------------------------------------------------ persistence port
    def requeue_dirty(self, dirty: dict[Key, dict | None]) -> None:
        """Give back keys a failed commit took (newer writes since then win)."""
        merged = dict(dirty)
        merged.update(self._dirty)
        self._dirty = merged

    def take_dirty(self) -> dict[Key, dict | None]:
        """Keys written since the last call, with their latest object (None = deleted)."""
        dirty, self._dirty = self._dirty, {}
        return dirty

    def restore(self, objects: Iterable[tuple[str, dict]], revision: int) -> None:
        """Load persisted ``(resource, obj)`` pairs without events; the window starts at ``revision``."""
        # Index tuples and sets are acyclic; pausing the cyclic GC keeps a 100k-object restore
        # from paying for full collections over everything already loaded.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for resource, obj in objects:
                key = key_of(resource, obj)
                old = self.find(*key)
                if old is not None:
                    self._unindex(key, old)
                self._index(key, obj)
        finally:
            if was_enabled:
                gc.enable()
        self._sorted.clear()
        self.revision = max(revision, self.revision)
        self.compacted = self.revision
        self._dirty.clear()

    def items(self) -> Iterator[tuple[str, dict]]:
        """Every ``(resource, obj)``, ordered by key (snapshots)."""
        for resource in self.resources():
            for key in self._sorted_keys(resource):
                yield resource, self._at(key)

    def resources(self) -> list[str]:
        return sorted(r for r, by_ns in self._data.items() if by_ns)


_MISSING = object()


def _add(index: dict, k: Any, key: Key) -> None:
    s = index.get(k)
    if s is None:
        index[k] = {key}
    else:
        s.add(key)


def _discard(index: dict, k: Any, key: Key) -> None:
    s = index.get(k)
    if s is not None:
        s.discard(key)
        if not s:
            del index[k]
