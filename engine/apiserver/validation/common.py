"""Shared validation building blocks: apimachinery's ``field.Error`` and ``util/validation``.

``field.Error`` constructors (``invalid``, ``required``, ``forbidden``, ...) rendering ``ErrorBody``;
DNS-1123/DNS-1035 name checks and their messages; port names; non-negative and int-or-percent numbers;
``ValidateObjectMeta`` / ``ValidateObjectMetaUpdate`` (names, labels, annotations, owner references);
``ValidateLabelSelector``; and the immutability helpers every kind's update check uses.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable, Mapping

from ...errors import Cause
from ...selectors import LabelSelector, label_key_error, label_value_error

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
DUPLICATE = "FieldValueDuplicate"
TOO_LONG = "FieldValueTooLong"
NOT_FOUND = "FieldValueNotFound"

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


# ---------------------------------------------------------------------------------------------------
# field.Error constructors (ErrorBody formatting)


def render_value(value: Any) -> str:
    """Render a bad value as ``field.Error.ErrorBody`` does: %q strings, %v numbers, JSON otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause(field, f"Invalid value: {render_value(value)}" + (f": {detail}" if detail else ""), INVALID)


def required(field: str, detail: str = "") -> Cause:
    return Cause(field, "Required value" + (f": {detail}" if detail else ""), REQUIRED)


def forbidden(field: str, detail: str) -> Cause:
    return Cause(field, f"Forbidden: {detail}", FORBIDDEN)


def duplicate(field: str, value: Any) -> Cause:
    return Cause(field, f"Duplicate value: {render_value(value)}", DUPLICATE)


def not_found(field: str, value: Any) -> Cause:
    return Cause(field, f"Not found: {render_value(value)}", NOT_FOUND)


def not_supported(field: str, value: Any, valid: Iterable[str]) -> Cause:
    quoted = ", ".join(json.dumps(v) for v in valid)
    return Cause(field, f"Unsupported value: {render_value(value)}: supported values: {quoted}", NOT_SUPPORTED)


def too_long(field: str, max_length: int) -> Cause:
    unit = "byte" if max_length == 1 else "bytes"
    return Cause(field, f"Too long: may not be more than {max_length} {unit}", TOO_LONG)


# ---------------------------------------------------------------------------------------------------
# Names (apimachinery pkg/util/validation)

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_PERCENT = re.compile(r"^[0-9]+%$")
_PORT_NAME_CHARS = re.compile(r"^[-a-z0-9]+$")
_PORT_NAME_LETTER = re.compile(r"[a-z]")

DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                     "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                     "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                         "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                         "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                     "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                     "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
PERCENT_MSG = ("a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
               "regex used for validation is '[0-9]+%')")
PORT_RANGE_MSG = "must be between 1 and 65535, inclusive"
NONNEGATIVE_MSG = "must be greater than or equal to 0"
IMMUTABLE_MSG = "field is immutable"


def dns1123_label_errors(value: str) -> list[str]:
    """Return ``IsDNS1123Label`` messages (empty when valid)."""
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.match(value):
        errs.append(DNS1123_LABEL_MSG)
    return errs


def dns1123_subdomain_errors(value: str) -> list[str]:
    """Return ``IsDNS1123Subdomain`` messages (empty when valid)."""
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.match(value):
        errs.append(DNS1123_SUBDOMAIN_MSG)
    return errs


def dns1035_label_errors(value: str) -> list[str]:
    """Return ``IsDNS1035Label`` messages (empty when valid)."""
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1035_LABEL.match(value):
        errs.append(DNS1035_LABEL_MSG)
    return errs


NameFn = Callable[[str], list]


def _name_fn(check: NameFn) -> Callable[[str, bool], list[str]]:
    def fn(name: str, prefix: bool) -> list[str]:
        # generateName may end in '-' (maskTrailingDash): a random suffix will follow it.
        if prefix and len(name) > 1 and name.endswith("-"):
            name = name[:-1] + "a"
        return check(name)
    return fn


name_is_dns_subdomain = _name_fn(dns1123_subdomain_errors)
name_is_dns_label = _name_fn(dns1123_label_errors)
name_is_dns1035_label = _name_fn(dns1035_label_errors)


def port_name_errors(name: str) -> list[str]:
    """Return ``IsValidPortName`` messages (IANA_SVC_NAME)."""
    errs = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARS.match(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if not _PORT_NAME_LETTER.search(name):
        errs.append("must contain at least one letter (a-z)")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


# ---------------------------------------------------------------------------------------------------
# Numbers and int-or-percent values


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def validate_nonnegative(out: list[Cause], value: Any, field: str) -> None:
    v = as_int(value)
    if v is not None and v < 0:
        out.append(invalid(field, v, NONNEGATIVE_MSG))


def validate_port_number(out: list[Cause], value: Any, field: str) -> None:
    v = as_int(value)
    if v is not None and not 1 <= v <= 65535:
        out.append(invalid(field, v, PORT_RANGE_MSG))


def validate_int_or_percent(out: list[Cause], value: Any, path: str) -> None:
    if isinstance(value, str):
        if not _PERCENT.match(value):
            out.append(invalid(path, value, PERCENT_MSG))
    else:
        validate_nonnegative(out, value, path)


def int_or_percent_value(value: Any) -> int:
    if isinstance(value, str):
        return int(value[:-1]) if _PERCENT.match(value) else 0
    return as_int(value) or 0


def validate_not_over_100(out: list[Cause], value: Any, path: str) -> None:
    if isinstance(value, str) and _PERCENT.match(value) and int(value[:-1]) > 100:
        out.append(invalid(path, value, "must not be greater than 100%"))


# ---------------------------------------------------------------------------------------------------
# Metadata


def validate_labels(out: list[Cause], labels: Any, field: str) -> None:
    """``ValidateLabels``: each key a qualified name, each value a label value."""
    if not isinstance(labels, Mapping):
        return
    for key, value in labels.items():
        err = label_key_error(str(key))
        if err:
            out.append(invalid(field, key, err))
        err = label_value_error(str(value) if value is not None else "")
        if err:
            out.append(invalid(field, value, err))


def validate_annotations(out: list[Cause], annotations: Any, field: str) -> None:
    """``ValidateAnnotations``: qualified-name keys, total size ≤ 256 KiB."""
    if not isinstance(annotations, Mapping):
        return
    total = 0
    for key, value in annotations.items():
        err = label_key_error(str(key).lower())
        if err:
            out.append(invalid(field, key, err))
        total += len(str(key)) + len(str(value or ""))
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        out.append(too_long(field, TOTAL_ANNOTATION_SIZE_LIMIT))


def validate_object_meta(out: list[Cause], meta: Any, namespaced: bool,
                         name_fn: Callable[[str, bool], list[str]], path: str = "metadata") -> None:
    """``ValidateObjectMeta``: name/generateName, namespace, labels, annotations, owner references."""
    if not isinstance(meta, Mapping):
        meta = {}
    name = meta.get("name") or ""
    generate = meta.get("generateName") or ""
    if generate:
        for msg in name_fn(generate, True):
            out.append(invalid(f"{path}.generateName", generate, msg))
    if not name:
        if not generate:
            out.append(required(f"{path}.name", "name or generateName is required"))
    else:
        for msg in name_fn(name, False):
            out.append(invalid(f"{path}.name", name, msg))
    ns = meta.get("namespace") or ""
    if namespaced:
        if not ns:
            out.append(required(f"{path}.namespace"))
        else:
            for msg in dns1123_label_errors(ns):
                out.append(invalid(f"{path}.namespace", ns, msg))
    elif ns:
        out.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    validate_nonnegative(out, meta.get("generation"), f"{path}.generation")
    validate_labels(out, meta.get("labels"), f"{path}.labels")
    validate_annotations(out, meta.get("annotations"), f"{path}.annotations")
    controllers = 0
    for i, ref in enumerate(meta.get("ownerReferences") or ()):
        if not isinstance(ref, Mapping):
            continue
        p = f"{path}.ownerReferences[{i}]"
        for key, what in (("apiVersion", "version"), ("kind", "kind"), ("name", "name"), ("uid", "uid")):
            if not ref.get(key):
                out.append(invalid(f"{p}.{key}", "", f"{what} must not be empty"))
        if ref.get("controller"):
            controllers += 1
    if controllers > 1:
        out.append(invalid(f"{path}.ownerReferences", meta.get("ownerReferences"),
                           "Only one reference can have Controller set to true"))


def validate_object_meta_update(out: list[Cause], new: Any, old: Any, path: str = "metadata") -> None:
    """``ValidateObjectMetaUpdate``: name, namespace, uid, creationTimestamp, generateName never change."""
    new = new if isinstance(new, Mapping) else {}
    old = old if isinstance(old, Mapping) else {}
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if old.get(key) and new.get(key) != old.get(key):
            out.append(invalid(f"{path}.{key}", new.get(key) or "", IMMUTABLE_MSG))
    validate_labels(out, new.get("labels"), f"{path}.labels")
    validate_annotations(out, new.get("annotations"), f"{path}.annotations")


# ---------------------------------------------------------------------------------------------------
# Label selectors


def validate_label_selector(out: list[Cause], selector: Any, path: str) -> None:
    """``ValidateLabelSelector``: matchLabels as labels, matchExpressions operators and values."""
    if not isinstance(selector, Mapping):
        return
    validate_labels(out, selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or ()):
        if not isinstance(expr, Mapping):
            continue
        p = f"{path}.matchExpressions[{i}]"
        op = expr.get("operator")
        values = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                out.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                out.append(forbidden(f"{p}.values", "may not be specified when `operator` is 'Exists' or "
                                                    "'DoesNotExist'"))
        else:
            out.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        err = label_key_error(str(expr.get("key") or ""))
        if err:
            out.append(invalid(f"{p}.key", expr.get("key") or "", err))
        for value in values:
            err = label_value_error(str(value))
            if err:
                out.append(invalid(f"{p}.values", value, err))


def selector_matches(selector: Any, labels: Any) -> bool:
    try:
        return LabelSelector.from_dict(selector).matches(labels or {})
    except Exception:  # an invalid selector was already reported
        return True


def selector_empty(selector: Any) -> bool:
    return not isinstance(selector, Mapping) or not (selector.get("matchLabels") or selector.get("matchExpressions"))


# ---------------------------------------------------------------------------------------------------
# Updates


def validate_immutable_field(out: list[Cause], new: Any, old: Any, field: str) -> None:
    if new != old:
        out.append(invalid(field, new if new is not None else None, IMMUTABLE_MSG))


def compact(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Drop unset fields (None, empty list/map) so "absent" and "empty" compare equal, as in Go."""
    return {k: v for k, v in spec.items() if v is not None and v != [] and v != {}}
