"""Server-side table printers: the columns ``kubectl get`` shows, per kind, as the real apiserver prints them.

Pure functions over object dicts, after ``pkg/printers/internalversion/printers.go``. Every printer
gets the object and ``now`` (simulated seconds) and returns the row's cells; the apiserver always
prints the wide columns (``priority: 1``) and kubectl hides them unless ``-o wide``.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from engine.clock import parse_rfc3339

Column = tuple[str, str, str, int]  # name, type, format, priority
Printer = Callable[[dict, float], list[Any]]


# ------------------------------------------------------------------ formatting helpers (kubectl's own)

def human_duration(seconds: float) -> str:
    """Render a duration like apimachinery ``duration.HumanDuration`` ("5m", "2d3h", "45s")."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rem = s % 60
        return f"{minutes}m" if rem == 0 else f"{minutes}m{rem}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(timestamp: str | None, now: float) -> str:
    """``translateTimestampSince``: age of an RFC 3339 timestamp at simulated time ``now``."""
    if not timestamp:
        return "<unknown>"
    try:
        t = parse_rfc3339(timestamp)
    except (ValueError, TypeError):
        return "<unknown>"
    return human_duration(now - t)


def format_labels(labels: Mapping[str, str] | None) -> str:
    """``labels.FormatLabels``: ``k=v`` sorted by key, comma-joined, ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``: requirements sorted by key, ``<none>`` when empty."""
    if not selector:
        return "<none>"
    reqs: list[tuple[str, str]] = []
    for k, v in (selector.get("matchLabels") or {}).items():
        reqs.append((k, f"{k}={v}"))
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key", ""), e.get("operator"), sorted(set(e.get("values") or []))
        if op == "In":
            reqs.append((key, f"{key} in ({','.join(values)})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({','.join(values)})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, "!" + key))
        else:
            return "<error>"
    text = ",".join(r for _, r in sorted(reqs, key=lambda kv: kv[0]))
    return text or "<none>"


def _containers(template_spec: Mapping[str, Any] | None) -> tuple[str, str]:
    containers = (template_spec or {}).get("containers") or []
    return (",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers))


def _template_spec(obj: dict) -> dict:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                 ("ReadWriteOncePod", "RWOP"))


def access_modes(modes: Iterable[str] | None) -> str:
    """``GetAccessModesAsString``: RWO,ROX,RWX,RWOP in that fixed order."""
    have = set(modes or ())
    return ",".join(short for long, short in _ACCESS_MODES if long in have)


def _list_with_more(items: list[str], count: int, limit: int = 3, empty: str = "<unset>") -> str:
    text = ",".join(items[:limit])
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or empty


# ------------------------------------------------------------------ pods

def _terminated_reason(term: Mapping[str, Any], prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + term["reason"]
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _is_restartable_init(container: Mapping[str, Any] | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"


def pod_row(pod: dict, now: float) -> list[Any]:
    """``printPod``: NAME READY STATUS RESTARTS AGE | IP NODE NOMINATED NODE READINESS GATES."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    containers = spec.get("containers") or []
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(containers) + sum(1 for c in init_specs.values() if _is_restartable_init(c))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: float | None = None
    sidecar_last: float | None = None
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    def finished(cs: Mapping[str, Any]) -> float | None:
        term = ((cs.get("lastState") or {}).get("terminated")) or None
        if term and term.get("finishedAt"):
            try:
                return parse_rfc3339(term["finishedAt"])
            except ValueError:
                return None
        return None

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount") or 0)
        t = finished(cs)
        if t is not None and (last_restart is None or t > last_restart):
            last_restart = t
        spec_c = init_specs.get(cs.get("name"))
        if _is_restartable_init(spec_c):
            sidecar_restarts += int(cs.get("restartCount") or 0)
            if t is not None and (sidecar_last is None or t > sidecar_last):
                sidecar_last = t
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if _is_restartable_init(spec_c) and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts = sidecar_restarts
        last_restart = sidecar_last
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            t = finished(cs)
            if t is not None and (last_restart is None or t > last_restart):
                last_restart = t
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                reason = _terminated_reason(term)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            has_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in status.get("conditions") or [])
            reason = "Running" if has_ready else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"

    pod_ips = status.get("podIPs") or []
    ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_text = "<none>"
    if gates:
        conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        true = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
        gates_text = f"{true}/{len(gates)}"
    return [meta.get("name", ""), f"{ready}/{total}", reason, restarts_text,
            since(meta.get("creationTimestamp"), now), ip, spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gates_text]


# ------------------------------------------------------------------ workloads

def replicaset_row(rs: dict, now: float) -> list[Any]:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    names, images = _containers(_template_spec(rs))
    return [rs["metadata"]["name"], int(spec.get("replicas", 1) or 0), int(status.get("replicas") or 0),
            int(status.get("readyReplicas") or 0), since(rs["metadata"].get("creationTimestamp"), now),
            names, images, format_label_selector(spec.get("selector"))]


def deployment_row(d: dict, now: float) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    names, images = _containers(_template_spec(d))
    desired = spec.get("replicas", 1)
    return [d["metadata"]["name"], f"{int(status.get('readyReplicas') or 0)}/{int(desired or 0)}",
            int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0),
            since(d["metadata"].get("creationTimestamp"), now), names, images,
            format_label_selector(spec.get("selector"))]


def statefulset_row(s: dict, now: float) -> list[Any]:
    spec, status = s.get("spec") or {}, s.get("status") or {}
    names, images = _containers(_template_spec(s))
    return [s["metadata"]["name"], f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas', 1) or 0)}",
            since(s["metadata"].get("creationTimestamp"), now), names, images]


def daemonset_row(ds: dict, now: float) -> list[Any]:
    spec, status = ds.get("spec") or {}, ds.get("status") or {}
    names, images = _containers(_template_spec(ds))
    return [ds["metadata"]["name"], int(status.get("desiredNumberScheduled") or 0),
            int(status.get("currentNumberScheduled") or 0), int(status.get("numberReady") or 0),
            int(status.get("updatedNumberScheduled") or 0), int(status.get("numberAvailable") or 0),
            format_labels(_template_spec(ds).get("nodeSelector")),
            since(ds["metadata"].get("creationTimestamp"), now), names, images,
            format_label_selector(spec.get("selector"))]


def controllerrevision_row(cr: dict, now: float) -> list[Any]:
    meta = cr["metadata"]
    controller = "<none>"
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = ref.get("apiVersion", "")
            group = api_version.split("/")[0] if "/" in api_version else ""
            kind = ref.get("kind", "") + (f".{group}" if group else "")
            controller = f"{kind.lower()}/{ref.get('name', '')}"
            break
    return [meta["name"], controller, int(cr.get("revision") or 0), since(meta.get("creationTimestamp"), now)]


# ------------------------------------------------------------------ services & networking

def _ports(ports: list[Mapping[str, Any]] | None) -> str:
    pieces = []
    for p in ports or []:
        proto = p.get("protocol") or "TCP"
        if p.get("nodePort"):
            pieces.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            pieces.append(f"{p.get('port')}/{proto}")
    return ",".join(pieces)


def service_external_ip(svc: dict) -> str:
    """``getServiceExternalIP`` (wide form): ``<none>``, ``<pending>``, LB ingress or external IPs."""
    spec, status = svc.get("spec") or {}, svc.get("status") or {}
    kind = spec.get("type") or "ClusterIP"
    external = spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        ingress = (status.get("loadBalancer") or {}).get("ingress") or []
        lb = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]
        if external:
            return ",".join(lb + external)
        return ",".join(lb) if lb else "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_row(svc: dict, now: float) -> list[Any]:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [svc["metadata"]["name"], spec.get("type") or "ClusterIP", cluster_ips[0] if cluster_ips else "<none>",
            service_external_ip(svc), _ports(spec.get("ports")) or "<none>",
            since(svc["metadata"].get("creationTimestamp"), now), format_labels(spec.get("selector"))]


def endpoints_row(ep: dict, now: float) -> list[Any]:
    subsets = ep.get("subsets") or []
    if not subsets:
        text = "<none>"
    else:
        items: list[str] = []
        count = 0
        for ss in subsets:
            addrs = [a.get("ip", "") for a in ss.get("addresses") or []]
            if not ss.get("ports"):
                items.extend(addrs)
                count += len(addrs)
            else:
                for port in ss["ports"]:
                    for ip in addrs:
                        host = f"[{ip}]" if ":" in ip else ip
                        items.append(f"{host}:{port.get('port')}")
                        count += 1
        text = ",".join(items[:3]) + (f" + {count - 3} more..." if count > 3 else "")
    return [ep["metadata"]["name"], text, since(ep["metadata"].get("creationTimestamp"), now)]


def endpointslice_row(es: dict, now: float) -> list[Any]:
    ports = []
    for p in es.get("ports") or []:
        if p.get("port") is not None:
            ports.append(str(p["port"]))
        elif p.get("name"):
            ports.append(p["name"])
        else:
            ports.append("<unset>")
    addrs = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return [es["metadata"]["name"], es.get("addressType", ""), _list_with_more(ports, len(ports)),
            _list_with_more(addrs, len(addrs)), since(es["metadata"].get("creationTimestamp"), now)]


# ------------------------------------------------------------------ nodes, namespaces, config

def node_roles(node: dict) -> list[str]:
    """``findNodeRoles``: ``node-role.kubernetes.io/<role>`` label suffixes and ``kubernetes.io/role``."""
    roles = set()
    for k, v in (node["metadata"].get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            role = k[len("node-role.kubernetes.io/"):]
            if role:
                roles.add(role)
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return sorted(roles)


def node_status(node: dict) -> str:
    """``Ready``, ``NotReady``, ``Unknown``, plus ``,SchedulingDisabled`` when cordoned."""
    parts = []
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            parts.append("Ready" if cond.get("status") == "True" else "NotReady")
            break
    if not parts:
        parts.append("Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_address(node: dict, kind: str) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == kind:
            return a.get("address", "")
    return "<none>"


def node_row(node: dict, now: float) -> list[Any]:
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return [node["metadata"]["name"], node_status(node), ",".join(node_roles(node)) or "<none>",
            since(node["metadata"].get("creationTimestamp"), now), info.get("kubeletVersion", ""),
            _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def namespace_row(ns: dict, now: float) -> list[Any]:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", ""),
            since(ns["metadata"].get("creationTimestamp"), now)]


def configmap_row(cm: dict, now: float) -> list[Any]:
    return [cm["metadata"]["name"], len(cm.get("data") or {}) + len(cm.get("binaryData") or {}),
            since(cm["metadata"].get("creationTimestamp"), now)]


def secret_row(s: dict, now: float) -> list[Any]:
    return [s["metadata"]["name"], s.get("type") or "Opaque", len(s.get("data") or {}),
            since(s["metadata"].get("creationTimestamp"), now)]


def serviceaccount_row(sa: dict, now: float) -> list[Any]:
    return [sa["metadata"]["name"], len(sa.get("secrets") or []), since(sa["metadata"].get("creationTimestamp"), now)]


def lease_row(lease: dict, now: float) -> list[Any]:
    holder = (lease.get("spec") or {}).get("holderIdentity") or "<none>"
    return [lease["metadata"]["name"], holder, since(lease["metadata"].get("creationTimestamp"), now)]


def pdb_row(pdb: dict, now: float) -> list[Any]:
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    min_av = spec.get("minAvailable")
    max_un = spec.get("maxUnavailable")
    return [pdb["metadata"]["name"], "N/A" if min_av is None else str(min_av),
            "N/A" if max_un is None else str(max_un), int(status.get("disruptionsAllowed") or 0),
            since(pdb["metadata"].get("creationTimestamp"), now)]


# ------------------------------------------------------------------ storage

def pvc_row(pvc: dict, now: float) -> list[Any]:
    meta, spec, status = pvc["metadata"], pvc.get("spec") or {}, pvc.get("status") or {}
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase", "")
    capacity, modes = "", ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes"))
        capacity = str((status.get("capacity") or {}).get("storage", ""))
    klass = (meta.get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class") \
        or spec.get("storageClassName") or ""
    return [meta["name"], phase, spec.get("volumeName", ""), capacity, modes, klass,
            spec.get("volumeAttributesClassName") or "<unset>", since(meta.get("creationTimestamp"), now),
            spec.get("volumeMode") or "<unset>"]


def pv_row(pv: dict, now: float) -> list[Any]:
    meta, spec, status = pv["metadata"], pv.get("spec") or {}, pv.get("status") or {}
    claim = spec.get("claimRef")
    claim_text = f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else ""
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase", "")
    klass = (meta.get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class") \
        or spec.get("storageClassName") or ""
    return [meta["name"], str((spec.get("capacity") or {}).get("storage", "")), access_modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), phase, claim_text, klass,
            spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""),
            since(meta.get("creationTimestamp"), now), spec.get("volumeMode") or "<unset>"]


def storageclass_row(sc: dict, now: float) -> list[Any]:
    meta = sc["metadata"]
    ann = meta.get("annotations") or {}
    name = meta["name"]
    if ann.get("storageclass.kubernetes.io/is-default-class") == "true" or \
            ann.get("storageclass.beta.kubernetes.io/is-default-class") == "true":
        name += " (default)"
    return [name, sc.get("provisioner", ""), sc.get("reclaimPolicy") or "Delete",
            sc.get("volumeBindingMode") or "Immediate", bool(sc.get("allowVolumeExpansion", False)),
            since(meta.get("creationTimestamp"), now)]


# ------------------------------------------------------------------ events

def event_row(ev: dict, now: float) -> list[Any]:
    """``printEvent``: LAST SEEN TYPE REASON OBJECT | SUBOBJECT SOURCE MESSAGE | FIRST SEEN COUNT NAME."""
    first = ev.get("firstTimestamp") or ev.get("eventTime")
    first_text = since(first, now)
    last_text = since(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first_text
    count = ev.get("count") or 0
    series = ev.get("series")
    if series:
        last_text = since(series.get("lastObservedTime"), now)
        count = series.get("count") or count
    elif not count:
        count = 1
    inv = ev.get("involvedObject") or {}
    kind = (inv.get("kind") or "").lower()
    target = f"{kind}/{inv['name']}" if inv.get("name") else kind
    source = ev.get("source") or {}
    if source.get("component"):
        src = source["component"] + (f", {source['host']}" if source.get("host") else "")
    else:
        src = ev.get("reportingComponent") or ""
        if ev.get("reportingInstance"):
            src += f", {ev['reportingInstance']}"
    return [last_text, ev.get("type", ""), ev.get("reason", ""), target, inv.get("fieldPath", ""), src,
            (ev.get("message") or "").strip(), first_text, int(count), ev["metadata"]["name"]]


def _none(value: Any) -> str:
    """A CRD printer column's cell: the value, or ``<none>`` when the field is unset (kubectl's way)."""
    return "<none>" if value in (None, "") else str(value)


def _chaos_phase(obj: dict) -> str:
    return _none(((obj.get("status") or {}).get("experiment") or {}).get("phase"))


def podchaos_row(obj: dict, now: float) -> list[Any]:
    spec = obj.get("spec") or {}
    mode = spec.get("mode")
    if mode in ("fixed", "fixed-percent", "random-max-percent") and spec.get("value") not in (None, ""):
        mode = f"{mode} ({spec['value']})"
    return [obj["metadata"]["name"], _none(spec.get("action")), _none(mode), _none(spec.get("duration")),
            _chaos_phase(obj), since(obj["metadata"].get("creationTimestamp"), now)]


def chaos_row(obj: dict, now: float) -> list[Any]:
    spec = obj.get("spec") or {}
    return [obj["metadata"]["name"], _none(spec.get("action")), _none(spec.get("duration")), _chaos_phase(obj),
            since(obj["metadata"].get("creationTimestamp"), now)]


def controlplanechaos_row(obj: dict, now: float) -> list[Any]:
    spec = obj.get("spec") or {}
    return [obj["metadata"]["name"], _none(spec.get("action")), _none(spec.get("component")),
            _none(spec.get("duration")), _chaos_phase(obj), since(obj["metadata"].get("creationTimestamp"), now)]


def schedule_row(obj: dict, now: float) -> list[Any]:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return [obj["metadata"]["name"], _none(spec.get("type")), _none(spec.get("schedule")),
            str(bool(spec.get("suspend", False))).lower(), _none(status.get("lastScheduleTime")),
            since(obj["metadata"].get("creationTimestamp"), now)]


def default_row(obj: dict, now: float) -> list[Any]:
    return [obj["metadata"]["name"], since(obj["metadata"].get("creationTimestamp"), now)]


# ------------------------------------------------------------------ registry

_N, _A = ("Name", "string", "name", 0), ("Age", "string", "", 0)


def _c(name: str, type_: str = "string", priority: int = 0, fmt: str = "") -> Column:
    return (name, type_, fmt, priority)


PRINTERS: dict[str, tuple[tuple[Column, ...], Printer]] = {
    "pods": ((_N, _c("Ready"), _c("Status"), _c("Restarts"), _A, _c("IP", priority=1), _c("Node", priority=1),
              _c("Nominated Node", priority=1), _c("Readiness Gates", priority=1)), pod_row),
    "replicasets": ((_N, _c("Desired", "integer"), _c("Current", "integer"), _c("Ready", "integer"), _A,
                     _c("Containers", priority=1), _c("Images", priority=1), _c("Selector", priority=1)),
                    replicaset_row),
    "deployments": ((_N, _c("Ready"), _c("Up-to-date", "integer"), _c("Available", "integer"), _A,
                     _c("Containers", priority=1), _c("Images", priority=1), _c("Selector", priority=1)),
                    deployment_row),
    "statefulsets": ((_N, _c("Ready"), _A, _c("Containers", priority=1), _c("Images", priority=1)),
                     statefulset_row),
    "daemonsets": ((_N, _c("Desired", "integer"), _c("Current", "integer"), _c("Ready", "integer"),
                    _c("Up-to-date", "integer"), _c("Available", "integer"), _c("Node Selector"), _A,
                    _c("Containers", priority=1), _c("Images", priority=1), _c("Selector", priority=1)),
                   daemonset_row),
    "controllerrevisions": ((_N, _c("Controller"), _c("Revision", "integer"), _A), controllerrevision_row),
    "services": ((_N, _c("Type"), _c("Cluster-IP"), _c("External-IP"), _c("Port(s)"), _A,
                  _c("Selector", priority=1)), service_row),
    "endpoints": ((_N, _c("Endpoints"), _A), endpoints_row),
    "endpointslices": ((_N, _c("AddressType"), _c("Ports"), _c("Endpoints"), _A), endpointslice_row),
    "nodes": ((_N, _c("Status"), _c("Roles"), _A, _c("Version"), _c("Internal-IP", priority=1),
               _c("External-IP", priority=1), _c("OS-Image", priority=1), _c("Kernel-Version", priority=1),
               _c("Container-Runtime", priority=1)), node_row),
    "namespaces": ((_N, _c("Status"), _A), namespace_row),
    "configmaps": ((_N, _c("Data", "integer"), _A), configmap_row),
    "secrets": ((_N, _c("Type"), _c("Data", "integer"), _A), secret_row),
    "serviceaccounts": ((_N, _c("Secrets", "integer"), _A), serviceaccount_row),
    "leases": ((_N, _c("Holder"), _A), lease_row),
    "poddisruptionbudgets": ((_N, _c("Min Available"), _c("Max Unavailable"), _c("Allowed Disruptions", "integer"),
                              _A), pdb_row),
    "persistentvolumeclaims": ((_N, _c("Status"), _c("Volume"), _c("Capacity"), _c("Access Modes"),
                                _c("StorageClass"), _c("VolumeAttributesClass"), _A,
                                _c("VolumeMode", priority=1)), pvc_row),
    "persistentvolumes": ((_N, _c("Capacity"), _c("Access Modes"), _c("Reclaim Policy"), _c("Status"), _c("Claim"),
                           _c("StorageClass"), _c("VolumeAttributesClass"), _c("Reason"), _A,
                           _c("VolumeMode", priority=1)), pv_row),
    "storageclasses": ((_N, _c("Provisioner"), _c("ReclaimPolicy"), _c("VolumeBindingMode"),
                        _c("AllowVolumeExpansion", "boolean"), _A), storageclass_row),
    "events": ((_c("Last Seen"), _c("Type"), _c("Reason"), _c("Object"), _c("Subobject", priority=1),
                _c("Source", priority=1), _c("Message"), _c("First Seen", priority=1),
                _c("Count", "integer", priority=1), _c("Name", priority=1, fmt="name")), event_row),
    # chaos.kubedrill.io (shaped after Chaos Mesh's printer columns)
    "podchaos": ((_N, _c("Action"), _c("Mode"), _c("Duration"), _c("Phase"), _A), podchaos_row),
    "nodechaos": ((_N, _c("Action"), _c("Duration"), _c("Phase"), _A), chaos_row),
    "networkchaos": ((_N, _c("Action"), _c("Duration"), _c("Phase"), _A), chaos_row),
    "controlplanechaos": ((_N, _c("Action"), _c("Component"), _c("Duration"), _c("Phase"), _A),
                          controlplanechaos_row),
    "schedules": ((_N, _c("Type"), _c("Schedule"), _c("Suspend"), _c("Last Schedule"), _A), schedule_row),
}

DEFAULT: tuple[tuple[Column, ...], Printer] = ((_N, _A), default_row)

_DESCRIPTIONS = {
    "Name": "Name must be unique within a namespace. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "Age": "CreationTimestamp is a timestamp representing the server time when this object was created.",
}


def printer_for(resource: str) -> tuple[tuple[Column, ...], Printer]:
    """The column set and row function for a resource plural (Name/Age for kinds without one)."""
    return PRINTERS.get(resource, DEFAULT)


def column_definitions(resource: str) -> list[dict[str, Any]]:
    """``Table.columnDefinitions`` for a resource."""
    cols, _ = printer_for(resource)
    return [{"name": n, "type": t, "format": f, "description": _DESCRIPTIONS.get(n, n), "priority": p}
            for n, t, f, p in cols]


def row_object(obj: dict, include: str) -> dict[str, Any] | None:
    """``rows[].object``: PartialObjectMetadata (default), the full object, or nothing."""
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def table(resource: str, objects: Iterable[dict], now: float, *, resource_version: str = "",
          continue_token: str | None = None, include_object: str = "Metadata",
          with_columns: bool = True) -> dict[str, Any]:
    """Build a ``meta.k8s.io/v1`` Table of ``objects`` at simulated time ``now``."""
    _, row_fn = printer_for(resource)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": row_fn(obj, now)}
        ro = row_object(obj, include_object)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    meta: dict[str, Any] = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": column_definitions(resource) if with_columns else [], "rows": rows}
