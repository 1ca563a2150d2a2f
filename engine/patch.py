"""The PATCH family as pure functions: JSON patch, JSON merge patch, strategic merge patch, server-side apply.

Real kubectl 1.32 sends all four (KUBERNETES.md 11.11-11.13): ``rollout undo`` a JSON patch, ``label``/``scale``
a merge patch, client-side ``apply``/``cordon``/``set image``/``taint``/``rollout restart`` a strategic merge
patch, and ``apply --server-side`` an apply patch. Every function returns a new object and never mutates its
inputs.

Strategic merge patch follows apimachinery ``pkg/util/strategicpatch/patch.go`` (``StrategicMergeMapPatch`` with
``MergeParallelList`` and ``IgnoreUnmatchedNulls``), including its list ordering rules; the per-field merge keys
and strategies come from the v1.32 OpenAPI definitions shipped by kubernetes-validate. Server-side apply is a
compact model of structured-merge-diff: field sets per manager, pruning of dropped fields, conflicts.

Error mapping (documented choice, close to ``apiserver/pkg/endpoints/handlers/patch.go``):

* malformed patch bodies and malformed directives → ``BadRequest`` (400), as the apiserver does for decode errors
  and for ``interpretStrategicMergePatchError``'s format errors;
* a well-formed patch that cannot be applied to this object (JSON patch ``test`` failing, a missing path, a list
  item without its merge key, lists of lists) → ``Invalid`` (422). The real apiserver answers 422 for JSON patch
  failures but hides the reason behind "the server rejected our request due to an error in our request"; we keep
  the library's precise message (evanphx/json-patch wording) instead, which is what a learner needs.
* server-side apply conflicts → ``Conflict`` (409) with ``FieldManagerConflict`` causes, message as in
  ``apiserver/pkg/endpoints/handlers/fieldmanager/internal/conflict.go``.
"""
from __future__ import annotations

import json
from typing import Any

import jsonpatch
import jsonpointer

from engine import resources, schema
from engine.errors import BadRequest, Cause, Conflict, Invalid
from engine.objects import clone as _clone


# --------------------------------------------------------------------------------------------------------------
# Schema: the v1.32 OpenAPI definitions
# --------------------------------------------------------------------------------------------------------------

_REF_PREFIX = "#/$defs/"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def _definitions() -> dict[str, dict]:
    return schema.definitions()


def _root_definition(api_version: str, kind: str) -> str | None:
    return schema.definition_name(api_version or "", kind)


def supports_strategic(api_version: str, kind: str) -> bool:
    """Tell whether the apiserver would accept a strategic merge patch for this kind.

    Built-in kinds carry patch metadata in their OpenAPI schema; custom kinds (e.g. the chaos kinds) do not, and
    the real apiserver answers ``415 UnsupportedMediaType`` for them.
    """
    return _root_definition(api_version, kind) is not None


def _root_prop(api_version: str, kind: str) -> dict:
    """A property-shaped schema for a whole object; unknown kinds still get ObjectMeta's semantics."""
    name = _root_definition(api_version, kind)
    if name is not None:
        return {"$ref": _REF_PREFIX + name}
    return {"type": "object", "properties": {"metadata": {"$ref": _REF_PREFIX + _OBJECT_META}}}


def _type_of(prop: dict | None) -> dict | None:
    """Resolve a property schema to the schema of its value (following ``$ref``)."""
    seen = 0
    while prop is not None and "$ref" in prop and seen < 8:
        prop = _definitions().get(prop["$ref"].removeprefix(_REF_PREFIX))
        seen += 1
    return prop


def _prop(typ: dict | None, name: str) -> dict | None:
    """The property schema of field ``name`` in an object schema (or a map's value schema)."""
    if typ is None:
        return None
    props = typ.get("properties")
    if props is not None and name in props:
        return props[name]
    extra = typ.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _items_prop(prop: dict | None) -> dict | None:
    if prop is None:
        return None
    items = prop.get("items")
    return items if isinstance(items, dict) else None


def _patch_meta(prop: dict | None) -> tuple[str, str]:
    """(patch strategy without retainKeys, merge key) of a field, as ``extractRetainKeysPatchStrategy``."""
    if prop is None:
        return "", ""
    strategies = [s for s in str(prop.get("x-kubernetes-patch-strategy", "")).split(",") if s]
    strategy = next((s for s in strategies if s != "retainKeys"), "")
    return strategy, str(prop.get("x-kubernetes-patch-merge-key", ""))


# --------------------------------------------------------------------------------------------------------------
# JSON patch (RFC 6902) and JSON merge patch (RFC 7386)
# --------------------------------------------------------------------------------------------------------------

_JSON_PATCH_OPS = {"add", "remove", "replace", "move", "copy", "test"}


def json_patch(obj: dict, ops: list) -> dict:
    """Apply an RFC 6902 JSON patch (``application/json-patch+json``) and return the patched copy.

    Raises ``BadRequest`` for a malformed patch and ``Invalid`` when an operation does not apply.
    """
    if not isinstance(ops, list):
        raise BadRequest(f"json: cannot unmarshal {_json_kind(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        _check_json_patch_op(op)
    doc: Any = _clone(obj)
    for op in ops:
        try:
            # One operation at a time so a failure names the operation that failed.
            doc = jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise Invalid(_json_patch_failure(doc, op, exc)) from None
    if not isinstance(doc, dict):
        raise BadRequest(f"json: cannot unmarshal {_json_kind(doc)} into Go value of type map[string]interface {{}}")
    return doc


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return "number"


def _check_json_patch_op(op: Any) -> None:
    if not isinstance(op, dict):
        raise BadRequest(f"json: cannot unmarshal {_json_kind(op)} into Go value of type jsonpatch.Operation")
    kind = op.get("op")
    if kind not in _JSON_PATCH_OPS:
        raise BadRequest(f"Unexpected kind: {kind}")
    if not isinstance(op.get("path"), str):
        raise BadRequest(f"{kind} operation failed to decode path: missing value")
    if kind in ("add", "replace", "test") and "value" not in op:
        raise BadRequest(f"{kind} operation failed to decode value: missing value")
    if kind in ("move", "copy") and not isinstance(op.get("from"), str):
        raise BadRequest(f"{kind} operation failed to decode from: missing value")


def _pointer_parent(doc: Any, path: str) -> tuple[Any, str] | None:
    """Like evanphx ``findObject``: the container holding the last token of ``path``, or None."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]
    if not tokens:
        return None
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node, tokens[-1]


def _has_key(container: Any, key: str) -> bool:
    if isinstance(container, dict):
        return key in container
    if isinstance(container, list):
        return key.isdigit() and int(key) < len(container)
    return False


def _json_patch_failure(doc: Any, op: dict, exc: Exception) -> str:
    """Word a failed operation as evanphx/json-patch (what the Go apiserver uses) does."""
    kind, path = op["op"], op["path"]
    if kind == "test":
        return f"testing value {path} failed: test failed"
    target = op["from"] if kind in ("move", "copy") else path
    found = _pointer_parent(doc, target)
    if kind == "add":
        if found is None:
            return f'add operation does not apply: doc is missing path: "{path}": missing value'
        return f"error in add for path: '{path}': Unable to access invalid index: {found[1]}: invalid index referenced"
    if kind == "remove":
        if found is None:
            return f'remove operation does not apply: doc is missing path: "{path}": missing value'
        return f"error in remove for path: '{path}': Unable to remove nonexistent key: {found[1]}: missing value"
    if kind == "replace":
        if found is None:
            return f"replace operation does not apply: doc is missing path: {path}: missing value"
        return f"replace operation does not apply: doc is missing key: {path}: missing value"
    if found is None or not _has_key(*found):
        return f"{kind} operation does not apply: doc is missing from path: {target}: missing value"
    return f"{kind} operation does not apply: doc is missing destination path: {path}: {exc}"


def merge_patch(obj: dict, patch: Any) -> dict:
    """Apply an RFC 7386 JSON merge patch (``application/merge-patch+json``): null deletes, lists replace."""
    if not isinstance(patch, dict):
        raise BadRequest(f"json: cannot unmarshal {_json_kind(patch)} into Go value of type map[string]interface {{}}")
    return _merge_patch_value(obj, patch)


def _merge_patch_value(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return _clone(patch)
    result = _clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch_value(result.get(key), value)
    return result


# --------------------------------------------------------------------------------------------------------------
# Strategic merge patch
# --------------------------------------------------------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_FROM_PRIMITIVE = "$deleteFromPrimitiveList/"


def strategic_merge_patch(obj: dict, patch: Any, api_version: str, kind: str) -> dict:
    """Apply a Kubernetes strategic merge patch (``application/strategic-merge-patch+json``).

    Lists whose schema says ``x-kubernetes-patch-strategy: merge`` are merged by their merge key (containers by
    name, ports by containerPort, ...) or unioned (primitive lists such as finalizers); other lists replace.
    Honours ``$patch: replace|delete|merge``, ``$retainKeys``, ``$setElementOrder/<list>``,
    ``$deleteFromPrimitiveList/<list>`` and ``null`` (delete). Kinds without a built-in schema get plain
    merge-patch semantics (callers should answer 415 for them, see ``supports_strategic``).
    """
    if not isinstance(patch, dict):
        raise BadRequest(f"json: cannot unmarshal {_json_kind(patch)} into Go value of type map[string]interface {{}}")
    typ = _type_of(_root_prop(api_version, kind)) if supports_strategic(api_version, kind) else None
    return _smp_map(_clone(obj), _clone(patch), typ)


def _smp_map(original: dict, patch: dict, typ: dict | None) -> dict:
    """``mergeMap``: both arguments are private copies and may be consumed."""
    if _DIRECTIVE in patch:
        directive = patch.pop(_DIRECTIVE)
        if directive == "replace":
            return _smp_map({}, patch, typ)  # fresh: still resolves nested directives and nulls
        if directive == "delete":
            return {}
        if directive != "merge":
            raise BadRequest(f"unknown patch type: {directive} in map: {_go_map(patch)}")
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, typ)
    for key in list(patch):
        value = patch[key]
        delete_list = key.startswith(_DELETE_FROM_PRIMITIVE)
        if delete_list:
            key = key[len(_DELETE_FROM_PRIMITIVE):]
            if not isinstance(value, list):
                raise BadRequest("invalid patch format of primitive list")
        elif key.startswith("$"):
            continue  # an unknown directive never reaches the stored object
        if value is None:
            original.pop(key, None)
            continue
        prop = _prop(typ, key)
        if key not in original:
            if not delete_list:
                original[key] = _smp_fresh(value, prop)
            continue
        current = original[key]
        strategy, merge_key = _patch_meta(prop)
        if isinstance(current, dict) and isinstance(value, dict):
            if strategy == "replace":
                original[key] = _smp_fresh(value, prop)
            else:
                original[key] = _smp_map(current, value, _type_of(prop))
        elif isinstance(current, list) and isinstance(value, list):
            if strategy == "merge" or delete_list:
                original[key] = _smp_list(current, value, prop, merge_key, delete_list)
            else:
                original[key] = _smp_fresh(value, prop)
        elif not delete_list:
            original[key] = _smp_fresh(value, prop)
    return original


def _smp_fresh(value: Any, prop: dict | None) -> Any:
    """A patch value placed where nothing was: directives are resolved against an empty value, nulls dropped."""
    if isinstance(value, dict):
        return _smp_map({}, value, _type_of(prop))
    if isinstance(value, list):
        strategy, merge_key = _patch_meta(prop)
        if strategy == "merge":
            return _smp_list([], value, prop, merge_key, False)
        item_prop = _items_prop(prop)
        return [_smp_fresh(item, item_prop) for item in value]
    return value


def _apply_retain_keys(original: dict, patch: dict) -> None:
    """``$retainKeys``: drop every key of the original not listed (e.g. switching a Deployment strategy)."""
    if _RETAIN_KEYS not in patch:
        return
    keep = patch.pop(_RETAIN_KEYS)
    if not isinstance(keep, list):
        raise BadRequest("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_FROM_PRIMITIVE, _SET_ORDER)):
            continue
        if key not in keep:
            raise BadRequest("invalid patch format of retainKeys")
    for key in list(original):
        if key not in keep:
            del original[key]


def _merge_ordered_lists(original: dict, patch: dict, typ: dict | None) -> None:
    """``mergePatchIntoOriginal``: merge each list that has a ``$setElementOrder`` and enforce that order."""
    for directive in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(directive)
        if not isinstance(order, list):
            raise BadRequest("invalid patch format of setElementOrder list")
        name = directive[len(_SET_ORDER):]
        prop = _prop(typ, name)
        strategy, merge_key = _patch_meta(prop)
        in_original = isinstance(original.get(name), list)
        in_patch = name in patch
        patch_list = patch.get(name)
        if in_patch and not isinstance(patch_list, list):
            continue  # e.g. null: the main loop deletes the list
        original_list: list = original[name] if in_original else []
        _validate_order(patch_list or [], order, merge_key)
        if in_original and not in_patch:
            merged = original_list
        elif in_patch and not in_original:
            merged = _smp_fresh(patch_list, prop)
        elif in_patch:
            if strategy == "merge":
                merged = _smp_list(original_list, patch_list, prop, merge_key, False)
            else:
                merged = _smp_fresh(patch_list, prop)
        else:
            continue
        if merge_key or not any(isinstance(x, dict) for x in merged):
            in_order, server_only = _partition(merged, order, merge_key)
            merged = _normalize_order(in_order, server_only, order, original_list, merge_key)
        original[name] = merged
        patch.pop(name, None)


def _validate_order(patch_list: list, order: list, merge_key: str) -> None:
    """``validatePatchWithSetOrderList``: patch items must appear in the order list, in the same order."""
    items = [x for x in patch_list if not (isinstance(x, dict) and _DIRECTIVE in x)]
    if not items or not order:
        return
    i = j = 0
    while i < len(items) and j < len(order):
        if _same(_merge_value(items[i], merge_key), _merge_value(order[j], merge_key)):
            i += 1
        j += 1
    if i < len(items):
        raise BadRequest(f"The order in patch list:\n{patch_list}\n doesn't match $setElementOrder list:\n{order}\n")


def _smp_list(original: list, patch: list, prop: dict | None, merge_key: str, delete_list: bool) -> list:
    """``mergeSlice``: merge by merge key (maps) or union (primitives), then order as the apiserver does."""
    if not original and not patch:
        return original
    every = original + patch
    if any(isinstance(x, list) for x in every):
        raise Invalid("lists of lists are not supported")
    if not any(isinstance(x, dict) for x in every):
        if delete_list:
            return [x for x in original if not any(_same(x, d) for d in patch)]
        merged = _dedupe(every)
    else:
        if not all(isinstance(x, dict) for x in every):
            raise Invalid(f"list element types are not identical: {every}")
        if not merge_key:
            raise Invalid("cannot merge lists without merge key")
        original, patch = _special_elements(original, patch, merge_key)
        merged = _merge_by_key(original, patch, merge_key, _type_of(_items_prop(prop)))
    in_patch, server_only = _partition(merged, patch, merge_key)
    return _normalize_order(in_patch, server_only, patch, original, merge_key)


def _special_elements(original: list, patch: list, merge_key: str) -> tuple[list, list]:
    """``mergeSliceWithSpecialElements``: items carrying ``$patch: delete|replace`` act on the whole list."""
    plain: list = []
    replace = False
    for item in patch:
        directive = item.get(_DIRECTIVE)
        if directive is None:
            plain.append(item)
        elif directive == "delete":
            if merge_key not in item:
                raise Invalid(f"map: {_go_map(item)} does not contain declared merge key: {merge_key}")
            original = [x for x in original if not _same(x.get(merge_key), item[merge_key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            # Upstream rejects this ("merging lists cannot yet be specified"); merging is the default anyway.
            rest = {k: v for k, v in item.items() if k != _DIRECTIVE}
            plain.append(rest)
        else:
            raise BadRequest(f"unknown patch type: {directive} in map: {_go_map(item)}")
    if replace:
        return plain, []
    return original, plain


def _merge_by_key(original: list, patch: list, merge_key: str, item_typ: dict | None) -> list:
    """``mergeSliceWithoutSpecialElements``: merge matching items, append new ones."""
    merged = list(original)
    for item in patch:
        if merge_key not in item:
            raise Invalid(f"map: {_go_map(item)} does not contain declared merge key: {merge_key}")
        for i, existing in enumerate(merged):
            if _same(existing.get(merge_key), item[merge_key]):
                merged[i] = _smp_map(existing, item, item_typ)
                break
        else:
            merged.append(_smp_map({}, item, item_typ))
    return merged


def _merge_value(item: Any, merge_key: str) -> Any:
    return item.get(merge_key) if merge_key and isinstance(item, dict) else item


def _index(order: list, item: Any, merge_key: str) -> int:
    value = _merge_value(item, merge_key)
    for i, candidate in enumerate(order):
        if _same(_merge_value(candidate, merge_key), value):
            return i
    return -1


def _partition(merged: list, by: list, merge_key: str) -> tuple[list, list]:
    """Split into (items present in ``by``, server-only items), keeping relative order."""
    present, server_only = [], []
    for item in merged:
        (present if _index(by, item, merge_key) >= 0 else server_only).append(item)
    return present, server_only


def _normalize_order(patch_items: list, server_only: list, patch_order: list, server_order: list,
                     merge_key: str) -> list:
    """``normalizeElementOrder``: patch items in patch order, server items in live order, then interleave."""
    def by(order: list) -> Any:
        return lambda item: (lambda i: i if i >= 0 else len(order))(_index(order, item, merge_key))

    patch_items = sorted(patch_items, key=by(patch_order))
    server_only = sorted(server_only, key=by(server_order))
    # mergeSortedSlice: a server-only item goes first only if both are in the live list and it came earlier;
    # so items new to the list land before the server-only items (as with `kubectl patch` adding a container).
    out: list = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        else:
            li = _index(server_order, server_only[i], merge_key)
            ri = _index(server_order, patch_items[j], merge_key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out


def _scalar_key(value: Any) -> Any:
    """Compare JSON scalars as Go does after decoding: numbers by value, bools apart from numbers."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", float(value))
    if isinstance(value, (dict, list)):
        return ("json", json.dumps(value, sort_keys=True))
    return (type(value).__name__, value)


def _same(a: Any, b: Any) -> bool:
    return _scalar_key(a) == _scalar_key(b)


def _dedupe(values: list) -> list:
    seen: set = set()
    out = []
    for value in values:
        key = _scalar_key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _go_map(value: dict) -> str:
    """Render a map roughly as Go's ``%v`` does, for error messages."""
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items())) + "]"


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
    strategy, merge_key = _patch_meta(prop)
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
        typ = _type_of(prop)
        fields = {k: v for k, v in value.items() if v is not None}
        if not fields or _atomic_map(prop, typ):
            out[path] = ("leaf", value)
            return
        out[path] = ("struct" if _is_struct(typ) else "map", value)
        for key, child in fields.items():
            _walk(child, _prop(typ, key), path + (("f", key),), out)
        return
    if isinstance(value, list):
        style, keys = _list_style(prop)
        if value and style == "map" and all(isinstance(x, dict) for x in value):
            item_prop = _items_prop(prop)
            item_typ = _type_of(item_prop)
            for item in value:
                key = _item_key(item, keys)
                if key is None:
                    continue
                item_path = path + (("k", key),)
                out[item_path] = ("item", item)
                for field, child in item.items():
                    if child is not None:
                        _walk(child, _prop(item_typ, field), item_path + (("f", field),), out)
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
    raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
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
    return _same(a, b)


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
    root = _root_prop(api_version, kind)
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
        raise BadRequest(f"json: cannot unmarshal {_json_kind(applied)} into Go value of type map[string]interface {{}}")
    root = _root_prop(api_version, kind)
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
    typ = _type_of(prop)
    if isinstance(config, dict) and isinstance(live, dict) and not _atomic_map(prop, typ):
        out = dict(live)
        for key, value in config.items():
            out[key] = _apply_merge(live[key], value, _prop(typ, key)) if key in live else _clone(value)
        return out
    if isinstance(config, list) and isinstance(live, list):
        style, keys = _list_style(prop)
        if style == "map" and all(isinstance(x, dict) for x in live + config):
            out = list(live)
            positions = {_item_key(item, keys): i for i, item in enumerate(out)}
            for item in config:
                key = _item_key(item, keys)
                if key in positions:
                    out[positions[key]] = _apply_merge(out[positions[key]], item, _items_prop(prop))
                else:
                    positions[key] = len(out)
                    out.append(_clone(item))
            return out
        if style == "set":
            return list(live) + [_clone(x) for x in _dedupe(config) if not any(_same(x, y) for y in live)]
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
        container[:] = [x for x in container if not _same(x, value)]
    elif tag == "i" and isinstance(container, list) and 0 <= value < len(container):
        del container[value]
