"""`provision github ...`: one comment per report updated in place, one drift issue, the job summary."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.engine.plan.document import MerchantError, PlanDocument
from provisioner.engine.plan.model import Binding, Change, Plan
from provisioner.gitops import github
from provisioner.render import job_summary, markdown

API = "https://api.github.test"
BODY = markdown.marker("qa") + "\n## provision plan · `qa`\n"


@pytest.fixture
def actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", API)
    monkeypatch.setenv("GITHUB_REPOSITORY", "shop/fleet")
    monkeypatch.setenv("GITHUB_TOKEN", "planted-github-token-0c7d")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["github", *args], catch_exceptions=False)
    return result.exit_code, result.output


BOT = {"login": "github-actions[bot]", "type": "Bot"}
STRANGER = {"login": "mallory", "type": "User"}


def test_a_report_updates_its_own_comment_and_leaves_others(actions: None, tmp_path: Path) -> None:
    body = tmp_path / "comment.md"
    body.write_text(BODY + "new")
    first_page = [{"id": n, "body": "unrelated", "user": BOT} for n in range(100)]
    second_page = [{"id": 500, "body": markdown.marker("qa") + " a stranger's copy", "user": STRANGER},
                   {"id": 501, "body": markdown.marker("prod") + " old prod", "user": BOT},
                   {"id": 502, "body": "quoted: " + markdown.marker("qa"), "user": BOT},
                   {"id": 503, "body": markdown.marker("qa") + " old qa", "user": BOT}]
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        listing = mock.get("/repos/shop/fleet/issues/7/comments").mock(
            side_effect=[httpx.Response(200, json=first_page), httpx.Response(200, json=second_page)])
        patch = mock.patch("/repos/shop/fleet/issues/comments/503").mock(return_value=httpx.Response(200, json={}))
        code, output = run("comment", str(body), "--pr", "7")
    assert code == 0 and "updated comment 503 on #7" in output
    assert [call.request.url.params["page"] for call in listing.calls] == ["1", "2"]
    assert json.loads(patch.calls.last.request.content) == {"body": BODY + "new"}
    assert patch.calls.last.request.headers["authorization"] == "Bearer planted-github-token-0c7d"
    assert "planted-github-token" not in output


def test_a_marker_in_a_stranger_s_comment_or_mid_body_is_never_updated(actions: None, tmp_path: Path) -> None:
    body = tmp_path / "comment.md"
    body.write_text(BODY)
    hijack = [{"id": 1, "body": markdown.marker("qa") + " by mallory", "user": STRANGER},
              {"id": 2, "body": "text " + markdown.marker("qa"), "user": BOT}]
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get("/repos/shop/fleet/issues/7/comments").mock(return_value=httpx.Response(200, json=hijack))
        post = mock.post("/repos/shop/fleet/issues/7/comments").mock(return_value=httpx.Response(201, json={"id": 9}))
        code, output = run("comment", str(body), "--pr", "7")
    assert code == 0 and "added comment 9" in output and post.called


def test_a_first_report_adds_a_comment(actions: None, tmp_path: Path) -> None:
    body = tmp_path / "comment.md"
    body.write_text(BODY)
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get("/repos/shop/fleet/issues/7/comments").mock(return_value=httpx.Response(200, json=[]))
        post = mock.post("/repos/shop/fleet/issues/7/comments").mock(return_value=httpx.Response(201, json={"id": 9}))
        code, output = run("comment", str(body), "--pr", "7")
    assert code == 0 and "added comment 9 on #7" in output and post.called


def test_a_body_without_marker_or_a_refusing_github_is_a_clear_error(actions: None, tmp_path: Path) -> None:
    body = tmp_path / "comment.md"
    for text in ("just text", "text first\n" + BODY):
        body.write_text(text)
        with respx.mock(base_url=API) as mock:
            code, output = run("comment", str(body), "--pr", "7")
            assert code == 1 and "does not start with a provision marker" in output and not mock.calls
    body.write_text(BODY)
    with respx.mock(base_url=API) as mock:
        mock.get("/repos/shop/fleet/issues/7/comments").mock(
            return_value=httpx.Response(403, json={"message": "Resource not accessible by integration"}))
        code, output = run("comment", str(body), "--pr", "7")
    assert code == 3 and "permissions:" in output and "Resource not accessible" in output
    assert "Traceback" not in output


def test_outside_actions_it_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    body = tmp_path / "comment.md"
    body.write_text(BODY)
    code, output = run("comment", str(body), "--pr", "7")
    assert code == 1 and "GITHUB_REPOSITORY and GITHUB_TOKEN" in output


def plan_document(path: Path, *, changed: bool = False, failed: bool = False) -> Path:
    """A plan document with or without drift (a merchant whose plan has a change) or a failed merchant."""
    change = Change(address="acme/qa/tax_group/VAT", kind="tax_group", name="VAT", action="update",
                    executor="manual")
    plan = Plan(merchant="acme", environment="qa", tier="qa", centra_url="https://acme.centraqa.com",
                binding=Binding(target_url="https://acme.centraqa.com", store_identity="s",
                                merchant_file_sha256="0", tool_version="0"),
                generated_at="2026-01-01T00:00:00+00:00", changes=[change] if changed else [])
    errors = [MerchantError(merchant="broken", exit_code=4, reason="invalid")] if failed else []
    PlanDocument(environment="qa", plans=[plan], errors=errors).write(path)
    return path


def test_drift_opens_updates_closes_and_reopens_one_issue(actions: None, tmp_path: Path) -> None:
    body = tmp_path / "drift.md"
    body.write_text(BODY + "drift")
    drifted = str(plan_document(tmp_path / "drifted.json", changed=True))
    failing = str(plan_document(tmp_path / "failing.json", failed=True))
    clean = str(plan_document(tmp_path / "clean.json"))
    title = "Live stores drifted from the merchant files (qa)"
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        listing = mock.get("/repos/shop/fleet/issues").mock(return_value=httpx.Response(200, json=[
            {"number": 3, "body": BODY, "user": BOT, "state": "open", "pull_request": {}},  # a PR is not the issue
            {"number": 4, "body": BODY, "user": STRANGER, "state": "open"}]))  # nor a stranger's copy
        opened = mock.post("/repos/shop/fleet/issues").mock(return_value=httpx.Response(201, json={"number": 12}))
        assert run("issue", str(body), "--title", title, "--plan", drifted) == (0, "opened issue #12\n")
    assert json.loads(opened.calls.last.request.content)["labels"] == [github.DRIFT_LABEL]
    assert listing.calls.last.request.url.params["state"] == "all"  # found by marker and author, not by label
    open_issue = [{"number": 12, "body": BODY + "old", "user": BOT, "state": "open", "labels": []}]
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get("/repos/shop/fleet/issues").mock(return_value=httpx.Response(200, json=open_issue))
        patch = mock.patch("/repos/shop/fleet/issues/12").mock(return_value=httpx.Response(200, json={}))
        assert run("issue", str(body), "--title", title, "--plan", drifted) == (0, "updated issue #12\n")
        # a merchant that could not be planned may have drifted: the issue stays open
        assert run("issue", str(body), "--title", title, "--plan", failing) == (0, "updated issue #12\n")
        assert run("issue", str(body), "--title", title, "--plan", clean) == (0, "closed issue #12\n")
    assert json.loads(patch.calls.last.request.content)["state"] == "closed"
    closed_issue = [{**open_issue[0], "state": "closed"}]
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get("/repos/shop/fleet/issues").mock(return_value=httpx.Response(200, json=closed_issue))
        patch = mock.patch("/repos/shop/fleet/issues/12").mock(return_value=httpx.Response(200, json={}))
        assert run("issue", str(body), "--title", title, "--plan", drifted) == (0, "reopened issue #12\n")
    assert json.loads(patch.calls.last.request.content)["state"] == "open"
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get("/repos/shop/fleet/issues").mock(return_value=httpx.Response(200, json=closed_issue))
        assert run("issue", str(body), "--title", title, "--plan", clean) == (
            0, "nothing to report; issue #12 stays closed\n")
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        mock.get("/repos/shop/fleet/issues").mock(return_value=httpx.Response(200, json=[]))
        assert run("issue", str(body), "--title", title, "--plan", clean) == (0, "nothing to report, no issue open\n")


def test_the_job_summary_lists_each_runbook_step_escaped(tmp_path: Path) -> None:
    runbook = tmp_path / "acme.qa.runbook.md"
    runbook.write_text("# Runbook: acme in qa\n\nintro\n\n## 1. Create the plugin <b>GE</b> | x\n\n- **Where:** AMS\n"
                       "\n## 2. Create the tax group GE Local VAT\n")
    text = job_summary.render([runbook], "done: created API token\n```\nnot a fence end")
    assert "### Runbook: acme in qa (2 step(s), `acme.qa.runbook.md`)" in text
    assert "1. Create the plugin &lt;b>GE&lt;/b> \\| x" in text and "2. Create the tax group GE Local VAT" in text
    assert "````text" in text  # the apply output cannot close its fence
    assert job_summary.render([]).endswith("No runbook was written.\n")  # the outcome unknown: no "nothing to do"
    assert job_summary.render([], exit_code=0).endswith("nothing to do by hand for what was applied.\n")


def test_a_workflow_command_in_the_apply_log_never_reaches_the_summary() -> None:
    log = "Plan: 1 to create\n::add-mask::planted-token-value-8d1e\n  ::set-output name=x::planted-2\ndone: created\n"
    text = job_summary.render([], log)
    assert "planted" not in text and "Plan: 1 to create" in text and "done: created" in text


def test_the_job_summary_escapes_a_real_runbooks_headings_once(tmp_path: Path) -> None:
    from provisioner.escape import md_text

    title = "Add the plugin Checkout & DTC [EU] <b>x</b> | @team `v2` \\ *"
    runbook = tmp_path / "acme.qa.runbook.md"
    runbook.write_text(f"# Runbook: acme in qa\n\n## 1. {md_text(title)}\n")  # as runbook.render writes it
    text = job_summary.render([runbook])
    assert f"1. {md_text(title)}\n" in text  # not &amp;amp; or \\\[ : escaped once
