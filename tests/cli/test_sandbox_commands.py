"""`provision sandbox serve` and `reset` through the real CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from provisioner.cli.main import cli
from tests.sandbox.conftest import CATALOG_QUERY


def test_serve_answers_real_http_and_never_prints_the_token(examples: Path) -> None:
    command = [sys.executable, "-m", "provisioner.cli", "sandbox", "serve", "acme", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=examples,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}) as process:
        _check_serving(process, examples)


def _check_serving(process: subprocess.Popen[str], examples: Path) -> None:
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        second = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/graphql", first)
        assert url, first
        token = (examples / ".provision/sandbox/acme.token").read_text().strip()
        assert oct((examples / ".provision/sandbox/acme.token").stat().st_mode & 0o777) == "0o600"
        assert token not in first + second
        response = httpx.post(url.group(0), json={"query": CATALOG_QUERY, "variables": {"status": ["ACTIVE"],
                                                                                         "page": 1}},
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert len(response.json()["data"]["products"]) == 30
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


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
