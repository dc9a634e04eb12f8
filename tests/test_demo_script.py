"""scripts/demo.sh's headings follow the tool's colour rules: NO_COLOR wins, FORCE_COLOR forces, a pipe is plain."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _first_heading(tmp_path: Path, **env: str) -> str:
    """Run the demo with a `provision` that fails at once: only the first heading is printed."""
    stub = tmp_path / "bin" / "provision"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 9\n", encoding="utf-8")
    stub.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    base["PATH"] = f"{stub.parent}{os.pathsep}{base['PATH']}"
    result = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh"), "acme"], cwd=tmp_path, env={**base, **env},
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 9, result.stderr
    assert "== 1. Validate" in result.stdout
    return result.stdout


@pytest.mark.parametrize("env", [{}, {"NO_COLOR": "1"}, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, {"FORCE_COLOR": "0"}])
def test_headings_are_plain_when_piped_or_no_color(tmp_path: Path, env: dict[str, str]) -> None:
    assert "\033[" not in _first_heading(tmp_path, **env)


def test_force_color_makes_headings_bold_in_a_pipe(tmp_path: Path) -> None:
    assert "\033[1m== 1. Validate" in _first_heading(tmp_path, FORCE_COLOR="1")


@pytest.mark.parametrize("merchant", ["nordwind", "dataline"])
def test_the_demo_runs_for_every_example_merchant(tmp_path: Path, merchant: str) -> None:
    """`make demo DEMO_MERCHANT=…`: nordwind's environments are staging/production, dataline has one
    environment, no runbook and no Global-e; acme is `make demo` itself."""
    shutil.copytree(REPO / "merchants", tmp_path / "merchants")
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base['PATH']}"
    result = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh"), merchant], cwd=tmp_path, env=base,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "== 10. Plan again" in result.stdout and "No changes" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
