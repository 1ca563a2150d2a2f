"""Field management: managedFields bookkeeping and server-side apply, as pure functions.

Every write records which manager owns which fields in ``metadata.managedFields`` (``record_update_manager`` for
create/PUT/patch, an ``Update`` entry); ``apply --server-side`` sends an apply patch
(``application/apply-patch+yaml``) that ``server_side_apply`` merges in, making the manager own exactly the fields
it applied, pruning the ones it stopped applying and refusing to take fields other managers own. This is a
compact model of structured-merge-diff: objects flattened to field paths by the v1.32 OpenAPI list/map types,
field sets per manager encoded as ``fieldsV1``, conflicts. It is separate from ``engine.patch`` because it is
about ownership, not about transforming a document, as upstream keeps it in
``k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager``; it shares the schema walk of ``patchmeta`` with ``patch``.

Server-side apply conflicts → ``Conflict`` (409) with ``FieldManagerConflict`` causes, message as in
``apiserver/pkg/endpoints/handlers/fieldmanager/internal/conflict.go``. Every function returns a new object and
never mutates its inputs.
"""
from __future__ import annotations

import json
from typing import Any

from ..errors import BadRequest, Cause, Conflict
from ..objects import clone as _clone
from ..objects import meta_of
from . import patchmeta, resources

# --------------------------------------------------------------------------------------------------------------
# Field sets (structured-merge-diff model) for server-side apply and managedFields
# --------------------------------------------------------------------------------------------------------------

# A path is a tuple of elements: ("f", field) | ("k", ((key, value), ...)) | ("v", value) | ("i", index).
FieldPath = tuple

# Fields the apiserver never records in managedFields (fieldmanager's stripSet).
_STRIPPED: tuple[FieldPath, ...] = (
    (("f", "apiVersion"),), (("f", "kind"),),
    *((("f", "metadata"), ("f", name)) for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation", "managedFields",
        "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds")),
)

# List-map key fields the apiserver defaults, so `ports: [{containerPort: 80}]` matches the live TCP port.
_KEY_DEFAULTS = {"protocol": "TCP"}


def _list_style(prop: dict | None) -> tuple[str, tuple[str, ...]]:
    """("map", keys) | ("set", ()) | ("atomic", ()) from x-kubernetes-list-type, falling back to patch metadata."""
    if prop is None:
        return "atomic", ()
    list_type = prop.get("x-kubernetes-list-type")
    strategy, merge_key = patchmeta.patch_meta(prop)
    if list_type == "map" or (list_type is None and merge_key):
        keys = tuple(prop.get("x-kubernetes-list-map-keys") or ([merge_key] if merge_key else []))
        return ("map", keys) if keys else ("atomic", ())
    if list_type == "set" or (list_type is None and strategy == "merge"):
        return "set", ()
    return "atomic", ()


def _atomic_map(prop: dict | None, typ: dict | None) -> bool:
    return any(s is not None and s.get("x-kubernetes-map-type") == "atomic" for s in (prop, typ))


def _is_struct(typ: dict | None) -> bool:
    return typ is not None and "properties" in typ


def _item_key(item: dict, keys: tuple[str, ...]) -> tuple | None:
    pairs = []
    for name in keys:
        value = item.get(name, _KEY_DEFAULTS.get(name))
        if value is not None:
            pairs.append((name, value))
    return tuple(sorted(pairs)) if pairs else None


def _flatten(obj: Any, root: dict) -> dict[FieldPath, tuple[str, Any]]:
    """Every path of an object → (kind, value); kind is leaf | item | map | struct."""
    out: dict[FieldPath, tuple[str, Any]] = {}
    _walk(obj, root, (), out)
    return out


def _walk(value: Any, prop: dict | None, path: FieldPath, out: dict) -> None:
    if isinstance(value, dict):
        typ = patchmeta.type_of(prop)
        fields = {k: v for k, v in value.items() if v is not None}
        if not fields or _atomic_map(prop, typ):
            out[path] = ("leaf", value)
            return
        out[path] = ("struct" if _is_struct(typ) else "map", value)
        for key, child in fields.items():
            _walk(child, patchmeta.prop(typ, key), path + (("f", key),), out)
        return
    if isinstance(value, list):
        style, keys = _list_style(prop)
        if value and style == "map" and all(isinstance(x, dict) for x in value):
            item_prop = patchmeta.items_prop(prop)
            item_typ = patchmeta.type_of(item_prop)
            for item in value:
                key = _item_key(item, keys)
                if key is None:
                    continue
                item_path = path + (("k", key),)
                out[item_path] = ("item", item)
                for field, child in item.items():
                    if child is not None:
                        _walk(child, patchmeta.prop(item_typ, field), item_path + (("f", field),), out)
            return
        if value and style == "set" and not any(isinstance(x, (dict, list)) for x in value):
            for item in value:
                out[path + (("v", item),)] = ("item", item)
            return
        out[path] = ("leaf", value)
        return
    out[path] = ("leaf", value)


def _stripped(path: FieldPath, reset: tuple[FieldPath, ...]) -> bool:
    return any(path[:len(prefix)] == prefix for prefix in _STRIPPED + reset)


def _reset_prefixes(api_version: str, kind: str, subresource: str | None) -> tuple[FieldPath, ...]:
    """Fields a write through this endpoint may not touch (the strategies' ResetFields)."""
    rt = resources.by_kind(api_version, kind)
    if subresource is None and rt is not None and "status" in rt.subresources:
        return ((("f", "status"),),)
    if subresource == "status":
        return ((("f", "spec"),),)
    return ()


def _encode_element(element: tuple) -> str:
    tag, value = element
    if tag == "f":
        return "f:" + value
    if tag == "k":
        return "k:" + json.dumps(dict(value), separators=(",", ":"))
    if tag == "v":
        return "v:" + json.dumps(value, separators=(",", ":"))
    return f"i:{value}"


def _decode_element(text: str) -> tuple:
    tag, _, body = text.partition(":")
    if tag == "f":
        return ("f", body)
    if tag == "k":
        return ("k", tuple(sorted(json.loads(body).items())))
    if tag == "v":
        return ("v", json.loads(body))
    return ("i", int(body))


_TAG_RANK = {".": 0, "f": 1, "v": 2, "k": 3, "i": 4}


def _to_fields_v1(paths: set[FieldPath]) -> dict:
    """Encode a field set as ``fieldsV1`` (``.`` marks a member that also has children)."""
    trie: dict = {}
    for path in paths:
        node = trie
        for element in path:
            node = node.setdefault(element, {})
        node[None] = True  # membership marker

    def render(node: dict) -> dict:
        children = {k: v for k, v in node.items() if k is not None}
        out: dict = {}
        if node.get(None) and children:
            out["."] = {}
        for element in sorted(children, key=lambda e: (_TAG_RANK[e[0]], _encode_element(e))):
            out[_encode_element(element)] = render(children[element])
        return out

    return render(trie)


def _from_fields_v1(tree: dict, prefix: FieldPath = ()) -> set[FieldPath]:
    paths: set[FieldPath] = set()
    for key, sub in (tree or {}).items():
        if key == ".":
            paths.add(prefix)
            continue
        path = prefix + (_decode_element(key),)
        if sub:
            paths |= _from_fields_v1(sub, path)
        else:
            paths.add(path)
    return paths


def _path_string(path: FieldPath) -> str:
    """Format as structured-merge-diff ``Path.String()``: ``.spec.containers[name="nginx"].image``."""
    parts = []
    for tag, value in path:
        if tag == "f":
            parts.append("." + value)
        elif tag == "k":
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in value) + "]")
        elif tag == "v":
            parts.append(f"[={json.dumps(value)}]")
        else:
            parts.append(f"[{value}]")
    return "".join(parts)


class _Entry:
    """One managedFields entry with its field set decoded."""

    def __init__(self, manager: str, operation: str, api_version: str, time: str | None,
                 subresource: str | None, fields: set[FieldPath]):
        self.manager, self.operation, self.api_version = manager, operation, api_version
        self.time, self.subresource, self.fields = time, subresource, fields

    @classmethod
    def decode(cls, raw: dict) -> "_Entry":
        return cls(raw.get("manager", ""), raw.get("operation", "Update"), raw.get("apiVersion", ""),
                   raw.get("time"), raw.get("subresource") or None, _from_fields_v1(raw.get("fieldsV1") or {}))

    def encode(self) -> dict:
        out: dict[str, Any] = {"manager": self.manager, "operation": self.operation,
                               "apiVersion": self.api_version}
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = _to_fields_v1(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out

    def is_for(self, manager: str, operation: str, api_version: str, subresource: str | None) -> bool:
        # BuildManagerIdentifier: appliers are identified without their apiVersion.
        return (self.manager == manager and self.operation == operation and self.subresource == subresource
                and (operation == "Apply" or self.api_version == api_version))

    def label(self) -> str:
        """``printManager``: how a conflict names this manager."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text


def _entries(obj: dict | None) -> list[_Entry]:
    raw = meta_of(obj).get("managedFields") or []
    return [_Entry.decode(e) for e in raw if isinstance(e, dict)]


def _store_entries(obj: dict, entries: list[_Entry]) -> None:
    kept = [e for e in entries if e.fields]
    # sortEncodedManagedFields: operation, then time, then manager, apiVersion, subresource.
    kept.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource or ""))
    metadata = obj.setdefault("metadata", {})
    if kept:
        metadata["managedFields"] = [e.encode() for e in kept]
    else:
        metadata.pop("managedFields", None)


def _changed_paths(old_flat: dict, new_flat: dict, reset: tuple[FieldPath, ...]) -> set[FieldPath]:
    """Added ∪ Modified between two flattened objects, as an Update manager's ownership gain."""
    changed: set[FieldPath] = set()
    for path, (kind, value) in new_flat.items():
        if not path or _stripped(path, reset):
            continue
        before = old_flat.get(path)
        if kind == "leaf":
            if before is None or before[0] != "leaf" or not _deep_equal(before[1], value):
                changed.add(path)
        elif kind == "item" or kind == "map":
            # An associative map (labels, annotations) or list item is owned as a whole once added.
            if before is None:
                changed.add(path)
    return changed


def _deep_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b))
    return patchmeta.same(a, b)


def record_update_manager(old: dict | None, new: dict, manager: str, *, now_iso: str,
                          api_version: str | None = None, operation: str = "Update",
                          subresource: str | None = None) -> dict:
    """Return ``new`` with ``metadata.managedFields`` updated for a non-apply write (create, PUT, patch).

    The writer gains every field it added or changed (taking it from other managers, as an Update always
    forces); fields that disappeared are dropped from every manager. ``old`` is None for a create. Cost is a
    walk of both objects, so callers may skip it for controller-internal writes.
    """
    result = _clone(new)
    api_version = api_version or new.get("apiVersion", "")
    kind = new.get("kind", "")
    root = patchmeta.root_prop(api_version, kind)
    reset = _reset_prefixes(api_version, kind, subresource)
    old_flat = _flatten(old or {}, root)
    new_flat = _flatten(result, root)
    changed = _changed_paths(old_flat, new_flat, reset)
    entries = _entries(old) if old is not None else _entries(new)
    mine = next((e for e in entries if e.is_for(manager, operation, api_version, subresource)), None)
    for entry in entries:
        entry.fields = {p for p in entry.fields if p in new_flat}
        if entry is not mine:
            entry.fields -= changed
    if mine is None and changed:
        mine = _Entry(manager, operation, api_version, now_iso, subresource, set())
        entries.append(mine)
    if mine is not None and changed:
        mine.fields |= changed
        mine.time = now_iso
    _store_entries(result, entries)
    return result


# --------------------------------------------------------------------------------------------------------------
# Server-side apply
# --------------------------------------------------------------------------------------------------------------

def server_side_apply(live: dict | None, applied: dict, manager: str, api_version: str, kind: str,
                      force: bool, now_iso: str, *, subresource: str | None = None) -> dict:
    """Merge an apply configuration (``application/apply-patch+yaml``) into the live object, or create it.

    The manager comes to own exactly the fields in ``applied`` (recorded as an ``Apply`` entry in
    ``metadata.managedFields``); fields it applied before but omits now are removed unless another manager owns
    them. Changing a field another manager owns raises ``Conflict`` unless ``force`` (``--force-conflicts``),
    which moves ownership to this manager instead.
    """
    if not isinstance(applied, dict):
        raise BadRequest(f"json: cannot unmarshal {patchmeta.json_kind(applied)} "
                         "into Go value of type map[string]interface {}")
    root = patchmeta.root_prop(api_version, kind)
    reset = _reset_prefixes(api_version, kind, subresource)
    config = _without_nulls(_clone(applied))
    metadata = config.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        metadata.pop("resourceVersion", None)
    for prefix in reset:
        config.pop(prefix[0][1], None)  # status on the main resource / spec on /status is ignored, not owned

    base = _clone(live) if live is not None else {}
    entries = _entries(live)
    mine = next((e for e in entries if e.is_for(manager, "Apply", api_version, subresource)), None)
    others = [e for e in entries if e is not mine]
    applied_set = {p for p, (k, _) in _flatten(config, root).items()
                   if p and k in ("leaf", "item") and not _stripped(p, reset)}

    owned_by_others: set[FieldPath] = set().union(*(e.fields for e in others)) if others else set()
    dropped = (mine.fields if mine else set()) - applied_set - owned_by_others
    pruned = _prune(base, dropped, owned_by_others, root)
    merged = _apply_merge(pruned, config, root)

    live_flat = _flatten(base, root)
    merged_flat = _flatten(merged, root)
    conflicts: list[tuple[_Entry, FieldPath]] = []
    for entry in others:
        for path in sorted(entry.fields & applied_set, key=_path_string):
            after = merged_flat.get(path)
            before = live_flat.get(path)
            if after is None:
                continue
            if before is None or (after[0] == "leaf" and not _deep_equal(before[1], after[1])):
                conflicts.append((entry, path))
    if conflicts and not force:
        raise _apply_conflict(conflicts)
    for entry, path in conflicts:
        entry.fields.discard(path)

    for entry in others:
        entry.fields = {p for p in entry.fields if p in merged_flat}
    if mine is None:
        mine = _Entry(manager, "Apply", api_version, now_iso, subresource, set())
        entries.append(mine)
    mine.fields, mine.api_version, mine.time = applied_set, api_version, now_iso
    _store_entries(merged, entries)
    return merged


def _apply_conflict(conflicts: list[tuple[_Entry, FieldPath]]) -> Conflict:
    """``NewConflictError``: one line for one conflict, grouped by manager otherwise."""
    causes = [Cause(field=_path_string(p), message=f"conflict with {e.label()}", reason="FieldManagerConflict")
              for e, p in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {entry.label()}: {_path_string(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(entry.label(), []).append(_path_string(path))
        lines = []
        for label in sorted(by_manager):
            lines.append(f"conflicts with {label}:")
            lines.extend(f"- {p}" for p in by_manager[label])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return Conflict(message, causes=causes)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _apply_merge(live: Any, config: Any, prop: dict | None) -> Any:
    """Merge an apply configuration into a live value: granular maps merge, list-maps by key, sets union."""
    typ = patchmeta.type_of(prop)
    if isinstance(config, dict) and isinstance(live, dict) and not _atomic_map(prop, typ):
        out = dict(live)
        for key, value in config.items():
            out[key] = _apply_merge(live[key], value, patchmeta.prop(typ, key)) if key in live else _clone(value)
        return out
    if isinstance(config, list) and isinstance(live, list):
        style, keys = _list_style(prop)
        if style == "map" and all(isinstance(x, dict) for x in live + config):
            out = list(live)
            positions = {_item_key(item, keys): i for i, item in enumerate(out)}
            for item in config:
                key = _item_key(item, keys)
                if key in positions:
                    out[positions[key]] = _apply_merge(out[positions[key]], item, patchmeta.items_prop(prop))
                else:
                    positions[key] = len(out)
                    out.append(_clone(item))
            return out
        if style == "set":
            return list(live) + [_clone(x) for x in patchmeta.dedupe(config)
                                 if not any(patchmeta.same(x, y) for y in live)]
    return _clone(config)


def _prune(obj: dict, dropped: set[FieldPath], protected: set[FieldPath], root: dict) -> dict:
    """Remove the fields a manager stopped applying; keep list items another manager still has fields in."""
    # Shortest first: a removed list item takes its fields with it, and later lookups of them find nothing.
    for path in sorted(dropped, key=len):
        if path[-1][0] == "k" and any(p[:len(path)] == path and p != path for p in protected):
            continue  # the item stays for the other manager
        if len(path) > 1 and path[-2][0] == "k" and path[-1][0] == "f" and path[-1][1] in dict(path[-2][1]):
            continue  # never strip the key of an item that stays
        _remove_path(obj, path, protected)
    return obj


def _remove_path(obj: dict, path: FieldPath, protected: set[FieldPath]) -> None:
    chain: list[Any] = [obj]
    node: Any = obj
    for element in path[:-1]:
        node = _step(node, element)
        if node is None:
            return
        chain.append(node)
    _delete_child(chain[-1], path[-1])
    # Drop maps our removal left empty (a struct's existence is not owned by anyone), but never list items.
    for depth in range(len(path) - 1, 0, -1):
        container, element = chain[depth - 1], path[depth - 1]
        child = chain[depth]
        if element[0] != "f" or child or path[:depth] in protected:
            break
        _delete_child(container, element)


def _step(node: Any, element: tuple) -> Any:
    tag, value = element
    if tag == "f":
        return node.get(value) if isinstance(node, dict) else None
    if isinstance(node, list):
        if tag == "k":
            keys = tuple(k for k, _ in value)
            return next((x for x in node if isinstance(x, dict) and _item_key(x, keys) == value), None)
        if tag == "i" and 0 <= value < len(node):
            return node[value]
    return None


def _delete_child(container: Any, element: tuple) -> None:
    tag, value = element
    if tag == "f" and isinstance(container, dict):
        container.pop(value, None)
    elif tag == "k" and isinstance(container, list):
        keys = tuple(k for k, _ in value)
        container[:] = [x for x in container if not (isinstance(x, dict) and _item_key(x, keys) == value)]
    elif tag == "v" and isinstance(container, list):
        container[:] = [x for x in container if not patchmeta.same(x, value)]
    elif tag == "i" and isinstance(container, list) and 0 <= value < len(container):
        del container[value]
