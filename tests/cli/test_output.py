"""How the CLI writes: through one `echo` that applies `escape.log_text`, every expected error through
`show_error`, the debug log, click's usage errors, the progress line, a question and a stream the engine
writes to all escaped; JSON printed as the same data (YAML: tests/test_escape.py)."""

from __future__ import annotations

import ast
import io
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import terminal
from provisioner.cli.main import cli, configure_logging
from provisioner.errors import ConfigError, Diagnostic, ExitCode, ProvisionerError

CLI = Path(__file__).resolve().parents[2] / "provisioner" / "cli"
HOSTILE = "x\n::error::injected\r\n  ::add-mask::y ##[group]z \x1b[2J"


def _writes(tree: ast.AST) -> list[str]:
    """Calls that write to stdout or stderr other than through `terminal.echo`."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        call = ast.unparse(node.func)
        if call in ("print", "click.echo", "click.secho", "sys.stdout.write", "sys.stderr.write"):
            found.append(f"{call} at line {node.lineno}")
    return found


def test_the_cli_writes_only_through_echo() -> None:
    for path in sorted(CLI.glob("*.py")):
        writes = _writes(ast.parse(path.read_text(encoding="utf-8")))
        if path.name == "terminal.py":
            assert writes == [f"click.echo at line {_line_of_echo(path)}"], writes  # `echo` itself
        else:
            assert writes == [], (path.name, writes)


def _line_of_echo(path: Path) -> int:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "echo")
    return next(n.lineno for n in ast.walk(function) if isinstance(n, ast.Call) and ast.unparse(n.func) == "click.echo")


def test_echo_is_the_last_check(capsys: pytest.CaptureFixture[str]) -> None:
    terminal.echo("ok\n::error::x")
    terminal.echo("a ##[group] b", err=True, nl=False)
    captured = capsys.readouterr()
    assert captured.out == "ok\n\\x3a:error::x\n" and captured.err == "a #\\x23[group] b"


def test_an_error_is_escaped_line_by_line_and_cut(capsys: pytest.CaptureFixture[str]) -> None:
    terminal.show_error(ProvisionerError(HOSTILE))
    assert capsys.readouterr().err == ("error: x\n\\x3a:error::injected\\r\n"
                                       "  \\x3a:add-mask::y #\\x23[group]z \\x1b[2J\n")
    terminal.show_error(ProvisionerError("a" * 9000))
    assert capsys.readouterr().err == f"error: {'a' * 8000}… (cut, 1,000 more characters)\n"


def test_an_invalid_files_diagnostics_are_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    terminal.show_error(ConfigError([Diagnostic("merchants/a.yaml", 2, 3, f"name {HOSTILE!s}"),
                                     Diagnostic("merchants/a.yaml", 1, 1, "duplicate key")]))
    assert capsys.readouterr().err == (
        "merchants/a.yaml:1:1: duplicate key\n"
        "merchants/a.yaml:2:3: name x\\n::error::injected\\r\\n  ::add-mask::y #\\x23[group]z \\x1b[2J\n"
        "2 problem(s) found\n")


def test_a_stream_the_engine_writes_to_is_checked_each_write() -> None:
    sink = io.StringIO()
    stream = terminal.SafeStream(sink)
    assert stream.writable() and stream.write("::x,y\r\n") == 7 and stream.write("a,##[b\r\n") == 8
    stream.flush()
    assert sink.getvalue() == "\\x3a:x,y\r\na,#\\x23[b\r\n"


def test_the_debug_log_is_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("provisioner")
    level = logger.level
    try:
        configure_logging(True)
        logging.getLogger("provisioner.centra.client").debug("answer: %s", HOSTILE)
        logged = capsys.readouterr().err
    finally:
        for handler in [h for h in logger.handlers if h.get_name() == "provision-cli"]:
            logger.removeHandler(handler)
        logger.setLevel(level)
    assert logged.endswith("answer: x\n\\x3a:error::injected\\r\n  \\x3a:add-mask::y #\\x23[group]z \\x1b[2J\n")


@pytest.mark.parametrize("args", [[HOSTILE], ["plan", "acme", "--env", "qa", "--format", HOSTILE],
                                  ["plan", "acme", "--env", "qa", "--shard", HOSTILE]])
def test_a_usage_error_quoting_what_was_typed_is_escaped(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == ExitCode.ERROR and "Traceback" not in result.stderr
    assert "\\x1b[2J" in result.stderr and "\x1b" not in result.stderr
    for line in result.stderr.splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line, line


def test_the_progress_line_shows_foreign_names_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("COLUMNS", "400")
    stream = Terminal()
    with terminal.Progress("planning", 2, unit="merchants", stream=stream) as progress:
        progress.working_on("evil\n::error::x\x1b[2J")
        progress.waiting(5, "for ##[group] \x1b]0;t\x07")
        frame = stream.getvalue().split("\r")[-1]
    assert "evil\\n::error::x\\x1b[2J" in frame and "waiting for #\\x23[group] \\x1b]0;t\\x07 (5 s)" in frame


def test_a_wait_without_a_progress_line_is_escaped(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    terminal.note_wait(3, "for ##[x]\n::error::y")
    assert capsys.readouterr().err == "  … waiting for #\\x23[x]\\n::error::y (3 s)\n"


def test_a_question_is_asked_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setattr("click.confirm", lambda question, default: asked.append(question) or True)
    confirm = terminal.confirmer()
    assert confirm is not None and confirm("Revoke x\n::error::y?")
    assert asked == ["Revoke x\\n::error::y?"]


def test_resolve_json_reads_back_the_same(examples: Path) -> None:
    merchant = examples / "merchants" / "acme.yaml"
    merchant.write_text(merchant.read_text(encoding="utf-8").replace(
        "store: GlobalE Store", 'store: "##[group]\\u202e"'), encoding="utf-8")
    result = CliRunner().invoke(cli, ["resolve", "acme", "--env", "sandbox", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "##[" not in result.stdout and "\u202e" not in result.stdout
    assert json.loads(result.stdout)["store"] == "##[group]\u202e"
