"""Semantic validation of built-in kinds, with Kubernetes' field paths and messages.

Mirrors ``pkg/apis/core/validation``, ``pkg/apis/apps/validation`` and apimachinery's
``ValidateObjectMeta``. Each check yields ``Cause(field, message, reason)`` where ``message`` is
``field.Error.ErrorBody()`` (the part after ``"<field>: "``), exactly what the real apiserver puts in
``details.causes``, e.g. ``Cause("spec.replicas", "Invalid value: -1: must be greater than or equal to 0")``.

Run after defaulting (like the apiserver), on an object that passed ``schema.schema_causes`` type checks;
the code still tolerates wrong shapes rather than raising.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Callable, Iterable, Mapping

from .errors import Cause
from .quantity import QUANTITY_MESSAGE, parse_quantity
from .resources import ResourceType
from .selectors import LabelSelector, label_key_error, label_value_error

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
DUPLICATE = "FieldValueDuplicate"
TOO_LONG = "FieldValueTooLong"
NOT_FOUND = "FieldValueNotFound"

MAX_SECRET_SIZE = 1024 * 1024
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
NODE_PORT_RANGE = (30000, 32767)

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
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
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
CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                  "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
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


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _nonnegative(out: list[Cause], value: Any, field: str) -> None:
    v = _int(value)
    if v is not None and v < 0:
        out.append(invalid(field, v, NONNEGATIVE_MSG))


def _port_number(out: list[Cause], value: Any, field: str) -> None:
    v = _int(value)
    if v is not None and not 1 <= v <= 65535:
        out.append(invalid(field, v, PORT_RANGE_MSG))


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
    _nonnegative(out, meta.get("generation"), f"{path}.generation")
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


def _selector_matches(selector: Any, labels: Any) -> bool:
    try:
        return LabelSelector.from_dict(selector).matches(labels or {})
    except Exception:  # an invalid selector was already reported
        return True


def _selector_empty(selector: Any) -> bool:
    return not isinstance(selector, Mapping) or not (selector.get("matchLabels") or selector.get("matchExpressions"))


# ---------------------------------------------------------------------------------------------------
# Pod spec


RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
TOLERATION_OPERATORS = ("Equal", "Exists")
TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")


def _validate_quantity_map(out: list[Cause], values: Any, path: str) -> dict[str, float]:
    parsed: dict[str, float] = {}
    if not isinstance(values, Mapping):
        return parsed
    for name, value in values.items():
        field = f"{path}[{name}]"
        try:
            q = parse_quantity(value)
        except ValueError:
            out.append(invalid(field, value, QUANTITY_MESSAGE))
            continue
        if q < 0:
            out.append(invalid(field, value, NONNEGATIVE_MSG))
        parsed[name] = q
    return parsed


def validate_resources(out: list[Cause], resources: Any, path: str) -> None:
    """``ValidateResourceRequirements``: quantities parse, are ≥ 0, and requests ≤ limits."""
    if not isinstance(resources, Mapping):
        return
    limits = _validate_quantity_map(out, resources.get("limits"), f"{path}.limits")
    requests = _validate_quantity_map(out, resources.get("requests"), f"{path}.requests")
    raw_limits = resources.get("limits") or {}
    raw_requests = resources.get("requests") or {}
    for name, req in requests.items():
        if name in limits:
            overcommit = not name.startswith("hugepages-")
            if not overcommit and req != limits[name]:
                out.append(invalid(f"{path}.requests", str(raw_requests[name]),
                                   f"must be equal to {name} limit of {raw_limits[name]}"))
            elif req > limits[name] + 1e-12:
                out.append(invalid(f"{path}.requests", str(raw_requests[name]),
                                   f"must be less than or equal to {name} limit of {raw_limits[name]}"))


def _validate_port_or_name(out: list[Cause], port: Any, path: str) -> None:
    if isinstance(port, str):
        for msg in port_name_errors(port):
            out.append(invalid(path, port, msg))
    else:
        _port_number(out, port, path)


def _validate_handler(out: list[Cause], handler: Mapping[str, Any], path: str) -> int:
    count = 0
    if isinstance(handler.get("exec"), Mapping):
        count += 1
        if not handler["exec"].get("command"):
            out.append(required(f"{path}.exec.command"))
    if isinstance(handler.get("httpGet"), Mapping):
        count += 1
        http = handler["httpGet"]
        _validate_port_or_name(out, http.get("port"), f"{path}.httpGet.port")
        scheme = http.get("scheme")
        if scheme and scheme not in ("HTTP", "HTTPS"):
            out.append(not_supported(f"{path}.httpGet.scheme", scheme, ("HTTP", "HTTPS")))
    if isinstance(handler.get("tcpSocket"), Mapping):
        count += 1
        _validate_port_or_name(out, handler["tcpSocket"].get("port"), f"{path}.tcpSocket.port")
    if isinstance(handler.get("grpc"), Mapping):
        count += 1
        _port_number(out, handler["grpc"].get("port"), f"{path}.grpc.port")
    if isinstance(handler.get("sleep"), Mapping):
        count += 1
    return count


def _validate_probe(out: list[Cause], probe: Any, path: str, must_succeed_once: bool) -> None:
    if not isinstance(probe, Mapping):
        return
    count = _validate_handler(out, probe, path)
    if count == 0:
        out.append(required(path, "must specify a handler type"))
    elif count > 1:
        out.append(forbidden(path, "may not specify more than 1 handler type"))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        _nonnegative(out, probe.get(key), f"{path}.{key}")
    if must_succeed_once and _int(probe.get("successThreshold")) not in (None, 1):
        out.append(invalid(f"{path}.successThreshold", probe["successThreshold"], "must be 1"))
    grace = _int(probe.get("terminationGracePeriodSeconds"))
    if grace is not None and grace <= 0:
        out.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0"))


def _validate_container(out: list[Cause], c: Mapping[str, Any], path: str, volumes: set[str],
                        regular: bool) -> None:
    name = c.get("name")
    if not name:
        out.append(required(f"{path}.name"))
    else:
        for msg in dns1123_label_errors(str(name)):
            out.append(invalid(f"{path}.name", name, msg))
    if not c.get("image"):
        out.append(required(f"{path}.image"))
    policy = c.get("imagePullPolicy")
    if policy is not None and policy not in PULL_POLICIES:
        out.append(not_supported(f"{path}.imagePullPolicy", policy, PULL_POLICIES))
    tmp = c.get("terminationMessagePolicy")
    if tmp is not None and tmp not in TERMINATION_MESSAGE_POLICIES:
        out.append(not_supported(f"{path}.terminationMessagePolicy", tmp, TERMINATION_MESSAGE_POLICIES))
    port_names: set[str] = set()
    for j, port in enumerate(c.get("ports") or ()):
        if not isinstance(port, Mapping):
            continue
        p = f"{path}.ports[{j}]"
        pname = port.get("name")
        if pname:
            for msg in port_name_errors(str(pname)):
                out.append(invalid(f"{p}.name", pname, msg))
            if pname in port_names:
                out.append(duplicate(f"{p}.name", pname))
            port_names.add(pname)
        if not port.get("containerPort"):
            out.append(required(f"{p}.containerPort"))
        else:
            _port_number(out, port.get("containerPort"), f"{p}.containerPort")
        if port.get("hostPort"):
            _port_number(out, port.get("hostPort"), f"{p}.hostPort")
        proto = port.get("protocol")
        if proto is not None and proto not in PROTOCOLS:
            out.append(not_supported(f"{p}.protocol", proto, PROTOCOLS))
    for j, env in enumerate(c.get("env") or ()):
        if isinstance(env, Mapping) and not env.get("name"):
            out.append(required(f"{path}.env[{j}].name"))
    mount_paths: set[str] = set()
    for j, mount in enumerate(c.get("volumeMounts") or ()):
        if not isinstance(mount, Mapping):
            continue
        p = f"{path}.volumeMounts[{j}]"
        mname = mount.get("name")
        if not mname:
            out.append(required(f"{p}.name"))
        elif mname not in volumes:
            out.append(not_found(f"{p}.name", mname))
        mpath = mount.get("mountPath")
        if not mpath:
            out.append(required(f"{p}.mountPath"))
        elif mpath in mount_paths:
            out.append(invalid(f"{p}.mountPath", mpath, "must be unique"))
        else:
            mount_paths.add(mpath)
    validate_resources(out, c.get("resources"), f"{path}.resources")
    if regular:
        _validate_probe(out, c.get("livenessProbe"), f"{path}.livenessProbe", True)
        _validate_probe(out, c.get("readinessProbe"), f"{path}.readinessProbe", False)
        _validate_probe(out, c.get("startupProbe"), f"{path}.startupProbe", True)
    elif any(c.get(k) for k in ("livenessProbe", "readinessProbe", "startupProbe")) and \
            c.get("restartPolicy") != "Always":
        for key in ("livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(key):
                out.append(forbidden(f"{path}.{key}", "may not be set for init containers without "
                                                      "restartPolicy=Always"))


def validate_pod_spec(out: list[Cause], spec: Any, path: str) -> None:
    """``ValidatePodSpec`` (the parts a learner meets): volumes, containers, policies, tolerations."""
    if not isinstance(spec, Mapping):
        out.append(required(path))
        return
    volumes: set[str] = set()
    for i, vol in enumerate(spec.get("volumes") or ()):
        if not isinstance(vol, Mapping):
            continue
        p = f"{path}.volumes[{i}]"
        vname = vol.get("name")
        if not vname:
            out.append(required(f"{p}.name"))
            continue
        for msg in dns1123_label_errors(str(vname)):
            out.append(invalid(f"{p}.name", vname, msg))
        if vname in volumes:
            out.append(duplicate(f"{p}.name", vname))
        volumes.add(vname)
        sources = [k for k in vol if k != "name"]
        if len(sources) > 1:
            out.append(forbidden(f"{p}.{sources[1]}", "may not specify more than 1 volume type"))
        claim = vol.get("persistentVolumeClaim")
        if isinstance(claim, Mapping) and not claim.get("claimName"):
            out.append(required(f"{p}.persistentVolumeClaim.claimName"))
    names: set[str] = set()
    containers = spec.get("containers")
    if not containers:
        out.append(required(f"{path}.containers"))
    for key, regular in (("initContainers", False), ("containers", True)):
        for i, c in enumerate(spec.get(key) or ()):
            if not isinstance(c, Mapping):
                continue
            p = f"{path}.{key}[{i}]"
            _validate_container(out, c, p, volumes, regular)
            cname = c.get("name")
            if cname:
                if cname in names:
                    out.append(duplicate(f"{p}.name", cname))
                names.add(cname)
    restart = spec.get("restartPolicy")
    if restart not in RESTART_POLICIES:
        if not restart:
            out.append(required(f"{path}.restartPolicy"))
        else:
            out.append(not_supported(f"{path}.restartPolicy", restart, RESTART_POLICIES))
    dns = spec.get("dnsPolicy")
    if dns is not None and dns not in DNS_POLICIES:
        out.append(not_supported(f"{path}.dnsPolicy", dns, DNS_POLICIES))
    validate_labels(out, spec.get("nodeSelector"), f"{path}.nodeSelector")
    _nonnegative(out, spec.get("terminationGracePeriodSeconds"), f"{path}.terminationGracePeriodSeconds")
    ads = _int(spec.get("activeDeadlineSeconds"))
    if ads is not None and not 1 <= ads <= 2147483647:
        out.append(invalid(f"{path}.activeDeadlineSeconds", ads, "must be between 1 and 2147483647, inclusive"))
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            for msg in dns1123_label_errors(str(spec[key])):
                out.append(invalid(f"{path}.{key}", spec[key], msg))
    if spec.get("serviceAccountName"):
        for msg in dns1123_subdomain_errors(str(spec["serviceAccountName"])):
            out.append(invalid(f"{path}.serviceAccountName", spec["serviceAccountName"], msg))
    validate_tolerations(out, spec.get("tolerations"), f"{path}.tolerations")


def validate_tolerations(out: list[Cause], tolerations: Any, path: str) -> None:
    """``ValidateTolerations``: operator/effect values and their combinations."""
    for i, tol in enumerate(tolerations or ()):
        if not isinstance(tol, Mapping):
            continue
        p = f"{path}[{i}]"
        key = tol.get("key") or ""
        if key:
            err = label_key_error(key)
            if err:
                out.append(invalid(f"{p}.key", key, err))
        op = tol.get("operator") or "Equal"
        if not key and op != "Exists":
            out.append(invalid(f"{p}.operator", op, "operator must be Exists when `key` is empty, which means "
                                                    "\"match all values and all keys\""))
        if tol.get("tolerationSeconds") is not None and tol.get("effect") != "NoExecute":
            out.append(invalid(f"{p}.effect", tol.get("effect") or "",
                               "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op == "Exists":
            if tol.get("value"):
                out.append(invalid(f"{p}.operator", tol["value"], "value must be empty when `operator` is 'Exists'"))
        elif op != "Equal":
            out.append(not_supported(f"{p}.operator", op, TOLERATION_OPERATORS))
        effect = tol.get("effect")
        if effect and effect not in TAINT_EFFECTS:
            out.append(not_supported(f"{p}.effect", effect, TAINT_EFFECTS))


def validate_pod_template(out: list[Cause], template: Any, path: str) -> None:
    """``ValidatePodTemplateSpec``: template labels/annotations and the pod spec."""
    if not isinstance(template, Mapping):
        out.append(required(path))
        return
    meta = template.get("metadata") or {}
    validate_labels(out, meta.get("labels"), f"{path}.metadata.labels")
    validate_annotations(out, meta.get("annotations"), f"{path}.metadata.annotations")
    validate_pod_spec(out, template.get("spec"), f"{path}.spec")


# ---------------------------------------------------------------------------------------------------
# Kinds: create


def _validate_int_or_percent(out: list[Cause], value: Any, path: str) -> None:
    if isinstance(value, str):
        if not _PERCENT.match(value):
            out.append(invalid(path, value, PERCENT_MSG))
    else:
        _nonnegative(out, value, path)


def _int_or_percent_value(value: Any) -> int:
    if isinstance(value, str):
        return int(value[:-1]) if _PERCENT.match(value) else 0
    return _int(value) or 0


def _not_over_100(out: list[Cause], value: Any, path: str) -> None:
    if isinstance(value, str) and _PERCENT.match(value) and int(value[:-1]) > 100:
        out.append(invalid(path, value, "must not be greater than 100%"))


def _workload_selector(out: list[Cause], spec: Mapping[str, Any], kind_word: str) -> None:
    selector = spec.get("selector")
    if selector is None:
        out.append(required("spec.selector"))
        return
    validate_label_selector(out, selector, "spec.selector")
    if _selector_empty(selector):
        out.append(invalid("spec.selector", selector, f"empty selector is invalid for {kind_word}"))


def _template_for_replicaset(out: list[Cause], spec: Mapping[str, Any], kind_word: str) -> None:
    template = spec.get("template")
    if not isinstance(template, Mapping):
        out.append(required("spec.template"))
        return
    labels = (template.get("metadata") or {}).get("labels") or {}
    selector = spec.get("selector")
    if not _selector_empty(selector) and not _selector_matches(selector, labels):
        out.append(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    validate_pod_template(out, template, "spec.template")
    _workload_pod_policy(out, template, kind_word)


def _workload_pod_policy(out: list[Cause], template: Mapping[str, Any], kind_word: str) -> None:
    pod_spec = template.get("spec") or {}
    restart = pod_spec.get("restartPolicy")
    if restart != "Always":
        out.append(not_supported("spec.template.spec.restartPolicy", restart or "", ("Always",)))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        out.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                             f"activeDeadlineSeconds in {kind_word} is not Supported"))


def validate_deployment_spec(out: list[Cause], spec: Mapping[str, Any]) -> None:
    _nonnegative(out, spec.get("replicas"), "spec.replicas")
    _workload_selector(out, spec, "deployment")
    _template_for_replicaset(out, spec, "ReplicaSet")
    strategy = spec.get("strategy") or {}
    stype = strategy.get("type")
    if stype == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            out.append(forbidden("spec.strategy.rollingUpdate",
                                 "may not be specified when strategy `type` is 'Recreate'"))
    elif stype == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, Mapping):
            out.append(required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"))
        else:
            p = "spec.strategy.rollingUpdate"
            _validate_int_or_percent(out, ru.get("maxUnavailable"), f"{p}.maxUnavailable")
            _validate_int_or_percent(out, ru.get("maxSurge"), f"{p}.maxSurge")
            if _int_or_percent_value(ru.get("maxUnavailable")) == 0 and _int_or_percent_value(ru.get("maxSurge")) == 0:
                out.append(invalid(f"{p}.maxUnavailable", ru.get("maxUnavailable"),
                                   "may not be 0 when `maxSurge` is 0"))
            _not_over_100(out, ru.get("maxUnavailable"), f"{p}.maxUnavailable")
    else:
        out.append(not_supported("spec.strategy", strategy, ("Recreate", "RollingUpdate")))
    _nonnegative(out, spec.get("minReadySeconds"), "spec.minReadySeconds")
    _nonnegative(out, spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    pds = _int(spec.get("progressDeadlineSeconds"))
    if pds is not None:
        _nonnegative(out, pds, "spec.progressDeadlineSeconds")
        if pds <= (_int(spec.get("minReadySeconds")) or 0):
            out.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))


def validate_replicaset_spec(out: list[Cause], spec: Mapping[str, Any]) -> None:
    _nonnegative(out, spec.get("replicas"), "spec.replicas")
    _nonnegative(out, spec.get("minReadySeconds"), "spec.minReadySeconds")
    _workload_selector(out, spec, "deployment")  # sic: the apiserver says "deployment" for ReplicaSets too
    _template_for_replicaset(out, spec, "ReplicaSet")


def validate_statefulset_spec(out: list[Cause], spec: Mapping[str, Any]) -> None:
    pmp = spec.get("podManagementPolicy")
    if not pmp:
        out.append(required("spec.podManagementPolicy"))
    elif pmp not in ("OrderedReady", "Parallel"):
        out.append(invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"))
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type")
    if not stype:
        out.append(required("spec.updateStrategy"))
    elif stype == "OnDelete":
        if strategy.get("rollingUpdate") is not None:
            out.append(invalid("spec.updateStrategy.rollingUpdate", strategy["rollingUpdate"],
                               "only allowed for updateStrategy 'RollingUpdate'"))
    elif stype == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if isinstance(ru, Mapping):
            _nonnegative(out, ru.get("partition"), "spec.updateStrategy.rollingUpdate.partition")
            if ru.get("maxUnavailable") is not None:
                p = "spec.updateStrategy.rollingUpdate.maxUnavailable"
                _validate_int_or_percent(out, ru["maxUnavailable"], p)
                if _int_or_percent_value(ru["maxUnavailable"]) == 0:
                    out.append(invalid(p, ru["maxUnavailable"], "cannot be 0"))
                _not_over_100(out, ru["maxUnavailable"], p)
    else:
        out.append(invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'"))
    policy = spec.get("persistentVolumeClaimRetentionPolicy")
    if isinstance(policy, Mapping):
        for key in ("whenDeleted", "whenScaled"):
            if policy.get(key) not in ("Retain", "Delete"):
                out.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", policy.get(key) or "",
                                         ("Retain", "Delete")))
    _nonnegative(out, spec.get("replicas"), "spec.replicas")
    _nonnegative(out, spec.get("minReadySeconds"), "spec.minReadySeconds")
    ordinals = spec.get("ordinals")
    if isinstance(ordinals, Mapping):
        _nonnegative(out, ordinals.get("start"), "spec.ordinals.start")
    _workload_selector(out, spec, "statefulset")
    template = spec.get("template")
    if not isinstance(template, Mapping):
        out.append(required("spec.template"))
        return
    # Like the apiserver, the StatefulSet template's pod spec itself is not validated here.
    meta = template.get("metadata") or {}
    selector = spec.get("selector")
    if not _selector_empty(selector) and not _selector_matches(selector, meta.get("labels")):
        out.append(invalid("spec.template.metadata.labels", meta.get("labels") or {},
                           "`selector` does not match template `labels`"))
    validate_labels(out, meta.get("labels"), "spec.template.labels")
    validate_annotations(out, meta.get("annotations"), "spec.template.annotations")
    _workload_pod_policy(out, template, "StatefulSet")


def validate_daemonset_spec(out: list[Cause], spec: Mapping[str, Any]) -> None:
    selector = spec.get("selector")
    validate_label_selector(out, selector, "spec.selector")
    template = spec.get("template") if isinstance(spec.get("template"), Mapping) else {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector is None or not _selector_matches(selector, labels):
        out.append(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    if isinstance(selector, Mapping) and _selector_empty(selector):
        out.append(invalid("spec.selector", selector, "empty selector is invalid for daemonset"))
    validate_pod_template(out, template, "spec.template")
    _workload_pod_policy(out, template, "DaemonSet")
    _nonnegative(out, spec.get("minReadySeconds"), "spec.minReadySeconds")
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type")
    if stype == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        p = "spec.updateStrategy.rollingUpdate"
        if not isinstance(ru, Mapping):
            out.append(required(p))
        else:
            _validate_int_or_percent(out, ru.get("maxUnavailable"), f"{p}.maxUnavailable")
            _validate_int_or_percent(out, ru.get("maxSurge"), f"{p}.maxSurge")
            _not_over_100(out, ru.get("maxUnavailable"), f"{p}.maxUnavailable")
            _not_over_100(out, ru.get("maxSurge"), f"{p}.maxSurge")
            has_unavailable = _int_or_percent_value(ru.get("maxUnavailable")) != 0
            has_surge = _int_or_percent_value(ru.get("maxSurge")) != 0
            if has_unavailable and has_surge:
                out.append(invalid(f"{p}.maxSurge", ru.get("maxSurge"), "may not be set when maxUnavailable is "
                                                                         "non-zero"))
            elif not has_unavailable and not has_surge:
                out.append(required(f"{p}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
    elif stype != "OnDelete":
        out.append(not_supported("spec.updateStrategy", strategy, ("RollingUpdate", "OnDelete")))
    _nonnegative(out, spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")


SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def validate_service_spec(out: list[Cause], spec: Mapping[str, Any]) -> None:
    svc_type = spec.get("type") or "ClusterIP"
    if svc_type not in SERVICE_TYPES:
        out.append(not_supported("spec.type", svc_type, SERVICE_TYPES))
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports") or []
    if not ports and not headless and svc_type != "ExternalName":
        out.append(required("spec.ports"))
    if svc_type == "ExternalName":
        name = spec.get("externalName")
        if not name:
            out.append(required("spec.externalName"))
        else:
            for msg in dns1123_subdomain_errors(str(name).rstrip(".")):
                out.append(invalid("spec.externalName", name, msg))
    names: set[str] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, Mapping):
            continue
        p = f"spec.ports[{i}]"
        pname = port.get("name") or ""
        if len(ports) > 1 and not pname:
            out.append(required(f"{p}.name"))
        elif pname:
            for msg in dns1123_label_errors(pname):
                out.append(invalid(f"{p}.name", pname, msg))
            if pname in names:
                out.append(duplicate(f"{p}.name", pname))
            names.add(pname)
        _port_number(out, port.get("port") or 0, f"{p}.port")
        proto = port.get("protocol")
        if proto is not None and proto not in PROTOCOLS:
            out.append(not_supported(f"{p}.protocol", proto, PROTOCOLS))
        _validate_port_or_name(out, port.get("targetPort"), f"{p}.targetPort")
        node_port = _int(port.get("nodePort"))
        if node_port:
            if svc_type == "ClusterIP":
                out.append(forbidden(f"{p}.nodePort", "may not be used when `type` is 'ClusterIP'"))
            elif svc_type in ("NodePort", "LoadBalancer") and not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
                out.append(invalid(f"{p}.nodePort", node_port,
                                   "provided port is not in the valid range. The range of valid ports is "
                                   f"{NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}"))
    affinity = spec.get("sessionAffinity")
    if affinity is not None and affinity not in ("ClientIP", "None"):
        out.append(not_supported("spec.sessionAffinity", affinity, ("ClientIP", "None")))
    validate_labels(out, spec.get("selector"), "spec.selector")
    for key in ("externalTrafficPolicy", "internalTrafficPolicy"):
        value = spec.get(key)
        if value and value not in ("Cluster", "Local"):
            out.append(not_supported(f"spec.{key}", value, ("Cluster", "Local")))
    if spec.get("externalTrafficPolicy") and svc_type not in ("NodePort", "LoadBalancer"):
        out.append(invalid("spec.externalTrafficPolicy", spec["externalTrafficPolicy"],
                           "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))


def _validate_data_keys(out: list[Cause], data: Any, path: str) -> int:
    size = 0
    if not isinstance(data, Mapping):
        return 0
    for key, value in data.items():
        key = str(key)
        errs = []
        if len(key) > 253:
            errs.append("must be no more than 253 characters")
        if not _CONFIG_KEY.match(key):
            errs.append(CONFIG_KEY_MSG)
        if key == ".":
            errs.append("must not be '.'")
        elif key == "..":
            errs.append("must not be '..'")
        elif key.startswith(".."):
            errs.append("must not start with '..'")
        for msg in errs:
            out.append(invalid(f"{path}[{key}]", key, msg))
        size += len(str(value or ""))
    return size


def validate_configmap(out: list[Cause], obj: Mapping[str, Any]) -> None:
    size = _validate_data_keys(out, obj.get("data"), "data")
    size += _validate_data_keys(out, obj.get("binaryData"), "binaryData") * 3 // 4
    for key in obj.get("binaryData") or {}:
        if key in (obj.get("data") or {}):
            out.append(invalid(f"binaryData[{key}]", key, "duplicate of key present in data"))
    if size > MAX_SECRET_SIZE:
        out.append(too_long("", MAX_SECRET_SIZE))


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def validate_secret(out: list[Cause], obj: Mapping[str, Any]) -> None:
    data = obj.get("data") or {}
    _validate_data_keys(out, data, "data")
    size = 0
    for key, value in data.items() if isinstance(data, Mapping) else ():
        try:
            size += len(base64.b64decode(str(value or ""), validate=True))
        except (binascii.Error, ValueError) as exc:
            out.append(invalid(f"data[{key}]", "<secret contents redacted>", f"illegal base64 data: {exc}"))
    if size > MAX_SECRET_SIZE:
        out.append(too_long("data", MAX_SECRET_SIZE))
    stype = obj.get("type") or "Opaque"
    for key in _SECRET_REQUIRED_KEYS.get(stype, ()):
        if key not in data:
            out.append(required(f"data[{key}]"))
    if stype == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        out.append(required("data[username]", "either username or password is required"))
    if stype == "kubernetes.io/service-account-token":
        if not ((obj.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/service-account.name"):
            out.append(required("metadata.annotations[kubernetes.io/service-account.name]"))


ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")


def _validate_access_modes(out: list[Cause], modes: Any, path: str) -> None:
    if not modes:
        out.append(required(path, "at least 1 access mode is required"))
        return
    for mode in modes:
        if mode not in ACCESS_MODES:
            out.append(not_supported(path, mode, ACCESS_MODES))


def validate_pvc_spec(out: list[Cause], spec: Any, path: str = "spec") -> None:
    spec = spec if isinstance(spec, Mapping) else {}
    _validate_access_modes(out, spec.get("accessModes"), f"{path}.accessModes")
    validate_label_selector(out, spec.get("selector"), f"{path}.selector")
    requests = ((spec.get("resources") or {}).get("requests") or {})
    storage = requests.get("storage")
    if storage is None:
        out.append(required(f"{path}.resources[storage]"))
    else:
        try:
            if parse_quantity(storage) <= 0:
                out.append(invalid(f"{path}.resources[storage]", storage, "must be greater than zero"))
        except ValueError:
            out.append(invalid(f"{path}.resources[storage]", storage, QUANTITY_MESSAGE))
    mode = spec.get("volumeMode")
    if mode is not None and mode not in ("Block", "Filesystem"):
        out.append(not_supported(f"{path}.volumeMode", mode, ("Block", "Filesystem")))


def validate_pv_spec(out: list[Cause], spec: Any) -> None:
    spec = spec if isinstance(spec, Mapping) else {}
    _validate_access_modes(out, spec.get("accessModes"), "spec.accessModes")
    capacity = spec.get("capacity") or {}
    if not capacity:
        out.append(required("spec.capacity"))
    elif "storage" not in capacity or len(capacity) != 1:
        out.append(not_supported("spec.capacity", sorted(capacity), ("storage",)))
    else:
        _validate_quantity_map(out, capacity, "spec.capacity")
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy is not None and policy not in ("Delete", "Recycle", "Retain"):
        out.append(not_supported("spec.persistentVolumeReclaimPolicy", policy, ("Delete", "Recycle", "Retain")))
    non_sources = {"accessModes", "capacity", "claimRef", "persistentVolumeReclaimPolicy", "storageClassName",
                   "mountOptions", "volumeMode", "nodeAffinity", "volumeAttributesClassName"}
    sources = [k for k in spec if k not in non_sources]
    if not sources:
        out.append(required("spec", "must specify a volume type"))
    elif len(sources) > 1:
        out.append(forbidden(f"spec.{sources[1]}", "may not specify more than 1 volume type"))


def validate_storageclass(out: list[Cause], obj: Mapping[str, Any]) -> None:
    if not obj.get("provisioner"):
        out.append(required("provisioner"))
    policy = obj.get("reclaimPolicy")
    if policy is not None and policy not in ("Delete", "Retain"):
        out.append(not_supported("reclaimPolicy", policy, ("Delete", "Retain")))
    mode = obj.get("volumeBindingMode")
    if mode is not None and mode not in ("Immediate", "WaitForFirstConsumer"):
        out.append(not_supported("volumeBindingMode", mode, ("Immediate", "WaitForFirstConsumer")))


def validate_pdb_spec(out: list[Cause], spec: Any) -> None:
    spec = spec if isinstance(spec, Mapping) else {}
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        out.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
    for key in ("minAvailable", "maxUnavailable"):
        if spec.get(key) is not None:
            _validate_int_or_percent(out, spec[key], f"spec.{key}")
            _not_over_100(out, spec[key], f"spec.{key}")
    validate_label_selector(out, spec.get("selector"), "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in ("AlwaysAllow", "IfHealthyBudget"):
        out.append(not_supported("spec.unhealthyPodEvictionPolicy", policy, ("AlwaysAllow", "IfHealthyBudget")))


def validate_node_spec(out: list[Cause], spec: Any) -> None:
    spec = spec if isinstance(spec, Mapping) else {}
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(spec.get("taints") or ()):
        if not isinstance(taint, Mapping):
            continue
        p = f"spec.taints[{i}]"
        key = taint.get("key") or ""
        err = label_key_error(key) if key else None
        if not key:
            out.append(required(f"{p}.key"))
        elif err:
            out.append(invalid(f"{p}.key", key, err))
        if taint.get("value"):
            err = label_value_error(str(taint["value"]))
            if err:
                out.append(invalid(f"{p}.value", taint["value"], err))
        effect = taint.get("effect")
        if not effect:
            out.append(required(f"{p}.effect"))
        elif effect not in TAINT_EFFECTS:
            out.append(not_supported(f"{p}.effect", effect, TAINT_EFFECTS))
        if (key, effect) in seen:
            out.append(duplicate(p, taint))
        seen.add((key, effect))


def validate_lease_spec(out: list[Cause], spec: Any) -> None:
    spec = spec if isinstance(spec, Mapping) else {}
    duration = _int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        out.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    _nonnegative(out, spec.get("leaseTransitions"), "spec.leaseTransitions")


def validate_endpointslice(out: list[Cause], obj: Mapping[str, Any]) -> None:
    address_type = obj.get("addressType")
    if not address_type:
        out.append(required("addressType"))
    elif address_type not in ("FQDN", "IPv4", "IPv6"):
        out.append(not_supported("addressType", address_type, ("FQDN", "IPv4", "IPv6")))
    for i, ep in enumerate(obj.get("endpoints") or ()):
        if isinstance(ep, Mapping) and not ep.get("addresses"):
            out.append(required(f"endpoints[{i}].addresses", "must contain at least 1 address"))
    for i, port in enumerate(obj.get("ports") or ()):
        if isinstance(port, Mapping) and port.get("port") is not None:
            _port_number(out, port.get("port"), f"ports[{i}].port")


# ---------------------------------------------------------------------------------------------------
# Dispatch


_NAME_FNS: dict[str, Callable[[str, bool], list[str]]] = {
    "Namespace": name_is_dns_label,
    "Service": name_is_dns1035_label,
    "StatefulSet": name_is_dns_label,
}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _kind_causes(kind: str, obj: Mapping[str, Any], out: list[Cause]) -> None:
    spec = _spec(obj)
    if kind == "Pod":
        validate_pod_spec(out, obj.get("spec"), "spec")
    elif kind == "Deployment":
        validate_deployment_spec(out, spec)
    elif kind == "ReplicaSet":
        validate_replicaset_spec(out, spec)
    elif kind == "StatefulSet":
        validate_statefulset_spec(out, spec)
    elif kind == "DaemonSet":
        validate_daemonset_spec(out, spec)
    elif kind == "Service":
        validate_service_spec(out, spec)
    elif kind == "ConfigMap":
        validate_configmap(out, obj)
    elif kind == "Secret":
        validate_secret(out, obj)
    elif kind == "PersistentVolumeClaim":
        validate_pvc_spec(out, obj.get("spec"))
    elif kind == "PersistentVolume":
        validate_pv_spec(out, obj.get("spec"))
    elif kind == "StorageClass":
        validate_storageclass(out, obj)
    elif kind == "PodDisruptionBudget":
        validate_pdb_spec(out, obj.get("spec"))
    elif kind == "Node":
        validate_node_spec(out, obj.get("spec"))
    elif kind == "Lease":
        validate_lease_spec(out, obj.get("spec"))
    elif kind == "EndpointSlice":
        validate_endpointslice(out, obj)
    elif kind == "ControllerRevision":
        if obj.get("data") is None:
            out.append(required("data", "data is mandatory"))
        _nonnegative(out, obj.get("revision"), "revision")


def validate_create(rt: ResourceType, obj: Mapping[str, Any]) -> list[Cause]:
    """Return every reason the apiserver would reject creating ``obj`` (defaulted) with 422 Invalid."""
    out: list[Cause] = []
    validate_object_meta(out, obj.get("metadata"), rt.namespaced, _NAME_FNS.get(rt.kind, name_is_dns_subdomain))
    _kind_causes(rt.kind, obj, out)
    return out


# ---------------------------------------------------------------------------------------------------
# Updates


POD_UPDATABLE_FIELDS = ("`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                        "`spec.tolerations` (only additions to existing tolerations),"
                        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")
STATEFULSET_UPDATE_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                                "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                                "'minReadySeconds' are forbidden")
PVC_UPDATE_FORBIDDEN = ("spec is immutable after creation except resources.requests and volumeAttributesClassName "
                        "for bound claims")
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"


def _immutable(out: list[Cause], new: Any, old: Any, field: str) -> None:
    if new != old:
        out.append(invalid(field, new if new is not None else None, IMMUTABLE_MSG))


def _compact(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Drop unset fields (None, empty list/map) so "absent" and "empty" compare equal, as in Go."""
    return {k: v for k, v in spec.items() if v is not None and v != [] and v != {}}


def _pod_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    new_spec, old_spec = dict(_spec(new)), dict(_spec(old))
    # Fields a pod update may change, copied from new onto old before comparing (like ValidatePodUpdate).
    mutable = dict(old_spec)
    for key in ("containers", "initContainers"):
        old_list = old_spec.get(key) or []
        new_list = new_spec.get(key) or []
        if len(old_list) == len(new_list):
            merged = []
            for o, n in zip(old_list, new_list):
                o = dict(o)
                if isinstance(n, Mapping) and n.get("image"):
                    o["image"] = n["image"]
                merged.append(o)
            mutable[key] = merged
    old_ads = _int(old_spec.get("activeDeadlineSeconds"))
    new_ads = _int(new_spec.get("activeDeadlineSeconds"))
    if new_ads is not None and (old_ads is None or new_ads <= old_ads):
        mutable["activeDeadlineSeconds"] = new_ads
    elif old_ads is not None and new_ads is None:
        out.append(invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil "
                                                              "value"))
        mutable["activeDeadlineSeconds"] = None
    old_tol = list(old_spec.get("tolerations") or [])
    new_tol = list(new_spec.get("tolerations") or [])
    if all(t in new_tol for t in old_tol):
        mutable["tolerations"] = new_tol
    else:
        out.append(forbidden("spec.tolerations", "existing toleration can not be modified except its "
                                                 "tolerationSeconds"))
        mutable["tolerations"] = new_tol
    old_grace = _int(old_spec.get("terminationGracePeriodSeconds"))
    if old_grace is not None and old_grace < 0 and new_spec.get("terminationGracePeriodSeconds") == 1:
        mutable["terminationGracePeriodSeconds"] = 1
    # The scheduler sets nodeName through the binding subresource, not here; a gate removal is allowed.
    if new_spec.get("schedulingGates") != old_spec.get("schedulingGates") and not new_spec.get("schedulingGates"):
        mutable["schedulingGates"] = new_spec.get("schedulingGates")
    if _compact(new_spec) != _compact(mutable):
        out.append(forbidden("spec", f"pod updates may not change fields other than {POD_UPDATABLE_FIELDS}"))


def _statefulset_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    allowed = ("replicas", "template", "updateStrategy", "minReadySeconds", "ordinals",
               "persistentVolumeClaimRetentionPolicy")
    def strip(spec: Mapping[str, Any]) -> dict[str, Any]:
        return _compact({k: v for k, v in spec.items() if k not in allowed})
    if strip(_spec(new)) != strip(_spec(old)):
        out.append(forbidden("spec", STATEFULSET_UPDATE_FORBIDDEN))


def _service_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    new_spec, old_spec = _spec(new), _spec(old)
    old_ip, new_ip = old_spec.get("clusterIP"), new_spec.get("clusterIP")
    if old_ip and new_ip and old_ip != new_ip and new_spec.get("type") != "ExternalName":
        out.append(invalid("spec.clusterIPs[0]", new_spec.get("clusterIPs") or [new_ip], "may not change once set"))


def _pvc_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    new_spec, old_spec = dict(_spec(new)), dict(_spec(old))
    bound = bool(old_spec.get("volumeName")) or (old.get("status") or {}).get("phase") == "Bound"
    if not old_spec.get("volumeName"):  # the binder fills volumeName in once
        old_spec["volumeName"] = new_spec.get("volumeName")
    for spec in (new_spec, old_spec):
        spec.pop("volumeAttributesClassName", None)
    new_req = ((new_spec.get("resources") or {}).get("requests") or {}).get("storage")
    old_req = ((old_spec.get("resources") or {}).get("requests") or {}).get("storage")
    def strip(spec: Mapping[str, Any]) -> dict[str, Any]:
        return _compact({k: v for k, v in spec.items() if k != "resources"})
    new_res = {k: v for k, v in (new_spec.get("resources") or {}).items() if k != "requests"}
    old_res = {k: v for k, v in (old_spec.get("resources") or {}).items() if k != "requests"}
    if strip(new_spec) != strip(old_spec) or new_res != old_res or (not bound and new_req != old_req):
        out.append(forbidden("spec", PVC_UPDATE_FORBIDDEN))
        return
    try:
        if new_req is not None and old_req is not None and parse_quantity(new_req) < parse_quantity(old_req):
            out.append(forbidden("spec.resources.requests.storage", "field can not be less than previous value"))
    except ValueError:
        pass


def _immutable_data_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    if old.get("immutable"):
        if not new.get("immutable"):
            out.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
        for key in ("data", "binaryData", "stringData"):
            if (new.get(key) or {}) != (old.get(key) or {}):
                out.append(forbidden(key, IMMUTABLE_WHEN_SET))


def validate_update(rt: ResourceType, new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """Return every reason the apiserver would reject replacing ``old`` by ``new`` (both defaulted)."""
    out: list[Cause] = []
    validate_object_meta_update(out, new.get("metadata"), old.get("metadata"))
    kind = rt.kind
    if kind == "StatefulSet":
        # The apiserver does not revalidate the name on update.
        validate_statefulset_spec(out, _spec(new))
        _statefulset_update(out, new, old)
        return out
    body: list[Cause] = []
    _kind_causes(kind, new, body)
    out.extend(body)
    if kind in ("Deployment", "ReplicaSet", "DaemonSet"):
        _immutable(out, _spec(new).get("selector"), _spec(old).get("selector"), "spec.selector")
    elif kind == "Pod":
        _pod_update(out, new, old)
    elif kind == "Service":
        _service_update(out, new, old)
    elif kind == "PersistentVolumeClaim":
        _pvc_update(out, new, old)
    elif kind == "ConfigMap":
        _immutable_data_update(out, new, old)
    elif kind == "Secret":
        if (new.get("type") or "Opaque") != (old.get("type") or "Opaque"):
            out.append(invalid("type", new.get("type") or "", IMMUTABLE_MSG))
        _immutable_data_update(out, new, old)
    elif kind == "StorageClass":
        if (new.get("parameters") or {}) != (old.get("parameters") or {}):
            out.append(forbidden("parameters", "updates to parameters are forbidden."))
        if new.get("provisioner") != old.get("provisioner"):
            out.append(forbidden("provisioner", "updates to provisioner are forbidden."))
        if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
            out.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
        _immutable(out, new.get("volumeBindingMode"), old.get("volumeBindingMode"), "volumeBindingMode")
    elif kind == "EndpointSlice":
        _immutable(out, new.get("addressType"), old.get("addressType"), "addressType")
    elif kind == "ControllerRevision":
        _immutable(out, new.get("data"), old.get("data"), "data")
    elif kind == "PersistentVolume":
        old_source = {k: v for k, v in _spec(old).items() if k not in (
            "accessModes", "capacity", "claimRef", "persistentVolumeReclaimPolicy", "storageClassName",
            "mountOptions", "volumeMode", "nodeAffinity", "volumeAttributesClassName")}
        new_source = {k: v for k, v in _spec(new).items() if k in old_source or k not in (
            "accessModes", "capacity", "claimRef", "persistentVolumeReclaimPolicy", "storageClassName",
            "mountOptions", "volumeMode", "nodeAffinity", "volumeAttributesClassName")}
        if new_source != old_source:
            out.append(forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after "
                                                                "creation"))
        _immutable(out, _spec(new).get("volumeMode"), _spec(old).get("volumeMode"), "spec.volumeMode")
    return out


def validate_status_update(rt: ResourceType, new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """Return the causes for a ``/status`` write: metadata may not change identity; counters are ≥ 0."""
    out: list[Cause] = []
    validate_object_meta_update(out, new.get("metadata"), old.get("metadata"))
    status = new.get("status")
    if isinstance(status, Mapping) and rt.kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "currentReplicas",
                    "observedGeneration"):
            _nonnegative(out, status.get(key), f"status.{key}")
    return out
