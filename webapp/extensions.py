"""Unbound Flask extensions, created once and bound to each app by ``create_app`` (``init_app``).

Each ``init_app`` gives ``socketio`` a fresh ``socketio.Server``; code that outlives a request
(the live broadcaster) keeps a reference to the server of *its* app rather than reading
``socketio.server`` later, so several apps in one process (tests) never cross streams.
"""
from __future__ import annotations

from flask_socketio import SocketIO

socketio = SocketIO()
