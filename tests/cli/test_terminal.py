"""The progress line and colour choices of provisioner/cli/terminal.py, and `apply` showing the plan
before it asks."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provisioner.cli import apply_commands
from provisioner.cli.main import cli
from provisioner.cli.terminal import Progress, colour_wanted
from tests.engine.conftest import sandbox_call, tokens_named


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_total_rate_eta_and_the_rate_limit_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    stream = Terminal()
    with Progress("planning", 3, unit="merchants", stream=stream) as progress:
        progress.working_on("acme")
        progress.advance()
        progress.working_on("nordwind")
        progress.waiting(12.4, "for Centra's rate limit")
        shown_while_waiting = stream.getvalue().split("\r")[-1]
        progress.advance()
        progress.working_on("dataline")
        progress.advance()
    assert "waiting for Centra's rate limit (12 s)" in shown_while_waiting and "1/3" in shown_while_waiting
    assert "nordwind" in shown_while_waiting
    lines = stream.getvalue().split("\r")
    assert "planning" in lines[-1] and "3/3" in lines[-1] and "merchants/s" in lines[-1] and "dataline" in lines[-1]


def test_a_rate_limit_wait_counts_down_and_ends() -> None:
    stream, now = Terminal(), [100.0]
    with Progress("planning", 2, unit="merchants", stream=stream, clock=lambda: now[0]) as progress:
        progress.working_on("acme")
        progress.waiting(12, "for Centra's rate limit")
        assert "waiting for Centra's rate limit (12 s)" in stream.getvalue().split("\r")[-1]
        now[0] += 5
        progress.tick()  # what the countdown thread does each second
        assert "waiting for Centra's rate limit (7 s)" in stream.getvalue().split("\r")[-1]
        now[0] += 8
        progress.tick()
        after = stream.getvalue().split("\r")[-1]
        assert "waiting" not in after and "planning" in after and "acme" in after
    assert progress._ticker is not None and not progress._ticker.is_alive()


def test_a_wait_outlives_other_merchants_finishing(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a fleet, one merchant finishing says nothing about another's wait; the longest wait is shown."""
    monkeypatch.setenv("COLUMNS", "120")
    stream, now = Terminal(), [0.0]
    with Progress("planning", 3, unit="merchants", stream=stream, clock=lambda: now[0]) as progress:
        progress.waiting(5, "acme/qa: for Centra's rate limit")
        progress.waiting(3, "nordwind/qa: for Centra's rate limit")
        now[0] = 1.0
        progress.advance(1, current="dataline: planned")
        assert "waiting acme/qa: for Centra's rate limit (4 s)" in stream.getvalue().split("\r")[-1]
        now[0] = 5.5
        progress.advance(1, current="acme: changes")
        assert "waiting" not in stream.getvalue().split("\r")[-1]


def test_eta_is_the_time_left_at_the_rate_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    stream, now = Terminal(), [0.0]
    with Progress("exporting", 1000, unit="products", stream=stream, clock=lambda: now[0]) as progress:
        now[0] = 10.0  # a wait, then a burst of pages: 400 products in 10 s, so 600 more take 15 s
        progress.advance(400, current="page 5")
        assert "ETA 0:15" in stream.getvalue().split("\r")[-1]
        now[0] = 100.0
        progress.advance(100)
        assert "ETA 1:40" in stream.getvalue().split("\r")[-1]
        progress.waiting(30, "for Centra's rate limit")  # a wait under way adds what is left of it
        assert "ETA 2:10" in stream.getvalue().split("\r")[-1]


def test_the_line_never_wraps_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrapped line is rewritten only in its last row: every frame must fit, however long the label,
    the wait or the merchant's name."""
    monkeypatch.setenv("COLUMNS", "60")
    stream, now = Terminal(), [0.0]
    with Progress("planning", 153, unit="merchants", stream=stream, clock=lambda: now[0]) as progress:
        progress.working_on("nordwind-outdoor-equipment-scandinavia-and-the-baltics: planning")
        now[0] = 3.0
        progress.advance(32, current="nordwind-outdoor-equipment-scandinavia-and-the-baltics: changes")
        progress.waiting(12, "for Centra's rate limit (nordwind-outdoor-equipment.centra.com)")
        progress.advance(1)
    shown = [frame.replace("\x1b[?25l", "").replace("\x1b[?25h", "").rstrip("\n ")
             for frame in stream.getvalue().split("\r")]
    frames = [frame for frame in shown if frame]
    assert len(frames) >= 4 and all(len(frame) <= 60 for frame in frames), frames
    assert any("waiting for Centra" in frame and "…" in frame for frame in frames)
    assert any("33/153" in frame and "ETA" in frame for frame in frames)
    assert any("nordwind-ou…" in frame for frame in frames)


def test_progress_with_an_unknown_total_counts_without_eta() -> None:
    stream = Terminal()
    with Progress("exporting", None, unit="products", stream=stream) as progress:
        progress.advance(100, current="page 1")
        progress.advance(40, current="page 2")
    assert "140" in stream.getvalue() and "page 2" in stream.getvalue()


def test_progress_prints_nothing_when_not_a_terminal() -> None:
    stream = io.StringIO()
    with Progress("planning", 2, unit="merchants", stream=stream) as progress:
        progress.advance(current="acme")
        progress.waiting(3, "for Centra's rate limit")
        progress.advance(current="nordwind")
    assert stream.getvalue() == ""


@pytest.mark.parametrize(("env", "flag", "tty", "wanted"), [
    ({}, False, True, True), ({}, False, False, False), ({"NO_COLOR": "1"}, False, True, False),
    ({"FORCE_COLOR": "1"}, False, False, True), ({"FORCE_COLOR": "0"}, False, True, False),
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False, False), ({}, True, True, False),
])
def test_colour_choice(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], flag: bool, tty: bool,
                       wanted: bool) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert colour_wanted(Terminal() if tty else io.StringIO(), no_color=flag) is wanted


def test_apply_shows_the_plan_then_asks(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def terminal_confirm(*, yes: bool = False) -> object:
        def confirm(question: str) -> bool:
            click.echo(f"ASKED {question}")
            return False
        return confirm

    monkeypatch.setattr(apply_commands, "confirmer", terminal_confirm)
    result = CliRunner().invoke(cli, ["apply", "acme", "--env", "sandbox"])
    assert result.exit_code == 1 and "not confirmed; nothing was changed" in result.stderr
    plan_at, asked_at = result.stdout.index("Plan: 14 to create"), result.stdout.index("ASKED Apply 6 api change")
    assert plan_at < asked_at and result.stdout.count("Plan: 14 to create") == 1
    assert tokens_named("acme", "Global-e integration") == []


def _on_a_terminal(args: list[str]) -> str:
    """The real CLI with a pseudo-terminal as stdin, stdout and stderr: what a person sees."""
    main, child = pty.openpty()
    process = subprocess.Popen([str(Path(sys.executable).parent / "provision"), *args], stdin=child, stdout=child,
                               stderr=child, env={**os.environ, "COLUMNS": "120", "NO_COLOR": ""})
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    process.wait(timeout=60)
    os.close(main)
    assert process.returncode == 0, seen
    return seen.decode("utf-8", errors="replace").replace("\r\n", "\n")  # the terminal adds \r to \n


def test_catalog_export_on_a_terminal_shows_total_and_the_rate_limit_wait(project: Path) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/faults", {"rate_limit": {"count": 1, "retry_after": 1}})
    shown = _on_a_terminal(["catalog", "export", "acme", "--env", "sandbox", "--out", "catalog.csv",
                            "--page-size", "50"])
    with contextlib.closing(sqlite3.connect(".provision/sandbox/acme.db")) as db:
        total = db.execute("SELECT COUNT(*) FROM products WHERE status = 'ACTIVE'").fetchone()[0]
    frames = shown.split("\r")
    assert any("waiting for Centra's rate limit (" in frame for frame in frames)
    assert any(f"/{total}" in frame and "products/s" in frame for frame in frames)
    assert "wrote catalog.csv" in frames[-1] and frames[-1].count("\n") == 2  # the bar, then the result


def test_plan_all_on_a_terminal_shows_one_progress_line(project: Path) -> None:
    frames = _on_a_terminal(["plan", "--all", "--env", "sandbox"]).split("\r")
    assert any("planning" in frame and "/3" in frame and "nordwind" in frame for frame in frames)
    assert "Plan for acme" in frames[-1] and "Plan for nordwind" in frames[-1]


def test_plan_all_on_a_terminal_shows_a_merchants_rate_limit_wait(project: Path) -> None:
    _on_a_terminal(["plan", "--all", "--env", "sandbox"])  # the sandboxes exist before their faults are set
    for merchant in ("acme", "nordwind"):
        sandbox_call(merchant, "PUT", "/_sandbox/faults", {"rate_limit": {"count": 1, "retry_after": 1}})
    frames = _on_a_terminal(["plan", "--all", "--env", "sandbox"]).split("\r")
    assert any("waiting acme/sandbox: for Centra's rate limit (" in frame or
               "waiting nordwind/sandbox: for Centra's rate limit (" in frame for frame in frames)
    last = frames[-1].split("\n")[0]  # the bar's last frame, then the plans
    assert "planning" in last and "3/3" in last and "waiting" not in last



def test_a_question_is_answered_yes_asked_on_a_terminal_or_not_asked_at_all() -> None:
    from provisioner.cli.terminal import confirmer

    always = confirmer(yes=True)
    assert always is not None and always("Revoke it?") is True
    assert confirmer() is None  # pytest's stdin is no terminal: the command refuses or leaves a runbook step
