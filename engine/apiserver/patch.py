"""The PATCH family as pure functions: JSON patch, JSON merge patch, strategic merge patch.

Real kubectl 1.32 sends all three (KUBERNETES.md 11.11-11.13): ``rollout undo`` a JSON patch, ``label``/``scale``
a merge patch, and client-side ``apply``/``cordon``/``set image``/``taint``/``rollout restart`` a strategic merge
patch. Every function returns a new object and never mutates its inputs. The fourth patch type, the apply patch
of ``apply --server-side``, lives in ``engine.fieldmanager`` with the rest of managedFields bookkeeping: it is
about who owns which field rather than about transforming a document, as upstream keeps
``apiserver/pkg/endpoints/handlers/fieldmanager`` apart from ``handlers/patch.go``. The schema walk both
need (``root_prop``, ``type_of``, ``prop``, ...) lives in ``patchmeta``.

Strategic merge patch follows apimachinery ``pkg/util/strategicpatch/patch.go`` (``StrategicMergeMapPatch`` with
``MergeParallelList`` and ``IgnoreUnmatchedNulls``), including its list ordering rules; the per-field merge keys
and strategies come from the v1.32 OpenAPI definitions shipped by kubernetes-validate.

Error mapping (documented choice, close to ``apiserver/pkg/endpoints/handlers/patch.go``):

* malformed patch bodies and malformed directives → ``BadRequest`` (400), as the apiserver does for decode errors
  and for ``interpretStrategicMergePatchError``'s format errors;
* a well-formed patch that cannot be applied to this object (JSON patch ``test`` failing, a missing path, a list
  item without its merge key, lists of lists) → ``Invalid`` (422). The real apiserver answers 422 for JSON patch
  failures but hides the reason behind "the server rejected our request due to an error in our request"; we keep
  the library's precise message (evanphx/json-patch wording) instead, which is what a learner needs.
"""
from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from ..errors import BadRequest, Invalid
from ..objects import clone as _clone
from . import patchmeta
from .patchmeta import supports_strategic

__all__ = ["json_patch", "merge_patch", "strategic_merge_patch", "supports_strategic"]

# --------------------------------------------------------------------------------------------------------------
# JSON patch (RFC 6902) and JSON merge patch (RFC 7386)
# --------------------------------------------------------------------------------------------------------------

_JSON_PATCH_OPS = {"add", "remove", "replace", "move", "copy", "test"}


def json_patch(obj: dict, ops: list) -> dict:
    """Apply an RFC 6902 JSON patch (``application/json-patch+json``) and return the patched copy.

    Raises ``BadRequest`` for a malformed patch and ``Invalid`` when an operation does not apply.
    """
    if not isinstance(ops, list):
        raise _cannot_unmarshal(ops, "jsonpatch.Patch")
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
        raise _cannot_unmarshal(doc, "map[string]interface {}")
    return doc


def _cannot_unmarshal(value: Any, go_type: str) -> BadRequest:
    """Return the decode error encoding/json gives for ``value`` where ``go_type`` was expected."""
    return BadRequest(f"json: cannot unmarshal {patchmeta.json_kind(value)} into Go value of type {go_type}")


def _check_json_patch_op(op: Any) -> None:
    if not isinstance(op, dict):
        raise _cannot_unmarshal(op, "jsonpatch.Operation")
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
        raise _cannot_unmarshal(patch, "map[string]interface {}")
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
        raise _cannot_unmarshal(patch, "map[string]interface {}")
    typ = patchmeta.type_of(patchmeta.root_prop(api_version, kind)) if supports_strategic(api_version, kind) else None
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
        prop = patchmeta.prop(typ, key)
        if key not in original:
            if not delete_list:
                original[key] = _smp_fresh(value, prop)
            continue
        current = original[key]
        strategy, merge_key = patchmeta.patch_meta(prop)
        if isinstance(current, dict) and isinstance(value, dict):
            if strategy == "replace":
                original[key] = _smp_fresh(value, prop)
            else:
                original[key] = _smp_map(current, value, patchmeta.type_of(prop))
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
        return _smp_map({}, value, patchmeta.type_of(prop))
    if isinstance(value, list):
        strategy, merge_key = patchmeta.patch_meta(prop)
        if strategy == "merge":
            return _smp_list([], value, prop, merge_key, False)
        item_prop = patchmeta.items_prop(prop)
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
        prop = patchmeta.prop(typ, name)
        strategy, merge_key = patchmeta.patch_meta(prop)
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
        if patchmeta.same(_merge_value(items[i], merge_key), _merge_value(order[j], merge_key)):
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
            return [x for x in original if not any(patchmeta.same(x, d) for d in patch)]
        merged = patchmeta.dedupe(every)
    else:
        if not all(isinstance(x, dict) for x in every):
            raise Invalid(f"list element types are not identical: {every}")
        if not merge_key:
            raise Invalid("cannot merge lists without merge key")
        original, patch = _special_elements(original, patch, merge_key)
        merged = _merge_by_key(original, patch, merge_key, patchmeta.type_of(patchmeta.items_prop(prop)))
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
            original = [x for x in original if not patchmeta.same(x.get(merge_key), item[merge_key])]
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
            if patchmeta.same(existing.get(merge_key), item[merge_key]):
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
        if patchmeta.same(_merge_value(candidate, merge_key), value):
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


def _go_map(value: dict) -> str:
    """Render a map roughly as Go's ``%v`` does, for error messages."""
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items())) + "]"
