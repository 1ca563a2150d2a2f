"""The class and its sessions, persisted next to the clusters (any SQLAlchemy URL; None = in memory).

One class per database: ``open_or_create_class`` resumes the stored one (same id, same join code),
so a restarted server lets every student back in with the cookie or kubeconfig they have. A session
is what a credential ``<class_id>.<token>`` (tokens.py) stands for; the database holds only the
token's digest, so a leaked database lets nobody in. The instructor's login token (the printed URL)
is stored the same way and stays valid until the next one is minted (at the next start).
"""
from __future__ import annotations

import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from sqlalchemy import (Column, Double, Index, MetaData, String, Table, Text, create_engine, insert, select,
                        update)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from engine.errors import Cause, Forbidden, Invalid

from . import names
from .tokens import credential, digest, new_join_code, new_token, same, split_credential

ROLES = ("instructor", "student", "viewer")
TOUCH_EVERY = 60.0     # seconds: last_seen is written at most this often per session

# Why a credential was refused, said to its holder in the 401.
_AGAIN = "join again with your class's code (instructor: open the URL the server printed)"
MALFORMED = "the session token is not one this server gives out: " + _AGAIN
OTHER_CLASS = "this session belongs to another class or an earlier one: " + _AGAIN
UNKNOWN = "this session is not known to this class: " + _AGAIN

WRONG_CODE = "the join code is not right: check it with your instructor"
EXPIRED_CODE = "the join code has expired: ask your instructor for a new one"

metadata = MetaData()
class_table = Table(
    "kd_class", metadata,
    Column("id", String(32), primary_key=True),
    Column("join_code", String(16), nullable=False),
    Column("code_expires", Double, nullable=True),     # wall seconds; NULL = the code never expires
    Column("created", Double, nullable=False),
    Column("template", Text, nullable=True),           # JSON; NULL = the demo cluster's template
    Column("speed_lock", Double, nullable=True),       # NULL = students choose their speed
    Column("login_digest", String(64), nullable=True),  # sha256 of the instructor login token
)
sessions_table = Table(
    "kd_sessions", metadata,
    Column("digest", String(64), primary_key=True),
    Column("class_id", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("cluster", String(63), nullable=True),
    Column("created", Double, nullable=False),
    Column("last_seen", Double, nullable=False),
    Index("kd_sessions_by_class", "class_id", "role", "created"),
)


@dataclass(frozen=True)
class ClassInfo:
    id: str
    join_code: str
    code_expires: float | None
    created: float
    template: dict | None
    speed_lock: float | None


@dataclass(frozen=True)
class Session:
    digest: str
    class_id: str
    role: str
    name: str
    cluster: str | None
    created: float
    last_seen: float


class ClassStore:
    def __init__(self, url: str | None, *, clock: Callable[[], float] = time.time):
        self.clock = clock
        if url is None:
            self.engine = create_engine("sqlite://", poolclass=StaticPool,
                                        connect_args={"check_same_thread": False})
        elif make_url(url).get_backend_name() == "sqlite":
            # The clusters write to the same file: wait for their transactions instead of failing.
            self.engine = create_engine(url, connect_args={"timeout": 30})
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        metadata.create_all(self.engine)
        # One lock for the database and the caches: class writes are rare, lookups mostly cached, and
        # it makes "check the name is free, then add the student" atomic within the process.
        self.lock = threading.RLock()
        self._info: ClassInfo | None = None
        self._sessions: dict[str, Session] = {}

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ the class
    @property
    def info(self) -> ClassInfo:
        if self._info is None:
            raise RuntimeError("open_or_create_class() first")
        return self._info

    def open_or_create_class(self, template: dict | None = None) -> ClassInfo:
        """Resume the class this database holds (the newest one); else make one with a new join code."""
        with self.lock, self.engine.begin() as conn:
            row = conn.execute(select(class_table).order_by(class_table.c.created.desc()).limit(1)).first()
            if row is None:
                values = {"id": secrets.token_hex(6), "join_code": new_join_code(), "code_expires": None,
                          "created": self.clock(), "template": _dump(template), "speed_lock": None,
                          "login_digest": None}
                conn.execute(insert(class_table).values(**values))
                row = conn.execute(select(class_table).where(class_table.c.id == values["id"])).one()
            self._info = ClassInfo(row.id, row.join_code, row.code_expires, row.created,
                                   json.loads(row.template) if row.template else None, row.speed_lock)
            return self._info

    def _set(self, **values: Any) -> None:
        with self.lock, self.engine.begin() as conn:
            conn.execute(update(class_table).where(class_table.c.id == self.info.id).values(**values))

    def new_code(self, expires_minutes: float | None = None) -> str:
        """Replace the join code (the old one stops working); ``expires_minutes`` None = no expiry."""
        if expires_minutes is not None and (isinstance(expires_minutes, bool)
                                            or not isinstance(expires_minutes, (int, float))
                                            or not math.isfinite(expires_minutes) or expires_minutes <= 0):
            message = f"Invalid value: {expires_minutes!r}: must be a positive number of minutes"
            raise Invalid(f"expires_minutes: {message}", causes=[Cause("expires_minutes", message)])
        code = new_join_code()
        expires = None if expires_minutes is None else self.clock() + 60.0 * expires_minutes
        with self.lock:
            self._set(join_code=code, code_expires=expires)
            self._info = replace(self.info, join_code=code, code_expires=expires)
        return code

    def check_code(self, code: Any) -> None:
        """Return if ``code`` is the class's join code (any case, spaces and dashes ignored), else Forbidden."""
        typed = "".join(code.split()).replace("-", "").upper() if isinstance(code, str) else ""
        info = self.info
        if not same(typed, info.join_code):
            raise Forbidden(WRONG_CODE)
        if info.code_expires is not None and self.clock() >= info.code_expires:
            raise Forbidden(EXPIRED_CODE)

    def set_template(self, template: dict | None) -> None:
        with self.lock:
            self._set(template=_dump(template))
            self._info = replace(self.info, template=json.loads(_dump(template)) if template is not None else None)

    @property
    def template(self) -> dict | None:
        return self.info.template

    @property
    def speed_lock(self) -> float | None:
        """The speed every student cluster is held at, or None when students choose."""
        return self.info.speed_lock

    @speed_lock.setter
    def speed_lock(self, speed: float | None) -> None:
        with self.lock:
            self._set(speed_lock=speed)
            self._info = replace(self.info, speed_lock=speed)

    # ------------------------------------------------------------------ logins and sessions
    def mint_instructor_login(self) -> str:
        """A new instructor login token (the previous one stops working); shown once, stored as a digest."""
        token = new_token()
        self._set(login_digest=digest(token))
        return token

    def exchange_login(self, token: Any) -> str | None:
        """A new instructor session's credential for a valid login token, else None."""
        if not isinstance(token, str) or not token:
            return None
        with self.lock, self.engine.connect() as conn:
            stored = conn.execute(select(class_table.c.login_digest)
                                  .where(class_table.c.id == self.info.id)).scalar()
        if not stored or not same(digest(token), stored):
            return None
        return self.add_session("instructor", "instructor", None)

    def add_session(self, role: str, name: str, cluster: str | None) -> str:
        """Store a new session and return its credential (the only time the token exists in clear).

        A student's name must be free in the class (checked under the lock: two joins with one name
        cannot both pass); Conflict otherwise.
        """
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        token = new_token()
        now = self.clock()
        session = Session(digest(token), self.info.id, role, name, cluster, now, now)
        with self.lock:
            if role == "student":
                taken = {names.key(s.name) for s in self.students()}
                if names.key(name) in taken:
                    raise names.taken_error(name, taken)
            with self.engine.begin() as conn:
                conn.execute(insert(sessions_table).values(**vars(session)))
            self._sessions[session.digest] = session
        return credential(self.info.id, token)

    def lookup(self, value: Any) -> tuple[Session | None, str | None]:
        """``(session, None)`` for a valid credential, else ``(None, why it is refused)``."""
        parts = split_credential(value) if isinstance(value, str) else None
        if parts is None:
            return None, MALFORMED
        class_id, token = parts
        if not same(class_id, self.info.id):
            return None, OTHER_CLASS
        key = digest(token)
        session = self._sessions.get(key)
        if session is None:
            with self.lock, self.engine.connect() as conn:
                row = conn.execute(select(sessions_table).where(sessions_table.c.digest == key)).first()
            if row is None or row.class_id != self.info.id:
                return None, UNKNOWN
            session = self._sessions.setdefault(key, Session(**row._mapping))
        return session, None

    def touch(self, session: Session) -> None:
        """Note that ``session`` was used now; written at most once a ``TOUCH_EVERY`` per session."""
        now = self.clock()
        current = self._sessions.get(session.digest, session)
        if now - current.last_seen < TOUCH_EVERY:
            return
        with self.lock:
            with self.engine.begin() as conn:
                conn.execute(update(sessions_table).where(sessions_table.c.digest == session.digest)
                             .values(last_seen=now))
            self._sessions[session.digest] = replace(current, last_seen=now)

    def students(self) -> list[Session]:
        """Every student of the class, in the order they joined."""
        t = sessions_table.c
        with self.lock, self.engine.connect() as conn:
            rows = conn.execute(select(sessions_table).where(t.class_id == self.info.id, t.role == "student")
                                .order_by(t.created, t.name)).all()
        return [Session(**row._mapping) for row in rows]

    def student_by_name(self, name: str) -> Session | None:
        """The student of that name (compared as names compare: case-folded, normalised), if any."""
        wanted = names.key(name)
        return next((s for s in self.students() if names.key(s.name) == wanted), None)


def _dump(template: dict | None) -> str | None:
    return None if template is None else json.dumps(template, sort_keys=True)
