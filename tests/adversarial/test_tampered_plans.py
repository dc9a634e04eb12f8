"""A saved plan applies only to what it was made from: any edited field, another target, or a changed
merchant file is exit 7 with nothing changed; a file that is not a plan is one line, exit 1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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
