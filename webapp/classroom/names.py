"""Students' display names: what is accepted, how it is normalised, and the cluster id made from it.

A display name is shown to the instructor and is the Kubernetes user name of the student's 403
messages (``User "alice" cannot ...``). Normalisation follows the Nickname profile of RFC 8266:
other spaces become ASCII spaces, runs collapse, the ends are trimmed, then NFKC; two names are the
same name when they are equal case-folded, so "Alice" cannot join beside "alice".
"""
from __future__ import annotations

import json
import re
import secrets
import unicodedata
from typing import Any, Iterable

from engine.errors import Cause, Conflict, Invalid

MAX_NAME = 40
SLUG_MAX = 16
CLUSTER_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
# The names the server's own principals use in messages: a student called "instructor" would make a
# 403 ("User "instructor" cannot ...") say something false.
RESERVED = frozenset({"instructor", "viewer", "kubernetes-admin", "kubedrill-admin", "admin"})
RESERVED_PREFIX = "system:"


def normalise(name: str) -> str:
    spaced = "".join(" " if unicodedata.category(c) == "Zs" else c for c in name)
    return unicodedata.normalize("NFKC", re.sub(" +", " ", spaced).strip(" "))


def key(name: str) -> str:
    """What two names are compared by."""
    return normalise(name).casefold()


def check_display_name(name: Any, taken: Iterable[str]) -> str:
    """The normalised ``name``; Invalid (field ``name``) when it cannot be one, Conflict when taken."""
    if not isinstance(name, str):
        raise _invalid(f"must be a string, got {type(name).__name__}")
    shown = normalise(name)
    if not shown.strip():
        raise _invalid("Required value: type the name your instructor will see", reason="FieldValueRequired")
    if len(shown) > MAX_NAME:
        raise _invalid(f"Too long: may not be more than {MAX_NAME} characters (got {len(shown)})",
                       reason="FieldValueTooLong")
    if any(unicodedata.category(c) == "Cc" for c in shown):
        raise _invalid(f"Invalid value: {_quote(shown)}: must not contain control characters (tabs, new lines)")
    if not shown.isprintable():
        raise _invalid(f"Invalid value: {_quote(shown)}: must contain only printable characters")
    folded = shown.casefold()
    if folded in RESERVED or folded.startswith(RESERVED_PREFIX):
        raise _invalid(f"Invalid value: {_quote(shown)}: is reserved for the server: choose another name")
    keys = {key(t) for t in taken}
    if folded in keys:
        raise taken_error(shown, keys)
    return shown


def taken_error(name: str, taken_keys: set[str]) -> Conflict:
    """409 for a name already in the class, suggesting the first free ``<name><n>``."""
    message = (f"a student called {_quote(name)} has already joined: choose another name, "
               f"e.g. {_quote(suggest(name, taken_keys))}")
    return Conflict(message, name=name, kind="students", causes=[Cause("name", message, "FieldValueDuplicate")])


def suggest(name: str, taken_keys: set[str]) -> str:
    n = 2
    while True:
        suffix = str(n)
        candidate = name[: MAX_NAME - len(suffix)].rstrip(" ") + suffix
        if candidate.casefold() not in taken_keys:
            return candidate
        n += 1


def cluster_id_for(name: str, taken: Iterable[str] = ()) -> str:
    """``<slug of name, <= 16>-<4 hex>``, not in ``taken``: "José Núñez" -> ``jose-nunez-3f2a``.

    Accents are dropped (NFKD, ASCII only); a name with no ASCII letter or digit left ("李雷")
    becomes ``student-<hex>``. The random part keeps ids unguessable-ish and unique per class.
    """
    ascii_only = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:SLUG_MAX].strip("-") or "student"
    used = set(taken)
    while True:
        cid = f"{slug}-{secrets.token_hex(2)}"
        if cid not in used:
            return cid


def _invalid(message: str, reason: str = "FieldValueInvalid") -> Invalid:
    return Invalid(f"name: {message}", causes=[Cause("name", message, reason)])


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
