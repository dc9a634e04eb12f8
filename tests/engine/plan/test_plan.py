"""`provision plan` end to end against the sandbox, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from provisioner.engine.plan import planning
from provisioner.engine.plan.document import json_schema
from tests.engine.conftest import PLANTED, Outputs, converge, sandbox_call, scan_for_secrets, tokens_named

EXPECTED = {
    "attribute_type/ge_order_details": "manual", "attribute_type/ge_customer_coupon": "manual",
    "attribute_type/ge_voucher_details": "manual", "tax_group/GE Local VAT": "manual",
    "tax_group_settings/GE Local VAT": "attested", "plugin/GE Order API": "manual",
    "plugin_settings/GE Order API": "attested", "plugin/GE Integration Webhooks": "manual",
    "plugin_settings/GE Integration Webhooks": "attested", "api_token/Global-e integration": "api",
    "warehouse/Main": "api", "market/Global-e Europe": "api", "market/Global-e Americas": "api",
    "pricelist/Global-e GBP": "api", "pricelist/Global-e USD": "api",
    "shipping_option/Global-e Standard": "manual", "shipping_option/Global-e Express": "manual",
}


def test_fresh_sandbox_plan_lists_every_resource_with_its_executor(project: Path, outputs: Outputs) -> None:
    result = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode", "--out", "plan.json")
    assert result.exit_code == 2, result.output
    document = json.loads(Path("plan.json").read_text())
    jsonschema.Draft202012Validator(json_schema()).validate(document)
    assert (document["format_version"], document["environment"], document["errors"], document["skipped"]) == (
        3, "sandbox", [], [])
    [plan] = document["plans"]
    executors = {c["address"].removeprefix("acme/sandbox/"): c["executor"] for c in plan["changes"]}
    assert executors == EXPECTED
    assert {c["action"] for c in plan["changes"]} == {"create"}
    assert plan["format_version"] == 2 and plan["fingerprints"] and plan["binding"]["merchant_file_sha256"]
    assert "+ api_token \"Global-e integration\"  (api)" in result.output
    order_api = next(c for c in plan["changes"] if c["address"].endswith("plugin_settings/GE Order API"))
    secret = next(f for f in order_api["fields"] if f["path"] == "secret")
    assert secret["after"] == "(sensitive)" and secret["sensitive"] is True


def test_plan_needs_two_requests_for_a_whole_merchant(project: Path) -> None:
    assert planning.plan("acme", "sandbox").requests == 2


def test_converged_store_plans_empty_and_drift_shows_field_level(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0
    state = sandbox_call("acme", "GET", "/_sandbox/state")
    vat = next(g for g in state["tax_groups"] if g["name"] == "GE Local VAT")
    vat["rules"][0]["rate"] = 19
    sandbox_call("acme", "PUT", "/_sandbox/tax-groups", vat)
    config = state["attribute_types"]["ge_voucher_details"]
    config["elements"]["ge_successful_usages"]["desc"] = "Edited in AMS"
    sandbox_call("acme", "PUT", "/_sandbox/attribute-types", {"ATTRIBUTE_TYPES": {"ge_voucher_details": config}})
    result = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode", "--format", "json")
    assert result.exit_code == 2
    [plan] = json.loads(result.output)["plans"]
    changes = {c["address"]: c for c in plan["changes"] if c["action"] != "no-op"}
    assert set(changes) == {"acme/sandbox/tax_group/GE Local VAT", "acme/sandbox/attribute_type/ge_voucher_details"}
    rate = changes["acme/sandbox/tax_group/GE Local VAT"]
    assert [(f["path"], f["before"], f["after"]) for f in rate["fields"]] == [("rules.GE Local VAT.rate", 19.0, 20.0)]
    assert rate["risk"] == "warning"
    element = changes["acme/sandbox/attribute_type/ge_voucher_details"]["fields"]
    assert [(f["path"], f["before"]) for f in element] == [("elements.ge_successful_usages.description",
                                                            "Edited in AMS")]
    text = outputs.run("plan", "acme", "--env", "sandbox").output
    assert 'rules.GE Local VAT.rate: 19.0 → 20.0' in text


def test_a_denied_section_is_unknown_and_blocks_deletes(project: Path, outputs: Outputs) -> None:
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text() + "tax_groups:\n  mode: exclusive\n  items: []\n")
    admin = sandbox_call("acme", "GET", "/_sandbox/state")["tokens"][0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{admin['id']}",
                 {"permissions": [p for p in admin["permissions"] if p != "TaxRule:read"]})
    planned = planning.plan("acme", "sandbox")
    assert planned.requests == 3
    assert planned.plan.sections["tax_groups"].state == "unknown"
    assert planned.plan.sections["tax_groups"].permission == "TaxRule:read"
    assert not [c for c in planned.plan.changes if c.kind.startswith("tax_group")]
    result = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode")
    assert result.exit_code == 2
    assert "? tax_groups: unknown — the token lacks TaxRule:read" in result.output
    markdown = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert "`tax_groups` is **unknown**" in markdown


def test_no_output_contains_a_secret(project: Path, outputs: Outputs) -> None:
    for fmt in ("text", "markdown", "json"):
        outputs.run("plan", "acme", "--env", "sandbox", "--format", fmt, "--out", f"plan-{fmt}.json")
    converge(outputs, "acme")
    outputs.run("plan", "nordwind", "--env", "sandbox", "--format", "markdown")
    created = next(Path(".provision/secrets").glob("acme.sandbox.*.token")).read_text().strip()
    admin = Path(".provision/sandbox/acme.token")
    secrets = [*PLANTED.values(), created] + ([admin.read_text().strip()] if admin.exists() else [])
    scan_for_secrets(project, outputs, secrets)


def test_markdown_comment_calls_out_deletes(project: Path, outputs: Outputs) -> None:
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text() + "attribute_types:\n  - {name: sh_swatch, absent: true}\n")
    markdown = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert "> [!CAUTION]" in markdown and "**delete** `acme/sandbox/attribute_type/sh_swatch`" in markdown
    assert "<details>" in markdown


def test_a_revoked_token_is_exit_3_with_a_clear_message(project: Path, outputs: Outputs) -> None:
    admin = sandbox_call("acme", "GET", "/_sandbox/state")["tokens"][0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{admin['id']}", {"revoked": True})
    result = outputs.run("plan", "acme", "--env", "sandbox")
    assert result.exit_code == 3
    assert "refused the token (HTTP 403)" in result.stderr and "Traceback" not in result.stderr


def test_a_token_without_store_read_is_exit_3_naming_the_permission(project: Path, outputs: Outputs) -> None:
    admin = sandbox_call("acme", "GET", "/_sandbox/state")["tokens"][0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{admin['id']}",
                 {"permissions": [p for p in admin["permissions"] if p != "Store:read"]})
    result = outputs.run("plan", "acme", "--env", "sandbox")
    assert result.exit_code == 3 and "Store:read" in result.stderr


def test_a_live_permission_the_catalogue_lacks_is_a_warning(project: Path, outputs: Outputs) -> None:
    sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": "Newer integration", "integration": "newer",
                                                      "permissions": ["Order:read", "Subscription:read"]})
    planned = planning.plan("acme", "sandbox")
    assert len(planned.plan.warnings) == 1
    assert "'Newer integration'" in planned.plan.warnings[0] and "Subscription:read" in planned.plan.warnings[0]
    assert "catalogue may be out of date" in planned.plan.warnings[0]
    text = outputs.run("plan", "acme", "--env", "sandbox").output
    assert "! warning: token 'Newer integration' holds permissions the catalogue does not know" in text
    markdown = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert "> [!IMPORTANT]" in markdown and "Subscription:read" in markdown


def test_exclusive_tokens_revoke_every_other_token_sorted_before_or_after_the_tools_own(project: Path,
                                                                                       outputs: Outputs) -> None:
    """The tool's own token is skipped, not a stopping point: a store's tokens sorted on either side of
    it are all revoked, and its own never is."""
    own = "Provisioner (sandbox admin)"
    strays = ["Agency reader", "Old ERP", "Zapier sync", "zz lowercase"]  # before and after `own` in sort order
    for name in strays:
        sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": name, "permissions": ["Order:read"]})
    assert sorted([*strays, own]).index(own) not in (0, len(strays))
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text().replace("api_tokens:\n", "api_tokens:\n  mode: exclusive\n  items:\n"))
    planned = planning.plan("acme", "sandbox").plan
    deletes = {c.name: c for c in planned.changes if c.kind == "api_token" and c.action == "delete"}
    assert sorted(deletes) == strays
    for change in deletes.values():  # each shows what goes: its own permissions, not another object's
        assert change.after is None and change.before is not None and change.before["permissions"] == ["Order:read"]
        revoked = next(f for f in change.fields if f.path == "permissions")
        assert (revoked.added, revoked.removed) == ([], ["Order:read"])
    applied = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--allow-deletes")
    assert applied.exit_code == 0, applied.output + applied.stderr
    for name in strays:
        assert [t["revoked"] for t in tokens_named("acme", name)] == [True], name
    assert [t["revoked"] for t in tokens_named("acme", own)] == [False]
    assert [t["revoked"] for t in tokens_named("acme", "Global-e integration")] == [False]


def test_deactivating_a_plugin_is_critical_and_moving_the_webhook_a_warning(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text().replace("environments:\n", "plugins:\n  - name: GE Integration Webhooks\n"
                                                     "    status: inactive\n    url: https://hooks.example/ge\n"
                                                     "environments:\n", 1))
    planned = planning.plan("acme", "sandbox").plan
    risks = {c.address.removeprefix("acme/sandbox/"): (c.risk, c.reasons) for c in planned.pending}
    assert risks == {"plugin/GE Integration Webhooks": ("critical", ["deactivates a live object"]),
                     "plugin_settings/GE Integration Webhooks": ("warning", ["changes the webhook URL"])}
    markdown = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert "> [!CAUTION]" in markdown and "deactivates a live object" in markdown
