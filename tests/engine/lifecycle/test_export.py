"""`provision export`: the live store as a merchant file that validates and plans to no changes in every
section the API can read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.conftest import Outputs, converge, sandbox_call

READABLE = {"plugin", "attribute_type", "tax_group", "api_token", "event_listener"}


@pytest.mark.parametrize("merchant", ["acme", "nordwind", "dataline"])
@pytest.mark.parametrize("converged", [True, False])
def test_export_validates_and_plans_no_readable_change(project: Path, outputs: Outputs, merchant: str,
                                                       converged: bool) -> None:
    if converged:
        converge(outputs, merchant)
    exported = Path("out") / f"{merchant}.exported.yaml"
    result = outputs.run("export", merchant, "--env", "sandbox", "--out", str(exported))
    assert result.exit_code == 0, result.output
    Path("merchants", f"{merchant}.yaml").write_text(exported.read_text())
    assert outputs.run("validate").exit_code == 0
    [plan] = json.loads(outputs.run("plan", merchant, "--env", "sandbox", "--format", "json").stdout)["plans"]
    assert all(state["state"] == "managed" for state in plan["sections"].values())
    readable = [c for c in plan["changes"] if c["kind"] in READABLE]
    assert readable and all(c["action"] == "no-op" for c in readable), [c["address"] for c in readable
                                                                         if c["action"] != "no-op"]


def test_what_the_api_cannot_read_is_explained_and_secrets_are_references(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    text = outputs.run("export", "acme", "--env", "sandbox").output
    assert "# 'GE Integration Webhooks' (Centra Webhook) left out: its URL is not readable" in text
    assert "secret: env:ACME_ORDER_API_SECRET" in text  # the reference the merchant file already uses
    assert "'Provisioner (sandbox admin)' left out: it holds admin" in text
    assert "environments:\n  qa:\n    centra_url: https://acme.centraqa.com\n    token: env:ACME_QA_TOKEN" in text


def test_a_store_name_cannot_break_out_of_an_export_comment(project: Path, outputs: Outputs) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/plugins", {"store": "GlobalE Store", "name": "Hook\nplugins: []",
                                                      "type": "centra_webhook", "uri": "hook"})
    text = outputs.run("export", "acme", "--env", "sandbox").output
    assert "# 'Hook\\nplugins: []' (Centra Webhook) left out" in text
    assert "\nplugins: []" not in text


def test_export_never_replaces_an_existing_file_without_force(project: Path, outputs: Outputs) -> None:
    merchant_file = Path("merchants", "acme.yaml")
    before = merchant_file.read_bytes()
    refused = outputs.run("export", "acme", "--env", "sandbox", "--out", str(merchant_file))
    assert refused.exit_code == 1 and "exists; pass --force" in refused.output
    assert "Traceback" not in refused.output
    assert merchant_file.read_bytes() == before
    replaced = outputs.run("export", "acme", "--env", "sandbox", "--out", str(merchant_file), "--force")
    assert replaced.exit_code == 0, replaced.output
    assert merchant_file.read_bytes() != before and b"merchant: acme" in merchant_file.read_bytes()


def test_an_export_over_a_curated_file_keeps_its_presets_global_e_and_secret_references(
        project: Path, outputs: Outputs) -> None:
    """Issue #23: `--force` over merchants/acme.yaml kept neither `presets:` nor `global_e:` (every Global-e
    policy silently off) and renamed the secret reference."""
    converge(outputs, "acme")
    merchant_file = Path("merchants", "acme.yaml")
    replaced = outputs.run("export", "acme", "--env", "sandbox", "--out", str(merchant_file), "--force")
    assert replaced.exit_code == 0, replaced.output
    text = merchant_file.read_text()
    assert "presets:\n- global-e\n" in text and "global_e:\n  merchant_id: 1808" in text
    assert "secret: env:ACME_ORDER_API_SECRET" in text and "ACME_GE_ORDER_API_SECRET" not in text
    assert "order_api_secret: env:ACME_ORDER_API_SECRET" in text
    assert outputs.run("validate").exit_code == 0
    [plan] = json.loads(outputs.run("plan", "acme", "--env", "sandbox", "--format", "json").stdout)["plans"]
    # what the API reads plans to nothing (the store's own tax group waits for attestation, as any export's)
    assert [c["address"] for c in plan["changes"] if c["action"] != "no-op" and c["executor"] != "attested"] == []
    rules = {f["rule"] for f in plan["findings"]}
    assert not any(rule.startswith("global-e.") for rule in rules)  # evaluated, and the converged store passes


def test_presets_a_fresh_store_cannot_match_are_left_out_and_said(project: Path, outputs: Outputs) -> None:
    text = outputs.run("export", "dataline", "--env", "sandbox").output
    assert "# presets data-platform left out: the store lacks what they declare" in text
    assert "\npresets:" not in text
