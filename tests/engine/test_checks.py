"""`provision verify` and `provision doctor` against the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conftest import PLANTED, Outputs, converge, sandbox_call


def test_verify_probes_the_order_api_with_the_referenced_secret(project: Path, outputs: Outputs,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert outputs.run("verify", "acme", "--env", "sandbox").exit_code == 1
    converge(outputs, "acme")
    result = outputs.run("verify", "acme", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    assert "ok  plugin GE Order API secret: /api/ge-order-api accepts the secret" in result.output
    monkeypatch.setenv("ACME_ORDER_API_SECRET", "a-rotated-secret-nobody-set-in-centra")
    failed = outputs.run("verify", "acme", "--env", "sandbox")
    assert failed.exit_code == 1 and "answered status 'no'" in failed.output
    for text in outputs.texts:
        assert PLANTED["ACME_ORDER_API_SECRET"] not in text and "a-rotated-secret" not in text


def test_doctor_names_what_the_token_cannot_read(project: Path, outputs: Outputs) -> None:
    assert outputs.run("doctor", "acme", "--env", "sandbox").exit_code == 0
    admin = sandbox_call("acme", "GET", "/_sandbox/state")["tokens"][0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{admin['id']}",
                 {"permissions": [p for p in admin["permissions"] if p not in ("TaxRule:read", "Event:read")]})
    result = outputs.run("doctor", "acme", "--env", "sandbox")
    assert result.exit_code == 3
    assert "tax_groups       managed      DENIED: needs TaxRule:read" in result.output
    assert "event_listeners  not managed  DENIED: needs Event:read" in result.output
    assert "cannot read tax_groups (needs TaxRule:read)" in result.stderr
