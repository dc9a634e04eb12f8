"""`provision apply`, the runbook, `attest` and the sandbox operator, end to end through the real CLI."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from provisioner import runbook_format
from provisioner.errors import ExitCode
from provisioner.sandbox.wire import Request
from tests.engine.conftest import (
    Outputs,
    box,
    converge,
    env_file_variables,
    sandbox_call,
    scan_for_secrets,
    tokens_named,
)


@pytest.mark.parametrize("merchant", ["acme", "nordwind", "dataline"])
def test_the_lifecycle_converges_for_every_example(project: Path, outputs: Outputs, merchant: str) -> None:
    converge(outputs, merchant)
    result = outputs.run("plan", merchant, "--env", "sandbox", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output
    assert outputs.run("apply", merchant, "--env", "sandbox").exit_code == 0  # nothing to do: no prompt needed


def test_apply_creates_the_token_into_a_0600_sink_and_writes_a_runbook(project: Path, outputs: Outputs) -> None:
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == 0, result.output
    sink = next(Path(".provision/secrets").glob("acme.sandbox.global-e-integration.token"))
    assert stat.S_IMODE(sink.stat().st_mode) == 0o600
    assert f"token value stored in {sink}" in result.output
    runbook = Path("out/acme.sandbox.runbook.md").read_text()
    assert "## 1. Create the attribute type ge_customer_coupon" in runbook
    assert "System > Configurations" in runbook and "System > Tax Groups" in runbook
    assert '"ge_order_id": {' in runbook  # the exact JSON to paste
    assert "the value of the secret `ACME_ORDER_API_SECRET`" in runbook
    assert "| Tax rate | 20% |" not in runbook and "Rule GE Local VAT: Tax rate | `20%`" in runbook
    assert "Select ALL and unselect GB" in runbook
    assert "**Verified by:**" in runbook
    assert "converged: no api change left" in result.output
    scan_for_secrets(project, outputs, [sink.read_text().strip()])


def test_apply_without_terminal_or_auto_approve_changes_nothing(project: Path, outputs: Outputs) -> None:
    result = outputs.run("apply", "acme", "--env", "sandbox")
    assert result.exit_code == ExitCode.ERROR
    assert "refusing to apply without a terminal" in result.stderr
    assert tokens_named("acme", "Global-e integration") == []
    assert not Path("out/acme.sandbox.runbook.md").exists()


def test_deletes_need_allow_deletes(project: Path, outputs: Outputs) -> None:
    merchant = Path("merchants/nordwind.yaml")
    converge(outputs, "nordwind")
    merchant.write_text(merchant.read_text().replace("  - object_type: Return\n",
                                                     "  - {object_type: Return, absent: true}\n"))
    refused = outputs.run("apply", "nordwind", "--env", "sandbox", "--auto-approve")
    assert refused.exit_code == ExitCode.POLICY and "--allow-deletes" in refused.stderr
    listeners = [entry["objectType"] for entry in sandbox_call("nordwind", "GET", "/_sandbox/state")["event_listeners"]]
    assert "Return" in listeners
    allowed = outputs.run("apply", "nordwind", "--env", "sandbox", "--auto-approve", "--allow-deletes")
    assert allowed.exit_code == 0, allowed.output
    listeners = [entry["objectType"] for entry in sandbox_call("nordwind", "GET", "/_sandbox/state")["event_listeners"]]
    assert listeners == ["Order"]


def test_a_saved_plan_is_refused_when_the_store_changed(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": "Someone else", "permissions": ["Order:read"]})
    result = outputs.run("apply", "plan.json", "--auto-approve")
    assert result.exit_code == ExitCode.STALE_PLAN, result.output
    assert "changed since the plan" in result.stderr
    assert tokens_named("acme", "Global-e integration") == []


def test_a_saved_plan_applies_when_nothing_changed(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    result = outputs.run("apply", "plan.json", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert len(tokens_named("acme", "Global-e integration")) == 1


def test_a_failure_half_way_is_partial_and_the_next_apply_completes_once(project: Path, outputs: Outputs) -> None:
    sandbox_call("nordwind", "PUT", "/_sandbox/faults", {"fail_mutation": {"nth": 2}})
    first = outputs.run("apply", "nordwind", "--env", "sandbox", "--auto-approve")
    assert first.exit_code == ExitCode.PARTIAL_APPLY, first.output
    assert "done: created API token Global-e integration" in first.stderr
    assert "not done: nordwind/sandbox/event_listener/Order" in first.stderr
    # printed as it happened, and told again with the error: where the token went
    assert first.stdout.index("done: created API token Global-e integration") < first.stdout.index(
        "token value stored in .provision/secrets/nordwind.sandbox.global-e-integration.token")
    assert "Global-e integration: token value stored in .provision/secrets/" in first.stderr
    second = outputs.run("apply", "nordwind", "--env", "sandbox", "--auto-approve")
    assert second.exit_code == 0, second.output
    assert "continuing after an interrupted run" in second.output
    assert len(tokens_named("nordwind", "Global-e integration")) == 1
    listeners = sandbox_call("nordwind", "GET", "/_sandbox/state")["event_listeners"]
    assert [(entry["objectType"], entry["changeTypes"]) for entry in listeners] == [
        ("Order", ["CREATED", "UPDATED"]),
        ("Return", ["CREATED", "UPDATED", "DELETED", "COMPLETED", "DEPENDENT_DATA_CHANGED"])]


def test_a_create_whose_answer_is_lost_is_not_repeated(project: Path, outputs: Outputs) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/faults", {"fail_mutation": {"nth": 1, "mode": "drop_after_commit"}})
    first = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert first.exit_code == ExitCode.PARTIAL_APPLY
    assert "outcome of this write is unknown" in first.stderr
    second = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert second.exit_code == 0, second.output
    # Found, not created again; but nobody holds its value, so it is rotated: a new token to the sink,
    # the lost one revoked by the runbook.
    assert "never reached a sink" in second.output
    lost, new = tokens_named("acme", "Global-e integration")
    sink = Path(".provision/secrets/acme.sandbox.global-e-integration.token")
    assert f"token value stored in {sink}" in second.output
    assert outputs.run("sandbox", "operator", "out/acme.sandbox.runbook.md").exit_code == 0
    valid = [t for t in tokens_named("acme", "Global-e integration") if not t["revoked"]]
    assert [t["id"] for t in valid] == [new["id"]] and lost["id"] != new["id"]
    stored = sink.read_text().strip()
    assert box("acme").app.handle(Request("POST", "/graphql", headers={"authorization": f"Bearer {stored}"},
                                          body=b'{"query": "{ stores { id } }"}')).status == 200
    third = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert third.exit_code == 0 and "never reached a sink" not in third.output


def test_secret_sink_env_hands_the_token_to_later_ci_steps(project: Path, outputs: Outputs,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = project / "github_env"
    monkeypatch.setenv("GITHUB_ENV", str(env_file))
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--secret-sink", "env:GE_TOKEN")
    assert result.exit_code == 0
    # One rule however many tokens a run creates: NAME__MERCHANT__ENV__TOKEN, listed in NAME__VARIABLES.
    variable = "GE_TOKEN__ACME__SANDBOX__GLOBAL_E_INTEGRATION"
    assert f"Global-e integration: token value stored in environment variable {variable}" in result.output
    assert f"GE_TOKEN__VARIABLES lists the token variable(s) written: {variable}" in result.output
    written = env_file_variables(env_file)
    assert list(written) == [variable, "GE_TOKEN__VARIABLES"] and written["GE_TOKEN__VARIABLES"] == variable
    assert len(written[variable]) == 40 and written[variable] not in result.output
    assert not Path(".provision/secrets").exists()


def test_attest_without_terminal_or_yes_is_refused(project: Path, outputs: Outputs) -> None:
    result = outputs.run("attest", "acme", "--env", "sandbox")
    assert result.exit_code == 1 and "--yes" in result.stderr  # a usage error: 2 only ever means changes


def test_attest_waits_for_the_object_and_records_hashes_only(project: Path, outputs: Outputs) -> None:
    early = outputs.run("attest", "acme", "--env", "sandbox", "--yes")
    assert "not in the store yet" in early.output
    assert not Path(".provision/state/acme.sandbox.json").exists()
    converge(outputs, "acme")
    ledger = json.loads(Path(".provision/state/acme.sandbox.json").read_text())
    entry = ledger["items"]["acme/sandbox/plugin_settings/GE Order API"]
    assert set(entry["secret"]) == {"scheme", "n", "r", "p", "keyed", "salt", "hash", "at", "by"}
    assert entry["secret"]["scheme"] == "scrypt" and len(entry["secret"]["hash"]) == 64
    assert "key" not in ledger and ledger["format_version"] == 2
    assert os.environ["ACME_ORDER_API_SECRET"] not in json.dumps(ledger)


def test_operator_refuses_a_runbook_of_a_real_environment(project: Path, outputs: Outputs) -> None:
    Path("real.md").write_text(runbook_format.header_line("acme", "prod", []) + "\n")
    result = outputs.run("sandbox", "operator", "real.md")
    assert result.exit_code == 1 and "only works in the sandbox" in result.stderr


def test_an_api_change_that_does_not_stick_is_exit_8(project: Path, outputs: Outputs,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.engine.apply import executors

    monkeypatch.setattr(executors, "execute", lambda *_, **__: executors.Outcome("claimed, but nothing changed"))
    monkeypatch.setattr(executors, "mutation_for", lambda *_, **__: None)  # every change made alone, by execute
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == ExitCode.NOT_CONVERGED
    assert "did not converge" in result.stderr and "acme/sandbox/api_token/Global-e integration" in result.stderr


def test_a_saved_plan_still_applies_the_next_day(project: Path, outputs: Outputs,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Its findings count a token's days left; a day later they differ, and the plan is no less current."""
    from types import SimpleNamespace

    from provisioner.engine.plan import planning

    converge(outputs, "acme")
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    saved = json.loads(Path("plan.json").read_text())["plans"][0]["findings"]
    assert any("expires in 30 days" in finding["message"] for finding in saved)
    real = time.time
    monkeypatch.setattr(planning, "time", SimpleNamespace(time=lambda: real() + 86_400 * 1.6))
    result = outputs.run("apply", "plan.json", "--auto-approve")
    assert result.exit_code == 0, result.output


def test_ctrl_c_mid_apply_says_what_was_done_and_where_the_token_went(project: Path, outputs: Outputs,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.engine.apply import executors

    real = executors.execute

    def execute(client: object, caps: object, state: object, live: object, change: Any,
                **options: Any) -> executors.Outcome | executors.Created:
        if change.kind == "event_listener":
            raise KeyboardInterrupt  # Ctrl-C while the first listener's request is out
        return real(client, caps, state, live, change, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(executors, "execute", execute)
    monkeypatch.setattr(executors, "mutation_for", lambda *_, **__: None)  # every change made alone, by execute
    first = outputs.run("apply", "nordwind", "--env", "sandbox", "--yes")
    assert first.exit_code == 130, first.output
    sink = ".provision/secrets/nordwind.sandbox.global-e-integration.token"
    assert "done: created API token Global-e integration" in first.stdout  # as it completed
    assert first.stderr.startswith("interrupted\n")
    assert "in flight when interrupted: nordwind/sandbox/event_listener/Order" in first.stderr
    assert f"Global-e integration: token value stored in {sink}" in first.stderr
    assert "not done: nordwind/sandbox/event_listener/Return" in first.stderr
    monkeypatch.setattr(executors, "execute", real)
    second = outputs.run("apply", "nordwind", "--env", "sandbox", "--yes")
    assert second.exit_code == 0, second.output
    assert ("continuing after an interrupted run: nordwind/sandbox/api_token/Global-e integration (done: created "
            "API token Global-e integration") in second.stdout and sink in second.stdout
    assert "nordwind/sandbox/event_listener/Order (started)" in second.stdout
    assert len(tokens_named("nordwind", "Global-e integration")) == 1
    scan_for_secrets(project, outputs, [Path(sink).read_text().strip()])


def test_yes_is_the_flag_and_auto_approve_its_other_name(project: Path, outputs: Outputs) -> None:
    shown = outputs.run("apply", "--help").output
    assert "-y, --yes, --auto-approve" in shown  # the same one flag as every command that asks
    assert outputs.run("apply", "dataline", "--env", "sandbox", "-y").exit_code == 0
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    assert len(tokens_named("acme", "Global-e integration")) == 1
