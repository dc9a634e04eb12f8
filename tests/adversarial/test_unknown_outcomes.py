"""Outcomes apply cannot see: a run killed with a create in flight is resolved by reading the store,
never by creating again; a token whose value reached no sink is rotated; a token that can read nothing
is exit 3, not "converged"."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner import runbook_format
from provisioner.errors import ExitCode
from provisioner.resources import KINDS
from tests.engine.apply import gate
from tests.engine.conftest import Outputs, env_file_variables, sandbox_call, tokens_named

ADDRESS = "acme/sandbox/api_token/Global-e integration"
JOURNAL = Path(".provision/journal/acme.sandbox.json")
SINK = Path(".provision/secrets/acme.sandbox.global-e-integration.token")


def _killed_in_flight() -> None:
    """What a run killed after sending createAccessToken leaves: a journal entry `started`, nothing more."""
    JOURNAL.parent.mkdir(parents=True, exist_ok=True)
    JOURNAL.write_text(json.dumps([{"address": ADDRESS, "action": "create", "status": "started", "detail": "",
                                    "at": 1}]), encoding="utf-8")


def _committed_then_killed() -> dict[str, Any]:
    """Centra committed the token, and the run died before the answer reached it: the token exists and its
    value is nowhere."""
    created: dict[str, Any] = sandbox_call("acme", "POST", "/_sandbox/tokens", {
        "name": "Global-e integration", "integration": "global-e", "permissions": ["Order:read"]})
    _killed_in_flight()
    return created


def test_killed_after_the_commit_the_token_is_adopted_and_rotated(project: Path, outputs: Outputs) -> None:
    created = _committed_then_killed()
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == 0, result.output + result.stderr
    assert f"token id {created['id']} (started) but its value never reached a sink" in result.output
    assert f"revoked API token Global-e integration (id {created['id']})" in result.output
    tokens = {t["id"]: t for t in tokens_named("acme", "Global-e integration")}
    assert len(tokens) == 2 and tokens[created["id"]]["revoked"]
    successor = next(t for t in tokens.values() if not t["revoked"])
    assert SINK.read_text().strip() != created["token"] and successor["id"] != created["id"]
    assert not JOURNAL.exists()  # resolved


def test_without_a_revoke_mutation_the_runbook_revokes_the_lost_token_by_id(project: Path, outputs: Outputs,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.centra import capabilities

    discover = capabilities.discover
    monkeypatch.setattr(capabilities, "discover",
                        lambda client: dataclasses.replace(discover(client), revoke_token=None))
    created = _committed_then_killed()
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == 0, result.output + result.stderr
    _, steps = runbook_format.parse(Path("out/acme.sandbox.runbook.md").read_text(encoding="utf-8"))
    revokes = [s for s in steps if isinstance(s, runbook_format.TokenRevoke)]
    assert [(s.name, s.id) for s in revokes] == [("Global-e integration", created["id"])]
    assert outputs.run("sandbox", "operator", "out/acme.sandbox.runbook.md").exit_code == 0
    valid = [t["id"] for t in tokens_named("acme", "Global-e integration") if not t["revoked"]]
    assert len(valid) == 1 and valid[0] != created["id"]


def test_killed_before_the_commit_the_token_is_created_once(project: Path, outputs: Outputs) -> None:
    _killed_in_flight()
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == 0, result.output + result.stderr
    assert "never reached a sink" not in result.output
    assert len(tokens_named("acme", "Global-e integration")) == 1 and SINK.exists()


def test_a_token_that_can_read_no_section_is_exit_3_and_changes_nothing(project: Path, outputs: Outputs) -> None:
    admin = sandbox_call("acme", "GET", "/_sandbox/state")["tokens"][0]
    denied = {kind.permission for kind in KINDS}
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{admin['id']}",
                 {"permissions": [p for p in admin["permissions"] if p not in denied]})
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == ExitCode.AUTH, result.output + result.stderr
    assert "can read none of the managed sections" in result.stderr
    assert tokens_named("acme", "Global-e integration") == []
    assert not Path("out/acme.sandbox.runbook.md").exists()


def test_plan_says_a_value_never_delivered_and_its_saved_plan_applies_exactly_that(project: Path,
                                                                                  outputs: Outputs) -> None:
    """A converged store whose token value a killed run lost: `plan` must not say "no changes", and the
    reviewed plan file (the CI path) applies the rotation it shows, not stale and not more."""
    from tests.engine.conftest import converge

    converge(outputs, "acme")
    [token] = tokens_named("acme", "Global-e integration")
    SINK.unlink()
    _killed_in_flight()
    planned = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode", "--out", "plan.json")
    assert planned.exit_code == ExitCode.CHANGES, planned.output + planned.stderr
    assert f"an interrupted run created token id {token['id']} (started) but its value never reached a sink" \
        in planned.output
    document = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    rotation = [(c["action"], c["executor"]) for c in document["plans"][0]["changes"]
                if c["kind"] == "api_token" and c["action"] != "no-op"]
    assert rotation == [("create", "api"), ("delete", "api")]
    applied = outputs.run("apply", "plan.json", "--auto-approve")
    assert applied.exit_code == 0, applied.output + applied.stderr
    tokens = {t["id"]: t["revoked"] for t in tokens_named("acme", "Global-e integration")}
    assert tokens[token["id"]] is True and list(tokens.values()).count(False) == 1
    assert SINK.exists() and not JOURNAL.exists()
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0


def _rotation_killed_in_flight(old_id: int) -> None:
    JOURNAL.parent.mkdir(parents=True, exist_ok=True)
    JOURNAL.write_text(json.dumps([{"address": ADDRESS, "action": "create", "status": "started",
                                    "detail": f"rotate: replaces id {old_id}", "at": 1}]), encoding="utf-8")


def test_a_rotation_killed_after_its_create_committed_is_resolved_keeping_the_old_token(
        project: Path, outputs: Outputs) -> None:
    from tests.engine.conftest import converge

    converge(outputs, "acme")
    [old] = tokens_named("acme", "Global-e integration")
    successor = sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": "Global-e integration",
                                                                  "integration": "global-e",
                                                                  "permissions": old["permissions"]})
    _rotation_killed_in_flight(old["id"])
    refused = outputs.run("rotate", "acme", "Global-e integration", "--env", "sandbox", "--consumer-has-it")
    assert refused.exit_code == ExitCode.ERROR and "unknown outcome; run `provision apply` first" in refused.stderr
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == 0, result.output + result.stderr
    tokens = {t["id"]: t["revoked"] for t in tokens_named("acme", "Global-e integration")}
    assert tokens[old["id"]] is False  # its consumer still uses it
    assert tokens[successor["id"]] is True  # its value reached no one
    assert len(tokens) == 3 and SINK.read_text().strip() != successor["token"]


def test_a_rotation_killed_before_its_create_committed_changes_nothing(project: Path, outputs: Outputs) -> None:
    from tests.engine.conftest import converge

    converge(outputs, "acme")
    [old] = tokens_named("acme", "Global-e integration")
    _rotation_killed_in_flight(old["id"])
    planned = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    assert [(t["id"], t["revoked"]) for t in tokens_named("acme", "Global-e integration")] == [(old["id"], False)]
    assert not JOURNAL.exists()
    rotated = outputs.run("rotate", "acme", "Global-e integration", "--env", "sandbox", "--consumer-has-it")
    assert rotated.exit_code == 0, rotated.output + rotated.stderr


# The window between creating a token and delivering its value: the journal says "created" until the value
# is in its sink, so a run that dies there, or whose sink fails there, leaves a token the next run rotates.


def test_killed_after_the_create_was_answered_and_before_the_value_was_stored_the_token_is_rotated(
        project: Path, outputs: Outputs) -> None:
    created = sandbox_call("acme", "POST", "/_sandbox/tokens", {
        "name": "Global-e integration", "integration": "global-e", "permissions": ["Order:read"]})
    JOURNAL.parent.mkdir(parents=True, exist_ok=True)
    JOURNAL.write_text(json.dumps([
        {"address": ADDRESS, "action": "create", "status": "started", "detail": "", "at": 1},
        {"address": ADDRESS, "action": "create", "status": "created",
         "detail": f"created API token Global-e integration (id {created['id']})", "at": 1}]), encoding="utf-8")
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert result.exit_code == 0, result.output + result.stderr
    assert f"token id {created['id']} (created) but its value never reached a sink" in result.output
    tokens = {t["id"]: t["revoked"] for t in tokens_named("acme", "Global-e integration")}
    assert tokens[created["id"]] is True and list(tokens.values()).count(False) == 1
    assert SINK.exists() and SINK.read_text().strip() != created["token"] and not JOURNAL.exists()


@pytest.fixture
def gated(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[gate.Served]:
    with gate.served_here(tmp_path / "centra.db", monkeypatch) as served:
        yield served


SERVED_JOURNAL = Path(".provision/journal/acme.served.json")
SERVED_SINK = Path(".provision/secrets/acme.served.global-e-integration.token")


@pytest.mark.parametrize("sink", ["file", "env"])
def test_a_sink_that_fails_after_the_create_leaves_the_token_to_be_rotated(
        gated: gate.Served, outputs: Outputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: str) -> None:
    """The place the value goes was fine when apply checked it, and is not once the token exists (a link
    planted there meanwhile, or the env file replaced by a folder): exit 5, the value stored nowhere and
    never shown, the journal left at "created"; the next apply rotates the token."""
    env_file = tmp_path / "runner" / "github_env"
    env_file.parent.mkdir()
    env_file.write_text("", encoding="utf-8")
    monkeypatch.setenv("GITHUB_ENV", str(env_file))
    args = ["--secret-sink", "env:CI_TOKEN"] if sink == "env" else []

    def break_the_sink(app: gate.GatedApp) -> None:
        if sink == "env":
            env_file.unlink()
            env_file.mkdir()
        else:
            SERVED_SINK.parent.mkdir(parents=True, exist_ok=True)
            SERVED_SINK.symlink_to(tmp_path / "elsewhere")

    gated.app.after["CreateAccessToken"] = break_the_sink
    failed = outputs.run("apply", "acme", "--env", "served", "--auto-approve", *args)
    gated.app.after.clear()
    assert failed.exit_code == ExitCode.PARTIAL_APPLY, failed.output + failed.stderr
    [(lost_id, lost_value)] = gated.valid()
    assert "its value reached no sink: the next apply rotates it" in failed.stderr
    assert f"done: created API token Global-e integration (id {lost_id})" in failed.stderr
    token_entries = [e for e in json.loads(SERVED_JOURNAL.read_text(encoding="utf-8"))
                     if e["address"] == "acme/served/api_token/Global-e integration"]
    assert token_entries[-1]["status"] == "created"
    assert not (tmp_path / "elsewhere").exists()
    if sink == "env":
        env_file.rmdir()
        env_file.write_text("", encoding="utf-8")
    else:
        SERVED_SINK.unlink()
    again = outputs.run("apply", "acme", "--env", "served", "--auto-approve", *args)
    assert again.exit_code == 0, again.output + again.stderr
    assert f"token id {lost_id} (created) but its value never reached a sink" in again.output
    [(kept_id, kept_value)] = gated.valid()
    assert kept_id != lost_id and not SERVED_JOURNAL.exists()
    if sink == "env":
        assert env_file_variables(env_file)["CI_TOKEN__ACME__SERVED__GLOBAL_E_INTEGRATION"] == kept_value
    else:
        assert SERVED_SINK.read_text(encoding="utf-8").strip() == kept_value
    assert not any(value in text for value in (lost_value, kept_value) for text in outputs.texts)
