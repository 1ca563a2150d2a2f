"""Parse manifest text (multi-document YAML or JSON) into Kubernetes objects, refusing what cannot be stored.

Everything a client sends ends up in the store, which persists it as JSON and must read it back
unchanged. So a document is accepted only when it is plain JSON data (``check_content``): strings
without lone surrogates, integers within int64, finite floats, string keys, at most ``MAX_DEPTH``
levels of nesting. Anything else is a 400 BadRequest naming the field: that is what the apiserver's
decoder answers for a body it cannot turn into the object (``handlers.transformDecodeError`` wraps
``json: cannot unmarshal number 18446744073709551616 into Go struct field ... of type int64`` in
``errors.NewBadRequest``). One deliberate difference: Go's ``encoding/json`` silently turns a lone
surrogate escape (``"\\ud800"``) into U+FFFD; we refuse it instead of storing text the client never sent.

YAML is read event by event (libyaml's non-recursive parser when present) and built here, so the
limits hold while parsing, not after: nesting deeper than ``MAX_DEPTH`` stops the parse at that
level (a deep document is rejected in microseconds, not after PyYAML's recursive composer has
overflowed), and parse time is linear in the 3 MiB size limit (about 0.5 s/MiB with libyaml).
Aliases (``*name``) are refused rather than expanded under a bound: they are the only way a small
document becomes a huge or cyclic one, kubectl expands them client-side (it sends JSON), and
refusing needs no size accounting. Tags outside the JSON types (``!!binary``, ``!!timestamp``,
``!!set``, ``!python/...``) are refused; unquoted dates stay strings, as in ``sigs.k8s.io/yaml``;
non-string scalar keys become their text (``1: a`` → ``"1"``), as ``sigs.k8s.io/yaml`` converts them.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (AliasEvent, DocumentEndEvent, MappingEndEvent, MappingStartEvent, ScalarEvent,
                         SequenceEndEvent, SequenceStartEvent)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from ..errors import BadRequest, Cause, printable

MAX_BODY = 3 * 1024 * 1024  # the apiserver's request body limit
# Real objects nest about 20 deep (a CRD's openAPIV3Schema perhaps 50); the engine's recursive walks
# (clone, patch, schema) must stay far below Python's recursion limit of 1,000 frames.
MAX_DEPTH = 100
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_SEQ_TAGS = {None, "!", _TAG + "seq"}
_MAP_TAGS = {None, "!", _TAG + "map"}
_EVENT_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when built with it: 10x faster


class _Resolver(Resolver):
    """YAML 1.1 implicit types minus timestamps and ``=`` (the value tag): JSON has neither."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TAG + "timestamp", _TAG + "value")]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()}
_RESOLVER = _Resolver()
_CONSTRUCT = SafeConstructor()   # its scalar constructors read only the node they are given


def _field(path: str, key: Any) -> str:
    key = printable(str(key))
    return f"{path}.{key}" if path else key


def check_content(obj: Any, what: str = "") -> None:
    """Refuse ``obj`` unless it is JSON data the store can persist and read back unchanged (400, field named).

    Iterative, so a deep object is refused at ``MAX_DEPTH`` without recursing; ``what`` prefixes the message.
    """
    stack: list[tuple[Any, str, int]] = [(obj, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        problem = None
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as e:
                    problem = (f"Invalid value: the string contains a lone surrogate (U+{ord(value[e.start]):04X}), "
                               "which is not valid UTF-8")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                problem = f"Invalid value: {value}: the number is outside the 64-bit integer range"
        elif isinstance(value, float):
            if not math.isfinite(value):
                problem = f"Invalid value: {value}: numbers must be finite"
        elif isinstance(value, (dict, list, tuple)):
            if depth >= MAX_DEPTH:
                problem = f"Invalid value: the document is nested more than {MAX_DEPTH} levels deep"
            elif isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str):
                        problem = f"Invalid value: {type(key).__name__} key {key!r}: object keys must be strings"
                        break
                    stack.append((key, _field(path, key), depth + 1))   # keys are checked as strings too
                    stack.append((item, _field(path, key), depth + 1))
            else:
                stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        else:
            problem = f"Invalid value: a {type(value).__name__} is not JSON data"
        if problem:
            field = path or "<root>"
            message = f"{field}: {problem}"
            raise BadRequest(f"{what}: {message}" if what else message,
                             causes=[Cause(field, problem, "FieldValueInvalid")])


# ------------------------------------------------------------------ JSON

def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_UNDECODABLE = "the body of the request could not be decoded"


def _parse_json(text: str, what: str) -> Any:
    """JSON syntax only (ValueError when it is not JSON); a document too deep to parse is a 400."""
    try:
        return json.loads(text or "null", parse_constant=_no_constant)
    except RecursionError:
        raise BadRequest(f"{what}: the document is nested more than {MAX_DEPTH} levels deep") from None


def load_json(raw: str | bytes) -> Any:
    """Parse JSON text strictly (no NaN/Infinity) and ``check_content`` it; 400 BadRequest otherwise."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        doc = _parse_json(text, _UNDECODABLE)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"{_UNDECODABLE}: invalid JSON: {e}") from None
    check_content(doc, _UNDECODABLE)
    return doc


# ------------------------------------------------------------------ YAML

def _yaml_error(message: str, mark: Any = None) -> BadRequest:
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return BadRequest(f"error parsing YAML{where}: {message}")


def _scalar(event: ScalarEvent) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit)
    elif tag.startswith("!!"):
        tag = _TAG + tag[2:]
    if tag == _TAG + "merge":
        raise _yaml_error("merge keys (<<) are not accepted: they need aliases", event.start_mark)
    if tag not in _SCALAR_TAGS:
        raise _yaml_error(f"the tag {tag.replace(_TAG, '!!')} is not accepted: only the JSON types "
                          "(!!str, !!int, !!float, !!bool, !!null, !!seq, !!map) are", event.start_mark)
    if tag == _TAG + "str":
        return event.value
    node = ScalarNode(tag, event.value, event.start_mark, event.end_mark)
    try:
        if tag == _TAG + "int":
            return _CONSTRUCT.construct_yaml_int(node)
        if tag == _TAG + "float":
            return _CONSTRUCT.construct_yaml_float(node)
        if tag == _TAG + "bool":
            return _CONSTRUCT.bool_values[event.value.lower()]
        return None
    except (ValueError, KeyError, OverflowError):
        raise _yaml_error(f"cannot read {event.value!r} as {tag.replace(_TAG, '!!')}", event.start_mark) from None


def _key_text(key: Any, event: Any) -> str:
    """A mapping key as JSON wants it: a string (``sigs.k8s.io/yaml`` writes scalar keys as their text)."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, (int, float)):
        return repr(key)
    raise _yaml_error("mapping keys must be scalars", event.start_mark)


def _documents(text: str) -> list[Any]:
    """Build every document of ``text`` from parser events, enforcing depth, alias and tag rules as it goes."""
    docs: list[Any] = []
    # Each open collection: [container, pending key or _NO_KEY (mappings only)]
    stack: list[list[Any]] = []
    root: list[Any] = []

    def add(value: Any, event: Any) -> None:
        if not stack:
            root.append(value)
            return
        top = stack[-1]
        container = top[0]
        if isinstance(container, list):
            container.append(value)
        elif top[1] is _NO_KEY:
            if isinstance(value, (dict, list)):
                raise _yaml_error("mapping keys must be scalars", event.start_mark)
            top[1] = _key_text(value, event)
        else:
            container[top[1]] = value
            top[1] = _NO_KEY

    for event in yaml.parse(text, Loader=_EVENT_LOADER):
        if isinstance(event, ScalarEvent):
            add(_scalar(event), event)
        elif isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            mapping = isinstance(event, MappingStartEvent)
            if event.tag not in (_MAP_TAGS if mapping else _SEQ_TAGS):
                raise _yaml_error(f"the tag {event.tag} is not accepted on a {'mapping' if mapping else 'sequence'}",
                                  event.start_mark)
            if len(stack) >= MAX_DEPTH:
                raise _yaml_error(f"the document is nested more than {MAX_DEPTH} levels deep", event.start_mark)
            container: Any = {} if mapping else []
            add(container, event)   # checks a collection is not used as a key
            stack.append([container, _NO_KEY])
        elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            stack.pop()
        elif isinstance(event, AliasEvent):
            raise _yaml_error(f"aliases (*{event.anchor}) are not accepted: write the value out in full",
                              event.start_mark)
        elif isinstance(event, DocumentEndEvent):
            docs.append(root[0] if root else None)
            root.clear()
    return docs


class _NoKey:
    __slots__ = ()


_NO_KEY = _NoKey()


def load_yaml_all(raw: str | bytes) -> list[Any]:
    """Every document of a YAML (or JSON) text, as JSON data; 400 BadRequest for anything unsafe to store."""
    if len(raw) > MAX_BODY:
        raise BadRequest("the manifest is larger than 3 MiB, the API server's request limit")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        docs = None
        if text.lstrip()[:1] in ("{", "["):   # JSON is YAML, and parses 10x faster as JSON
            try:
                docs = [_parse_json(text, "error parsing YAML")]
            except ValueError:
                pass   # flow-style YAML such as {a: b}: the YAML parser decides (and reports)
        if docs is None:
            docs = _documents(text)
    except UnicodeError as e:   # undecodable bytes, or text with a lone surrogate (from a socket message)
        raise BadRequest(f"error parsing YAML: the text is not valid UTF-8: {printable(str(e))}") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise _yaml_error(problem, getattr(exc, "problem_mark", None)) from None
    for doc in docs:
        check_content(doc, "error parsing YAML")
    return docs


def load_yaml(raw: str | bytes) -> Any:
    """The single document of a YAML (or JSON) text (None when empty); 400 for several or for bad input."""
    docs = load_yaml_all(raw)
    if len(docs) > 1:
        raise BadRequest("error parsing YAML: expected a single document, found several")
    return docs[0] if docs else None


def parse_manifests(source: str | bytes | dict | Iterable[dict]) -> list[dict]:
    """Return the objects in ``source``; ``List`` kinds are flattened, empty documents skipped."""
    if isinstance(source, dict):
        docs: list[Any] = [source]
    elif isinstance(source, (str, bytes)):
        docs = load_yaml_all(source)
    else:
        docs = list(source)
    out: list[dict] = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise BadRequest(f"document {i + 1} is not an object (got {type(doc).__name__})")
        check_content(doc, f"document {i + 1}")
        if doc.get("kind") == "List" or (str(doc.get("kind", "")).endswith("List") and "items" in doc):
            for item in doc.get("items") or []:
                if not isinstance(item, dict):
                    raise BadRequest(f"document {i + 1}: list item is not an object")
                out.append(item)
        else:
            out.append(doc)
    return out
