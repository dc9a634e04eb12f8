"""Merchants at once for a caller with outcomes of its own, as a GitOps apply: outcomes in the merchants'
order whatever order they finish in, and an interrupt (seen by a merchant's changes, or Ctrl-C in the
run's thread) lets no merchant start after it."""

from __future__ import annotations

import threading

import pytest

from provisioner.engine.fleet.at_once import AtOnce, Stopped
from provisioner.gitops.outcomes import Outcome

BOUND = 30.0  # seconds: a wait that is never satisfied fails the test instead of hanging it


def shared(parallelism: int) -> AtOnce[Outcome]:
    return AtOnce(None, parallelism)


def test_outcomes_are_handed_on_in_the_merchants_order_though_they_finish_in_another() -> None:
    run, told = shared(4), []
    finished: list[str] = []
    last_done = threading.Event()

    def one(merchant: str) -> Outcome:
        if merchant != "d":
            assert last_done.wait(BOUND), "the merchants did not run at once"
        finished.append(merchant)
        if merchant == "d":
            last_done.set()
        return Outcome(merchant, "applied")

    try:
        assert run.run(["a", "b", "c", "d"], one, lambda outcome: told.append(outcome.merchant)) == []
    finally:
        run.finish()
    assert finished[0] == "d" and told == ["a", "b", "c", "d"]


def test_a_merchant_stopped_by_an_interrupt_lets_no_other_start() -> None:
    run, told = shared(1), []  # two merchants at a time
    started: list[str] = []
    b_started = threading.Event()

    def one(merchant: str) -> Outcome:
        started.append(merchant)
        if merchant == "a":
            assert b_started.wait(BOUND)
            raise Stopped(Outcome("a", "failed", "interrupted", exit_code=1))
        b_started.set()
        assert run.stop.wait(BOUND)  # b is under way when a stops: it finishes what it had in flight
        return Outcome(merchant, "applied")

    try:
        not_started = run.run(["a", "b", "c", "d"], one, lambda outcome: told.append(outcome))
    finally:
        run.finish()
    assert run.stop.is_set() and sorted(started) == ["a", "b"] and not_started == ["c", "d"]
    assert [(o.merchant, o.status) for o in told] == [("a", "failed"), ("b", "applied")]


def test_ctrl_c_in_the_runs_thread_stops_the_merchants_not_started_and_waits_for_the_others() -> None:
    run, told = shared(1), []  # two merchants at a time: a and b, then c in a's place, d waits
    b_may_finish, c_started = threading.Event(), threading.Event()

    def one(merchant: str) -> Outcome:
        if merchant == "b":
            assert b_may_finish.wait(BOUND)
        if merchant == "c":
            c_started.set()
            assert run.stop.wait(BOUND)  # under way when Ctrl-C comes
        return Outcome(merchant, "applied")

    def received(outcome: Outcome) -> None:
        told.append(outcome.merchant)
        if outcome.merchant == "a":
            assert c_started.wait(BOUND)
            b_may_finish.set()
            raise KeyboardInterrupt  # Ctrl-C reaches the run's thread, as the runner's cancel does

    try:
        not_started = run.run(["a", "b", "c", "d"], one, received)
    finally:
        run.finish()
    assert run.stop.is_set() and told == ["a", "b", "c"] and not_started == ["d"]


def test_a_bug_in_a_merchant_surfaces_and_the_run_still_closes() -> None:
    run = shared(2)

    def one(merchant: str) -> Outcome:
        raise RuntimeError(f"bug in {merchant}")

    with pytest.raises(RuntimeError, match="bug in a"):
        try:
            run.run(["a"], one, lambda outcome: None)
        finally:
            assert run.finish() is None


def test_ctrl_c_while_merchants_are_handed_to_the_threads_starts_none_after_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    run, told = shared(2), []
    submit = ThreadPoolExecutor.submit
    handed: list[str] = []

    def interrupted_at_the_third(self: ThreadPoolExecutor, fn: object, merchant: str) -> object:
        if len(handed) == 2:
            raise KeyboardInterrupt
        handed.append(merchant)
        return submit(self, fn, merchant)  # type: ignore[arg-type]

    monkeypatch.setattr(ThreadPoolExecutor, "submit", interrupted_at_the_third)
    try:
        not_started = run.run(["a", "b", "c", "d"], lambda merchant: Outcome(merchant, "applied"),
                              lambda outcome: told.append(outcome.merchant))
    finally:
        run.finish()
    assert run.stop.is_set() and not_started[-2:] == ["c", "d"]
    assert sorted(told + not_started) == ["a", "b", "c", "d"]  # a and b: applied, or not started if stopped first
