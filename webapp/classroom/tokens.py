"""Secrets of the classroom: session and login tokens, join codes, and how they are compared.

A credential (cookie value or bearer token) is ``<class_id>.<token>``; only ``digest(token)`` is
ever stored, and every comparison of secrets is constant-time.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

# No 0/O, 1/I/L: a code read off a projector or dictated must not be mistyped into another one.
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6    # 31**6 ~ 8.9e8 codes; with joins rate-limited, guessing one takes years


def new_token() -> str:
    """A fresh secret (256 bits, URL-safe: never contains the credential's ``.`` separator)."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, hex (the token itself has the entropy a salt would add)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time equality of two secrets (any text: compared as UTF-8 bytes)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def credential(class_id: str, token: str) -> str:
    """The cookie / bearer value of a session of class ``class_id``."""
    return f"{class_id}.{token}"


def split_credential(value: str) -> tuple[str, str] | None:
    """``(class_id, token)`` of a credential, or None when it is not shaped like one."""
    class_id, dot, token = value.partition(".")
    if not dot or not class_id or not token or not value.isascii() or not value.isprintable():
        return None
    return class_id, token
