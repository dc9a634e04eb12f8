"""Which tests run each line of the scored modules: the suite run once under coverage.py, each test
recorded under its own name (a dynamic context switched by the runner's pytest plugin; in the processes a
test starts, the static context read at start-up by `site_coverage.py`).

Lines run at import (module constants, `def` lines, defaults) are run before any test, under no name:
every test that runs the module depends on them, so they map to all of its tests.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import coverage
from coverage.exceptions import CoverageWarning

from scripts.mutation import pytest_plugin, site_coverage
from scripts.mutation.execute import Place, RunnerError, run_pytest

IMPORT_TIME = ""  # the context of lines run before the first test began


@dataclass
class CoverageMap:
    lines: dict[str, dict[int, list[str]]]  # module path → line → tests that ran it (IMPORT_TIME: at import)
    tests: dict[str, dict[str, float | str]]  # test → outcome and duration under measurement
    seconds: float

    def module_tests(self, path: str) -> set[str]:
        return {test for tests in self.lines.get(path, {}).values() for test in tests} - {IMPORT_TIME}

    def tests_for(self, path: str, lines: range) -> set[str]:
        by_line = self.lines.get(path, {})
        found = {test for line in lines for test in by_line.get(line, ())}
        if IMPORT_TIME in found:
            found = (found - {IMPORT_TIME}) | self.module_tests(path)
        return found

    def duration(self, test: str) -> float:
        value = self.tests.get(test, {}).get("duration", 0.0)
        return float(value)

    def to_json(self) -> str:
        return json.dumps({"lines": self.lines, "tests": self.tests, "seconds": self.seconds})

    @classmethod
    def from_json(cls, text: str) -> CoverageMap:
        data = json.loads(text)
        lines = {path: {int(line): tests for line, tests in by_line.items()} for path, by_line in data["lines"].items()}
        return cls(lines, data["tests"], float(data["seconds"]))


def _coveragerc(copy: Path, modules: list[str]) -> str:
    include = "".join(f"\n    {copy / module}" for module in modules)
    # Warnings would reach the output of CLI processes that tests read; none of them matters here.
    return (f"[run]\ninclude ={include}\nparallel = true\nsigterm = true\npatch =\n    _exit\n    fork\n"
            "disable_warnings =\n    no-data-collected\n    module-not-imported\n    module-not-measured\n"
            "    already-imported\n    no-ctracer\n    couldnt-parse\n")


def install_plugin(hooks: Path) -> None:
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "_mutation_plugin.py").write_text(Path(pytest_plugin.__file__).read_text(encoding="utf-8"),
                                               encoding="utf-8")


def collect(python: str, place: Place, modules: list[str], pytest_args: list[str], timeout: float,
            log: Path) -> CoverageMap:
    """Run the suite in `place.copy` (a fresh copy) under coverage of `modules` (paths relative to it)."""
    copy = place.copy
    if (copy / "sitecustomize.py").exists():
        raise RunnerError("the project has a sitecustomize.py at its root: per-test coverage needs that name")
    state = copy / ".mutation-coverage"
    (state / "data").mkdir(parents=True)
    (state / "coveragerc").write_text(_coveragerc(copy, modules), encoding="utf-8")
    (copy / "sitecustomize.py").write_text(Path(site_coverage.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    (state / "active").touch()
    try:
        run = run_pytest(python, Place(copy, place.hooks, state, place.scratch), pytest_args, timeout, log)
    finally:
        (state / "active").unlink()
    if run.exit_code is None:
        current = state / "current-test"
        running = current.read_text(encoding="utf-8") if current.is_file() else "(none yet)"
        raise RunnerError(f"the measured test run took over {timeout:.0f} s (the test running then: {running}):\n"
                          f"{run.log_tail()}")
    if run.exit_code not in (0, 1):
        raise RunnerError(f"the measured test run ended with pytest status {run.exit_code}:\n{run.log_tail()}")
    combined = coverage.Coverage(data_file=str(state / "data" / "coverage"), config_file=False)
    with warnings.catch_warnings():
        # A process a test killed (SIGKILL) leaves an empty data file: nothing was measured there to lose.
        warnings.simplefilter("ignore", CoverageWarning)
        combined.combine([str(state / "data")])
    data = combined.get_data()
    lines: dict[str, dict[int, list[str]]] = {module: {} for module in modules}
    for measured in data.measured_files():
        try:
            relative = Path(measured).resolve().relative_to(copy).as_posix()
        except ValueError:
            continue
        if relative in lines:
            lines[relative] = {line: sorted(tests) for line, tests in data.contexts_by_lineno(measured).items()}
    return CoverageMap(lines, run.results, run.seconds)
