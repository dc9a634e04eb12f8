"""`provision rotate` and the tool's own token lifetime in `doctor`, on the sandbox."""

from __future__ import annotations

from pathlib import Path

from provisioner.errors import ExitCode
from tests.engine.conftest import Outputs, converge, sandbox_call, scan_for_secrets, tokens_named

SINK = Path(".provision/secrets/acme.sandbox.global-e-integration.token")


def test_rotate_with_confirmation_leaves_one_valid_token_whose_value_is_only_in_the_sink(
        project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    old_value = SINK.read_text().strip()
    result = outputs.run("rotate", "acme", "Global-e integration", "--env", "sandbox", "--consumer-has-it")
    assert result.exit_code == 0, result.output
    assert "revoked the old token" in result.output
    tokens = tokens_named("acme", "Global-e integration")
    assert [t["revoked"] for t in tokens] == [True, False]
    new_value = SINK.read_text().strip()
    assert new_value != old_value
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0
    scan_for_secrets(project, outputs, [old_value, new_value])


def test_rotate_without_confirmation_keeps_the_old_token_until_the_runbook_step(project: Path,
                                                                                outputs: Outputs) -> None:
    converge(outputs, "acme")
    result = outputs.run("rotate", "acme", "Global-e integration", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    tokens = tokens_named("acme", "Global-e integration")
    assert [t["revoked"] for t in tokens] == [False, False]
    runbook = Path("out/acme.sandbox.rotate.runbook.md").read_text()
    old_id, new_id = tokens[0]["id"], tokens[1]["id"]
    assert f"Revoke the old API token Global-e integration (id {old_id})" in runbook
    # until the old one is revoked, every plan says the rotation is half done (no longer a bare "No changes")
    half = outputs.run("plan", "acme", "--env", "sandbox")
    assert half.exit_code == 0
    assert (f"[warning] token.rotation-unfinished: the token 'Global-e integration' is valid 2 times: id {new_id} and "
            f"the older {old_id}, a rotation half done — revoke the older once its consumer uses id {new_id}"
            in " ".join(half.output.split()))
    newest = outputs.run("rotate", "acme", "Global-e integration", "--env", "sandbox", "--revoke", str(new_id))
    assert newest.exit_code == ExitCode.ERROR and "newest valid" in newest.stderr
    done = outputs.run("rotate", "acme", "Global-e integration", "--env", "sandbox", "--revoke", str(old_id))
    assert done.exit_code == 0, done.output
    assert [t["revoked"] for t in tokens_named("acme", "Global-e integration")] == [True, False]
    assert "rotation-unfinished" not in outputs.run("plan", "acme", "--env", "sandbox").output
    scan_for_secrets(project, outputs, [SINK.read_text().strip()])


def test_rotating_a_token_the_file_does_not_declare_changes_nothing(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    result = outputs.run("rotate", "acme", "Nobody", "--env", "sandbox", "--consumer-has-it")
    assert result.exit_code == ExitCode.ERROR and "declares no API token 'Nobody'" in result.stderr
    assert len(tokens_named("acme", "Global-e integration")) == 1


def test_doctor_flags_its_own_token_expiring_in_three_days(project: Path, outputs: Outputs) -> None:
    assert "own token        the token 'Provisioner (sandbox admin)' expires in" in outputs.run(
        "doctor", "acme", "--env", "sandbox").output
    admin = sandbox_call("acme", "GET", "/_sandbox/state")["tokens"][0]
    sandbox_call("acme", "PATCH", f"/_sandbox/tokens/{admin['id']}", {"expires_in": 3 * 86400 + 600})
    result = outputs.run("doctor", "acme", "--env", "sandbox")
    assert result.exit_code == 0
    assert "own token        WARNING: the token 'Provisioner (sandbox admin)' expires in 3 day(s)" in result.output


def test_the_sandbox_operator_performs_the_rotation_runbook_revoking_only_the_old_token(
        project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    assert outputs.run("rotate", "acme", "Global-e integration", "--env", "sandbox").exit_code == 0
    old_id, new_id = (t["id"] for t in tokens_named("acme", "Global-e integration"))
    performed = outputs.run("sandbox", "operator", "out/acme.sandbox.rotate.runbook.md")
    assert performed.exit_code == 0, performed.output + performed.stderr
    assert "revoked 1 token(s) named Global-e integration" in performed.output
    assert {t["id"]: t["revoked"] for t in tokens_named("acme", "Global-e integration")} == {old_id: True,
                                                                                           new_id: False}
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0
    scan_for_secrets(project, outputs, [SINK.read_text().strip()])
