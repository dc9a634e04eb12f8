"""`make mutation` end to end, on a throwaway project: a killed mutant, a surviving one and one no test
covers are told apart; a line only a CLI subprocess runs is covered by the test that started it (and that
subprocess imports the mutant); a run past its time limit is ended with everything it started."""

from __future__ import annotations

import json
import os
import select
import sys
import textwrap
from pathlib import Path

import pytest

from scripts.mutation.__main__ import main
from scripts.mutation.coverage_map import install_plugin
from scripts.mutation.execute import Place, run_pytest

CALC = textwrap.dedent('''\
    """A module to mutate: `clamp` is tested except at its boundary, `negate` not at all."""

    import sys


    def clamp(value: int, limit: int) -> int:
        if value > limit:
            return limit
        return value


    def negate(value: int) -> int:
        return -value


    if __name__ == "__main__":
        print(clamp(int(sys.argv[1]), 5))
''')

TESTS = textwrap.dedent('''\
    import os
    import subprocess
    import sys

    from pkg.calc import clamp


    def test_clamp() -> None:
        assert clamp(9, 5) == 5
        assert clamp(2, 5) == 2


    def test_command_line() -> None:
        """The module run as a program, with a scrubbed environment (only PYTHONPATH kept)."""
        done = subprocess.run([sys.executable, "-m", "pkg.calc", "7"], capture_output=True, text=True, timeout=60,
                              env={"PYTHONPATH": os.environ["PYTHONPATH"]}, check=False)
        assert done.stdout == "5\\n", done.stderr
''')


def _project(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
                                         'filterwarnings = ["error"]\n', encoding="utf-8")
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "calc.py").write_text(CALC, encoding="utf-8")
    (root / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (root / "tests" / "test_calc.py").write_text(TESTS, encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def quick_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throwaway project needs no installed pytest plugin: its runs start in a fraction of a second."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_killed_surviving_and_uncovered_mutants_are_told_apart(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path / "project")
    report = tmp_path / "report.json"
    status = main(["--root", str(project), "--path", "pkg/calc.py", "--no-cache", "--json", str(report),
                   "--fail-under", "100"])
    assert status == 1  # the score is below 100 %: information, an error only as asked
    (module,) = json.loads(report.read_text(encoding="utf-8"))
    results = {(r["line"], r["before"], r["after"]): r for r in module["results"]}
    line = {text.strip(): n for n, text in enumerate(CALC.splitlines(), start=1)}
    boundary = line["if value > limit:"]
    assert results[(boundary, ">", ">=")]["status"] == "survived"  # no test at value == limit
    assert results[(boundary, ">", "<=")]["status"] == "killed"
    assert results[(boundary, ">", "<=")]["killed_by"] == "tests/test_calc.py::test_clamp"
    assert results[(line["return limit"], "limit", "None")]["status"] == "killed"
    assert results[(line["return -value"], "-value", "None")]["status"] == "not covered"
    # Only the subprocess runs this line: its test covers it, and the subprocess ran the mutant.
    program = results[(line["print(clamp(int(sys.argv[1]), 5))"], "5", "6")]
    assert program["status"] == "killed" and program["killed_by"] == "tests/test_calc.py::test_command_line"
    assert program["tests"] == 1
    counts = {key: module[key] for key in ("mutants", "killed", "survived", "not_covered", "timeouts")}
    assert counts == {"mutants": len(module["results"]), "killed": len(module["results"]) - 2, "survived": 1,
                      "not_covered": 1, "timeouts": 0}
    assert module["score"] == round(100 * counts["killed"] / counts["mutants"], 1)
    out = capsys.readouterr().out
    assert f"pkg/calc.py:{boundary}: > → >=" in out and "Below 100 %" in out
    assert (project / "pkg" / "calc.py").read_text(encoding="utf-8") == CALC  # mutants ran in copies only


HANGS = textwrap.dedent('''\
    import os
    import subprocess
    import sys
    import threading


    def test_hangs() -> None:
        """Starts a process that holds a FIFO open, then never ends."""
        holder = ("import os, time; fd = os.open(os.environ['HANG_FIFO'], os.O_WRONLY); os.write(fd, b'x'); "
                  "time.sleep(600)")
        subprocess.Popen([sys.executable, "-c", holder])
        threading.Event().wait()
''')


def test_a_run_past_its_time_limit_is_ended_with_what_it_started(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_hang.py").write_text(HANGS, encoding="utf-8")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opened first, so the holder's open does not block
    monkeypatch.setenv("HANG_FIFO", str(fifo))
    install_plugin(tmp_path / "hooks")
    place = Place(project, tmp_path / "hooks", tmp_path / "state", tmp_path / "scratch")
    try:
        run = run_pytest(sys.executable, place, ["tests"], 3.0, tmp_path / "log")
        assert run.exit_code is None and 3.0 <= run.seconds < 60, run.log_tail()
        # The holder wrote its byte, then its end closed: it was ended with the run (EOF, not "no data yet").
        received = b""
        for _ in range(3):  # the byte, then the end; each read waits for readiness, bounded
            ready, _, _ = select.select([reader], [], [], 30)
            assert ready, "the process the test started is still running"
            chunk = os.read(reader, 16)
            if not chunk:
                break
            received += chunk
        assert received == b"x" and chunk == b""
    finally:
        os.close(reader)
