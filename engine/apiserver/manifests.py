"""Parse manifest text (multi-document YAML or JSON) into Kubernetes objects."""
from __future__ import annotations

from typing import Any, Iterable

import yaml

from ..errors import BadRequest

MAX_BODY = 3 * 1024 * 1024  # the apiserver's request body limit


def parse_manifests(source: str | bytes | dict | Iterable[dict]) -> list[dict]:
    """Return the objects in ``source``; ``List`` kinds are flattened, empty documents skipped."""
    if isinstance(source, dict):
        docs: list[Any] = [source]
    elif isinstance(source, (str, bytes)):
        if len(source) > MAX_BODY:
            raise BadRequest("the manifest is larger than 3 MiB, the API server's request limit")
        try:
            docs = list(yaml.safe_load_all(source))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise BadRequest(f"error parsing YAML{where}: {problem}") from None
    else:
        docs = list(source)
    out: list[dict] = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise BadRequest(f"document {i + 1} is not an object (got {type(doc).__name__})")
        if doc.get("kind") == "List" or (str(doc.get("kind", "")).endswith("List") and "items" in doc):
            for item in doc.get("items") or []:
                if not isinstance(item, dict):
                    raise BadRequest(f"document {i + 1}: list item is not an object")
                out.append(item)
        else:
            out.append(doc)
    return out
