"""`provision sandbox serve` and `reset` through the real CLI."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from tests.sandbox.conftest import CATALOG_QUERY

# Every wait on the served process is bounded: a server that never prints, never answers or ignores
# Ctrl-C fails its test in seconds and is killed, instead of hanging the run and outliving it.
WAIT = 10.0
# A shell that starts the test run in the background hands its children SIGINT ignored, and Python then
# installs no KeyboardInterrupt handler; the served process gets back the handler a terminal's Ctrl-C meets.
SERVE = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
         "sys.argv[0] = 'provision'; runpy.run_module('provisioner.cli', run_name='__main__')")


class Served:
    """`provision sandbox serve` in a child process, its stdout read line by line with a deadline."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", SERVE, "sandbox", "serve", *args], cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:  # ends at EOF, when the process exits or is killed
            self.lines.put(line)
        self.lines.put("")  # EOF

    def readline(self) -> str:
        try:
            line = self.lines.get(timeout=WAIT)
        except queue.Empty:
            pytest.fail(f"sandbox serve printed nothing for {WAIT:g} s")
        if not line:
            _, stderr = self.process.communicate(timeout=WAIT)
            pytest.fail(f"sandbox serve ended (exit code {self.process.returncode}): {stderr}")
        return line

    def interrupt(self, wait: float = WAIT) -> tuple[int, str]:
        """Ctrl-C; the exit code and stderr. A process still running after `wait` is killed and fails the test."""
        self.process.send_signal(signal.SIGINT)
        try:
            _, stderr = self.process.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"sandbox serve was still running {wait:g} s after Ctrl-C")
        return self.process.returncode, stderr

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=WAIT)  # a killed process exits; this reaps it and closes the pipes


@pytest.fixture
def served(examples: Path) -> Iterator[Served]:
    server = Served(examples, "acme", "--port", "0")
    try:
        yield server
    finally:
        server.kill()


def test_serve_answers_real_http_and_never_prints_the_token(examples: Path, served: Served) -> None:
    first, second = served.readline(), served.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+/graphql", first)
    assert url, first
    token_file = examples / ".provision/sandbox/acme.token"
    token = token_file.read_text().strip()
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    assert token not in first + second
    response = httpx.post(url.group(0), json={"query": CATALOG_QUERY, "variables": {"status": ["ACTIVE"], "page": 1}},
                          headers={"Authorization": f"Bearer {token}"}, timeout=WAIT)
    assert len(response.json()["data"]["products"]) == 30
    code, stderr = served.interrupt()
    assert (code, stderr.splitlines()[-1]) == (130, "interrupted")
    assert token not in stderr and "Traceback" not in stderr


def test_a_server_that_ignores_ctrl_c_fails_in_bounded_time_and_is_killed(examples: Path) -> None:
    """The harness itself: what the test above meets if serve stopped answering SIGINT."""
    deaf = Served(examples, "acme", "--port", "0")
    assert "/graphql" in deaf.readline()  # serving
    deaf.process.send_signal(signal.SIGSTOP)  # a stopped process ignores SIGINT until it is continued
    try:
        try:
            deaf.interrupt(wait=0.2)  # it cannot stop while stopped: any bound shows the harness
        except pytest.fail.Exception as failed:
            assert "still running 0.2 s after Ctrl-C" in str(failed)
        else:
            pytest.fail(f"a stopped server ended on Ctrl-C (exit code {deaf.process.returncode})")
        assert deaf.process.returncode == -signal.SIGKILL
    finally:
        deaf.kill()


def test_reset_restores_the_fixture(examples: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["sandbox", "reset", "acme", "--products", "12"]).exit_code == 0
    from provisioner.sandbox.instance import for_merchant
    box = for_merchant("acme")
    with box.store.transaction() as db:
        db.execute("DELETE FROM plugins")
        assert db.execute("SELECT COUNT(*) FROM products").fetchone()[0] == 12
    result = runner.invoke(cli, ["sandbox", "reset", "acme"])
    assert result.exit_code == 0, result.output
    with box.store.transaction() as db:
        assert db.execute("SELECT COUNT(*) FROM plugins").fetchone()[0] == 4  # 3 unrelated + acme's checkout plugin


def test_unknown_merchant_is_a_clear_error(examples: Path) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "reset", "acmee"])
    assert result.exit_code == 1
    assert "did you mean 'acme'" in result.output
