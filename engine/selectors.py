"""Kubernetes label and field selectors (apimachinery ``labels`` and ``fields``).

Parsing errors raise ``BadRequest`` with the apiserver's wording, so an invalid ``?labelSelector``
is a 400 and never reaches the store.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from .errors import BadRequest

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def label_key_error(key: str) -> str | None:
    """Why ``key`` is not a valid qualified label key, or None."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name or len(name) > 63 or not _NAME_PART.match(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    return None


def label_value_error(value: str) -> str | None:
    """Why ``value`` is not a valid label value, or None."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _LABEL_VALUE.match(value):
        return ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    return None


@dataclass(frozen=True)
class Requirement:
    """One ``key op values`` term. ``op`` is one of = != in notin exists !exists."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.op
        if op == "exists":
            return self.key in labels
        if op == "!exists":
            return self.key not in labels
        if op in ("=", "in"):
            return self.key in labels and labels[self.key] in self.values
        if op in ("!=", "notin"):
            return self.key not in labels or labels[self.key] not in self.values
        if op in ("gt", "lt"):
            try:
                have = int(labels[self.key])
            except (KeyError, ValueError):
                return False
            return have > int(self.values[0]) if op == "gt" else have < int(self.values[0])
        return False

    def __str__(self) -> str:
        if self.op == "exists":
            return self.key
        if self.op == "!exists":
            return "!" + self.key
        if self.op in ("=", "!="):
            return f"{self.key}{self.op}{self.values[0]}"
        if self.op in ("gt", "lt"):
            return f"{self.key}{'>' if self.op == 'gt' else '<'}{self.values[0]}"
        return f"{self.key} {self.op} ({','.join(self.values)})"


class LabelSelector:
    """A conjunction of requirements; the empty selector matches everything."""

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False):
        self.requirements = tuple(requirements)
        self.nothing = nothing  # a nil selector on a controller selects nothing

    @property
    def empty(self) -> bool:
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def equalities(self) -> list[tuple[str, str]]:
        """``key=value`` pairs every match must have (what a label index can answer)."""
        return [(r.key, r.values[0]) for r in self.requirements
                if (r.op == "=" or (r.op == "in" and len(r.values) == 1))]

    def canonical_key(self) -> tuple:
        """A hashable key equal for selectors that are the same conjunction (order and duplicates ignored)."""
        if self.nothing:
            return (True, ())
        terms = {(r.key, r.op, tuple(sorted(set(r.values))) if r.op in ("in", "notin") else r.values)
                 for r in self.requirements}
        return (False, tuple(sorted(terms)))

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    @classmethod
    def parse(cls, text: str | None) -> "LabelSelector":
        """Parse the ``?labelSelector=`` string syntax."""
        if text is None or not text.strip():
            return cls()
        return cls(_parse_label_terms(text))

    @classmethod
    def from_dict(cls, selector: Mapping[str, Any] | None) -> "LabelSelector":
        """Build from a ``metav1.LabelSelector`` (``matchLabels`` + ``matchExpressions``).

        ``None`` selects nothing (as for a controller without a selector); ``{}`` selects everything.
        """
        if selector is None:
            return cls(nothing=True)
        reqs: list[Requirement] = []
        for key, value in sorted((selector.get("matchLabels") or {}).items()):
            reqs.append(Requirement(key, "=", (str(value),)))
        for expr in selector.get("matchExpressions") or []:
            op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}.get(expr.get("operator"))
            if op is None:
                raise BadRequest(f'"{expr.get("operator")}" is not a valid label selector operator')
            reqs.append(Requirement(expr.get("key", ""), op, tuple(str(v) for v in expr.get("values") or ())))
        return cls(reqs)

    @classmethod
    def from_labels(cls, labels: Mapping[str, str] | None) -> "LabelSelector":
        """A selector of ``key=value`` terms, as a Service's ``spec.selector`` is."""
        if not labels:
            return cls(nothing=True)
        return cls(Requirement(k, "=", (str(v),)) for k, v in sorted(labels.items()))


_TERM = re.compile(r"\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(==|=|!=|\s+in\s+|\s+notin\s+|>|<)?\s*")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    terms.append("".join(cur))
    return terms


def _bad(text: str, why: str) -> BadRequest:
    return BadRequest(f"unable to parse requirement: {why}: {text!r}")


def _parse_label_terms(text: str) -> list[Requirement]:
    reqs = []
    for raw in _split_terms(text):
        term = raw.strip()
        if not term:
            raise _bad(text, "found '', expected: identifier")
        m = re.fullmatch(r"(!)?\s*([^\s!=<>(),]+)", term)
        if m:
            key = m.group(2)
            _check_key(key, text)
            reqs.append(Requirement(key, "!exists" if m.group(1) else "exists"))
            continue
        m = re.fullmatch(r"([^\s!=<>(),]+)\s*(==|=|!=|>|<)\s*([^\s!=<>(),]*)", term)
        if m:
            key, op, value = m.groups()
            _check_key(key, text)
            if op in (">", "<"):
                if not value.lstrip("-").isdigit():
                    raise _bad(text, f"for 'Gt', 'Lt' operators, the value must be an integer")
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (value,)))
                continue
            _check_value(value, text)
            reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
            continue
        m = re.fullmatch(r"([^\s!=<>(),]+)\s+(in|notin)\s*\(([^()]*)\)", term)
        if m:
            key, op, values = m.groups()
            _check_key(key, text)
            vals = tuple(v.strip() for v in values.split(",")) if values.strip() else ()
            if not vals:
                raise _bad(text, "for 'in', 'notin' operators, values set can't be empty")
            for v in vals:
                _check_value(v, text)
            reqs.append(Requirement(key, op, tuple(sorted(set(vals)))))
            continue
        raise _bad(text, f"found '{term}', expected: in, notin, =, ==, !=, gt, lt")
    return reqs


def _check_key(key: str, text: str) -> None:
    why = label_key_error(key)
    if why:
        raise _bad(text, f'invalid label key "{key}": {why}')


def _check_value(value: str, text: str) -> None:
    why = label_value_error(value)
    if why:
        raise _bad(text, f'invalid label value: "{value}": {why}')


# ---------------------------------------------------------------- field selectors

def _get_path(obj: Mapping[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
        if cur is None:
            return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


# Fields each resource supports in ``?fieldSelector``, as registered by the real apiserver's field
# label conversion funcs (pkg/apis/*/v1/conversion.go). A resource listed here rejects other fields
# with "field label not supported: X"; every other resource takes only metadata.name and
# metadata.namespace (runtime.DefaultMetaV1FieldSelectorConversion, with its own wording).
_META = ("metadata.name", "metadata.namespace")
FIELDS: dict[str, tuple[str, ...]] = {
    "pods": _META + ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                     "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs",
                     "status.nominatedNodeName"),
    "events": _META + ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                       "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                       "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"),
    "nodes": ("metadata.name", "spec.unschedulable"),  # cluster-scoped: no metadata.namespace
    "secrets": _META + ("type",),
    "namespaces": ("metadata.name", "status.phase"),
    "replicationcontrollers": _META + ("status.replicas",),
    "replicasets": _META + ("status.replicas",),
    "jobs": _META + ("status.successful",),
}


@dataclass(frozen=True)
class FieldTerm:
    field: str
    op: str  # "=" or "!="
    value: str


class FieldSelector:
    """A conjunction of ``field=value`` / ``field!=value`` terms."""

    def __init__(self, terms: Iterable[FieldTerm] = ()):
        self.terms = tuple(terms)

    @property
    def empty(self) -> bool:
        return not self.terms

    def exact(self, field_name: str) -> str | None:
        """The value ``field_name`` must equal, if the selector pins it (for index lookups)."""
        for t in self.terms:
            if t.field == field_name and t.op == "=":
                return t.value
        return None

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for t in self.terms:
            if t.field == "source":
                have = _get_path(obj, "source.component")
            else:
                have = _get_path(obj, t.field)
            if (have == t.value) != (t.op == "="):
                return False
        return True

    @classmethod
    def parse(cls, text: str | None, resource: str = "") -> "FieldSelector":
        if text is None or not text.strip():
            return cls()
        terms = []
        for raw in text.split(","):
            term = raw.strip()
            m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(.*)", term)
            if not m:
                raise BadRequest(f'invalid selector: \'{text}\'; can\'t understand \'{term}\'')
            name, op, value = m.groups()
            if resource:
                _check_field(resource, name)
            terms.append(FieldTerm(name, "!=" if op == "!=" else "=", value))
        return cls(terms)


def _check_field(resource: str, name: str) -> None:
    """Raise BadRequest, in the apiserver's words, unless ``resource`` can select on ``name``."""
    allowed = FIELDS.get(resource)
    if allowed is None:
        if name not in _META:
            raise BadRequest(f'"{name}" is not a known field selector: only "metadata.name", "metadata.namespace"')
    elif name not in allowed:
        raise BadRequest(f"field label not supported: {name}")


MatchFn = Callable[[Mapping[str, Any]], bool]
