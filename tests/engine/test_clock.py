"""The simulated clock: ordering, cancellation, time moving only by events, seeded randomness."""
from __future__ import annotations

import pytest

from engine.clock import Clock, parse_rfc3339, rfc3339, rfc3339_micro


def test_events_run_in_time_order_then_in_scheduling_order(clock: Clock) -> None:
    ran: list[str] = []
    clock.schedule(5, lambda: ran.append("t5"))
    clock.schedule(1, lambda: ran.append("t1"))
    clock.schedule(2, lambda: ran.append("t2-first"))
    clock.schedule_at(2, lambda: ran.append("t2-second"))
    clock.schedule(2, lambda: ran.append("t2-third"))
    while clock.step():
        pass
    assert ran == ["t1", "t2-first", "t2-second", "t2-third", "t5"]
    assert clock.now == 5


def test_step_sets_now_to_the_event_time(clock: Clock) -> None:
    seen: list[float] = []
    clock.schedule(3.5, lambda: seen.append(clock.now))
    assert clock.step() is True
    assert seen == [3.5]
    assert clock.step() is False  # nothing left: time stays put
    assert clock.now == 3.5


def test_zero_delay_runs_after_the_current_work_at_the_same_time(clock: Clock) -> None:
    ran: list[tuple[str, float]] = []

    def first() -> None:
        ran.append(("first", clock.now))
        clock.schedule(0, lambda: ran.append(("follow-up", clock.now)))

    clock.schedule(1, first)
    clock.schedule(1, lambda: ran.append(("sibling", clock.now)))
    clock.run_until(10)
    assert ran == [("first", 1.0), ("sibling", 1.0), ("follow-up", 1.0)]


def test_cancelled_event_never_runs_and_peek_skips_it(clock: Clock) -> None:
    ran: list[str] = []
    early = clock.schedule(1, lambda: ran.append("early"))
    clock.schedule(4, lambda: ran.append("late"))
    assert clock.peek() == 1
    early.cancel()
    assert clock.peek() == 4
    assert clock.pending() == 1
    clock.run_until(10)
    assert ran == ["late"]


def test_peek_is_none_when_nothing_is_scheduled(clock: Clock) -> None:
    assert clock.peek() is None
    handle = clock.schedule(1, lambda: None)
    handle.cancel()
    assert clock.peek() is None
    assert clock.pending() == 0


def test_run_until_runs_due_events_and_moves_time_to_the_target(clock: Clock) -> None:
    ran: list[float] = []
    for t in (1, 2, 3, 7):
        clock.schedule(t, lambda t=t: ran.append(t))
    assert clock.run_until(3) == 3
    assert ran == [1, 2, 3]
    assert clock.now == 3
    assert clock.run_until(5) == 0  # no event due: time still moves
    assert clock.now == 5
    assert clock.peek() == 7
    clock.run_until(4)  # never backwards
    assert clock.now == 5


def test_events_scheduled_while_running_until_are_run_if_due(clock: Clock) -> None:
    ran: list[float] = []

    def tick() -> None:
        ran.append(clock.now)
        if clock.now < 10:
            clock.schedule(2, tick)

    clock.schedule(0, tick)
    clock.run_until(7)
    assert ran == [0, 2, 4, 6]
    assert clock.now == 7


def test_schedule_rejects_negative_delay_and_clamps_past_times(clock: Clock) -> None:
    with pytest.raises(ValueError):
        clock.schedule(-1, lambda: None)
    clock.run_until(10)
    handle = clock.schedule_at(3, lambda: None)
    assert handle.when == 10
    assert clock.peek() == 10


def test_same_seed_gives_the_same_random_sequence() -> None:
    a, b, c = Clock(seed=42), Clock(seed=42), Clock(seed=43)
    seq_a = [a.rng.random() for _ in range(20)]
    seq_b = [b.rng.random() for _ in range(20)]
    seq_c = [c.rng.random() for _ in range(20)]
    assert seq_a == seq_b
    assert seq_a != seq_c


def test_same_seed_and_schedule_give_the_same_history() -> None:
    def history(seed: int) -> list[tuple[float, int]]:
        clock = Clock(seed=seed)
        out: list[tuple[float, int]] = []

        def jittered(i: int) -> None:
            out.append((clock.now, i))
            if i < 30:
                clock.schedule(clock.rng.uniform(0, 3), lambda: jittered(i + 1))

        clock.schedule(0, lambda: jittered(0))
        clock.schedule(0, lambda: jittered(100))
        clock.run_until(1000)
        return out

    assert history(7) == history(7)
    assert history(7) != history(8)


def test_timestamps_render_simulated_time_as_rfc3339() -> None:
    assert rfc3339(0) == "2026-01-01T00:00:00Z"
    assert rfc3339(3661.9) == "2026-01-01T01:01:01Z"  # whole seconds, like metav1.Time
    assert rfc3339_micro(1.25) == "2026-01-01T00:00:01.250000Z"
    assert parse_rfc3339("2026-01-01T01:01:01Z") == 3661
    assert parse_rfc3339(rfc3339(86400 * 3)) == 86400 * 3
