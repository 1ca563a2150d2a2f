"""Small helpers shared by the webapp tests (Socket.IO message plumbing)."""
from __future__ import annotations

from typing import Any

NS = "/live"
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: default
data:
  colour: blue
"""


def messages(sio: Any, name: str | None = None) -> list[tuple[str, Any]]:
    """Drain the test client's inbox: ``[(event, payload)]``, optionally only events called ``name``."""
    out = [(m["name"], m["args"][0] if m["args"] else None) for m in sio.get_received(NS)]
    return [m for m in out if name is None or m[0] == name]


def action(sio: Any, type_: str, **args: Any) -> dict:
    """Send an ``action`` and return its ack."""
    return sio.emit("action", {"type": type_, "args": args}, namespace=NS, callback=True)


def subscribe(sio: Any, since: Any = None, **extra: Any) -> dict:
    return sio.emit("subscribe", {"since": since, **extra}, namespace=NS, callback=True)


def apply_configmap(sio: Any, name: str) -> dict:
    ack = action(sio, "apply", yaml=CONFIGMAP.format(name=name))
    assert ack["ok"], ack
    return ack
