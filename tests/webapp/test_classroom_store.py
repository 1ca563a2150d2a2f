"""The class's persisted state (code, sessions, instructor login), its tokens, names and join limits.

The persistence tests run on SQLite and PostgreSQL (``db_url``, tests/conftest.py).
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text

from engine.errors import Conflict, Forbidden, Invalid
from webapp.classroom import names
from webapp.classroom.names import check_display_name, cluster_id_for
from webapp.classroom.ratelimit import JoinLimiter
from webapp.classroom.store import (EXPIRED_CODE, MALFORMED, OTHER_CLASS, UNKNOWN, WRONG_CODE, ClassStore)
from webapp.classroom.tokens import JOIN_ALPHABET, digest, new_join_code, new_token, split_credential


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(clock):
    s = ClassStore(None, clock=clock)
    s.open_or_create_class()
    yield s
    s.close()


def _open(url, clock=None):
    s = ClassStore(url, clock=clock or FakeClock())
    s.open_or_create_class()
    return s


# ---------------------------------------------------------------------- tokens and codes
def test_tokens_are_long_random_and_never_repeat():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(t) >= 43 and "." not in t for t in tokens)


def test_join_codes_use_six_characters_without_look_alikes():
    codes = [new_join_code() for _ in range(2000)]
    assert all(len(c) == 6 and set(c) <= set(JOIN_ALPHABET) for c in codes)
    assert not set("0O1IL") & set(JOIN_ALPHABET)
    assert set("".join(codes)) == set(JOIN_ALPHABET)     # every letter of the alphabet is used


@pytest.mark.parametrize("value, parts", [
    ("abc123.tok-en_x", ("abc123", "tok-en_x")),
    ("abc123.tok.en", ("abc123", "tok.en")),
    ("nodot", None), (".token", None), ("class.", None), ("", None), ("cl\u00e9.tok", None), ("a b.c\n", None),
])
def test_a_credential_is_the_class_id_then_the_token(value, parts):
    assert split_credential(value) == parts


# ---------------------------------------------------------------------- the class and its code
def test_a_new_class_has_a_join_code_and_resumes_with_the_same_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'class.db'}"
    first = _open(url).info
    assert re.fullmatch(f"[{JOIN_ALPHABET}]{{6}}", first.join_code)
    again = _open(url).info
    assert (again.id, again.join_code) == (first.id, first.join_code)
    assert _open(f"sqlite:///{tmp_path / 'other.db'}").info.id != first.id


@pytest.mark.parametrize("typed", ["{code}", "{lower}", "  {code} ", "{a}-{b}", "{a} {b}"])
def test_the_join_code_is_accepted_in_any_case_and_with_spaces(store, typed):
    code = store.info.join_code
    store.check_code(typed.format(code=code, lower=code.lower(), a=code[:3], b=code[3:]))


@pytest.mark.parametrize("typed", ["", "WRONG1", None, 123456, "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"])
def test_a_wrong_join_code_is_forbidden_and_says_to_check_it(store, typed):
    with pytest.raises(Forbidden) as info:
        store.check_code(typed)
    assert info.value.message == WRONG_CODE == "the join code is not right: check it with your instructor"
    assert info.value.to_status()["code"] == 403


def test_a_new_code_replaces_the_old_one(store):
    old = store.info.join_code
    new = store.new_code()
    store.check_code(new)
    if new != old:
        with pytest.raises(Forbidden, match="not right"):
            store.check_code(old)


def test_an_expired_code_says_to_ask_for_a_new_one(store, clock):
    code = store.new_code(expires_minutes=10)
    clock.now += 599
    store.check_code(code)
    clock.now += 1
    with pytest.raises(Forbidden) as info:
        store.check_code(code)
    assert info.value.message == EXPIRED_CODE
    with pytest.raises(Forbidden, match="not right"):   # a wrong code does not learn that the right one expired
        store.check_code("ZZZZZZ" if code != "ZZZZZZ" else "YYYYYY")


@pytest.mark.parametrize("minutes", [0, -5, "10", True, float("inf"), float("nan")])
def test_a_code_expiry_must_be_a_positive_number_of_minutes(store, minutes):
    code = store.info.join_code
    with pytest.raises(Invalid) as info:
        store.new_code(expires_minutes=minutes)
    assert info.value.causes[0].field == "expires_minutes"
    store.check_code(code)          # nothing changed


# ---------------------------------------------------------------------- sessions
def test_a_credential_finds_its_session(store):
    cred = store.add_session("student", "alice", "alice-1a2b")
    session, reason = store.lookup(cred)
    assert reason is None
    assert (session.role, session.name, session.cluster) == ("student", "alice", "alice-1a2b")


def test_credentials_of_another_class_are_refused_with_that_reason(store, tmp_path):
    other = _open(f"sqlite:///{tmp_path / 'other.db'}")
    cred = other.add_session("student", "alice", "alice-1a2b")
    assert store.lookup(cred) == (None, OTHER_CLASS)
    assert "another class or an earlier one" in OTHER_CLASS and "join again" in OTHER_CLASS


@pytest.mark.parametrize("value", ["", "garbage", None, 42, "x" * 10])
def test_a_malformed_credential_is_refused_as_such(store, value):
    assert store.lookup(value) == (None, MALFORMED)


def test_a_forged_token_of_the_right_class_is_unknown(store):
    store.add_session("student", "alice", "alice-1a2b")
    assert store.lookup(f"{store.info.id}.{new_token()}") == (None, UNKNOWN)


def test_the_instructor_login_token_becomes_a_session_and_a_new_one_retires_it(store):
    token = store.mint_instructor_login()
    cred = store.exchange_login(token)
    session, _ = store.lookup(cred)
    assert session.role == "instructor"
    assert store.exchange_login("not-the-token") is None and store.exchange_login(None) is None
    store.mint_instructor_login()
    assert store.exchange_login(token) is None
    assert store.lookup(cred)[0] is not None     # the cookie it gave stays valid


def test_the_database_holds_only_digests_of_tokens(db_url):
    store = _open(db_url)
    login = store.mint_instructor_login()
    instructor = store.exchange_login(login)
    student = store.add_session("student", "alice", "alice-1a2b")
    secrets_ = [login, instructor.split(".", 1)[1], student.split(".", 1)[1]]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = [str(tuple(r)) for table in ("kd_class", "kd_sessions")
                for r in conn.execute(text(f"SELECT * FROM {table}"))]
    engine.dispose()
    store.close()
    dump = "\n".join(rows)
    for secret in secrets_:
        assert secret not in dump
        assert digest(secret) in dump


def test_a_restart_resumes_the_class_and_every_session(db_url):
    clock = FakeClock()
    store = _open(db_url, clock)
    store.set_template({"drill": "node-failure"})
    store.speed_lock = 2.0
    code = store.new_code(expires_minutes=30)
    old_login = store.mint_instructor_login()
    instructor = store.exchange_login(old_login)
    alice = store.add_session("student", "alice", "alice-1a2b")
    clock.now += 1
    bob = store.add_session("student", "Bob", "bob-3c4d")
    viewer = store.add_session("viewer", "viewer", None)
    store.close()

    again = _open(db_url, clock)
    assert again.info.join_code == code and again.info.code_expires == pytest.approx(clock.now - 1 + 1800)
    again.check_code(code)
    assert again.template == {"drill": "node-failure"} and again.speed_lock == 2.0
    for cred, role in ((instructor, "instructor"), (alice, "student"), (bob, "student"), (viewer, "viewer")):
        session, reason = again.lookup(cred)
        assert reason is None and session.role == role
    assert [(s.name, s.cluster) for s in again.students()] == [("alice", "alice-1a2b"), ("Bob", "bob-3c4d")]
    new_login = again.mint_instructor_login()        # a restart prints a new URL; the old one stops working
    assert again.exchange_login(old_login) is None and again.exchange_login(new_login) is not None
    again.close()


def test_students_are_listed_in_join_order_and_found_by_name_in_any_case(store, clock):
    for name in ("zoe", "adam", "Mia"):
        store.add_session("student", name, f"{name.lower()}-0000")
        clock.now += 1
    store.add_session("viewer", "viewer", None)
    assert [s.name for s in store.students()] == ["zoe", "adam", "Mia"]
    assert store.student_by_name("MIA").cluster == "mia-0000"
    assert store.student_by_name("nobody") is None


def test_two_students_cannot_take_one_name(store):
    store.add_session("student", "alice", "alice-1a2b")
    with pytest.raises(Conflict) as info:
        store.add_session("student", "ALICE", "alice-9999")
    assert "choose another name" in info.value.message
    assert len(store.students()) == 1


def test_last_seen_is_written_at_most_once_a_minute(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'class.db'}"
    store = _open(url, clock)
    session, _ = store.lookup(store.add_session("student", "alice", "alice-1a2b"))
    joined = clock.now

    def stored_last_seen() -> float:
        reader = _open(url)
        seen = reader.students()[0].last_seen
        reader.close()
        return seen

    clock.now += 30
    store.touch(session)
    assert stored_last_seen() == joined
    clock.now += 31
    store.touch(session)
    assert stored_last_seen() == clock.now
    store.close()


# ---------------------------------------------------------------------- display names
@pytest.mark.parametrize("typed, name", [
    ("alice", "alice"),
    ("  Alice   Smith  ", "Alice Smith"),
    ("Ana\u00a0María", "Ana María"),               # a no-break space is a space
    ("\uff2b\uff49\uff4d", "Kim"),                  # full-width letters (NFKC)
    ("李雷", "李雷"),
    ("x" * 40, "x" * 40),
])
def test_a_display_name_is_normalised(typed, name):
    assert check_display_name(typed, []) == name


@pytest.mark.parametrize("typed, reason, says", [
    ("", "FieldValueRequired", "Required value"),
    ("   \t ", "FieldValueRequired", "Required value"),
    ("x" * 41, "FieldValueTooLong", "may not be more than 40 characters (got 41)"),
    ("al\tice", "FieldValueInvalid", "must not contain control characters"),
    ("bob\x00", "FieldValueInvalid", "must not contain control characters"),
    ("ev\u202eil", "FieldValueInvalid", "must contain only printable characters"),
    ("zero\u200bwidth", "FieldValueInvalid", "must contain only printable characters"),
    ("\ud800", "FieldValueInvalid", "must contain only printable characters"),
    ("Instructor", "FieldValueInvalid", "is reserved"),
    ("system:admin", "FieldValueInvalid", "is reserved"),
    (7, "FieldValueInvalid", "must be a string"),
])
def test_a_bad_display_name_is_invalid_on_the_name_field(typed, reason, says):
    with pytest.raises(Invalid) as info:
        check_display_name(typed, [])
    status = info.value.to_status()
    assert status["code"] == 422
    [cause] = status["details"]["causes"]
    assert cause["field"] == "name" and cause["reason"] == reason and says in cause["message"]
    assert status["message"].startswith("name: ")


def test_a_taken_name_suggests_a_free_one():
    with pytest.raises(Conflict) as info:
        check_display_name("alice", ["Alice", "bob"])
    assert info.value.message == 'a student called "alice" has already joined: choose another name, e.g. "alice2"'
    with pytest.raises(Conflict, match='e.g. "ALICE4"'):    # as the student typed it
        check_display_name("ALICE", ["alice", "alice2", "Alice3"])
    with pytest.raises(Conflict, match='e.g. "Kim2"'):
        check_display_name("\uff2b\uff49\uff4d", ["kim"])     # the same name in full-width letters
    with pytest.raises(Conflict) as info:
        check_display_name("y" * 40, ["y" * 40])
    assert names.suggest("y" * 40, {"y" * 40}) == "y" * 39 + "2"


@pytest.mark.parametrize("name, prefix", [
    ("alice", "alice-"),
    ("José Núñez", "jose-nunez-"),
    ("李雷", "student-"),
    ("---", "student-"),
    ("A very long name indeed, truly", "a-very-long-name-"),   # cut at 16, not mid-dash
    ("x" * 40, "x" * 16 + "-"),
    ("abcdefghijklmno pq", "abcdefghijklmno-"),                   # no dash before the suffix's own
])
def test_a_students_cluster_id_is_a_slug_of_the_name_and_a_random_suffix(name, prefix):
    cid = cluster_id_for(name)
    assert cid.startswith(prefix) and re.fullmatch(r"[0-9a-f]{4}", cid[len(prefix):])
    assert re.fullmatch(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", cid)


def test_a_cluster_id_is_never_one_already_taken(monkeypatch):
    suffixes = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(names.secrets, "token_hex", lambda n: next(suffixes))
    assert cluster_id_for("alice", taken={"alice-aaaa"}) == "alice-bbbb"


# ---------------------------------------------------------------------- join rate limit
def test_an_address_gets_a_burst_then_one_join_every_six_seconds():
    clock = FakeClock(0.0)
    limiter = JoinLimiter(per_address=10, burst=5, per_minute=600, global_burst=100, clock=clock)
    assert [limiter.take("10.0.0.1") for _ in range(5)] == [0] * 5
    assert limiter.take("10.0.0.1") == 6
    assert limiter.take("10.0.0.2") == 0         # another address is not held back
    clock.now += 5
    assert limiter.take("10.0.0.1") == 1         # a refused join took nothing: the wait only shrinks
    clock.now += 1
    assert limiter.take("10.0.0.1") == 0
    assert limiter.take("10.0.0.1") == 6


def test_the_whole_server_has_a_join_budget_too():
    clock = FakeClock(0.0)
    limiter = JoinLimiter(per_address=10, burst=5, per_minute=60, global_burst=3, clock=clock)
    assert [limiter.take(f"10.0.0.{i}") for i in range(3)] == [0, 0, 0]
    assert limiter.take("10.0.0.9") == 1
    clock.now += 1
    assert limiter.take("10.0.0.9") == 0


def test_the_default_limits_let_a_class_of_sixty_join_at_once_from_sixty_machines():
    limiter = JoinLimiter(clock=FakeClock(0.0))
    assert all(limiter.take(f"10.0.1.{i}") == 0 for i in range(60))
    assert limiter.take("10.0.1.200") > 0


def test_idle_addresses_are_forgotten(monkeypatch):
    clock = FakeClock(0.0)
    monkeypatch.setattr(JoinLimiter, "MAX_ADDRESSES", 3)
    limiter = JoinLimiter(per_minute=6000, global_burst=1000, clock=clock)
    for i in range(3):
        limiter.take(f"10.0.0.{i}")
    clock.now += 60                   # their buckets have refilled
    limiter.take("10.0.0.99")
    assert set(limiter.buckets) == {"10.0.0.99"}
