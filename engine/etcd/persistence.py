"""Persist the store through SQLAlchemy: objects, the global revision and a compact change log.

This is the only engine module that imports SQLAlchemy. The store never calls it: the composition
root drains ``Store.take_dirty()`` once per simulation step and hands the batch to ``commit``, so a
step is one transaction (group commit), never one transaction per object. Bodies are stored as the
Kubernetes JSON shape, so a restart (``load`` + ``Store.restore``) resumes the same cluster at the
same revision.

SQLite (the default) runs in WAL mode with ``synchronous=NORMAL``; the driver's own transaction
handling is switched off and every write transaction opens with ``BEGIN IMMEDIATE`` so that
concurrent writers queue on ``busy_timeout`` instead of failing with "database is locked".
PostgreSQL gets its native ``ON CONFLICT`` upsert; any other URL falls back to delete + insert.
"""
from __future__ import annotations

import gc
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import orjson
from sqlalchemy import (BigInteger, bindparam, case, create_engine, delete, event, insert, Integer, select,
                        String, Table, Text, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

if TYPE_CHECKING:
    from .store import Event, Key, Store

# check_circular off: store objects are trees, and the check costs ~10 % of encode time.
def _encode(obj: Any) -> str:
    """Compact JSON text of an object (orjson: ~5x faster than json on 1.75 KB pods)."""
    return orjson.dumps(obj).decode()


_decode = json.JSONDecoder().decode  # one call per chunk shares key strings (see _decode_rows)

# On SQLite only "INTEGER PRIMARY KEY" aliases the rowid (a BIGINT key would add a second index).
_RV = BigInteger().with_variant(Integer(), "sqlite")

_REVISION_KEY = "revision"
_SIM_NOW_KEY = "sim_now_us"  # simulated clock at the last commit, in integer microseconds
_READ_ONLY = "kubedrill_read_only"  # execution option: open the transaction with a plain BEGIN
_LOAD_CHUNK = 1000  # rows decoded per json call on load


class Base(DeclarativeBase):
    """Declarative base of the persistence tables."""


class ObjectRow(Base):
    """The latest state of one object, keyed like the store: (resource, namespace, name)."""

    __tablename__ = "objects"

    resource: Mapped[str] = mapped_column(String(63), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(253), primary_key=True)
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    rv: Mapped[int] = mapped_column(BigInteger)


class MetaRow(Base):
    """Small integer facts about the stored cluster: the global revision, the simulated time."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ChangeRow(Base):
    """One line of the change log (event timeline): which key changed how at which revision."""

    __tablename__ = "changes"

    rv: Mapped[int] = mapped_column(_RV, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(8))
    resource: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(253))


OBJECTS: Table = ObjectRow.__table__  # type: ignore[assignment]
META: Table = MetaRow.__table__  # type: ignore[assignment]
CHANGES: Table = ChangeRow.__table__  # type: ignore[assignment]

LogRow = tuple[int, str, str, str, str]  # (rv, type, resource, namespace, name)


@dataclass
class CommitBatch:
    """What one flush hands over: objects changed (None = deleted), change-log rows, revision, clock."""

    revision: int
    changes: dict[Key, dict | None]
    log: list[LogRow]
    sim_now: float

    def then(self, later: "CommitBatch") -> "CommitBatch":
        """This batch followed by ``later`` as one: later object states win, logs concatenate."""
        changes = dict(self.changes)
        changes.update(later.changes)
        return CommitBatch(max(self.revision, later.revision), changes, self.log + later.log, later.sim_now)


class SqlPersistence:
    """Objects and revision of one cluster in a SQLAlchemy database (SQLite file by default)."""

    def __init__(self, url: str, *, log_retention: int = 1_000_000, echo: bool = False):
        """Open (and create if needed) the database at ``url``.

        ``log_retention`` bounds the change log to the most recent that many revisions.
        """
        self.url = url
        self.log_retention = log_retention
        self.engine: Engine = create_engine(url, echo=echo)
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self._pending_log: list[LogRow] = []
        self._pruned_at = 0
        self.sim_now = 0.0  # simulated time of the last commit; set by load() and commit(sim_now=...)
        Base.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            present = set(conn.execute(select(META.c.key)).scalars())
            for key in (_REVISION_KEY, _SIM_NOW_KEY):
                if key not in present:
                    conn.execute(insert(META).values(key=key, value=0))
        self._upsert_stmt = self._build_upsert()
        self._delete_stmt = delete(OBJECTS).where(
            OBJECTS.c.resource == bindparam("b_resource"),
            OBJECTS.c.namespace == bindparam("b_namespace"),
            OBJECTS.c.name == bindparam("b_name"),
        )

    # ------------------------------------------------------------------ reads
    def load(self) -> tuple[int, list[tuple[str, dict]]]:
        """Return the stored revision and every ``(resource, obj)`` pair, ready for ``Store.restore``.

        Also sets ``sim_now`` to the simulated time of the last commit.
        """
        with self.engine.connect().execution_options(**{_READ_ONLY: True}) as conn, conn.begin():
            meta = {key: value for key, value in conn.execute(select(META.c.key, META.c.value))}
            revision = meta.get(_REVISION_KEY) or 0
            self.sim_now = (meta.get(_SIM_NOW_KEY) or 0) / 1_000_000
            # exec_driver_sql skips result-type processing: these are plain strings either way.
            result = conn.exec_driver_sql("SELECT resource, body FROM objects")
            objects = _decode_rows(iter(lambda: result.fetchmany(_LOAD_CHUNK), []))
        return int(revision), objects

    def revision(self) -> int:
        """The global revision stored by the last commit."""
        with self.engine.connect().execution_options(**{_READ_ONLY: True}) as conn, conn.begin():
            return int(conn.execute(select(META.c.value).where(META.c.key == _REVISION_KEY)).scalar() or 0)

    def count(self) -> int:
        """Number of stored objects."""
        with self.engine.connect().execution_options(**{_READ_ONLY: True}) as conn, conn.begin():
            return int(conn.exec_driver_sql("SELECT count(*) FROM objects").scalar() or 0)

    def changes_since(self, since: int, limit: int = 1000) -> list[LogRow]:
        """Change-log rows with revision > ``since``, oldest first (the event timeline)."""
        query = (select(CHANGES.c.rv, CHANGES.c.type, CHANGES.c.resource, CHANGES.c.namespace, CHANGES.c.name)
                 .where(CHANGES.c.rv > since).order_by(CHANGES.c.rv).limit(limit))
        with self.engine.connect().execution_options(**{_READ_ONLY: True}) as conn, conn.begin():
            return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]

    # ------------------------------------------------------------------ writes
    def record(self, ev: "Event") -> None:
        """Queue a change-log row for ``ev``; use as a store listener (``store.subscribe(p.record)``)."""
        meta = ev.obj["metadata"]
        self._pending_log.append((ev.rv, ev.type, ev.resource, meta.get("namespace") or "", meta["name"]))

    def attach(self, store: "Store") -> None:
        """Subscribe to ``store`` so every commit also writes the change log."""
        store.subscribe(self.record)

    def take_log(self) -> list[LogRow]:
        """The change-log rows recorded since the last call (they go into the next batch)."""
        rows, self._pending_log = self._pending_log, []
        return rows

    def commit_batch(self, batch: CommitBatch) -> None:
        """Commit one batch in one transaction (see ``commit``)."""
        self.commit(batch.revision, batch.changes, batch.log, sim_now=batch.sim_now)

    def sync(self, store: "Store", sim_now: float | None = None) -> int:
        """Commit everything ``store`` wrote since the last sync; returns the number of keys written."""
        changes = store.take_dirty()
        if changes or self._pending_log:
            self.commit(store.revision, changes, sim_now=sim_now)
        return len(changes)

    def commit(self, revision: int, changes: Mapping["Key", dict | None],
               log: Iterable[LogRow] | None = None, *, sim_now: float | None = None) -> None:
        """Write one batch in ONE transaction: upsert objects, delete ``None`` keys, raise the revision.

        ``log`` rows (and any queued by ``record``) go to the change log in the same transaction;
        ``sim_now`` (the simulated clock) is stored for the restart. The stored revision never decreases.
        """
        encode = _encode
        upserts: list[dict[str, Any]] = []
        deletes: list[dict[str, str]] = []
        # Encode before BEGIN IMMEDIATE so the write lock is held only for the SQL itself.
        unencodable: list[Key] = []
        for key, obj in changes.items():
            resource, namespace, name = key
            if obj is None:
                deletes.append({"b_resource": resource, "b_namespace": namespace, "b_name": name})
                continue
            try:
                body = encode(obj)
            except orjson.JSONEncodeError:
                unencodable.append(key)
                continue
            upserts.append({"resource": resource, "namespace": namespace, "name": name,
                            "body": body, "rv": int(obj["metadata"].get("resourceVersion") or 0)})
        if unencodable:
            raise UnencodableObjects(unencodable)
        log_rows = self._pending_log
        self._pending_log = []
        if log is not None:
            log_rows.extend(log)
        # A failed batch is not re-queued: retrying a row that broke the transaction would fail
        # every later commit too. The caller decides whether to resync from the store.
        with self.engine.begin() as conn:
            if deletes:
                conn.execute(self._delete_stmt, deletes)
            if upserts:
                self._write_objects(conn, upserts)
            if log_rows:
                conn.execute(insert(CHANGES), [
                    {"rv": rv, "type": kind, "resource": res, "namespace": ns, "name": name}
                    for rv, kind, res, ns, name in log_rows])
            conn.execute(update(META).where(META.c.key == _REVISION_KEY).values(
                value=case((META.c.value < revision, revision), else_=META.c.value)))
            if sim_now is not None:
                conn.execute(update(META).where(META.c.key == _SIM_NOW_KEY).values(
                    value=int(round(sim_now * 1_000_000))))
                self.sim_now = sim_now
            if self.log_retention and revision - self._pruned_at >= max(1, self.log_retention // 10):
                conn.execute(delete(CHANGES).where(CHANGES.c.rv <= revision - self.log_retention))
                self._pruned_at = revision

    def clear(self) -> None:
        """Forget the stored cluster: every object, the change log, the revision and the clock."""
        with self.engine.begin() as conn:
            conn.execute(delete(OBJECTS))
            conn.execute(delete(CHANGES))
            conn.execute(update(META).values(value=0))
        self.sim_now = 0.0

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> "SqlPersistence":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ dialects
    def _build_upsert(self) -> Any:
        if self.dialect in ("sqlite", "postgresql"):
            dialect_insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
            stmt = dialect_insert(OBJECTS)
            return stmt.on_conflict_do_update(
                index_elements=[OBJECTS.c.resource, OBJECTS.c.namespace, OBJECTS.c.name],
                set_={"body": stmt.excluded.body, "rv": stmt.excluded.rv},
            )
        return None

    def _write_objects(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if self._upsert_stmt is not None:
            conn.execute(self._upsert_stmt, rows)
            return
        # Generic SQL: no portable upsert, so replace the rows inside the same transaction.
        conn.execute(self._delete_stmt, [
            {"b_resource": r["resource"], "b_namespace": r["namespace"], "b_name": r["name"]} for r in rows])
        conn.execute(insert(OBJECTS), rows)


class UnencodableObjects(ValueError):
    """Objects that are not valid JSON (the API server rejects such input; this is the last guard)."""

    def __init__(self, keys: list["Key"]):
        super().__init__("cannot be stored as JSON: " + ", ".join("/".join(k for k in key if k) for key in keys))
        self.keys = keys


class DamagedDatabase(Exception):
    """The database cannot be read as a Kubedrill store (corrupt file, foreign schema, broken rows)."""


def last_good_path(url: str) -> Path | None:
    """Where the last good copy of a SQLite file database is kept (None for other databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).with_name(Path(parsed.database).name + ".last-good")


def verify(url: str) -> None:
    """Check that the store at ``url`` can be read; raise ``DamagedDatabase`` naming what is wrong.

    SQLite files also get ``PRAGMA quick_check``; every stored body must decode. A database that does
    not exist yet is fine (it is created on first start).
    """
    try:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                if engine.dialect.name == "sqlite":
                    problems = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
                    if problems != ["ok"]:
                        raise DamagedDatabase("; ".join(problems[:3]))
                tables = set(inspect(conn).get_table_names())
                if "objects" in tables:
                    result = conn.exec_driver_sql("SELECT resource, body FROM objects")
                    for chunk in iter(lambda: result.fetchmany(_LOAD_CHUNK), []):
                        for _resource, body in chunk:
                            orjson.loads(body)
        finally:
            engine.dispose()
    except DamagedDatabase:
        raise
    except (DBAPIError, orjson.JSONDecodeError, UnicodeError) as err:
        raise DamagedDatabase(str(getattr(err, "orig", None) or err).splitlines()[0]) from err


def save_last_good(url: str) -> Path | None:
    """Copy a verified SQLite store to its ``.last-good`` file (SQLite's online backup); return the path."""
    target = last_good_path(url)
    if target is None or not Path(make_url(url).database).exists():
        return None
    source = sqlite3.connect(make_url(url).database)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return target


def _decode_rows(chunks: Iterable[Sequence[Any]]) -> list[tuple[str, dict]]:
    """Decode chunks of ``(resource, body)`` rows into ``(resource, obj)`` pairs.

    One ``loads`` over a JSON array of a chunk's bodies shares each key string across the chunk
    (the decoder memoises keys per call): about 25 % less memory and time than one ``loads`` per
    row. Streaming chunk by chunk frees each chunk's text before the next is read. The cyclic GC
    is paused meanwhile: decoded JSON holds no cycles, and at 100k objects its full collections
    would cost more than the decoding itself.
    """
    decode = _decode
    out: list[tuple[str, dict]] = []
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for rows in chunks:
            objs = decode("[" + ",".join([body for _, body in rows]) + "]")
            out.extend(zip([resource for resource, _ in rows], objs))
    finally:
        if was_enabled:
            gc.enable()
    return out


def _configure_sqlite(engine: Engine) -> None:
    """Apply the SQLite recipe from TOOLCHAIN.md: WAL, NORMAL sync, busy timeout, explicit BEGIN."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 driver; the "begin" hook below emits it.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=15000")
        # 32 MiB page cache (default 2 MiB): the primary-key B-tree of 100k objects stays cached.
        cur.execute("PRAGMA cache_size=-32768")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking
        # on a read→write upgrade; read-only work opens a plain deferred transaction.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")
