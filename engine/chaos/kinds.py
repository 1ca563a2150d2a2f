"""The chaos kinds (group ``chaos.kubedrill.io/v1``): registration, defaults and validation.

Shaped after Chaos Mesh's CRDs so a chaos engineer reads them at once: ``PodChaos``, ``NodeChaos``,
``ControlPlaneChaos``, ``NetworkChaos`` and ``Schedule`` (a template repeated on an interval).
Validation runs as an admission plugin (the API server's extension point, like a validating
webhook) and fails with ``422 Invalid`` and field paths, as a CRD's OpenAPI validation would.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from ..apiserver import resources
from ..apiserver.resources import ResourceType
from ..errors import Cause, Invalid
from ..objects import meta_of

if TYPE_CHECKING:
    from ..apiserver.server import APIServer

GROUP = "chaos.kubedrill.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORIES = ("chaos",)

KINDS = (
    ResourceType("PodChaos", "podchaos", GROUP, VERSION, True, ("pc",), CATEGORIES, ("status",)),
    ResourceType("NodeChaos", "nodechaos", GROUP, VERSION, True, ("nc",), CATEGORIES, ("status",)),
    ResourceType("ControlPlaneChaos", "controlplanechaos", GROUP, VERSION, True, ("cpc",), CATEGORIES, ("status",)),
    ResourceType("NetworkChaos", "networkchaos", GROUP, VERSION, True, ("netc",), CATEGORIES, ("status",)),
    ResourceType("Schedule", "schedules", GROUP, VERSION, True, ("sched",), CATEGORIES, ("status",)),
)
PLURALS = tuple(rt.plural for rt in KINDS)
FAULT_KINDS = ("PodChaos", "NodeChaos", "ControlPlaneChaos", "NetworkChaos")

POD_ACTIONS = ("pod-kill", "pod-failure", "container-kill", "readiness-failure", "liveness-failure",
               "image-pull-failure", "oom")
NODE_ACTIONS = ("power-off", "kubelet-stop", "network-partition", "memory-pressure", "disk-pressure")
CONTROL_PLANE_ACTIONS = ("stop", "etcd-loss")
COMPONENTS = ("controller-manager", "scheduler", "apiserver")
NETWORK_ACTIONS = ("delay", "loss")
MODES = ("one", "all", "fixed", "fixed-percent", "random-max-percent")
CONCURRENCY = ("Forbid", "Allow")
# Schedule's template key for each kind, as in Chaos Mesh (``spec.podChaos`` ...).
TEMPLATE_KEYS = {"PodChaos": "podChaos", "NodeChaos": "nodeChaos", "ControlPlaneChaos": "controlPlaneChaos",
                 "NetworkChaos": "networkChaos"}
ACTIONS = {"PodChaos": POD_ACTIONS, "NodeChaos": NODE_ACTIONS, "ControlPlaneChaos": CONTROL_PLANE_ACTIONS,
           "NetworkChaos": NETWORK_ACTIONS}

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def register_kinds() -> None:
    """Add the chaos kinds to the resource table (idempotent)."""
    for rt in KINDS:
        if resources.find_plural(rt.plural) is None:
            resources.register(rt)


def parse_duration(text: Any) -> float:
    """Parse a Go duration (``"30s"``, ``"2m"``, ``"1m30s"``, ``"500ms"``) into seconds; ValueError if bad."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"invalid duration {text!r}")
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise ValueError(f"invalid duration {text!r}")
    return total


def parse_every(text: Any) -> float:
    """Parse ``"@every 30s"`` (the cron-descriptor form Chaos Mesh and robfig/cron accept) into seconds."""
    if not isinstance(text, str) or not text.startswith("@every "):
        raise ValueError(f"unsupported schedule {text!r}")
    seconds = parse_duration(text[len("@every "):].strip())
    if seconds <= 0:
        raise ValueError(f"unsupported schedule {text!r}")
    return seconds


def percent(value: Any) -> int | None:
    """Read a Chaos Mesh ``value``/percentage (a string or an int) as an int, None if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


# ------------------------------------------------------------------ defaults

def default_chaos(obj: dict) -> None:
    """Fill in defaults (mode ``one``, the object's namespace as the pod selector's namespace, ...)."""
    kind = obj.get("kind")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    ns = meta_of(obj).get("namespace") or "default"
    if kind == "Schedule":
        spec.setdefault("historyLimit", 1)
        spec.setdefault("concurrencyPolicy", "Forbid")
        spec.setdefault("dryRun", False)
        key = TEMPLATE_KEYS.get(spec.get("type"))
        if key and isinstance(spec.get(key), dict):
            default_chaos({"kind": spec["type"], "metadata": {"namespace": ns}, "spec": spec[key]})
        return
    if kind in ("PodChaos", "NodeChaos"):
        spec.setdefault("mode", "one")
        selector = spec.setdefault("selector", {})
        if kind == "PodChaos" and isinstance(selector, dict) and not selector.get("namespaces") \
                and not selector.get("pods"):
            selector["namespaces"] = [ns]
    elif kind == "ControlPlaneChaos":
        spec.setdefault("action", "stop")


# ------------------------------------------------------------------ validation

def validate_chaos(kind: str, spec: Any, path: str = "spec") -> list[Cause]:
    """Return every reason ``spec`` of ``kind`` is invalid, with field paths."""
    out: list[Cause] = []
    if not isinstance(spec, dict):
        return [Cause(path, "Required value", "FieldValueRequired")]
    if kind == "Schedule":
        _validate_schedule(spec, path, out)
        return out
    actions = ACTIONS[kind]
    action = spec.get("action")
    if action is None:
        out.append(Cause(f"{path}.action", "Required value", "FieldValueRequired"))
    elif action not in actions:
        out.append(_unsupported(f"{path}.action", action, actions))
    if "duration" in spec and spec["duration"] is not None:
        try:
            if parse_duration(spec["duration"]) <= 0:
                raise ValueError
        except ValueError:
            out.append(Cause(f"{path}.duration", f'Invalid value: "{spec["duration"]}": must be a duration '
                             'such as "30s", "2m" or "1m30s"'))
    if kind in ("PodChaos", "NodeChaos"):
        _validate_mode(spec, path, out)
        _validate_selector(kind, spec.get("selector"), f"{path}.selector", out)
    if kind == "PodChaos":
        names = spec.get("containerNames")
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
            out.append(Cause(f"{path}.containerNames", "Invalid value: must be a list of container names"))
        grace = spec.get("gracePeriod")
        if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool) or grace < 0):
            out.append(Cause(f"{path}.gracePeriod", f"Invalid value: {grace!r}: must be greater than or equal to 0"))
    elif kind == "ControlPlaneChaos":
        if action == "stop":
            component = spec.get("component")
            if component is None:
                out.append(Cause(f"{path}.component", "Required value", "FieldValueRequired"))
            elif component not in COMPONENTS:
                out.append(_unsupported(f"{path}.component", component, COMPONENTS))
            controllers = spec.get("controllers")
            if controllers is not None:
                if component != "controller-manager":
                    out.append(Cause(f"{path}.controllers", "Forbidden: may only be set when component is "
                                     '"controller-manager"', "FieldValueForbidden"))
                elif not isinstance(controllers, list) or not all(isinstance(c, str) for c in controllers):
                    out.append(Cause(f"{path}.controllers", "Invalid value: must be a list of controller names"))
    elif kind == "NetworkChaos":
        if not isinstance(spec.get("service"), str) or not spec.get("service"):
            out.append(Cause(f"{path}.service", "Required value", "FieldValueRequired"))
        if action == "delay":
            latency = (spec.get("delay") or {}).get("latency") if isinstance(spec.get("delay"), dict) else None
            try:
                parse_duration(latency)
            except ValueError:
                out.append(Cause(f"{path}.delay.latency", f"Invalid value: {latency!r}: must be a duration such as "
                                 '"200ms"' if latency is not None else "Required value",
                                 "FieldValueInvalid" if latency is not None else "FieldValueRequired"))
        elif action == "loss":
            loss = (spec.get("loss") or {}).get("loss") if isinstance(spec.get("loss"), dict) else None
            value = percent(loss)
            if value is None or not 0 <= value <= 100:
                out.append(Cause(f"{path}.loss.loss", f"Invalid value: {loss!r}: must be a percentage "
                                 "between 0 and 100" if loss is not None else "Required value",
                                 "FieldValueInvalid" if loss is not None else "FieldValueRequired"))
    return out


def _validate_mode(spec: dict, path: str, out: list[Cause]) -> None:
    mode = spec.get("mode")
    if mode not in MODES:
        out.append(_unsupported(f"{path}.mode", mode, MODES))
        return
    if mode in ("one", "all"):
        return
    value = spec.get("value")
    number = percent(value)
    if value is None:
        out.append(Cause(f"{path}.value", f'Required value: required when mode is "{mode}"', "FieldValueRequired"))
    elif number is None:
        out.append(Cause(f"{path}.value", f"Invalid value: {value!r}: must be an integer"))
    elif mode == "fixed" and number < 1:
        out.append(Cause(f"{path}.value", f'Invalid value: "{value}": must be greater than 0'))
    elif mode != "fixed" and not 0 < number <= 100:
        out.append(Cause(f"{path}.value", f'Invalid value: "{value}": must be a percentage between 1 and 100'))


def _validate_selector(kind: str, selector: Any, path: str, out: list[Cause]) -> None:
    if selector is None:
        return
    if not isinstance(selector, dict):
        out.append(Cause(path, "Invalid value: must be an object"))
        return
    labels = selector.get("labelSelectors")
    if labels is not None and (not isinstance(labels, dict)
                               or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())):
        out.append(Cause(f"{path}.labelSelectors", "Invalid value: must be a map of label keys to values"))
    pods = selector.get("pods")
    if pods is not None and (not isinstance(pods, dict) or not all(
            isinstance(v, list) and all(isinstance(n, str) for n in v) for v in pods.values())):
        out.append(Cause(f"{path}.pods", "Invalid value: must map each namespace to a list of pod names"))
    if kind == "PodChaos":
        namespaces = selector.get("namespaces")
        if namespaces is not None and (not isinstance(namespaces, list)
                                       or not all(isinstance(n, str) for n in namespaces)):
            out.append(Cause(f"{path}.namespaces", "Invalid value: must be a list of namespace names"))
        for extra in sorted(set(selector) - {"namespaces", "labelSelectors", "pods"}):
            out.append(Cause(f"{path}.{extra}", f'Unsupported value: "{extra}": supported values: "labelSelectors", '
                             '"namespaces", "pods"', "FieldValueNotSupported"))
    else:
        nodes = selector.get("nodes")
        if nodes is not None and (not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes)):
            out.append(Cause(f"{path}.nodes", "Invalid value: must be a list of node names"))
        # "pods" selects the nodes those pods run on (a Kubedrill extension).
        for extra in sorted(set(selector) - {"nodes", "labelSelectors", "pods"}):
            out.append(Cause(f"{path}.{extra}", f'Unsupported value: "{extra}": supported values: "labelSelectors", '
                             '"nodes", "pods"', "FieldValueNotSupported"))


def _validate_schedule(spec: dict, path: str, out: list[Cause]) -> None:
    schedule = spec.get("schedule")
    if schedule is None:
        out.append(Cause(f"{path}.schedule", "Required value", "FieldValueRequired"))
    else:
        try:
            parse_every(schedule)
        except ValueError:
            out.append(Cause(f"{path}.schedule", f'Invalid value: "{schedule}": must be "@every <duration>", '
                             'e.g. "@every 30s"'))
    kind = spec.get("type")
    if kind is None:
        out.append(Cause(f"{path}.type", "Required value", "FieldValueRequired"))
    elif kind not in TEMPLATE_KEYS:
        out.append(_unsupported(f"{path}.type", kind, tuple(TEMPLATE_KEYS)))
    else:
        key = TEMPLATE_KEYS[kind]
        out.extend(validate_chaos(kind, spec.get(key), f"{path}.{key}"))
    limit = spec.get("historyLimit")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        out.append(Cause(f"{path}.historyLimit", f"Invalid value: {limit!r}: must be greater than or equal to 1"))
    if spec.get("concurrencyPolicy") not in CONCURRENCY:
        out.append(_unsupported(f"{path}.concurrencyPolicy", spec.get("concurrencyPolicy"), CONCURRENCY))
    if not isinstance(spec.get("dryRun"), bool):
        out.append(Cause(f"{path}.dryRun", f"Invalid value: {spec.get('dryRun')!r}: must be a boolean"))


def _unsupported(field: str, value: Any, allowed: tuple[str, ...]) -> Cause:
    listed = ", ".join(f'"{a}"' for a in allowed)
    return Cause(field, f'Unsupported value: "{value}": supported values: {listed}', "FieldValueNotSupported")


def make_admission(known_controllers: Callable[[], list[str]]) -> Callable:
    """Build the admission plugin: default, then validate chaos objects (422 Invalid on failure)."""

    def chaos_admission(api: "APIServer", rt: ResourceType, obj: dict, old: dict | None) -> None:
        if rt.group != GROUP:
            return
        default_chaos(obj)
        spec = obj.get("spec")
        causes = validate_chaos(rt.kind, spec)
        template = spec
        if rt.kind == "Schedule" and isinstance(spec, dict):
            template = spec.get(TEMPLATE_KEYS.get(spec.get("type"), ""), None)
        if isinstance(template, dict) and isinstance(template.get("controllers"), list):
            known = known_controllers()
            base = "spec" if rt.kind != "Schedule" else f"spec.{TEMPLATE_KEYS['ControlPlaneChaos']}"
            for i, name in enumerate(template["controllers"]):
                if isinstance(name, str) and name not in known:
                    causes.append(_unsupported(f"{base}.controllers[{i}]", name, tuple(known)))
        if old is not None and rt.kind != "Schedule" and old.get("spec") != spec:
            # Like Chaos Mesh's webhook: an experiment's spec cannot change once it ran.
            causes.append(Cause("spec", "Forbidden: the spec of a chaos experiment is immutable; delete it and "
                                "create a new one", "FieldValueForbidden"))
        if causes:
            name = meta_of(obj).get("name") or ""
            raise Invalid.of(rt.kind, rt.group, name if isinstance(name, str) else "", causes)

    return chaos_admission
