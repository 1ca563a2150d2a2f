"""Persist the store through SQLAlchemy: objects, the global revision and a compact change log.

One database holds many clusters: every table is keyed by a cluster id first, and a ``SqlPersistence``
reads and writes only the rows of its own ``cluster``. The SQLAlchemy ``Engine`` (and so its
connection pool) is shared by every ``SqlPersistence`` of one URL in the process, so a hub of 100
clusters on one SQLite file opens one pool, not 100.

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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

import orjson
from sqlalchemy import (BigInteger, bindparam, LargeBinary, case, column, create_engine, delete, event, insert, literal,
                        select, String, table, Table, Text, text, update)
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

_REVISION_KEY = "revision"
_SIM_NOW_KEY = "sim_now_us"  # simulated clock at the last commit, in integer microseconds
_READ_ONLY = "kubedrill_read_only"  # execution option: open the transaction with a plain BEGIN
_LOAD_CHUNK = 1000  # rows decoded per json call on load
DEFAULT_CLUSTER = "demo"  # the cluster id of a single-cluster server, and of a pre-cluster-id database
_LEGACY_SUFFIX = "_v1"  # a pre-cluster-id table is renamed to this while its rows are copied
_MIGRATION_LOCK = 0x6B756265  # PostgreSQL advisory lock key held while upgrading the schema ("kube")


class Base(DeclarativeBase):
    """Declarative base of the persistence tables."""


class ObjectRow(Base):
    """The latest state of one object of one cluster, keyed like the store: (resource, namespace, name)."""

    __tablename__ = "objects"

    cluster: Mapped[str] = mapped_column(String(63), primary_key=True)
    resource: Mapped[str] = mapped_column(String(63), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(253), primary_key=True)
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    rv: Mapped[int] = mapped_column(BigInteger)


class MetaRow(Base):
    """Small integer facts about each stored cluster: the global revision, the simulated time.

    A cluster exists in the database exactly when it has meta rows (``stored_clusters``).
    """

    __tablename__ = "meta"
    # Small rows: on SQLite a WITHOUT ROWID table is its primary-key B-tree, no second index.
    __table_args__ = {"sqlite_with_rowid": False}

    cluster: Mapped[str] = mapped_column(String(63), primary_key=True)
    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ChangeRow(Base):
    """One line of a cluster's change log (event timeline): which key changed how at which revision."""

    __tablename__ = "changes"
    # Written once per event: WITHOUT ROWID keeps the insert to one B-tree, as the old rowid-aliased
    # "rv INTEGER PRIMARY KEY" did before the key became (cluster, rv).
    __table_args__ = {"sqlite_with_rowid": False}

    cluster: Mapped[str] = mapped_column(String(63), primary_key=True)
    rv: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(8))
    resource: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(253))


class HistoryRow(Base):
    """One compressed piece of a cluster's chart history (``engine.history``): a series, or an hour of markers.

    Rewritten whole when it changed, at most every few simulated seconds, inside the group commit."""

    __tablename__ = "history"

    cluster: Mapped[str] = mapped_column(String(63), primary_key=True)
    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)


OBJECTS: Table = ObjectRow.__table__  # type: ignore[assignment]
META: Table = MetaRow.__table__  # type: ignore[assignment]
CHANGES: Table = ChangeRow.__table__  # type: ignore[assignment]
HISTORY: Table = HistoryRow.__table__  # type: ignore[assignment]

LogRow = tuple[int, str, str, str, str]  # (rv, type, resource, namespace, name)

# Text SQL with the cluster as a bound parameter: untyped result columns skip result-type processing.
_LOAD_SQL = text("SELECT resource, body FROM objects WHERE cluster = :cluster")
_COUNT_SQL = text("SELECT count(*) FROM objects WHERE cluster = :cluster")


@dataclass
class CommitBatch:
    """What one flush hands over: objects changed (None = deleted), change-log rows, revision, clock,
    and chart-history rows changed (``engine.history``; None = deleted)."""

    revision: int
    changes: dict[Key, dict | None]
    log: list[LogRow]
    sim_now: float
    history: dict[str, bytes | None] = field(default_factory=dict)

    def then(self, later: "CommitBatch") -> "CommitBatch":
        """This batch followed by ``later`` as one: later object states win, logs concatenate."""
        changes = dict(self.changes)
        changes.update(later.changes)
        return CommitBatch(max(self.revision, later.revision), changes, self.log + later.log, later.sim_now,
                           {**self.history, **later.history})


class SqlPersistence:
    """Objects and revision of one cluster in a SQLAlchemy database (SQLite file by default).

    Many clusters can share one database: each ``SqlPersistence`` reads, writes, clears and prunes only
    the rows of its ``cluster``, and all of one URL share one engine (see ``_acquire_engine``).
    """

    def __init__(self, url: str, *, cluster: str = DEFAULT_CLUSTER, log_retention: int = 1_000_000,
                 echo: bool = False):
        """Open the database at ``url`` (created, or upgraded from the single-cluster schema, if needed).

        ``cluster`` names the stored cluster this object reads and writes (at most 63 characters).
        ``log_retention`` bounds its change log to the most recent that many revisions.
        """
        if not cluster or len(cluster) > 63:
            raise ValueError(f"a cluster id is 1 to 63 characters, got {cluster!r}")
        self.url = url
        self.cluster = cluster
        self.log_retention = log_retention
        self._pending_log: list[LogRow] = []
        self._pruned_at = 0
        self.sim_now = 0.0  # simulated time of the last commit; set by load() and commit(sim_now=...)
        self._engine_key, self._shared = _acquire_engine(url, echo, self)
        self.engine: Engine = self._shared.engine
        self.dialect = self.engine.dialect.name
        try:
            _prepare_schema(self.engine)
            with self.engine.begin() as conn:
                present = set(conn.execute(select(META.c.key).where(META.c.cluster == cluster)).scalars())
                missing = [{"cluster": cluster, "key": key, "value": 0}
                           for key in (_REVISION_KEY, _SIM_NOW_KEY) if key not in present]
                if missing:
                    conn.execute(_insert_ignoring_duplicates(self.dialect, META), missing)
        except BaseException:
            self.close()
            raise
        self._upsert_stmt = self._build_upsert(OBJECTS, body=True, rv=True)
        self._history_upsert = self._build_upsert(HISTORY, body=True)
        self._delete_stmt = delete(OBJECTS).where(
            OBJECTS.c.cluster == bindparam("b_cluster"),
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
            meta = {key: value for key, value in conn.execute(
                select(META.c.key, META.c.value).where(META.c.cluster == self.cluster))}
            revision = meta.get(_REVISION_KEY) or 0
            self.sim_now = (meta.get(_SIM_NOW_KEY) or 0) / 1_000_000
            # Plain text SQL with untyped columns: no result-type processing, these are strings either way.
            result = conn.execute(_LOAD_SQL, {"cluster": self.cluster})
            objects = _decode_rows(iter(lambda: result.fetchmany(_LOAD_CHUNK), []))
        return int(revision), objects

    def revision(self) -> int:
        """The global revision stored by the last commit."""
        query = select(META.c.value).where(META.c.cluster == self.cluster, META.c.key == _REVISION_KEY)
        with self.engine.connect().execution_options(**{_READ_ONLY: True}) as conn, conn.begin():
            return int(conn.execute(query).scalar() or 0)

    def count(self) -> int:
        """Number of stored objects."""
        with self.engine.connect().execution_options(**{_READ_ONLY: True}) as conn, conn.begin():
            return int(conn.execute(_COUNT_SQL, {"cluster": self.cluster}).scalar() or 0)

    def load_history(self) -> dict[str, bytes]:
        """The chart-history rows of this cluster, by key (``engine.history.History(rows=...)``)."""
        query = select(HISTORY.c.key, HISTORY.c.body).where(HISTORY.c.cluster == self.cluster)
        with self.engine.connect().execution_options(**{_READ_ONLY: True}) as conn, conn.begin():
            return {key: bytes(body) for key, body in conn.execute(query)}

    def changes_since(self, since: int, limit: int = 1000) -> list[LogRow]:
        """Change-log rows with revision > ``since``, oldest first (the event timeline)."""
        query = (select(CHANGES.c.rv, CHANGES.c.type, CHANGES.c.resource, CHANGES.c.namespace, CHANGES.c.name)
                 .where(CHANGES.c.cluster == self.cluster, CHANGES.c.rv > since).order_by(CHANGES.c.rv)
                 .limit(limit))
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
        self.commit(batch.revision, batch.changes, batch.log, sim_now=batch.sim_now, history=batch.history)

    def sync(self, store: "Store", sim_now: float | None = None) -> int:
        """Commit everything ``store`` wrote since the last sync; returns the number of keys written."""
        changes = store.take_dirty()
        if changes or self._pending_log:
            self.commit(store.revision, changes, sim_now=sim_now)
        return len(changes)

    def commit(self, revision: int, changes: Mapping["Key", dict | None],
               log: Iterable[LogRow] | None = None, *, sim_now: float | None = None,
               history: Mapping[str, bytes | None] | None = None) -> None:
        """Write one batch in ONE transaction: upsert objects, delete ``None`` keys, raise the revision.

        ``log`` rows (and any queued by ``record``) go to the change log in the same transaction;
        ``sim_now`` (the simulated clock) is stored for the restart, ``history`` rows upserted (None:
        deleted). The stored revision never decreases.
        """
        encode = _encode
        cluster = self.cluster
        upserts: list[dict[str, Any]] = []
        deletes: list[dict[str, str]] = []
        # Encode before BEGIN IMMEDIATE so the write lock is held only for the SQL itself.
        unencodable: list[Key] = []
        for key, obj in changes.items():
            resource, namespace, name = key
            if obj is None:
                deletes.append({"b_cluster": cluster, "b_resource": resource, "b_namespace": namespace,
                                "b_name": name})
                continue
            try:
                body = encode(obj)
            except orjson.JSONEncodeError:
                unencodable.append(key)
                continue
            upserts.append({"cluster": cluster, "resource": resource, "namespace": namespace, "name": name,
                            "body": body, "rv": int(obj["metadata"].get("resourceVersion") or 0)})
        if unencodable:
            raise UnencodableObjects(unencodable)
        log_rows = self._pending_log
        self._pending_log = []
        if log is not None:
            log_rows.extend(log)
        mine = META.c.cluster == cluster
        # A failed batch is not re-queued: retrying a row that broke the transaction would fail
        # every later commit too. The caller decides whether to resync from the store.
        with self.engine.begin() as conn:
            if deletes:
                conn.execute(self._delete_stmt, deletes)
            if upserts:
                self._write_objects(conn, upserts)
            if history:
                self._write_history(conn, history)
            if log_rows:
                conn.execute(insert(CHANGES), [
                    {"cluster": cluster, "rv": rv, "type": kind, "resource": res, "namespace": ns, "name": name}
                    for rv, kind, res, ns, name in log_rows])
            conn.execute(update(META).where(mine, META.c.key == _REVISION_KEY).values(
                value=case((META.c.value < revision, revision), else_=META.c.value)))
            if sim_now is not None:
                conn.execute(update(META).where(mine, META.c.key == _SIM_NOW_KEY).values(
                    value=int(round(sim_now * 1_000_000))))
                self.sim_now = sim_now
            if self.log_retention and revision - self._pruned_at >= max(1, self.log_retention // 10):
                conn.execute(delete(CHANGES).where(CHANGES.c.cluster == cluster,
                                                   CHANGES.c.rv <= revision - self.log_retention))
                self._pruned_at = revision

    def clear(self) -> None:
        """Forget this stored cluster: its objects, change log, revision and clock (other clusters stay)."""
        with self.engine.begin() as conn:
            conn.execute(delete(OBJECTS).where(OBJECTS.c.cluster == self.cluster))
            conn.execute(delete(CHANGES).where(CHANGES.c.cluster == self.cluster))
            conn.execute(delete(HISTORY).where(HISTORY.c.cluster == self.cluster))
            conn.execute(update(META).where(META.c.cluster == self.cluster).values(value=0))
        self.sim_now = 0.0

    def close(self) -> None:
        """Let go of the shared engine; the last ``SqlPersistence`` of the URL to close releases its pool.

        Closing twice is harmless.
        """
        _release_engine(self._engine_key, self._shared, self)

    def __enter__(self) -> "SqlPersistence":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ dialects
    def _build_upsert(self, target: Table, **columns: bool) -> Any:
        """The dialect's INSERT ... ON CONFLICT (primary key) DO UPDATE of ``columns``; None elsewhere."""
        if self.dialect in ("sqlite", "postgresql"):
            dialect_insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
            stmt = dialect_insert(target)
            return stmt.on_conflict_do_update(index_elements=list(target.primary_key.columns),
                                              set_={name: stmt.excluded[name] for name in columns})
        return None

    def _write_history(self, conn: Connection, rows: Mapping[str, bytes | None]) -> None:
        cluster = self.cluster
        gone = [key for key, body in rows.items() if body is None]
        kept = [{"cluster": cluster, "key": key, "body": body} for key, body in rows.items() if body is not None]
        if gone or (kept and self._history_upsert is None):
            doomed = gone + ([row["key"] for row in kept] if self._history_upsert is None else [])
            conn.execute(delete(HISTORY).where(HISTORY.c.cluster == cluster, HISTORY.c.key.in_(doomed)))
        if kept:
            conn.execute(self._history_upsert if self._history_upsert is not None else insert(HISTORY), kept)

    def _write_objects(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if self._upsert_stmt is not None:
            conn.execute(self._upsert_stmt, rows)
            return
        # Generic SQL: no portable upsert, so replace the rows inside the same transaction.
        conn.execute(self._delete_stmt, [
            {"b_cluster": r["cluster"], "b_resource": r["resource"], "b_namespace": r["namespace"],
             "b_name": r["name"]} for r in rows])
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

    SQLite files also get ``PRAGMA quick_check``; every stored body, of every cluster, must decode. A
    database that does not exist yet is fine (it is created on first start), and so is one of the
    single-cluster schema (opening it upgrades it): both have ``objects(resource, body)``.
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


def stored_clusters(url: str) -> list[str]:
    """The ids of the clusters stored at ``url`` (every cluster with meta rows), sorted.

    Like opening a ``SqlPersistence``, this creates the tables if missing and upgrades an old database.
    """
    with _borrowed_engine(url) as engine:
        _prepare_schema(engine)
        with engine.connect().execution_options(**{_READ_ONLY: True}) as conn, conn.begin():
            return list(conn.execute(select(META.c.cluster).distinct().order_by(META.c.cluster)).scalars())


def drop_cluster(url: str, cluster: str) -> None:
    """Delete every row of ``cluster`` at ``url`` (objects, change log, meta) in one transaction.

    Close that cluster's ``SqlPersistence`` first: one left open would go on writing objects that no
    meta row accounts for. Other clusters are untouched.
    """
    with _borrowed_engine(url) as engine:
        _prepare_schema(engine)
        with engine.begin() as conn:
            for target in (OBJECTS, CHANGES, HISTORY, META):
                conn.execute(delete(target).where(target.c.cluster == cluster))


# ---------------------------------------------------------------------- one engine per URL
class _SharedEngine:
    """One Engine and who uses it: ``SqlPersistence`` objects, or a helper's token while it runs."""

    __slots__ = ("engine", "users")

    def __init__(self, engine: Engine):
        self.engine = engine
        self.users: set[object] = set()


# (url, echo) -> the engine every SqlPersistence of that URL uses. No lock: the engine may not import
# threading (.importlinter), so each step is a single dict or set operation, atomic under the GIL.
# What that leaves open: an open racing the last close of the same URL may end up on an engine that
# close has just disposed and dropped from the cache. That costs a second pool for a while, never a
# broken one (a disposed Engine makes a new pool on its next use). A caller that opens and closes
# clusters from many threads at once (the web hub) serializes that under its own lock to share
# exactly one engine per URL.
_ENGINES: dict[tuple[str, bool], _SharedEngine] = {}


def _acquire_engine(url: str, echo: bool, user: object) -> tuple[tuple[str, bool], _SharedEngine]:
    """The shared engine of ``url``, created on first use, now also held by ``user``."""
    key = (url, echo)
    entry = _ENGINES.get(key)
    if entry is None:
        created = _SharedEngine(create_engine(url, echo=echo))
        if created.engine.dialect.name == "sqlite":
            _configure_sqlite(created.engine)
        entry = _ENGINES.setdefault(key, created)
        if entry is not created:  # another thread created one first: share it (ours never connected)
            created.engine.dispose()
    entry.users.add(user)
    return key, entry


def _release_engine(key: tuple[str, bool], entry: _SharedEngine, user: object) -> None:
    """``user`` lets go of ``entry``; the last user disposes the engine and drops it from the cache."""
    if user not in entry.users:
        return  # already released
    entry.users.discard(user)
    if not entry.users:
        if _ENGINES.get(key) is entry:
            del _ENGINES[key]
        entry.engine.dispose()


@contextmanager
def _borrowed_engine(url: str) -> Iterator[Engine]:
    """The shared engine of ``url`` for the length of a ``with`` block (the module helpers)."""
    token = object()
    key, entry = _acquire_engine(url, False, token)
    try:
        yield entry.engine
    finally:
        _release_engine(key, entry, token)


# ---------------------------------------------------------------------- schema and its upgrade
def _prepare_schema(engine: Engine) -> None:
    """Create the tables that are missing; first upgrade those of the single-cluster schema."""
    with engine.connect().execution_options(**{_READ_ONLY: True}) as conn, conn.begin():
        legacy = _legacy_tables(conn)
    if legacy:
        _migrate_single_cluster_schema(engine)
    Base.metadata.create_all(engine)


def _legacy_tables(conn: Connection) -> list[str]:
    """Names of our tables that exist without a ``cluster`` column (written by the previous release)."""
    found = inspect(conn)
    names = set(found.get_table_names())
    return [target.name for target in (OBJECTS, META, CHANGES)
            if target.name in names and "cluster" not in {col["name"] for col in found.get_columns(target.name)}]


def _migrate_single_cluster_schema(engine: Engine) -> None:
    """Give the tables of a single-cluster database their cluster column; every row becomes ``"demo"``.

    Why: kubedrill.db of the previous release keeps its cluster. A server upgraded in place resumes
    what the students built as its default cluster instead of failing on (or bootstrapping over) a
    database it could no longer read. Each old table is renamed aside, the new one created, the rows
    copied with INSERT ... SELECT, the old one dropped: all in ONE transaction (SQLite and PostgreSQL
    both have transactional DDL), so a crash midway leaves the old database as it was.
    """
    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, so a second process waits for us
        if conn.dialect.name == "postgresql":
            # A second process upgrading at the same time waits here, then finds nothing left to do.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        legacy = _legacy_tables(conn)  # again, now that no one else can be upgrading
        if not legacy:
            return
        quote = conn.dialect.identifier_preparer.quote
        found = inspect(conn)
        for name in legacy:
            primary_key = found.get_pk_constraint(name).get("name")
            conn.execute(text(f"ALTER TABLE {quote(name)} RENAME TO {quote(name + _LEGACY_SUFFIX)}"))
            if conn.dialect.name == "postgresql" and primary_key:
                # PostgreSQL names indexes per schema: free "objects_pkey" for the new table's key.
                conn.execute(text(f"ALTER INDEX {quote(primary_key)} RENAME TO "
                                  f"{quote(primary_key + _LEGACY_SUFFIX)}"))
        Base.metadata.create_all(conn, tables=[Base.metadata.tables[name] for name in legacy])
        for name in legacy:
            new = Base.metadata.tables[name]
            columns = [col.name for col in new.columns if col.name != "cluster"]
            old = table(name + _LEGACY_SUFFIX, *[column(col) for col in columns])
            conn.execute(new.insert().from_select(
                ["cluster", *columns], select(literal(DEFAULT_CLUSTER, String()), *old.c)))
            conn.execute(text(f"DROP TABLE {quote(name + _LEGACY_SUFFIX)}"))


def _insert_ignoring_duplicates(dialect: str, target: Table) -> Any:
    """INSERT that skips rows whose key exists (two processes opening one new cluster at once)."""
    if dialect == "sqlite":
        return sqlite.insert(target).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql.insert(target).on_conflict_do_nothing()
    return insert(target)


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
