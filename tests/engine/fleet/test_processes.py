"""A fleet planned in several processes is the fleet planned in one: the same plans, failures, skips and
exit code, progress for every merchant, and the run's caps divided so that together they hold."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.fleet import processes as fleet_processes
from provisioner.engine.fleet.hosts import Gates
from provisioner.engine.fleet.processes import Limits
from provisioner.errors import ExitCode, ProvisionerError
from tests.engine.fleet_fixtures import Served, merchant_yaml, served_centra, write_failing, write_fleet

__all__ = ["served_centra"]  # the fixture, imported for pytest

NAMES = [f"m{number:02d}" for number in range(9)]


def _plan(processes: int, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """`provision plan` as a separate process (the only kind that may fork: no other thread in it)."""
    env = {**os.environ, fleet_processes.PROCESSES_ENV: str(processes)}
    done = subprocess.run([sys.executable, "-m", "provisioner.cli", "plan", "--all", "--env", "qa", "--format",
                           "json", "--out", f"plan-{processes}.json", "--debug", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    return done, json.loads(Path(f"plan-{processes}.json").read_text())


def _without_times(document: dict[str, object]) -> dict[str, object]:
    plans = document["plans"]
    assert isinstance(plans, list)
    return {**document, "plans": [{k: v for k, v in plan.items() if k != "generated_at"} for plan in plans]}


def test_several_processes_plan_exactly_what_one_does(workdir: Path, served_centra: Served,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    write_fleet(workdir, served_centra.url, NAMES)
    write_failing(workdir, served_centra.url)
    (workdir / "merchants" / "prodonly.yaml").write_text(
        merchant_yaml("prodonly", served_centra.url, merchant_id=78, environments={"production": None}),
        encoding="utf-8")
    one, alone = _plan(1)
    three, spread = _plan(3)
    assert one.returncode == three.returncode == ExitCode.AUTH, three.stderr  # 3 outranks 4, as in one process
    assert _without_times(spread) == _without_times(alone)
    assert [p["merchant"] for p in spread["plans"]] == NAMES  # type: ignore[index]
    assert {e["merchant"] for e in spread["errors"]} == {"broken", "tokenless"}  # type: ignore[index]
    assert [s["merchant"] for s in spread["skipped"]] == ["prodonly"]  # type: ignore[index]
    assert "in 3 process(es)" in three.stderr and "in 1 process(es)" in one.stderr
    assert "Traceback" not in three.stderr and served_centra.box.admin_token not in three.stdout + three.stderr


def test_an_environment_no_merchant_has_is_still_refused_across_processes(workdir: Path, served_centra: Served) -> None:
    write_fleet(workdir, served_centra.url, NAMES[:4])
    env = {**os.environ, fleet_processes.PROCESSES_ENV: "2"}
    done = subprocess.run([sys.executable, "-m", "provisioner.cli", "plan", "--all", "--env", "staging"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == ExitCode.ERROR and "no selected merchant has an environment 'staging'" in done.stderr


def test_processes_are_used_only_where_forking_is_safe_and_worth_it(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = Limits(parallelism=16, per_host=4)
    monkeypatch.delenv(fleet_processes.PROCESSES_ENV, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2, 3})
    assert fleet_processes.count("qa", 10, limits) == 1  # too few merchants to pay for a process
    assert fleet_processes.count("qa", 100, limits) == 3  # one per 32 merchants, at most one per core
    assert fleet_processes.count("qa", 1000, limits) == 4
    assert fleet_processes.count("sandbox", 1000, limits) == 1  # the sandbox lives in this process
    assert fleet_processes.count("qa", 1000, Limits(parallelism=2, per_host=4)) == 2
    assert fleet_processes.count("qa", 1000, Limits(parallelism=16, per_host=2)) == 2  # a host's cap holds
    monkeypatch.setenv(fleet_processes.PROCESSES_ENV, "1")
    assert fleet_processes.count("qa", 1000, limits) == 1
    monkeypatch.setenv(fleet_processes.PROCESSES_ENV, "8")
    assert fleet_processes.count("qa", 3, limits) == 3
    assert fleet_processes.count("qa", 1000, limits) == 4  # 8 processes would give a host 8 requests at once
    idle = threading.Event()
    other = threading.Thread(target=idle.wait, args=(5,))
    other.start()
    try:
        assert fleet_processes.count("qa", 1000, limits) == 1  # another thread: forking could deadlock
    finally:
        idle.set()
        other.join()
    monkeypatch.setenv(fleet_processes.PROCESSES_ENV, "many")
    with pytest.raises(ProvisionerError, match="must be a number of processes"):
        fleet_processes.count("qa", 1000, limits)


def test_the_caps_are_divided_between_processes() -> None:
    gates = fleet_processes._divided(Limits(parallelism=16, per_host=4), 3)
    assert (gates.cap, gates.per_host) == (5, 1)
    whole = Gates().for_host("https://shop.centra.com").pacer.requests
    assert gates.for_host("https://shop.centra.com").pacer.requests * 3 <= whole
    counted = Gates()
    counted.count({"https://a.example": 3})
    counted.count({"https://a.example": 2, "https://b.example": 1})
    assert counted.requests() == {"https://a.example": 5, "https://b.example": 1}


def _reporting_part(paths: list[Path], on_outcome: fleet_processes.Callable[[object], None],
                    on_wait: fleet_processes.Callable[[float, str], None], gates: Gates) -> None:
    for path in paths:
        on_wait(0.5, f"{path.stem}: waiting")
        on_outcome(("planned", path.stem))
    gates.count({"https://shop.example": len(paths)})


def test_outcomes_waits_and_request_counts_come_back_from_every_process() -> None:
    paths = [Path(f"merchants/{name}.yaml") for name in NAMES]
    outcomes: list[object] = []
    waits: list[str] = []
    gates = Gates()
    fleet_processes.plan(paths, 3, Limits(16, 4), _reporting_part, on_outcome=outcomes.append,
                         on_wait=lambda seconds, label: waits.append(label), gates=gates)
    assert sorted(outcomes) == [("planned", name) for name in NAMES] and len(waits) == len(NAMES)
    assert gates.requests() == {"https://shop.example": len(NAMES)}


def _crashing_part(paths: list[Path], *_: object) -> None:
    raise ValueError(f"a bug while planning {paths[0].stem}")


def _vanishing_part(paths: list[Path], *_: object) -> None:
    os._exit(9)


def test_a_bug_in_a_process_surfaces_with_its_traceback() -> None:
    paths = [Path(f"merchants/{name}.yaml") for name in NAMES[:2]]
    with pytest.raises(RuntimeError, match="a bug while planning m0"):
        fleet_processes.plan(paths, 2, Limits(16, 4), _crashing_part, on_outcome=lambda _: None,
                             on_wait=lambda *_: None, gates=None)


def test_a_process_that_dies_is_a_clear_error() -> None:
    paths = [Path(f"merchants/{name}.yaml") for name in NAMES[:2]]
    with pytest.raises(ProvisionerError, match=r"ended without its results \(exit code 9\)"):
        fleet_processes.plan(paths, 2, Limits(16, 4), _vanishing_part, on_outcome=lambda _: None,
                             on_wait=lambda *_: None, gates=None)


def _interrupted_at_once(paths: list[Path], on_outcome: fleet_processes.Callable[[object], None],
                         on_wait: fleet_processes.Callable[[float, str], None], gates: Gates, *,
                         stop: threading.Event) -> None:
    """Ctrl-C reaches this process before it has started anything (before an apply's threads)."""
    os.kill(os.getpid(), signal.SIGINT)
    assert stop.wait(timeout=10), "Ctrl-C did not set the stop"
    for path in paths:
        on_outcome(("not started", path.stem))


def test_ctrl_c_in_an_apply_process_before_it_starts_reports_its_merchants_not_started() -> None:
    """An apply's processes never die of Ctrl-C: the other processes would be killed mid-change and the
    merchants of this one go unreported. Each still hands on every merchant of its share."""
    paths = [Path(f"merchants/{name}.yaml") for name in NAMES[:4]]
    outcomes: list[object] = []
    interrupts: list[bool] = []
    fleet_processes.plan(paths, 2, Limits(16, 4), _interrupted_at_once, on_outcome=outcomes.append,
                         on_wait=lambda *_: None, gates=None, on_interrupt=lambda: interrupts.append(True))
    assert sorted(outcomes) == [("not started", name) for name in NAMES[:4]]
    assert interrupts == []  # only the processes were interrupted: the run reports, it does not fail


def test_what_was_written_before_the_processes_is_written_once(workdir: Path, served_centra: Served) -> None:
    """A forked process flushes the output buffer it inherits (multiprocessing flushes it before forking)."""
    write_fleet(workdir, served_centra.url, NAMES[:4])
    script = ("import sys\nfrom provisioner.engine.fleet import planner as fleet\nprint('before the run')\n"
              "document = fleet.plan_fleet(fleet.FleetRequest(environment='qa', every=True))\n"
              "print(len(document.plans), 'planned')\n")
    env = {**os.environ, fleet_processes.PROCESSES_ENV: "2"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "before the run\n4 planned\n"  # stdout is a pipe here: fully buffered


# Made before the processes fork, so both share them: an event set once both have tried for a slot,
# and how many have tried.
_turns: tuple[EventType, Any] | None = None  # Any: a multiprocessing.Value("i") (typeshed types it loosely)


def _taking_turns(paths: list[Path], on_outcome: fleet_processes.Callable[[object], None],
                  on_wait: fleet_processes.Callable[[float, str], None], gates: Gates) -> None:
    """Each process tries for a slot without waiting, then waits for one if there was none; one that got a
    slot keeps it until the other has tried too. Reports whether it found a slot free."""
    assert gates.in_flight is not None and _turns is not None
    both_tried, tried = _turns
    for _ in paths:
        free = gates.in_flight.acquire(False)  # type: ignore[call-arg]
        with tried.get_lock():
            tried.value += 1
            if tried.value == 2:
                both_tried.set()
        if not free:
            gates.in_flight.acquire()
        try:
            if free:
                assert both_tried.wait(timeout=10), "the other process never tried for a slot"
            on_outcome(free)
        finally:
            gates.in_flight.release()


def test_the_processes_share_the_runs_cap_on_requests_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    """With room for one request in the whole run, two processes take turns: the one holding the slot keeps
    it while the other tries, and the other finds none free; it then gets the slot, since a process holds
    no slots of its own. Shown by who found a slot free, not by timing."""
    context = multiprocessing.get_context("fork")
    monkeypatch.setattr(sys.modules[__name__], "_turns", (context.Event(), context.Value("i", 0)))
    found: list[object] = []
    fleet_processes.plan([Path("merchants/a.yaml"), Path("merchants/b.yaml")], 2, Limits(parallelism=1, per_host=4),
                         _taking_turns, on_outcome=found.append, on_wait=lambda *_: None, gates=None)
    assert sorted(found, key=bool) == [False, True]  # one found it free, the other had to wait for it
