"""Kubernetes resource quantities (apimachinery ``resource.Quantity``): "100m", "1Gi", "2", 0.5, "1e3".

Values are parsed to floats in base units (cores, bytes); ``cpu_millis`` and ``memory_bytes`` round up
like ``MilliValue``/``Value`` do, so a request of "1.5m" CPU counts as 2 millicores.
"""
from __future__ import annotations

import math
import re

QUANTITY_REGEX = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
QUANTITY_MESSAGE = f"quantities must match the regular expression '{QUANTITY_REGEX}'"

_NUMBER = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(.*)$")
_SUFFIX = {
    "": 1.0, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0 ** 10, "Mi": 2.0 ** 20, "Gi": 2.0 ** 30, "Ti": 2.0 ** 40, "Pi": 2.0 ** 50, "Ei": 2.0 ** 60,
}
_EXPONENT = re.compile(r"^[eE]([+-]?[0-9]+)$")


def parse_quantity(value: str | int | float) -> float:
    """Return the quantity in base units ("100m" → 0.1, "1Ki" → 1024.0); raise ValueError when malformed."""
    if isinstance(value, bool):
        raise ValueError(QUANTITY_MESSAGE)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(QUANTITY_MESSAGE)
        return float(value)
    if not isinstance(value, str):
        raise ValueError(QUANTITY_MESSAGE)
    m = _NUMBER.match(value.strip()) if value == value.strip() else None
    if m is None:
        raise ValueError(QUANTITY_MESSAGE)
    sign, digits, suffix = m.groups()
    number = float(digits) * (-1.0 if sign == "-" else 1.0)
    if suffix in _SUFFIX:
        return number * _SUFFIX[suffix]
    exp = _EXPONENT.match(suffix)
    if exp is None:
        raise ValueError(QUANTITY_MESSAGE)
    return number * 10.0 ** int(exp.group(1))


def quantity_error(value: object) -> str | None:
    """Return why ``value`` is not a quantity (apimachinery's message), or None."""
    try:
        parse_quantity(value)  # type: ignore[arg-type]
    except ValueError as exc:
        return str(exc)
    return None


def cpu_millis(value: str | int | float) -> int:
    """Return a CPU quantity in millicores, rounded up ("250m" → 250, "1" → 1000, "0.1" → 100)."""
    return math.ceil(round(parse_quantity(value) * 1000, 6))


def memory_bytes(value: str | int | float) -> int:
    """Return a memory quantity in bytes, rounded up ("1Gi" → 1073741824, "128M" → 128000000)."""
    return math.ceil(round(parse_quantity(value), 6))
