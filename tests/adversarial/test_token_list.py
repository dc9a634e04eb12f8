"""CI keeps every Centra token in one secret, `PROVISION_TOKENS` (NAME=value lines). `provision` reads it
as data: a plan over HTTP authenticates with a token found only there, and nothing in the secret runs
or reaches an output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.conftest import ServedMerchant
from tests.engine.conftest import Outputs


def test_a_plan_over_http_with_its_token_only_in_provision_tokens(served_acme: ServedMerchant, outputs: Outputs,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    monkeypatch.delenv("SERVED_ADMIN_TOKEN")
    monkeypatch.setenv("PROVISION_TOKENS", f"# comment\nOTHER=$(touch {pwned})\n"
                                           f"SERVED_ADMIN_TOKEN={served_acme.token}\n")
    result = outputs.run("--debug", "plan", "acme", "--env", "served")
    assert result.exit_code == 0, result.output + result.stderr
    assert "Plan: 14 to create" in result.output
    assert not pwned.exists()
    assert not any(served_acme.token in text for text in outputs.texts)


def test_without_the_line_the_plan_is_exit_3_naming_both_places(served_acme: ServedMerchant, outputs: Outputs,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVED_ADMIN_TOKEN")
    monkeypatch.setenv("PROVISION_TOKENS", f"OTHER_TOKEN={served_acme.token}\n")
    result = outputs.run("plan", "acme", "--env", "served")
    assert result.exit_code == 3, result.output + result.stderr
    assert "PROVISION_TOKENS has no line SERVED_ADMIN_TOKEN=" in result.stderr
    assert served_acme.token not in result.stderr
