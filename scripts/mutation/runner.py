"""The mutation run: which tests cover each line (once), then for each module its mutants, each run in a
copy of the project against the tests that cover the mutated line, fastest first, stopping at the first
failure. A mutant a failing test notices is killed; one that hangs past its time limit is killed by
timeout; one no test covers is "not covered"; the rest survive.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
from typing import TypeVar

from scripts.mutation.coverage_map import CoverageMap, collect, install_plugin
from scripts.mutation.execute import Place, PytestRun, RunnerError, allow_runs, run_pytest, stop_all, write_args
from scripts.mutation.mutants import Mutant, generate
from scripts.mutation.workspace import copy_project, digest, forget_compiled, project_files

KILLED, TIMEOUT, SURVIVED, NOT_COVERED = "killed", "timeout", "survived", "not covered"
STARTUP_ALLOWANCE = 30.0  # seconds a pytest run may take besides its tests (start-up, collection)


@dataclass
class Settings:
    root: Path
    modules: dict[str, str]  # name → file, relative to root
    workers: int = 2
    max_mutants: int | None = None
    seed: int = 0
    timeout_factor: float = 3.0
    pytest_args: list[str] = field(default_factory=list)  # which tests; none: the project's own testpaths
    whole_suite: bool = False
    baseline: bool = False  # run the covering tests once without mutant, in a worker's copy, before the mutants
    cache_dir: Path | None = None
    python: str = sys.executable
    coverage_timeout: float = 1800.0  # the whole suite once, measured: about twice its normal time
    also_measure: list[str] = field(default_factory=list)  # files measured too, so the cached coverage serves them


@dataclass
class MutantResult:
    mutant: Mutant
    status: str
    tests: int  # how many tests it was run against
    seconds: float
    killed_by: str = ""
    whole_suite: bool = False  # killed only when run against the whole suite
    line_text: str = ""

    @property
    def killed(self) -> bool:
        return self.status in (KILLED, TIMEOUT)


@dataclass
class ModuleResult:
    name: str
    path: str
    generated: int
    results: list[MutantResult]
    excluded_tests: list[str]  # tests that fail without any mutant: never counted as killing one
    seconds: float

    def count(self, *statuses: str) -> int:
        return sum(result.status in statuses for result in self.results)

    @property
    def score(self) -> float:
        """Killed (a timeout included) out of all mutants run, as a percentage."""
        return 100.0 * self.count(KILLED, TIMEOUT) / len(self.results) if self.results else 100.0


Progress = Callable[[str], None]
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def _ordered(tests: set[str], durations: Callable[[str], float]) -> list[str]:
    return sorted(tests, key=lambda test: (durations(test), test))


def _time_limit(settings: Settings, tests: list[str], durations: Callable[[str], float]) -> float:
    return settings.timeout_factor * sum(durations(test) for test in tests) + STARTUP_ALLOWANCE


class _Workers:
    """One copy of the project per worker; a mutant is written into a free copy and taken out after."""

    def __init__(self, places: list[Place]) -> None:
        self.free: Queue[Place] = Queue()
        for place in places:
            self.free.put(place)

    def run_mutant(self, settings: Settings, mutant: Mutant, source: str, tests: list[str],
                   timeout: float) -> PytestRun:
        place = self.free.get()
        target = place.copy / mutant.path
        try:
            target.write_bytes(mutant.apply(source).encode("utf-8"))
            forget_compiled(target)
            arguments = write_args(place.state / "tests.txt", tests)
            return run_pytest(settings.python, place, ["-x", arguments], timeout, place.state / "mutant.log")
        finally:
            target.write_bytes(source.encode("utf-8"))
            forget_compiled(target)
            self.free.put(place)


def _classify(mutant: Mutant, run: PytestRun, tests: int, line_text: str) -> MutantResult:
    if run.exit_code is None:
        return MutantResult(mutant, TIMEOUT, tests, run.seconds, "(time limit)", line_text=line_text)
    if run.exit_code == 0:
        return MutantResult(mutant, SURVIVED, tests, run.seconds, line_text=line_text)
    failed = run.failed
    # Any other status is the mutant's doing: the same tests passed without it (the baseline run).
    killed_by = failed[0] if failed else f"(pytest status {run.exit_code}: the tests could not start)"
    return MutantResult(mutant, KILLED, tests, run.seconds, killed_by, line_text=line_text)


def _coverage(settings: Settings, files: list[Path], work: Path, hooks: Path, progress: Progress) -> CoverageMap:
    paths = sorted(set(settings.modules.values()) | set(settings.also_measure))
    key = digest(settings.root, files, *paths, *settings.pytest_args, settings.python, sys.version)
    cached = settings.cache_dir / f"coverage-{key[:32]}.json" if settings.cache_dir else None
    if cached is not None and cached.is_file():
        progress(f"per-test coverage: reused {cached} (the project has not changed since it was measured)")
        return CoverageMap.from_json(cached.read_text(encoding="utf-8"))
    progress("per-test coverage: running the tests once under coverage.py (the longest step) ...")
    copy = copy_project(settings.root, files, work / "coverage")
    measured = collect(settings.python, Place(copy, hooks, copy / ".mutation-coverage", work / "tmp-coverage"),
                       paths, settings.pytest_args, settings.coverage_timeout, work / "coverage.log")
    failed = sum(entry.get("outcome") == "failed" for entry in measured.tests.values())
    progress(f"per-test coverage: {len(measured.tests)} tests in {measured.seconds:.0f} s"
             + (f", {failed} failed while measured" if failed else ""))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(measured.to_json(), encoding="utf-8")
    return measured


def _sample(mutants: list[Mutant], settings: Settings) -> list[Mutant]:
    if settings.max_mutants is None or len(mutants) <= settings.max_mutants:
        return mutants
    chosen = random.Random(settings.seed).sample(range(len(mutants)), settings.max_mutants)
    return [mutants[index] for index in sorted(chosen)]


def _score_module(settings: Settings, name: str, path: str, measured: CoverageMap, workers: _Workers,
                  baseline_place: Place, progress: Progress) -> ModuleResult:
    source = (settings.root / path).read_text(encoding="utf-8")
    source_lines = source.splitlines()
    generated = generate(source, path)
    mutants = _sample(generated, settings)
    known = set(measured.tests)
    covering = {mutant: measured.tests_for(path, mutant.lines) & known for mutant in mutants}
    every = set().union(*covering.values()) if covering else set()
    started = time.monotonic()
    durations = measured.duration
    # A test that failed while coverage was measured fails without any mutant: it would "kill" them all.
    excluded = {test for test in every if measured.tests[test].get("outcome") == "failed"}
    progress(f"[{name}] {len(mutants)} of {len(generated)} mutants, covered by {len(every)} tests")
    if every and settings.baseline:
        ordered = _ordered(every, durations)
        progress(f"[{name}] a run without mutant of the {len(ordered)} tests that cover them ...")
        arguments = write_args(baseline_place.state / "tests.txt", ordered)
        baseline = run_pytest(settings.python, baseline_place, [arguments],
                              _time_limit(settings, ordered, durations) + 60, baseline_place.state / "baseline.log")
        if baseline.exit_code is None or baseline.exit_code not in (0, 1):
            raise RunnerError(f"[{name}] the covering tests do not run without a mutant (pytest status "
                              f"{baseline.exit_code}):\n{baseline.log_tail()}")
        excluded |= set(baseline.failed)

        def baseline_duration(test: str) -> float:
            return float(baseline.results.get(test, {}).get("duration", measured.duration(test)))

        durations = baseline_duration
    if excluded:
        progress(f"[{name}] {len(excluded)} tests fail without any mutant and are left out: "
                 + ", ".join(sorted(excluded)[:5]) + (" ..." if len(excluded) > 5 else ""))
    lock = threading.Lock()
    done: list[int] = [0]

    def one(mutant: Mutant) -> MutantResult:
        line_text = source_lines[mutant.line - 1].strip() if mutant.line <= len(source_lines) else ""
        tests = _ordered(covering[mutant] - excluded, durations)
        if not tests:
            result = MutantResult(mutant, NOT_COVERED, 0, 0.0, line_text=line_text)
        else:
            run = workers.run_mutant(settings, mutant, source, tests, _time_limit(settings, tests, durations))
            result = _classify(mutant, run, len(tests), line_text)
        with lock:
            done[0] += 1
            progress(f"[{name} {done[0]}/{len(mutants)}] {result.status:<11} {mutant.location} {mutant.change}"
                     + (f" ({result.seconds:.1f} s, {result.tests} tests)" if result.tests else ""))
        return result

    results = _in_parallel(settings.workers, one, mutants)
    if settings.whole_suite:
        _whole_suite(settings, name, source, results, measured, excluded, workers, progress)
    return ModuleResult(name, path, len(generated), results, sorted(excluded), time.monotonic() - started)


def _whole_suite(settings: Settings, name: str, source: str, results: list[MutantResult], measured: CoverageMap,
                 excluded: set[str], workers: _Workers, progress: Progress) -> None:
    """Survivors again, against every test but those that fail without a mutant."""
    failing = excluded | {test for test, entry in measured.tests.items() if entry.get("outcome") == "failed"}
    deselect = [argument for test in sorted(failing) for argument in ("--deselect", test)]
    limit = settings.timeout_factor * sum(measured.duration(test) for test in measured.tests) + STARTUP_ALLOWANCE
    survivors = [index for index, result in enumerate(results) if not result.killed]
    progress(f"[{name}] {len(survivors)} survivors against the whole suite ...")

    def again(index: int) -> None:
        result = results[index]
        run = workers.run_mutant(settings, result.mutant, source, [*settings.pytest_args, *deselect], limit)
        if run.exit_code != 0:
            results[index] = _classify(result.mutant, run, len(measured.tests), result.line_text)
            results[index].whole_suite = True
        progress(f"[{name}] whole suite: {results[index].status:<11} {result.mutant.location} {result.mutant.change}")

    _in_parallel(settings.workers, again, survivors)


def _in_parallel(workers: int, task: Callable[[_Item], _Result], items: list[_Item]) -> list[_Result]:
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        results = list(pool.map(task, items))
    except BaseException:
        # Interrupted (or a run failed): end the runs under way now, or the pool would wait for them all.
        stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def run(settings: Settings, progress: Progress) -> list[ModuleResult]:
    files = project_files(settings.root)
    listed = {file.as_posix() for file in files}
    for name, path in settings.modules.items():
        if path not in listed:
            raise RunnerError(f"module {name}: {path} is not a file of the project (moved or split? edit the "
                              "module list in scripts/mutation/modules.py)")
    allow_runs()
    work = Path(tempfile.mkdtemp(prefix="mutation-")).resolve()
    try:
        hooks = work / "hooks"
        install_plugin(hooks)
        measured = _coverage(settings, files, work, hooks, progress)
        places = [Place(copy_project(settings.root, files, work / f"worker-{i}"), hooks, work / f"state-{i}",
                        work / f"tmp-{i}") for i in range(max(1, settings.workers))]
        workers = _Workers(places)
        return [_score_module(settings, name, path, measured, workers, places[0], progress)
                for name, path in settings.modules.items()]
    except BaseException:
        stop_all()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
