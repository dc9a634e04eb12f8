"""A warm server of this checkout, in a socket folder of the test's own, and the launcher to run
commands through it (the console script's code, whatever the venv installed as `provision`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO

LAUNCH = "import sys; from provisioner.launch import main; sys.argv[0] = 'provision'; main()"
WAIT_SECONDS = 20.0


@dataclass
class Warm:
    runtime: Path
    env: dict[str, str]
    pythonpath: str = str(REPO)
    started: list[str] = field(default_factory=list)

    def environment(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}

    def run(self, *args: str, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", LAUNCH, *args], cwd=cwd, env=self.environment(**extra),
                              capture_output=True, text=True, timeout=120)

    def popen(self, *args: str, cwd: Path | None = None, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", LAUNCH, *args], cwd=cwd, env=self.environment(**extra),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def control(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "provisioner.cli", "warm", *args],
                              env=self.environment(**extra), capture_output=True, text=True, timeout=60)

    def folder(self) -> Path:
        return self.runtime / "provision-warm"

    def log(self) -> str:
        logs = list(self.folder().glob("*.log"))
        return logs[0].read_text(encoding="utf-8") if logs else ""

    def commands_run(self) -> int:
        return self.log().count("command process")

    def sockets(self) -> list[Path]:
        return list(self.folder().glob("*.sock")) if self.folder().exists() else []

    def wait_until_gone(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while self.sockets() and time.monotonic() < deadline:  # bounded by the deadline
            time.sleep(0.05)
        assert not self.sockets(), "the server did not exit"


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[Warm]:
    """No server yet: `warm.control("start")` starts one. Whatever runs is stopped at the end."""
    # A socket's path has ~108 bytes: a short folder, not pytest's long tmp_path.
    runtime = Path(tempfile.mkdtemp(prefix="pw", dir="/tmp"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PROVISION")}
    env.update(XDG_RUNTIME_DIR=str(runtime), PYTHONPATH=str(REPO))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    made = Warm(runtime, env)
    try:
        yield made
    finally:
        made.control("stop")
        os.chmod(runtime, 0o700)
        shutil.rmtree(runtime, ignore_errors=True)
