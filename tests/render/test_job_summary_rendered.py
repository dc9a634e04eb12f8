"""The job summary of an apply, as GitHub renders it: one status line per merchant before anything else,
and a failed apply never reads as "nothing to do"."""

from __future__ import annotations

from pathlib import Path

from provisioner.render import job_summary
from tests.engine.conftest import Outputs, outputs, project, sandbox_call
from tests.rendered import render

__all__ = ["outputs", "project"]


def _lines(markdown: str) -> list[str]:
    return [line for line in render(markdown).text.split("\n") if line.strip()]


def test_a_failed_merchant_leads_the_summary_with_its_exit_code_and_reason(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    sandbox_call("nordwind", "POST", "/_sandbox/tokens", {"name": "Made meanwhile", "permissions": ["Order:read"]})
    result = outputs.run("apply", "plan.json", "--auto-approve")
    assert result.exit_code != 0
    log = result.output + result.stderr  # `2>&1 | tee apply.txt`
    runbooks = sorted(Path("out").glob("*.runbook.md"))
    text = job_summary.render(runbooks, log, exit_code=result.exit_code,
                              merchants=["acme/sandbox", "nordwind/sandbox"])
    lines = _lines(text)
    assert lines[1] == f"failed (exit {result.exit_code})"
    assert lines[2].startswith("❌ nordwind/sandbox failed (exit 7): ") and "changed" in lines[2], lines[2]
    assert lines[3].startswith("⏸️ acme/sandbox waiting for a person: ") and "step(s) in AMS" in lines[3]
    assert "nothing to do" not in text


def test_an_apply_that_failed_naming_no_merchant_is_still_a_failure(tmp_path: Path) -> None:
    text = job_summary.render([], "Plan: 1 to create\nerror: cannot reach acme.centra.com\n", exit_code=1,
                              merchants=["acme/qa"])
    lines = _lines(text)
    assert lines[1:3] == ["failed (exit 1)", "❌ failed (exit 1): cannot reach acme.centra.com"]
    assert "applied" not in text.split("<details>")[0]  # the plan's merchants are not known to be applied
    assert "nothing to do" not in text


def test_a_clean_apply_names_each_merchant_applied(tmp_path: Path) -> None:
    runbook = tmp_path / "acme.qa.runbook.md"
    runbook.write_text("# Runbook: acme in qa\n\nNothing to do by hand.\n")
    text = job_summary.render([runbook], "done\n", exit_code=0, merchants=["acme/qa", "nordwind/qa"])
    assert _lines(text)[1:4] == ["succeeded", "✅ acme/qa applied", "✅ nordwind/qa applied"]


def test_a_failure_on_several_lines_is_one_status(tmp_path: Path) -> None:
    log = "error: acme/qa: the store moved\n    token 'x' was revoked (exit 7)\nerror: nordwind/qa: 403 (exit 3)\n"
    found = job_summary.statuses([], log, 5, ["acme/qa", "nordwind/qa", "dataline/qa"])
    assert [(s.merchant, s.status, s.exit_code) for s in found] == [
        ("acme/qa", "failed", 7), ("nordwind/qa", "failed", 3), ("dataline/qa", "applied", None)]
    assert "token 'x' was revoked" in found[0].detail


def test_the_command_reads_the_plan_the_log_and_the_exit_code(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    Path("apply.txt").write_text("error: acme/sandbox: the store moved (exit 7)\n")
    result = outputs.run("github", "summary", "--apply-log", "apply.txt", "--exit-code", "7", "--plan", "plan.json")
    assert result.exit_code == 0, result.output
    assert _lines(result.output)[1:3] == ["failed (exit 7)", "❌ acme/sandbox failed (exit 7): the store moved"]
