"""A saved plan applies only to what it was made from: any edited field, another target, or a changed
merchant file is exit 7 with nothing changed; a file that is not a plan is one line, exit 1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.plan.model import Plan, differences
from provisioner.errors import ExitCode
from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import open_sandbox
from provisioner.sandbox.server import make_server
from tests.adversarial.conftest import ServedMerchant
from tests.engine.conftest import Outputs, tokens_named

TOKEN = "Global-e integration"


def _token_change(plan: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in plan["changes"] if c["kind"] == "api_token")


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "after": lambda p: _token_change(p)["after"].update(email="attacker@evil.example"),
    "risk": lambda p: _token_change(p).update(risk="info" if _token_change(p)["risk"] != "info" else "critical"),
    "executor": lambda p: next(c for c in p["changes"] if c["executor"] == "manual").update(executor="api"),
    "action": lambda p: _token_change(p).update(action="delete"),
    "fields": lambda p: _token_change(p)["fields"].pop(),
    "capabilities": lambda p: p["capabilities"].update(create_token="createAccessToken2"),
    "sections": lambda p: next(iter(p["sections"].values())).update(mode="exclusive"),
    "extra change": lambda p: p["changes"].append({**_token_change(p), "address": "acme/sandbox/api_token/x",
                                                   "name": "x"}),
    "dropped change": lambda p: p["changes"].pop(0),
    "binding": lambda p: p["binding"].update(merchant_file_sha256="sha256:" + "0" * 64),
    "tool version": lambda p: p["binding"].update(tool_version="0.0.1"),
    "centra_url": lambda p: p.update(centra_url="https://acme.centra.com"),
    "fingerprint": lambda p: p["fingerprints"].update({next(iter(p["fingerprints"])): "sha256:0"}),
    # A key on one side only: dropped from the saved plan, or added to it.
    "fingerprint dropped": lambda p: p["fingerprints"].pop(sorted(p["fingerprints"])[-1]),
    "fingerprint added": lambda p: p["fingerprints"].update({"acme/sandbox/api_token/x": "sha256:0"}),
    "capability dropped": lambda p: p["capabilities"].pop(sorted(p["capabilities"])[0]),
    "capability added": lambda p: p["capabilities"].update(delete_everything=None),
    "section dropped": lambda p: p["sections"].pop(sorted(p["sections"])[0]),
    "app_version": lambda p: p.update(app_version=None) if p["app_version"] else p.update(app_version="9.9"),
    "tier": lambda p: p.update(tier="prod"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_plan_is_stale_and_changes_nothing(project: Path, outputs: Outputs, edit: str) -> None:
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    document = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    EDITS[edit](document["plans"][0])  # the plan document holds one plan per merchant; each is checked
    Path("plan.json").write_text(json.dumps(document), encoding="utf-8")
    result = outputs.run("apply", "plan.json", "--auto-approve")
    assert result.exit_code == ExitCode.STALE_PLAN, result.output + result.stderr
    assert "nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert tokens_named("acme", TOKEN) == []
    assert not Path("out/acme.sandbox.runbook.md").exists()


def test_an_edited_merchant_file_makes_the_plan_stale(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text(encoding="utf-8") + "# a comment changes the digest\n", encoding="utf-8")
    result = outputs.run("apply", "plan.json", "--auto-approve")
    assert result.exit_code == ExitCode.STALE_PLAN and "binding.merchant_file_sha256" in result.stderr
    assert tokens_named("acme", TOKEN) == []


def test_a_plan_applied_after_centra_url_moved_to_another_store_is_stale(served_acme: ServedMerchant,
                                                                          outputs: Outputs,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    other = open_sandbox(FixtureSpec("acme", "GlobalE Store", "Main", ("GB",), products=5), tmp_path / "other.db")
    server = make_server(other.app, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    other_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert outputs.run("plan", "acme", "--env", "served", "--out", "plan.json").exit_code == 0
        merchant = Path("merchants/acme.yaml")
        merchant.write_text(merchant.read_text(encoding="utf-8").replace(served_acme.url, other_url),
                            encoding="utf-8")
        monkeypatch.setenv("SERVED_ADMIN_TOKEN", other.admin_token)
        result = outputs.run("apply", "plan.json", "--auto-approve")
        assert result.exit_code == ExitCode.STALE_PLAN, result.output + result.stderr
        assert "another target" in result.stderr or "changed" in result.stderr
        for box in (served_acme.box, other):
            state = box.app.handle(_get_state(box.admin_headers())).payload()
            assert [t for t in state["tokens"] if t["name"] == TOKEN] == []
    finally:
        server.shutdown()
        server.server_close()


def _get_state(headers: dict[str, str]) -> Any:
    from provisioner.sandbox.wire import Request

    return Request("GET", "/_sandbox/state", headers=headers)


NOT_PLANS: dict[str, bytes] = {
    "not utf-8": b'{"format_version": 2, "merchant": "\xff\xfe"}',
    "utf-16": '{"format_version": 2}'.encode("utf-16"),
    "not json": b"format_version = 2\n",
    "a list": b"[1, 2, 3]",
    "foreign json": b'{"name": "package.json", "version": "1.0.0"}',
    "format 1": b'{"format_version": 1, "merchant": "acme", "environment": "sandbox"}',
    "empty": b"",
    "nul bytes": b"\x00" * 64,
    "traversal": json.dumps({"format_version": 2, "merchant": "../../etc/passwd", "environment": "sandbox"}).encode(),
}


@pytest.mark.parametrize("case", sorted(NOT_PLANS))
def test_a_file_that_is_not_a_plan_is_one_line_exit_1(project: Path, outputs: Outputs, case: str) -> None:
    Path("plan.json").write_bytes(NOT_PLANS[case])
    result = outputs.run("apply", "plan.json", "--auto-approve")
    assert result.exit_code == ExitCode.ERROR, result.output + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: plan.json: not a plan")
    assert tokens_named("acme", TOKEN) == []


def test_a_missing_plan_file_is_one_line_exit_1(project: Path, outputs: Outputs) -> None:
    result = outputs.run("apply", "missing.json", "--auto-approve")
    assert result.exit_code == ExitCode.ERROR and result.stderr.count("\n") == 1


def test_a_document_planning_one_merchant_twice_is_refused_before_either(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    document = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    document["plans"].append(document["plans"][0])
    Path("plan.json").write_text(json.dumps(document), encoding="utf-8")
    result = outputs.run("apply", "plan.json", "--auto-approve")
    assert result.exit_code == ExitCode.ERROR, result.output + result.stderr
    assert result.stderr == "error: plan.json: not a plan this version can apply (acme/sandbox is planned twice); " \
                            "nothing was changed\n"
    assert tokens_named("acme", TOKEN) == []
    assert not Path("out/acme.sandbox.runbook.md").exists()


# ---------------------------------------------------------------- nothing in a saved plan steers the exit


def _document_with_a_failed_merchant(outputs: Outputs) -> dict[str, Any]:
    Path("merchants/broken.yaml").write_text("merchant: broken\nstore: [unclosed\n", encoding="utf-8")
    planned = outputs.run("plan", "acme", "broken", "--env", "sandbox", "--out", "plan.json")
    assert planned.exit_code == ExitCode.INVALID_CONFIG, planned.output + planned.stderr
    document: dict[str, Any] = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    assert [(e["merchant"], e["exit_code"]) for e in document["errors"]] == [("broken", 4)]
    return document


def test_a_merchant_that_failed_to_plan_fails_the_apply_as_loudly_as_the_plan(project: Path,
                                                                               outputs: Outputs) -> None:
    _document_with_a_failed_merchant(outputs)
    result = outputs.run("apply", "plan.json", "--auto-approve")
    assert result.exit_code == ExitCode.INVALID_CONFIG, result.output + result.stderr
    assert "not planned, so not applied" in result.stderr and len(tokens_named("acme", TOKEN)) == 1


@pytest.mark.parametrize("code", [0, 2, 5, 6, 7, 8, 42, -1])
def test_an_edited_exit_code_of_a_failed_merchant_is_refused_before_anything(project: Path, outputs: Outputs,
                                                                              code: int) -> None:
    """0 would make the apply succeed, 2 say "changes", 5/7/8 claim what only an apply can find: no way
    planning a merchant fails gives them, so the document was edited. Nothing is applied, exit 1."""
    document = _document_with_a_failed_merchant(outputs)
    document["errors"][0]["exit_code"] = code
    Path("plan.json").write_text(json.dumps(document), encoding="utf-8")
    for command in (["apply", "plan.json", "--auto-approve"], ["report", "plan.json"]):
        result = outputs.run(*command)
        assert result.exit_code == ExitCode.ERROR, result.output + result.stderr
        assert result.stderr == (f"error: plan.json: not a plan this version can apply (errors.0.exit_code: {code} "
                                 "is not how planning a merchant fails: 1, 3, 4); nothing was changed\n")
    assert tokens_named("acme", TOKEN) == []
    assert not Path("out/acme.sandbox.runbook.md").exists()


@pytest.mark.parametrize("code", [1, 3, 4])
def test_each_way_planning_fails_is_kept(project: Path, outputs: Outputs, code: int) -> None:
    document = _document_with_a_failed_merchant(outputs)
    document["errors"][0]["exit_code"] = code
    document["plans"] = []
    Path("plan.json").write_text(json.dumps(document), encoding="utf-8")
    assert outputs.run("apply", "plan.json", "--auto-approve").exit_code == code


# ------------------------------------------------- the comparison notices a key present on one side only


@pytest.fixture
def fresh(project: Path) -> Plan:
    from provisioner.engine.plan import planning

    return planning.plan("acme", "sandbox").plan


def _edited(plan: Plan, edit: Callable[[dict[str, Any]], None]) -> Plan:
    data = plan.model_dump(mode="json")
    edit(data)
    return Plan.model_validate(data)


def test_an_unedited_plan_has_no_difference(fresh: Plan) -> None:
    assert differences(_edited(fresh, lambda p: p.update(generated_at="2000-01-01T00:00:00+00:00")), fresh) == []


@pytest.mark.parametrize("section", ["fingerprints", "capabilities", "sections"])
def test_a_mapping_key_on_one_side_only_is_a_difference(fresh: Plan, section: str) -> None:
    # None where it may be: a key holding None on one side and missing on the other is still a difference
    value: Any = {"state": "managed"} if section == "sections" else "sha256:0" if section == "fingerprints" else None
    extra = _edited(fresh, lambda p: p[section].update({"zz-extra": value}))
    assert differences(extra, fresh) == [f"{section}.zz-extra"]  # only in the saved plan
    assert differences(fresh, extra) == [f"{section}.zz-extra"]  # only in the fresh one
    first = sorted(getattr(fresh, section))[0]
    dropped = _edited(fresh, lambda p: p[section].pop(first))
    assert differences(dropped, fresh) == [f"{section}.{first}"]


def test_a_capability_set_to_none_differs_from_one_left_out(fresh: Plan) -> None:
    name = next(k for k, v in fresh.capabilities.items() if v is not None)
    assert differences(_edited(fresh, lambda p: p["capabilities"].update({name: None})), fresh) == [
        f"capabilities.{name}"]


def test_a_change_on_one_side_only_is_named(fresh: Plan) -> None:
    token = next(c for c in fresh.changes if c.kind == "api_token")
    extra = _edited(fresh, lambda p: p["changes"].append({**_token_change(p), "address": "acme/sandbox/api_token/x",
                                                          "name": "x"}))
    assert differences(extra, fresh) == ["changes[acme/sandbox/api_token/x]"]
    assert differences(fresh, extra) == ["changes[acme/sandbox/api_token/x]"]
    dropped = _edited(fresh, lambda p: p["changes"].remove(_token_change(p)))
    assert differences(dropped, fresh) == [f"changes[{token.address}]"]


def test_changes_in_another_order_are_a_difference(fresh: Plan) -> None:
    assert differences(_edited(fresh, lambda p: p["changes"].reverse()), fresh) == ["changes (order)"]


def test_top_level_fields_and_bindings_are_compared(fresh: Plan) -> None:
    assert differences(_edited(fresh, lambda p: p.update(tier="prod")), fresh) == ["tier"]
    assert differences(_edited(fresh, lambda p: p["binding"].update(tool_version="0")), fresh) == [
        "binding.tool_version"]
    assert differences(_edited(fresh, lambda p: p.update(findings=[])), fresh) == []  # worked out again on apply
