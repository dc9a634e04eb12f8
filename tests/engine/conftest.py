from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provisioner.cli.main import cli
from provisioner.sandbox.instance import Sandbox, for_merchant
from provisioner.sandbox.wire import Request

PLANTED = {"ACME_ORDER_API_SECRET": "planted-acme-order-secret-7f3a",
           "NORDWIND_ORDER_API_SECRET": "planted-nordwind-order-secret-91c2",
           "NORDWIND_STOREFRONT_SECRET": "planted-nordwind-storefront-secret-4d8e"}


@pytest.fixture
def project(examples: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example merchants in a scratch directory, with planted secret values to scan for."""
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    yield examples


class Outputs:
    """Everything the tool printed, so a test can scan it for secrets."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def run(self, *args: str, input: str | None = None) -> Result:
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
        self.texts.append(result.output + result.stderr)
        return result


@pytest.fixture
def outputs() -> Outputs:
    return Outputs()


def box(merchant: str) -> Sandbox:
    return for_merchant(merchant)


def sandbox_call(merchant: str, method: str, path: str, body: Any = None, **query: str) -> Any:
    sandbox = box(merchant)
    response = sandbox.app.handle(Request(method, path, query=query, headers=sandbox.admin_headers(),
                                          body=json.dumps(body).encode() if body is not None else b""))
    assert response.status == 200, response.payload()
    return response.payload()


def tokens_named(merchant: str, name: str) -> list[dict[str, Any]]:
    return [t for t in sandbox_call(merchant, "GET", "/_sandbox/state")["tokens"] if t["name"] == name]


def converge(outputs: Outputs, merchant: str) -> None:
    assert outputs.run("apply", merchant, "--env", "sandbox", "--auto-approve").exit_code == 0
    runbook = Path("out") / f"{merchant}.sandbox.runbook.md"
    if runbook.exists():
        assert outputs.run("sandbox", "operator", str(runbook)).exit_code == 0
    assert outputs.run("attest", merchant, "--env", "sandbox", "--yes").exit_code == 0


def scan_for_secrets(root: Path, outputs: Outputs, secrets: list[str]) -> None:
    """No planted or created secret in any output or any file the tool wrote (sinks excepted)."""
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix not in (".db", ".db-wal", ".db-shm")
             and ".provision/secrets" not in str(p) and not p.name.endswith(".token")]
    for secret in secrets:
        assert not any(secret in text for text in outputs.texts), "a secret reached the output"
        for path in files:
            assert secret not in path.read_text(encoding="utf-8", errors="replace"), f"a secret is in {path}"


def env_file_variables(path: Path) -> dict[str, str]:
    """The variables a `$GITHUB_ENV` file sets, in GitHub's multiline syntax (`NAME<<DELIMITER`,
    the value, the delimiter); a later assignment of a name wins, as on the runner."""
    lines = path.read_text(encoding="utf-8").splitlines()
    variables: dict[str, str] = {}
    index = 0
    while index < len(lines):
        name, separator, delimiter = lines[index].partition("<<")
        assert separator and delimiter.startswith("PROVISION_EOF_"), lines[index]
        end = lines.index(delimiter, index + 1)
        variables[name] = "\n".join(lines[index + 1:end])
        index = end + 1
    return variables
