"""Every bad input ends as `file:line:col: message`, exit 4, nothing else on stderr, and no traceback;
files YAML allows in other encodings or line endings stay valid. (How fast: `make bench`.)"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.errors import ExitCode
from tests.adversarial import corpus

CASES = corpus.cases()


def _validate(workdir: Path, content: bytes) -> tuple[int, str, str]:
    (workdir / "merchants" / "m.yaml").write_bytes(content)
    result = CliRunner().invoke(cli, ["validate", "merchants/m.yaml"], catch_exceptions=False)
    return result.exit_code, result.output, result.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_merchant_file_is_one_precise_diagnostic(workdir: Path, name: str) -> None:
    case = CASES[name]
    code, _, stderr = _validate(workdir, case.content)
    lines = stderr.splitlines()
    assert code == ExitCode.INVALID_CONFIG, stderr
    assert lines[-1] == f"{len(lines) - 1} problem(s) found" and "Traceback" not in stderr
    first = lines[0]
    assert first.startswith(f"merchants/m.yaml:{case.line}:{case.column}: "), first[:300]
    assert case.message in first, first[:300]
    assert len(first) < 400 and "\x00" not in stderr and "\x1b" not in stderr


@pytest.mark.parametrize("name", sorted(corpus.still_valid()))
def test_encodings_and_line_endings_yaml_allows_stay_valid(workdir: Path, name: str) -> None:
    code, output, stderr = _validate(workdir, corpus.still_valid()[name])
    assert code == 0, stderr
    assert "1 merchant file(s) valid" in output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(workdir: Path) -> None:
    path = workdir / "merchants" / "m.yaml"
    path.write_text(corpus.VALID, encoding="utf-8")
    path.chmod(0)
    result = CliRunner().invoke(cli, ["validate", "merchants/m.yaml"], catch_exceptions=False)
    assert result.exit_code == ExitCode.INVALID_CONFIG
    assert result.stderr.startswith("merchants/m.yaml:1:1: cannot read the file: Permission denied")


def test_a_file_that_fails_to_read(workdir: Path) -> None:
    """A read error whoever runs it (root included): /proc/self/mem refuses a read at offset 0."""
    (workdir / "merchants" / "m.yaml").symlink_to("/proc/self/mem")
    result = CliRunner().invoke(cli, ["validate", "merchants/m.yaml"], catch_exceptions=False)
    assert result.exit_code == ExitCode.INVALID_CONFIG
    assert result.stderr.startswith("merchants/m.yaml:1:1: cannot read the file: ")


def _with_qa_token(workdir: Path, ref: str) -> None:
    (workdir / "merchants" / "m.yaml").write_text(corpus.VALID.replace("env:M_QA_TOKEN", ref), encoding="utf-8")


@pytest.mark.parametrize(("content", "message"), [
    (None, "is larger than 16384 bytes"),  # /dev/zero: refused at once, not read until memory runs out
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not UTF-8 text"),
    (b"line one\nline two\n", "is not text"),
    (b"", "is an empty file"),
])
def test_a_file_secret_is_capped_and_must_be_text(workdir: Path, content: bytes | None, message: str) -> None:
    if content is None:
        ref = "file:/dev/zero"
    else:
        (workdir / "token.bin").write_bytes(content)
        ref = "file:token.bin"
    _with_qa_token(workdir, ref)
    result = CliRunner().invoke(cli, ["plan", "m", "--env", "qa"], catch_exceptions=False)
    assert result.exit_code == ExitCode.AUTH, result.stderr
    assert result.stderr == f"error: secret {ref} {message}" + result.stderr.split(message, 1)[1]
    assert result.stderr.count("\n") == 1


def test_a_port_in_use_is_one_line_exit_1(examples: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["sandbox", "serve", "acme", "--port", str(port)], catch_exceptions=False)
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ") and "Traceback" not in result.stderr


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_a_usage_error(examples: Path, port: str) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "serve", "acme", "--port", port], catch_exceptions=False)
    assert result.exit_code == ExitCode.ERROR, result.output
    assert "Invalid value for '--port'" in result.stderr and "Traceback" not in result.stderr
