"""The hub's own tables, beside the clusters' objects in the same database: which clusters exist, and
every drill report.

A cluster's objects live in the engine's tables (``engine.etcd.persistence``, keyed by cluster id);
what the engine does not know — who owns a cluster, what it was made from, its pace (speed, paused)
— lives in ``kd_clusters``, so a restarted server knows every student's cluster before loading any.
A drill report is stored whole (JSON) in ``kd_reports`` with who played it, when, the drill and
its seed, so a teacher can grade it after the student has left the drill, or the server restarted.

``url`` None keeps both in an in-memory SQLite database (tests, ``--db`` off).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (Column, Float, Integer, MetaData, String, Table, Text, create_engine, delete, insert,
                        select, update)
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

METADATA = MetaData()

CLUSTERS = Table(
    "kd_clusters", METADATA,
    Column("id", String(40), primary_key=True),
    Column("owner", String(64), nullable=True),     # the student's display name; None for demo
    Column("created", Float, nullable=False),       # wall seconds (time.time)
    Column("spec", Text, nullable=False),           # JSON: seed, profile, nodes, empty, template
    Column("speed", Float, nullable=False, default=1.0),
    Column("paused", Integer, nullable=False, default=0),
)

REPORTS = Table(
    "kd_reports", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cluster", String(40), nullable=False, index=True),
    Column("student", String(64), nullable=True),
    Column("drill", String(100), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("date", String(40), nullable=False),      # ISO 8601 UTC, when the drill ended
    Column("body", Text, nullable=False),            # the report, JSON
)


@dataclass
class ClusterRecord:
    """One registered cluster: its id, owner, how to build it, and its pace when last saved."""

    id: str
    owner: str | None
    created: float
    spec: dict[str, Any] = field(default_factory=dict)
    speed: float = 1.0
    paused: bool = False


class Records:
    """Read and write ``kd_clusters`` and ``kd_reports`` (small, infrequent writes: no batching)."""

    def __init__(self, url: str | None):
        if url is None:
            self.engine: Engine = create_engine("sqlite://", poolclass=StaticPool,
                                                connect_args={"check_same_thread": False})
        else:
            self.engine = create_engine(url)
        METADATA.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ clusters
    def clusters(self) -> list[ClusterRecord]:
        """Every registered cluster, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(CLUSTERS).order_by(CLUSTERS.c.created, CLUSTERS.c.id)).all()
        return [ClusterRecord(r.id, r.owner, r.created, json.loads(r.spec), r.speed, bool(r.paused)) for r in rows]

    def add_cluster(self, record: ClusterRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(CLUSTERS).values(id=record.id, owner=record.owner, created=record.created,
                                                 spec=json.dumps(record.spec), speed=record.speed,
                                                 paused=int(record.paused)))

    def save_pace(self, cluster: str, speed: float, paused: bool) -> None:
        """Remember a cluster's speed and pause (it resumes with them after eviction or a restart)."""
        with self.engine.begin() as conn:
            conn.execute(update(CLUSTERS).where(CLUSTERS.c.id == cluster).values(speed=speed, paused=int(paused)))

    def remove_cluster(self, cluster: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(CLUSTERS).where(CLUSTERS.c.id == cluster))

    # ------------------------------------------------------------------ reports
    def add_report(self, cluster: str, student: str | None, report: dict[str, Any]) -> int:
        """Store one ended drill's report; returns its id."""
        with self.engine.begin() as conn:
            result = conn.execute(insert(REPORTS).values(
                cluster=cluster, student=student, drill=str(report.get("drill", "")),
                seed=int(report.get("seed") or 0),
                date=str(report.get("date") or time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())),
                body=json.dumps(report, sort_keys=True)))
            return int(result.inserted_primary_key[0])

    def reports(self, cluster: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored reports, newest first, each with ``id``, ``cluster`` and ``student`` added."""
        query = select(REPORTS).order_by(REPORTS.c.id.desc())
        if cluster is not None:
            query = query.where(REPORTS.c.cluster == cluster)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        out = []
        for r in rows:
            report = json.loads(r.body)
            report.update(id=r.id, cluster=r.cluster, student=r.student)
            out.append(report)
        return out
