"""`provision secret new`: a strong secret made into the sink its reference reads, never shown."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from provisioner.errors import ExitCode
from tests.engine.conftest import Outputs, converge, scan_for_secrets

REF = "file:.provision/secrets/acme-order-api-secret"


def _use_file_reference() -> None:
    path = Path("merchants/acme.yaml")
    path.write_text(path.read_text().replace("env:ACME_ORDER_API_SECRET", REF))


def test_a_file_reference_gets_a_0600_file_and_the_runbook_says_where(project: Path, outputs: Outputs) -> None:
    _use_file_reference()
    result = outputs.run("secret", "new", "acme", "order_api_secret", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    secret_file = Path(".provision/secrets/acme-order-api-secret")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    value = secret_file.read_text().strip()
    assert len(value) >= 40
    assert "the value is not shown" in result.output
    converge(outputs, "acme")  # the operator pastes the value from the file into the emulator's AMS
    runbook = Path("out/acme.sandbox.runbook.md").read_text()
    assert "the contents of the file `.provision/secrets/acme-order-api-secret`" in runbook
    assert outputs.run("verify", "acme", "--env", "sandbox").exit_code == 0
    scan_for_secrets(project, outputs, [value])


def test_an_existing_secret_is_not_overwritten_without_replace(project: Path, outputs: Outputs) -> None:
    _use_file_reference()
    assert outputs.run("secret", "new", "acme", "order_api_secret", "--env", "sandbox").exit_code == 0
    first = Path(".provision/secrets/acme-order-api-secret").read_text()
    again = outputs.run("secret", "new", "acme", "order_api_secret", "--env", "sandbox")
    assert again.exit_code == ExitCode.ERROR and "--replace" in again.stderr
    assert Path(".provision/secrets/acme-order-api-secret").read_text() == first
    assert outputs.run("secret", "new", "acme", "order_api_secret", "--env", "sandbox", "--replace").exit_code == 0
    assert Path(".provision/secrets/acme-order-api-secret").read_text() != first


def test_an_env_reference_goes_to_later_ci_steps(project: Path, outputs: Outputs,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = project / ".provision" / "secrets" / "github_env"
    env_file.parent.mkdir(parents=True)
    monkeypatch.setenv("PROVISION_ENV_FILE", str(env_file))
    result = outputs.run("secret", "new", "acme", "order_api_secret", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    assert "environment variable ACME_ORDER_API_SECRET" in result.output
    written = env_file.read_text().splitlines()
    assert written[0].startswith("ACME_ORDER_API_SECRET<<PROVISION_EOF_") and len(written[1]) >= 40
    scan_for_secrets(project, outputs, [written[1]])


def test_an_env_reference_outside_ci_is_a_clear_error_that_changes_nothing(
        project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ENV", raising=False)
    monkeypatch.delenv("PROVISION_ENV_FILE", raising=False)
    result = outputs.run("secret", "new", "acme", "order_api_secret", "--env", "qa")
    assert result.exit_code == ExitCode.ERROR and "Traceback" not in result.stderr
    assert "secrets.order_api_secret is env:ACME_ORDER_API_SECRET" in result.stderr
    assert "reference a file (file:PATH)" in result.stderr and "--secret-sink" not in result.stderr
    assert not Path(".provision/secrets").exists()


def test_an_unknown_secret_name_changes_nothing(project: Path, outputs: Outputs) -> None:
    result = outputs.run("secret", "new", "acme", "order_api_secert", "--env", "sandbox")
    assert result.exit_code == ExitCode.ERROR
    assert "references no secret 'order_api_secert' (secrets: order_api_secret)" in result.stderr
    assert not Path(".provision/secrets").exists()


def test_the_sandbox_needs_no_new_secret_and_a_workstation_is_told_what_works(
        project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ENV", raising=False)
    monkeypatch.delenv("PROVISION_ENV_FILE", raising=False)
    result = outputs.run("secret", "new", "acme", "order_api_secret", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    assert "nothing generated: the sandbox uses its own stand-in" in result.output
    assert not Path(".provision/secrets").exists() or not list(Path(".provision/secrets").iterdir())
    refused = outputs.run("secret", "new", "acme", "order_api_secret", "--env", "qa")
    assert refused.exit_code == 1 and "file:PATH" in refused.stderr and "--env sandbox" in refused.stderr


def test_a_missing_token_suggests_the_sandbox(project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_QA_TOKEN", raising=False)
    result = outputs.run("plan", "acme", "--env", "qa")
    assert result.exit_code == 3 and "ACME_QA_TOKEN" in result.stderr and "--env sandbox" in result.stderr
