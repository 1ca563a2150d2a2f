"""The kubelet's stage table checked as a state machine: names resolve, every stage and fault can happen."""
from __future__ import annotations

from engine.kubelet.containers import EFFECTS, GUARDS, SELECTORS
from engine.kubelet.stages import (AFTER_EXIT, BACKOFF_DELAYS, CONTAINER_START, EXITED, FAULT_KINDS, POD_START,
                                   PROFILE_FALLBACKS, SANDBOX_READY, STAGES)
from engine.profile import Profile

START = {"pod": POD_START, "container": CONTAINER_START}
# States no stage starts from, and why: the pod scope hands over to the containers in SandboxReady;
# the restart decision (code, by restartPolicy) leaves Exited at once; Done is final.
END = {"pod": {SANDBOX_READY}, "container": {EXITED, "Done"}}
# Transitions made in code rather than by a stage row.
CODE_EDGES = {("container", EXITED): set(AFTER_EXIT)}
# Fault kinds no stage selects: the probes read them (engine/kubelet/probes.py).
PROBE_FAULTS = {"readiness", "liveness"}


def _states(scope: str) -> set[str]:
    return {s.when for s in STAGES if s.scope == scope}


def _reachable(scope: str) -> set[str]:
    seen, todo = set(), [START[scope]]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        todo.extend(s.next for s in STAGES if s.scope == scope and s.when == state)
        todo.extend(CODE_EDGES.get((scope, state), ()))
    return seen


def test_stage_names_are_unique_and_scopes_known():
    names = [s.name for s in STAGES]
    assert len(names) == len(set(names))
    assert {s.scope for s in STAGES} == {"pod", "container"}


def test_every_next_names_a_state_some_stage_starts_from_or_a_declared_end():
    for stage in STAGES:
        assert stage.next in _states(stage.scope) | END[stage.scope], stage.name
    for scope, ends in END.items():
        assert not ends & _states(scope), f"{scope}: an end state has stages: {ends & _states(scope)}"


def test_every_effect_selector_and_guard_named_exists():
    for stage in STAGES:
        for name in (stage.on_start, stage.effect):
            assert name is None or name in EFFECTS, (stage.name, name)
        assert stage.selector is None or stage.selector in SELECTORS, stage.name
        assert stage.guard is None or stage.guard in GUARDS, stage.name
        assert not stage.blocked or stage.guard is not None, f"{stage.name}: blocked events without a guard"


def test_every_registered_name_is_used_by_a_stage():
    used = {n for s in STAGES for n in (s.on_start, s.effect) if n}
    assert used == set(EFFECTS)
    assert {s.selector for s in STAGES if s.selector} == set(SELECTORS)
    assert {s.guard for s in STAGES if s.guard} == set(GUARDS)


def test_every_delay_is_a_profile_field_a_fallback_or_a_backoff():
    fields = set(Profile.__dataclass_fields__)
    for stage in STAGES:
        if stage.delay is not None:
            assert stage.delay in fields | set(PROFILE_FALLBACKS) | set(BACKOFF_DELAYS), stage.name


def test_every_stage_is_reachable_from_the_start_state():
    for scope in ("pod", "container"):
        reachable = _reachable(scope)
        unreachable = [s.name for s in STAGES if s.scope == scope and s.when not in reachable]
        assert not unreachable, f"{scope}: no path from {START[scope]} to {unreachable}"


def test_every_fault_kind_selects_a_reachable_stage_or_is_a_probe_fault():
    reachable = _reachable("container")
    by_fault = {s.fault for s in STAGES if s.fault}
    assert by_fault | PROBE_FAULTS == set(FAULT_KINDS) and not by_fault & PROBE_FAULTS
    for stage in STAGES:
        if stage.fault is not None:
            assert stage.when in reachable, stage.name


def test_exits_say_how_the_process_ends_and_every_stage_says_what_it_models():
    for stage in STAGES:
        assert stage.description, stage.name
        if stage.next == EXITED:
            assert stage.effect == "exit-process" and stage.exit_code is not None and stage.log, stage.name
