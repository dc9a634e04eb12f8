"""A pytest plugin for the mutation runner's own test runs, copied next to them as `_mutation_plugin.py`
and loaded with `-p _mutation_plugin`.

It records each test's outcome and duration (in `$MUTATION_STATE_DIR/results.json`: which tests fail
without any mutant, which one killed a mutant, how long each takes) and, while line coverage is being
measured, names the running test: the dynamic context of coverage in this process, and the file
`current-test` that the processes a test starts read to name theirs (see `site_coverage.py`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_STATE = os.environ.get("MUTATION_STATE_DIR")
_results: dict[str, dict[str, Any]] = {}


def _coverage() -> Any:
    module = sys.modules.get("coverage")  # imported only where coverage is measured
    return module.Coverage.current() if module is not None else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    if _STATE:
        (Path(_STATE) / "current-test").write_text(item.nodeid, encoding="utf-8")
    measuring = _coverage()
    if measuring is not None:
        measuring.switch_context(item.nodeid)
    started = time.perf_counter()
    yield
    _results.setdefault(item.nodeid, {"outcome": "passed"})["duration"] = time.perf_counter() - started
    if measuring is not None:
        measuring.switch_context("")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _results.setdefault(report.nodeid, {"outcome": "passed"})
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _STATE:
        (Path(_STATE) / "results.json").write_text(json.dumps(_results), encoding="utf-8")
