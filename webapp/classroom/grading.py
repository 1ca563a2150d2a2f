"""The class's drill reports as one table: a row per stored report (JSON) and its CSV export.

A row holds what a teacher grades by, each field as the report defines it (``definitions`` in
every full report, engine/drills.py ``DEFINITIONS``): the verdict, time to detect, time to recover,
downtime, availability and how many actions the student took. The full report (timeline, every
action with its time, probes) is ``GET /class/api/reports/<id>``.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable

COLUMNS = ("id", "student", "cluster", "drill", "title", "seed", "date", "verdict", "time_to_detect",
           "time_to_recover", "downtime_seconds", "availability", "played_seconds", "time_limit", "actions")
# Spreadsheets run a cell that starts with one of these as a formula: a student called "=HYPERLINK(...)"
# must not be able to do that on the teacher's machine (OWASP "CSV injection").
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def row(report: dict[str, Any]) -> dict[str, Any]:
    """The gradable fields of one stored report (``score`` too, when a report carries one).

    ``actions`` is the student's action log, each with its time (the CSV writes how many there are).
    """
    out = {key: report.get(key) for key in COLUMNS}
    out["actions"] = list(report.get("actions") or [])
    if "score" in report:
        out["score"] = report["score"]
    return out


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """CSV text with a header line; ``score`` is a column only when some report has one."""
    rows = list(rows)
    columns = list(COLUMNS)
    if any("score" in r for r in rows):
        columns.insert(columns.index("verdict") + 1, "score")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([len(r.get("actions") or []) if c == "actions" else _cell(r.get(c)) for c in columns])
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value
