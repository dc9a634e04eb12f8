"""`provision attest` asks in the runbook's words: AMS labels and values, one setting a line, a secret
by its reference; never Python (`{'order': True}`, `(sensitive)`, internal keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conftest import Outputs


def test_attest_shows_each_setting_as_ams_and_the_runbook_word_it(project: Path, outputs: Outputs,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr("provisioner.cli.apply_commands.confirmer",  # a person at a terminal, saying yes
                        lambda yes=False: lambda question: asked.append(question) or True)
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    assert outputs.run("sandbox", "operator", "out/acme.sandbox.runbook.md").exit_code == 0
    result = outputs.run("attest", "acme", "--env", "sandbox")
    shown = result.output
    assert result.exit_code == 0, shown
    for line in ("The plugin GE Order API (acme/sandbox/plugin_settings/GE Order API):",
                 "  Get orders starting with: Oldest", "  Bundles in orders: Only containing items",
                 "  Debug logging: Yes", "  Secret API key: the value of env:ACME_ORDER_API_SECRET",
                 "  Event triggers:", "    Order: Yes", "    Shipment: No",
                 "  Rule GE Local VAT: Include tax: In prices displayed before and in the checkout"):
        assert f"\n{line}\n" in f"\n{shown}", line
    runbook = Path("out/acme.sandbox.runbook.md").read_text(encoding="utf-8")
    assert "| Get orders starting with | `Oldest` |" in runbook  # the same words as the runbook
    for python in ("True", "False", "(sensitive)", "{'", "orders_starting_with", "only_containing_items"):
        assert python not in shown.split("attested:")[0], python
    assert asked and all(q == "Confirm that the store has these settings?" for q in asked)
    assert "No changes" in outputs.run("plan", "acme", "--env", "sandbox").output
