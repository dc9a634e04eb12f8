"""Settings that only wait for `provision attest` are counted apart: once the runbook is done the plan
says there is nothing to create, update or delete, and `--detailed-exitcode` is 0, not 2."""

from __future__ import annotations

from pathlib import Path

from provisioner.errors import ExitCode
from tests.engine.conftest import Outputs


def test_after_the_runbook_only_attestations_are_left_and_said_apart(project: Path, outputs: Outputs) -> None:
    first = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode")
    assert first.exit_code == ExitCode.CHANGES
    assert "Plan: 14 to create, 0 to update, 0 to delete (6 api, 8 manual); 3 setting group(s) to confirm with " \
           "`provision attest acme --env sandbox` once the runbook is done" in first.output
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    assert outputs.run("sandbox", "operator", "out/acme.sandbox.runbook.md").exit_code == 0
    after = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode")
    assert after.exit_code == 0, after.output
    assert "Nothing to create, update or delete; 3 setting group(s) to confirm with `provision attest acme " \
           "--env sandbox`; 14 unchanged." in after.output
    markdown = outputs.run("plan", "acme", "--env", "sandbox", "--format", "markdown").output
    assert "3 to attest." in markdown and "to create" not in markdown.split("#### ")[1].split("<details>")[0]
    assert outputs.run("attest", "acme", "--env", "sandbox", "--yes").exit_code == 0
    done = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode")
    assert done.exit_code == 0 and "No changes" in done.output
