"""`env:NAME` secrets read from the environment or from `PROVISION_TOKENS` lines, as data only."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.config import secrets


def test_a_reference_reads_its_line_of_provision_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_QA_TOKEN", raising=False)
    monkeypatch.setenv("PROVISION_TOKENS", "# qa tokens\n\nACME_QA_TOKEN=qa-value-1\n"
                                           "export ACME_PROD_TOKEN='prod value 2'\r\nOTHER=\"x=y\"\n")
    assert secrets.reveal("env:ACME_QA_TOKEN") == "qa-value-1"
    assert secrets.reveal("env:ACME_PROD_TOKEN") == "prod value 2"
    assert secrets.reveal("env:OTHER") == "x=y"


def test_the_environment_wins_over_provision_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_QA_TOKEN", "from-env")
    monkeypatch.setenv("PROVISION_TOKENS", "ACME_QA_TOKEN=from-list")
    assert secrets.reveal("env:ACME_QA_TOKEN") == "from-env"


def test_shell_in_a_line_is_a_value_never_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    monkeypatch.delenv("ACME_QA_TOKEN", raising=False)
    monkeypatch.setenv("PROVISION_TOKENS", f"ACME_QA_TOKEN=$(touch {pwned})`touch {pwned}`;touch {pwned}\n")
    assert secrets.reveal("env:ACME_QA_TOKEN") == f"$(touch {pwned})`touch {pwned}`;touch {pwned}"
    assert not pwned.exists()
    assert "ACME_QA_TOKEN" not in __import__("os").environ  # read, never exported


@pytest.mark.parametrize("line", ["touch /tmp/x", "A B=1", "1NAME=x", "$(id)=x", "=s3cr3t"])
def test_a_malformed_line_is_named_by_number_never_shown(monkeypatch: pytest.MonkeyPatch, line: str) -> None:
    monkeypatch.delenv("ACME_QA_TOKEN", raising=False)
    monkeypatch.setenv("PROVISION_TOKENS", f"ACME_QA_TOKEN=ok\n{line}\n")
    with pytest.raises(secrets.SecretUnavailable) as caught:
        secrets.reveal("env:ACME_QA_TOKEN")
    assert "PROVISION_TOKENS line 2 is not NAME=value" in str(caught.value)
    assert line not in str(caught.value)


def test_a_missing_reference_names_both_places(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_QA_TOKEN", raising=False)
    monkeypatch.setenv("PROVISION_TOKENS", "OTHER=1")
    with pytest.raises(secrets.SecretUnavailable, match="PROVISION_TOKENS has no line ACME_QA_TOKEN="):
        secrets.reveal("env:ACME_QA_TOKEN")
