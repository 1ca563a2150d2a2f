"""Validation of the core API group, after upstream ``pkg/apis/core/validation``.

Pod specs (volumes, containers, ports, probes, resources, policies, tolerations) and pod templates,
Services, ConfigMaps and Secrets, PersistentVolumes and PersistentVolumeClaims, Nodes (taints), and the
core kinds' update rules (pod spec mutability, clusterIP, claim resizing, immutable data).
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Mapping

from ...errors import Cause
from ...objects import annotations_of, meta_of, spec_of, status_of
from ...quantity import QUANTITY_MESSAGE, parse_quantity
from ...selectors import label_key_error, label_value_error
from .common import (as_int, compact, dns1123_label_errors, dns1123_subdomain_errors, duplicate, forbidden,
                     IMMUTABLE_MSG, invalid, NONNEGATIVE_MSG, not_found, not_supported, port_name_errors,
                     required, too_long, validate_annotations, validate_immutable_field, validate_label_selector,
                     validate_labels, validate_nonnegative, validate_port_number)

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
        validate_port_number(out, port, path)


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
        validate_port_number(out, handler["grpc"].get("port"), f"{path}.grpc.port")
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
        validate_nonnegative(out, probe.get(key), f"{path}.{key}")
    if must_succeed_once and as_int(probe.get("successThreshold")) not in (None, 1):
        out.append(invalid(f"{path}.successThreshold", probe["successThreshold"], "must be 1"))
    grace = as_int(probe.get("terminationGracePeriodSeconds"))
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
            validate_port_number(out, port.get("containerPort"), f"{p}.containerPort")
        if port.get("hostPort"):
            validate_port_number(out, port.get("hostPort"), f"{p}.hostPort")
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
    validate_nonnegative(out, spec.get("terminationGracePeriodSeconds"), f"{path}.terminationGracePeriodSeconds")
    ads = as_int(spec.get("activeDeadlineSeconds"))
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
    meta = meta_of(template)
    validate_labels(out, meta.get("labels"), f"{path}.metadata.labels")
    validate_annotations(out, meta.get("annotations"), f"{path}.metadata.annotations")
    validate_pod_spec(out, template.get("spec"), f"{path}.spec")


# ---------------------------------------------------------------------------------------------------
# Services

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
NODE_PORT_RANGE = (30000, 32767)


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
        validate_port_number(out, port.get("port") or 0, f"{p}.port")
        proto = port.get("protocol")
        if proto is not None and proto not in PROTOCOLS:
            out.append(not_supported(f"{p}.protocol", proto, PROTOCOLS))
        _validate_port_or_name(out, port.get("targetPort"), f"{p}.targetPort")
        node_port = as_int(port.get("nodePort"))
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


# ---------------------------------------------------------------------------------------------------
# ConfigMaps and Secrets

MAX_SECRET_SIZE = 1024 * 1024
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                  "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


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
        if not (annotations_of(obj)).get("kubernetes.io/service-account.name"):
            out.append(required("metadata.annotations[kubernetes.io/service-account.name]"))


# ---------------------------------------------------------------------------------------------------
# PersistentVolumes and claims

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


# ---------------------------------------------------------------------------------------------------
# Nodes


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


# ---------------------------------------------------------------------------------------------------
# Updates

POD_UPDATABLE_FIELDS = ("`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                        "`spec.tolerations` (only additions to existing tolerations),"
                        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")
PVC_UPDATE_FORBIDDEN = ("spec is immutable after creation except resources.requests and volumeAttributesClassName "
                        "for bound claims")
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"


def validate_pod_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    new_spec, old_spec = dict(spec_of(new)), dict(spec_of(old))
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
    old_ads = as_int(old_spec.get("activeDeadlineSeconds"))
    new_ads = as_int(new_spec.get("activeDeadlineSeconds"))
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
    old_grace = as_int(old_spec.get("terminationGracePeriodSeconds"))
    if old_grace is not None and old_grace < 0 and new_spec.get("terminationGracePeriodSeconds") == 1:
        mutable["terminationGracePeriodSeconds"] = 1
    # The scheduler sets nodeName through the binding subresource, not here; a gate removal is allowed.
    if new_spec.get("schedulingGates") != old_spec.get("schedulingGates") and not new_spec.get("schedulingGates"):
        mutable["schedulingGates"] = new_spec.get("schedulingGates")
    if compact(new_spec) != compact(mutable):
        out.append(forbidden("spec", f"pod updates may not change fields other than {POD_UPDATABLE_FIELDS}"))


def validate_service_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    new_spec, old_spec = spec_of(new), spec_of(old)
    old_ip, new_ip = old_spec.get("clusterIP"), new_spec.get("clusterIP")
    if old_ip and new_ip and old_ip != new_ip and new_spec.get("type") != "ExternalName":
        out.append(invalid("spec.clusterIPs[0]", new_spec.get("clusterIPs") or [new_ip], "may not change once set"))


def validate_pvc_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    new_spec, old_spec = dict(spec_of(new)), dict(spec_of(old))
    bound = bool(old_spec.get("volumeName")) or (status_of(old)).get("phase") == "Bound"
    if not old_spec.get("volumeName"):  # the binder fills volumeName in once
        old_spec["volumeName"] = new_spec.get("volumeName")
    for spec in (new_spec, old_spec):
        spec.pop("volumeAttributesClassName", None)
    new_req = ((new_spec.get("resources") or {}).get("requests") or {}).get("storage")
    old_req = ((old_spec.get("resources") or {}).get("requests") or {}).get("storage")
    def strip(spec: Mapping[str, Any]) -> dict[str, Any]:
        return compact({k: v for k, v in spec.items() if k != "resources"})
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


def validate_immutable_data_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    if old.get("immutable"):
        if not new.get("immutable"):
            out.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
        for key in ("data", "binaryData", "stringData"):
            if (new.get(key) or {}) != (old.get(key) or {}):
                out.append(forbidden(key, IMMUTABLE_WHEN_SET))


def validate_secret_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """Forbid changing a Secret's ``type``; immutable Secrets keep their data."""
    if (new.get("type") or "Opaque") != (old.get("type") or "Opaque"):
        out.append(invalid("type", new.get("type") or "", IMMUTABLE_MSG))
    validate_immutable_data_update(out, new, old)


# The PersistentVolumeSpec fields that are not part of the volume source.
_PV_NON_SOURCE = ("accessModes", "capacity", "claimRef", "persistentVolumeReclaimPolicy", "storageClassName",
                  "mountOptions", "volumeMode", "nodeAffinity", "volumeAttributesClassName")


def validate_pv_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """Forbid changing a volume's source (``spec.persistentvolumesource``) or ``spec.volumeMode``."""
    old_source = {k: v for k, v in spec_of(old).items() if k not in _PV_NON_SOURCE}
    new_source = {k: v for k, v in spec_of(new).items() if k in old_source or k not in _PV_NON_SOURCE}
    if new_source != old_source:
        out.append(forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after "
                                                            "creation"))
    validate_immutable_field(out, spec_of(new).get("volumeMode"), spec_of(old).get("volumeMode"), "spec.volumeMode")
