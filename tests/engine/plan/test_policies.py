"""Policy findings in the real plan: every renderer, `--fail-on`, waivers, the live checks."""

from __future__ import annotations

import json
from pathlib import Path

from provisioner.errors import ExitCode
from tests.engine.conftest import Outputs, converge, sandbox_call, tokens_named

OVERRIDE = "plugins:\n  - name: GE Order API\n    stock_updates: available\n"
WAIVER = "policy:\n  waivers:\n    - rule: global-e.order-api-settings\n      reason: Agreed with Global-e <b>\n"


def _edit(extra: str) -> None:
    path = Path("merchants/acme.yaml")
    path.write_text(path.read_text().replace("environments:\n", extra + "environments:\n", 1))


def test_fail_on_warning_exits_6_and_every_renderer_shows_the_finding(project: Path, outputs: Outputs) -> None:
    _edit(OVERRIDE)
    text = outputs.run("plan", "acme", "--env", "sandbox", "--fail-on", "warning")
    assert text.exit_code == ExitCode.POLICY
    assert "[warning] global-e.order-api-settings: 'GE Order API'.stock_updates is 'available'" in text.output
    assert "global-e.order-api-settings" in text.stderr and "Traceback" not in text.stderr
    assert outputs.run("plan", "acme", "--env", "sandbox", "--fail-on", "critical").exit_code == 0
    assert outputs.run("plan", "acme", "--env", "sandbox").exit_code == 0
    markdown = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert "| warning | `global-e.order-api-settings` |" in markdown
    [plan] = json.loads(outputs.run("plan", "acme", "--env", "sandbox", "--format", "json").stdout)["plans"]
    assert [f["rule"] for f in plan["findings"]] == ["global-e.order-api-settings"]


def test_a_waived_rule_shows_its_reason_and_does_not_block(project: Path, outputs: Outputs) -> None:
    _edit(OVERRIDE + WAIVER)
    text = outputs.run("plan", "acme", "--env", "sandbox", "--fail-on", "warning")
    assert text.exit_code == 0, text.output
    assert "(waived: Agreed with Global-e <b>)" in text.output
    markdown = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert "waived: Agreed with Global-e &lt;b>" in markdown


def test_the_plan_flags_an_inactive_checkout_plugin(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    sandbox_call("acme", "PUT", "/_sandbox/plugins", {"store": "GlobalE Store", "name": "Checkout API",
                                                      "type": "checkout_api", "status": "inactive"})
    result = outputs.run("plan", "acme", "--env", "sandbox", "--fail-on", "critical")
    assert result.exit_code == ExitCode.POLICY
    assert "[critical] global-e.checkout-plugin: the checkout plugin 'Checkout API' is inactive" in result.output


def test_the_plan_flags_a_token_expiring_in_three_days(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    plain = outputs.run("plan", "acme", "--env", "sandbox")
    assert "[info] token.expiry: the token 'Global-e integration' expires in 30 days" in plain.output
    token = tokens_named("acme", "Global-e integration")[0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{token['id']}", {"expires_in": 3 * 86400 + 600})
    result = outputs.run("plan", "acme", "--env", "sandbox", "--fail-on", "warning")
    assert result.exit_code == ExitCode.POLICY
    assert "[warning] token.expiry: the token 'Global-e integration' expires in 3 day(s)" in result.output


def test_policy_list_names_every_rule(project: Path, outputs: Outputs) -> None:
    result = outputs.run("policy", "list")
    assert result.exit_code == 0
    for rule in ("global-e.checkout-plugin", "env.webhook-host-change", "privilege.beyond-presets", "token.expiry"):
        assert rule in result.output


def test_names_in_findings_are_escaped_for_terminal_and_markdown(project: Path, outputs: Outputs) -> None:
    path = Path("merchants/acme.yaml")
    path.write_text(path.read_text().replace("checkout_plugin: Checkout API",
                                             'checkout_plugin: "Shop\\e[2J\\n  ok [forged] | *x*"'))
    outputs.run("plan", "acme", "--env", "sandbox")  # seeds the sandbox, whose store has that plugin
    sandbox_call("acme", "DELETE", "/_sandbox/plugins", store="GlobalE Store", name="Shop\x1b[2J\n  ok [forged] | *x*")
    text = outputs.run("plan", "acme", "--env", "sandbox").output
    assert "\x1b" not in text
    line = next(line for line in text.splitlines() if "global-e.checkout-plugin" in line)
    assert "Shop\\x1b[2J\\n  ok [forged]" in line
    markdown = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert "\x1b" not in markdown and "\\| \\*x\\*" in markdown


def test_apply_refuses_a_critical_finding_unless_it_is_waived(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "--env", "sandbox").exit_code == 0  # the sandbox, made from the file
    path = Path("merchants/acme.yaml")
    path.write_text(path.read_text().replace("checkout_plugin: Checkout API", "checkout_plugin: Nowhere"))
    refused = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert refused.exit_code == ExitCode.POLICY, refused.output
    assert "[critical] global-e.checkout-plugin" in refused.output  # the plan is shown first
    assert "critical policy finding(s) (global-e.checkout-plugin); nothing was changed" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert tokens_named("acme", "Global-e integration") == []
    assert not Path("out/acme.sandbox.runbook.md").exists()
    _edit("policy:\n  waivers:\n    - rule: global-e.checkout-plugin\n      reason: plugin set up next week\n")
    waived = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert waived.exit_code == 0, waived.output + waived.stderr
    assert len(tokens_named("acme", "Global-e integration")) == 1


def test_an_expired_token_does_not_block_the_apply_that_renews_it(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    token = tokens_named("acme", "Global-e integration")[0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{token['id']}", {"expires_in": -10})
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert "[critical] token.expiry" in result.output
    assert result.exit_code == 0, result.output + result.stderr
