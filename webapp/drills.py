"""A drill played in the dashboard: the web-side wrapper of ``engine.drills.DrillRun``.

``Runtime.start_drill`` builds a ``DrillSession`` whose run's cluster *becomes* the runtime's
cluster (the sandbox cluster is kept aside and comes back with ``Runtime.exit_drill``). While the
session is running, the engine thread advances the run (``advance_to``) instead of plain cluster
time, so the timeline fires and probes are sampled once per simulated second. What the user does
counts: dashboard actions and Kubernetes API writes (kubectl) are appended to the run's action log
(``record``) with their drill time, beside the run's own ``act`` records.

Faults marked ``hidden`` stay hidden until the session ends: the public ``status`` lists only
visible faults, and ``hidden_refs`` tells the live stream which chaos objects (and their Events)
to leave out. Call everything here under ``runtime.lock``.

When a session ends it hands its report to ``on_end`` (the runtime keeps the last ``KEPT_REPORTS``
there, so a report outlives the drill). The report's wall dates are added here: the engine has no
wall clock.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from engine.drills import DrillRun, list_drills
from engine.errors import NotFound

RUNNING, FINISHED, STOPPED = "Running", "Finished", "Stopped"
KEPT_REPORTS = 20          # finished reports the runtime keeps in memory, newest first


def wall_date() -> str:
    """Now as an ISO 8601 UTC date and time, to the second (when a student played, for the teacher)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def catalogue() -> list[dict[str, Any]]:
    """Every shipped drill as the picker shows it (``Drill.public()``: no hidden fault, hint or solution)."""
    return [d.public() for d in list_drills()]


def find_drill(drill_id: str) -> Any:
    """The drill called ``drill_id``; NotFound (naming the choices) otherwise."""
    drills = list_drills()
    for drill in drills:
        if drill.id == drill_id:
            return drill
    raise NotFound(f'drill "{drill_id}" not found: supported values: '
                   + ", ".join(f'"{d.id}"' for d in drills))


class DrillSession:
    """One drill played on the runtime's cluster: its run, its phase and its final report."""

    def __init__(self, drill: Any, cluster_factory: Callable[..., Any], *,
                 on_end: Callable[[dict[str, Any]], None] | None = None):
        self.drill = drill
        self.run = DrillRun(drill, cluster_factory=cluster_factory)
        self.phase = RUNNING
        self.stopped_at: int | None = None
        self.started_on: str | None = None    # wall dates, for the report
        self.ended_on: str | None = None
        self._on_end = on_end
        self._report: dict[str, Any] | None = None
        self.seq = 0          # bumped on every visible change (drill time, hint, action, end)

    def start(self) -> Any:
        """Build the drill's cluster (manifests, warm-up, t = 0) and return it."""
        self.run.start()
        self.started_on = wall_date()
        self.seq += 1
        return self.run.cluster

    # ------------------------------------------------------------------ time
    @property
    def running(self) -> bool:
        return self.phase == RUNNING

    def advance_to(self, target: float) -> bool:
        """Play the drill up to simulated time ``target``; True when it has just ended (time limit)."""
        run = self.run
        if not self.running:
            run.cluster.run_until(target)
            return False
        # Whole drill seconds go through the run (timeline + one probe sample each) ...
        while not run.finished and run.t0 + run.t + 1 <= target:
            run.advance(1)
            self.seq += 1
        if run.finished:
            self._end(FINISHED)
            return True
        # ... and the fraction in between moves the cluster alone, so the map stays smooth.
        run.cluster.run_until(target)
        return False

    def stop(self, *, finish: bool = False) -> dict[str, Any]:
        """End the drill now (``finish``: play the remaining time at once first); return the report."""
        if self.running:
            if finish:
                self.run.finish_now()     # the rest is played for the score; the report keeps the time played
            self._end(FINISHED if self.run.finished else STOPPED)
        return self.report()

    def _end(self, phase: str) -> None:
        self.phase = phase
        if phase == STOPPED:
            self.stopped_at = self.run.t
        self.ended_on = wall_date()
        self._report = None
        self.seq += 1
        if self._on_end is not None:
            self._on_end(self.report())

    # ------------------------------------------------------------------ the student
    def hint(self) -> dict[str, Any]:
        """Reveal the next hint: ``{"hint": text | None, "index", "left"}``."""
        text = self.run.reveal_hint() if self.running else None
        if text is not None:
            self.seq += 1
        shown = len(self.run.hints_revealed)
        return {"hint": text, "index": shown - 1 if text is not None else None,
                "left": len(self.drill.hints) - shown}

    def record(self, action: str, args: dict[str, Any], *, via: str, ok: bool = True,
               result: Any = None, error: str | None = None) -> None:
        """Append a user action done outside ``run.act`` (dashboard, kubectl) to the run's action log."""
        if not self.running:
            return
        entry: dict[str, Any] = {"at": self.run.t, "action": action, "args": args, "ok": ok, "via": via}
        if ok and result is not None:
            entry["result"] = result
        if not ok and error:
            entry["error"] = error
        self.run.actions.append(entry)
        self.seq += 1

    def hidden_refs(self) -> frozenset[tuple[str, str]]:
        """(kind, name) of every hidden injected fault, while they must stay hidden (empty once over)."""
        if not self.running:
            return frozenset()
        return frozenset((e["inject"].get("kind", ""), e["inject"]["metadata"]["name"])
                         for e in self.drill.timeline if e.get("hidden") and "inject" in e)

    # ------------------------------------------------------------------ what the dashboard sees
    def status(self) -> dict[str, Any]:
        """The live status pushed as the ``drill`` event: timer, probes, hints, visible faults, actions."""
        run, drill = self.run, self.drill
        faults = run.faults if not self.running else [f for f in run.faults if not f.get("hidden")]
        out: dict[str, Any] = {
            "active": True, "id": drill.id, "title": drill.title, "teaches": drill.teaches,
            "briefing": drill.briefing, "phase": self.phase, "t": run.t, "time_limit": drill.time_limit,
            "remaining": max(0, drill.time_limit - run.t), "probes": run.probe_status(),
            "hints": [{"at": h["at"], "text": h["text"]} for h in run.hints_revealed],
            "hints_total": len(drill.hints), "faults": [dict(f) for f in faults],
            "actions": [dict(a) for a in run.actions], "seq": self.seq,
        }
        if not self.running:
            out["report"] = self.report()
        return out

    def report(self) -> dict[str, Any]:
        """The run's report, with the dashboard's ending (finished or stopped early) folded in."""
        if self._report is not None and not self.running:
            return self._report
        report = self.run.report()
        report.update(phase=self.phase, started=self.started_on, date=self.ended_on)
        if self.phase == STOPPED:
            report["stopped_at"] = self.stopped_at
            report["played_note"] = (f"stopped after {self.stopped_at} of {self.drill.time_limit} s; "
                                     "the rest was not played")
            if report["verdict"] == "running":
                report["verdict"] = "stopped"
                report["reason"] = (f"stopped by the user after {self.stopped_at} s of the "
                                    f"{self.drill.time_limit} s drill")
            else:
                report["reason"] += f" (stopped by the user after {self.stopped_at} s)"
        if not self.running:
            report["explanation"] = self.drill.explanation
            self._report = report
        return report


# ------------------------------------------------------------------ the printable report's chart
CHART_COLOURS = ("#1a7f4b", "#6e56cf", "#0b6bcb", "#b45309", "#be185d")


def report_chart(report: dict[str, Any], probes: list[dict[str, Any]] | None = None, width: int = 720,
                 height: int = 200) -> dict[str, Any]:
    """An SVG-ready timeline for the printable report: one line per probe (% of its goal), fault and action markers.

    A Service's line is its success rate in %; a count probe (ready replicas, pods, nodes) is its
    value as a share of its ``min``, capped at 100 %; anything else is 100 % while passing, 0 % not.
    """
    probes = report.get("probes") or [] if probes is None else probes   # the report carries each goal (min)
    series = report.get("series") or []
    limit = max([1, int(report.get("time_limit") or 1)] + [int(r["t"]) for r in series])

    def x(t: float) -> float:
        return round(40 + (width - 50) * float(t) / limit, 1)

    def y(pct: float) -> float:
        return round(10 + (height - 30) * (1 - pct / 100.0), 1)

    lines = []
    for i, spec in enumerate(probes):
        name = spec["name"]
        points = []
        for row in series:
            if name not in (row.get("probes") or {}):
                continue
            pct = probe_percent(spec, (row.get("values") or {}).get(name), row["probes"][name])
            points.append(f"{x(row['t'])},{y(pct)}")
        if points:
            lines.append({"label": name, "colour": CHART_COLOURS[i % len(CHART_COLOURS)],
                          "points": " ".join(points)})
    markers = [{"x": x(f["at"]), "label": f"{f.get('kind', '')} {f.get('name', '')}".strip()}
               for f in report.get("faults") or [] if f.get("ok") and f.get("fault", True)]
    # Every recorded action, whatever its type or result: a grader must see all the student did.
    actions = [{"x": x(a["at"]), "at": a["at"], "label": str(a.get("action", "")), "ok": bool(a.get("ok")),
                "row": i % 4} for i, a in enumerate(report.get("actions") or [])]
    step = 10 if limit <= 90 else 20 if limit <= 180 else 60
    ticks = [{"x": x(t), "label": f"{t} s"} for t in range(0, limit + 1, step)]
    return {"width": width, "height": height, "lines": lines, "markers": markers, "actions": actions, "ticks": ticks,
            "y0": y(0), "y50": y(50), "y100": y(100), "left": 40, "right": width - 10}


def probe_percent(spec: dict[str, Any], value: Any, passing: bool) -> float:
    """One probe sample on a 0-100 scale (see ``report_chart``)."""
    if spec.get("type") == "service-success-rate" and isinstance(value, (int, float)):
        return max(0.0, min(100.0, float(value) * 100.0))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(spec.get("min", 0) or 0) > 0:
        return max(0.0, min(100.0, 100.0 * float(value) / float(spec["min"])))
    return 100.0 if passing else 0.0
