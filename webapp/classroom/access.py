"""Who gets through to the dashboard pages in class mode, the session cookie, and what pages are told.

* ``gate`` (a ``before_request`` of the app in class mode): the dashboard (``/``, ``/c/<id>/``) and
  its ``/ui/*`` endpoints are for those the policy lets read that cluster. A browser without a
  session is sent to ``/join`` (303) from a page, and gets a 401 ``Status`` from ``/ui``; a student
  on another student's cluster gets a 403 (a page for the dashboard, a ``Status`` for ``/ui``), in
  kube-apiserver's non-resource shape: ``forbidden: User "alice" cannot get path "/ui/health"``.
* ``set_session_cookie``: HttpOnly, SameSite=Strict, Path=/ (Secure when served over https), so
  page scripts cannot read it and no other site's page can make the browser send it.
"""
from __future__ import annotations

from flask import Response, redirect, render_template, request

from engine.errors import StatusError, Unauthorized

from ..hub import request_cluster
from ..kube_api.errors import status_response
from ..policy import SESSION_COOKIE, authorize, current_principal

COOKIE_MAX_AGE = 7 * 24 * 3600   # a lab can span a week; the session itself lasts as long as the class
HTML_PAGES = frozenset({"views.index", "views.drill_report_page"})
# The /ui blueprints a class-mode request must be let into (the kube_api and the socket authorize on their own).
GATED = frozenset({"views", "network_view", "history", "audit", "controlplane", "why", "health"})


def set_session_cookie(response: Response, credential: str) -> Response:
    response.set_cookie(SESSION_COOKIE, credential, max_age=COOKIE_MAX_AGE, path="/", httponly=True,
                        samesite="Strict", secure=request.is_secure)
    response.headers["Cache-Control"] = "no-store"
    return response


def gate() -> Response | None:
    """``before_request`` in class mode: let a dashboard request through, or answer it (module docstring)."""
    if request.blueprint not in GATED:
        return None
    try:
        authorize(current_principal(), "get", request_cluster(), path=request.path)
    except StatusError as err:
        if request.endpoint not in HTML_PAGES:
            return status_response(err)
        if isinstance(err, Unauthorized):
            response = redirect("/join", code=303)
            response.headers["Cache-Control"] = "no-store"
            return response
        return error_page(err)
    return None


def error_page(err: StatusError) -> Response:
    """An HTML page for a refused page request: the Status's code and message, and where to go instead."""
    p = current_principal()
    if p.role == "student" and p.cluster:
        link = (f"/c/{p.cluster}/", "Open your own cluster")
    elif p.role in ("instructor", "viewer"):
        link = ("/class", "Back to the class")
    else:
        link = ("/join", "Join the class")
    status = err.to_status()
    html = render_template("class_denied.html", code=status["code"], reason=status["reason"],
                           message=status["message"], link=link)
    response = Response(html, status=status["code"], mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
