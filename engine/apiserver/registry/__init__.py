"""The registry: one ``Strategy`` per served kind, the way upstream's ``pkg/registry/<group>/<kind>`` works.

Modules are per API group (``core``, ``apps``, ``groups`` for the small ones), matching ``validation``'s split:
a strategy entry is a few lines naming the kind's defaulting and validation functions, so a module per kind
would mostly be imports. Adding a kind means one ``Strategy`` entry here, its ``ResourceType`` in
``resources``, its validation functions and its controller.

A kind registered without a strategy (``resources.register(rt)``, e.g. the chaos kinds) gets the default one:
no defaults, status kept for ``/status``, generation bumped on spec changes, metadata checks only.
``register(rt, strategy)`` adds a kind together with its strategy.
"""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import Cause
from .. import resources
from ..resources import ResourceType
from . import apps, core, groups
from .strategy import Strategy

__all__ = ["Strategy", "default_object", "for_kind", "register", "register_strategy", "strategy_for",
           "validate_create", "validate_status_update", "validate_update"]

_STRATEGIES: dict[str, Strategy] = {s.kind: s for s in core.STRATEGIES + apps.STRATEGIES + groups.STRATEGIES}


def for_kind(kind: str) -> Strategy:
    """Return the strategy of ``kind`` (a default one for a kind registered without a strategy)."""
    strategy = _STRATEGIES.get(kind)
    if strategy is None:
        strategy = _STRATEGIES[kind] = Strategy(kind)
    return strategy


def strategy_for(rt: ResourceType) -> Strategy:
    """Return the strategy of the resource type ``rt``."""
    return for_kind(rt.kind)


def register_strategy(strategy: Strategy) -> None:
    """Serve ``strategy.kind`` with ``strategy`` (replacing the default one)."""
    _STRATEGIES[strategy.kind] = strategy


def register(rt: ResourceType, strategy: Strategy | None = None) -> None:
    """Add a kind to the resource table (if absent) together with its strategy."""
    if resources.find_plural(rt.plural) is None:
        resources.register(rt)
    if strategy is not None:
        register_strategy(strategy)


def default_object(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Fill in the real v1.32 defaults for ``obj`` of kind ``rt.kind``, in place."""
    strategy_for(rt).default(obj)


def validate_create(rt: ResourceType, obj: Mapping[str, Any]) -> list[Cause]:
    """Return every reason the apiserver would reject creating ``obj`` (defaulted) with 422 Invalid."""
    return strategy_for(rt).validate(rt, obj)


def validate_update(rt: ResourceType, new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """Return every reason the apiserver would reject replacing ``old`` by ``new`` (both defaulted)."""
    return strategy_for(rt).validate_update(rt, new, old)


def validate_status_update(rt: ResourceType, new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """Return the causes for a ``/status`` write of ``new`` over ``old``."""
    return strategy_for(rt).validate_status_update(rt, new, old)
