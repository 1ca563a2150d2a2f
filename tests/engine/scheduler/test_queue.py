"""SchedulingQueue on simulated time: priority order, back-off doubling, unschedulable flush."""
from __future__ import annotations

from scheduler_testkit import make_pod

from engine.clock import Clock
from engine.scheduler.queue import SchedulingQueue


def test_pops_higher_priority_first_then_oldest():
    clock = Clock()
    q = SchedulingQueue(clock)
    q.add(make_pod("low-1", priority=0))
    clock.run_until(1)
    q.add(make_pod("high", priority=100))
    q.add(make_pod("low-2", priority=0))
    assert [q.pop().key[1] for _ in range(3)] == ["high", "low-1", "low-2"]
    assert q.pop() is None


def test_backoff_doubles_to_ten_seconds():
    clock = Clock()
    q = SchedulingQueue(clock, initial_backoff=1, max_backoff=10)
    q.add(make_pod("p"))
    attempts = []
    for _ in range(7):
        while (qp := q.pop()) is None:
            assert clock.step(), "the back-off timer must bring the pod back"
        attempts.append(clock.now)
        q.add_unschedulable(qp, {"NodeResourcesFit"})
        q.move_all()                    # an event right away: the pod must still sit out its back-off
        assert q.where(qp.key) == "backoff"
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert gaps == [1, 2, 4, 8, 10, 10]


def test_unschedulable_pods_wait_for_a_relevant_event():
    clock = Clock()
    q = SchedulingQueue(clock)
    q.add(make_pod("p"))
    qp = q.pop()
    q.add_unschedulable(qp, {"TaintToleration"})
    clock.run_until(30)
    assert q.where(qp.key) == "unschedulable"
    assert q.move_all(frozenset({"NodeResourcesFit"})) == 0
    assert q.move_all(frozenset({"TaintToleration"})) == 1
    assert q.where(qp.key) == "active"          # back-off (1 s) long over


def test_unschedulable_pods_are_flushed_after_five_minutes():
    clock = Clock()
    q = SchedulingQueue(clock)
    q.add(make_pod("p"))
    qp = q.pop()
    clock.run_until(10)
    q.add_unschedulable(qp, {"NodeResourcesFit"})
    clock.run_until(309.9)
    assert q.where(qp.key) == "unschedulable"
    clock.run_until(310)
    assert q.where(qp.key) == "active"


def test_deleted_while_in_flight_is_not_requeued():
    clock = Clock()
    q = SchedulingQueue(clock)
    q.add(make_pod("p"))
    qp = q.pop()
    q.delete(qp.key)
    q.add_unschedulable(qp, {"NodeResourcesFit"})
    assert qp.key not in q
