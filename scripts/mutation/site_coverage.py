"""Copied as `sitecustomize.py` into the root of the copy whose tests are measured, so that every Python
process with that copy on its path measures the scored modules: the pytest run itself and the processes
its tests start (`python -m provisioner.cli`, `provision`, a served sandbox), even those given a
scrubbed environment, as long as their `PYTHONPATH` names the copy.

A started process names the test that started it from the file `current-test`, written by the pytest
plugin as each test begins (tests run one at a time while measuring). Data is written per process and
combined afterwards. Nothing happens unless the file `active` is there: only while measuring.
"""

from __future__ import annotations

from pathlib import Path

STATE = Path(__file__).resolve().parent / ".mutation-coverage"


def _start() -> None:
    if not (STATE / "active").is_file():
        return
    import coverage

    current = STATE / "current-test"
    context = current.read_text(encoding="utf-8") if current.is_file() else ""
    coverage.Coverage(data_file=str(STATE / "data" / "coverage"), data_suffix=True, auto_data=True,
                      config_file=str(STATE / "coveragerc"), context=context or None).start()


_start()
