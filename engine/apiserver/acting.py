"""Who is acting: the identity behind the API call being served, for whoever records what it did.

A ``ContextVar``, not an attribute of the API server: the web layer serves requests on many threads
and the engine's own clock callbacks run on another, so a plain attribute set by one request would be
read by a controller's deletion running meanwhile. Each thread (each context) sees only its own
value; outside ``acting`` it is None, which readers take to mean "a component of the cluster".

The web layer wraps a kubectl request (``"alice (kubectl)"``) or a dashboard action
(``"alice (dashboard)"``) in ``acting``; the chaos controller wraps a fault's injection
(``"chaos:<object name>"``). ``engine.history`` reads it through its ``who`` hook.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_ACTOR: ContextVar[str | None] = ContextVar("kubedrill_actor", default=None)


@contextmanager
def acting(who: str | None) -> Iterator[None]:
    """Attribute what happens inside the block to ``who`` (None leaves the current identity)."""
    if not who:
        yield
        return
    token = _ACTOR.set(who)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> str | None:
    """The identity set by the innermost ``acting`` block of this context, else None."""
    return _ACTOR.get()
