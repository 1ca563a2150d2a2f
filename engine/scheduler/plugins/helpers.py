"""Shared plugin helpers: score normalisation and node-selector matching (``plugins/helper``)."""
from __future__ import annotations

from typing import Any, Mapping


def default_normalize_score(max_priority: int, reverse: bool, scores: list[int]) -> list[int]:
    """Scale scores to 0..max_priority by the highest one (``helper.DefaultNormalizeScore``)."""
    top = max(scores) if scores else 0
    if top == 0:
        return [max_priority] * len(scores) if reverse else [0] * len(scores)
    out = []
    for s in scores:
        s = max_priority * s // top
        out.append(max_priority - s if reverse else s)
    return out


def _requirement_matches(req: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key = req.get("key", "")
    op = req.get("operator")
    values = req.get("values") or ()
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt"):
        if key not in labels or len(values) != 1:
            return False
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_selector_term_matches(term: Mapping[str, Any], labels: Mapping[str, str], node_name: str) -> bool:
    """One NodeSelectorTerm: every expression and field must match; an empty term matches nothing."""
    exprs = term.get("matchExpressions") or ()
    fields = term.get("matchFields") or ()
    if not exprs and not fields:
        return False
    for req in exprs:
        if not _requirement_matches(req, labels):
            return False
    if fields:
        field_labels = {"metadata.name": node_name}
        for req in fields:
            if req.get("key") != "metadata.name" or not _requirement_matches(req, field_labels):
                return False
    return True


def node_selector_matches(terms: tuple | list | None, labels: Mapping[str, str], node_name: str) -> bool:
    """A NodeSelector: the terms are ORed."""
    return any(node_selector_term_matches(t, labels, node_name) for t in terms or ())
