"""What one merchant's apply sends, request by request, against a served emulator: the read under the
lock, each api change once (consecutive ones made by one mutation each, in one request), and the read
that proves convergence, which also settles the tokens it
created. No token listing of its own, unless the read under the lock is old (docs/apply.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.errors import ExitCode
from tests.engine.apply import gate
from tests.engine.conftest import Outputs

INTROSPECTION = "IntrospectionQuery"


def _apply_requests(gated: gate.Served, outputs: Outputs, *args: str) -> list[str]:
    assert outputs.run("plan", "acme", "--env", "served", "--out", "plan.json").exit_code == 0
    planned = len(gated.app.arrived)
    result = outputs.run("apply", "plan.json", "--yes", *args)
    assert result.exit_code == 0, result.output + result.stderr
    assert "converged: no api change left" in result.stdout
    return gated.app.arrived[planned:]


def test_apply_sends_two_reads_and_one_request_per_api_change(gated: gate.Served, outputs: Outputs) -> None:
    sent = _apply_requests(gated, outputs)
    changes = [c for c in json.loads(Path("plan.json").read_text())["plans"][0]["changes"]
               if c["executor"] == "api" and c["action"] != "no-op"]
    assert [c["kind"] for c in changes[:2]] == ["api_token", "warehouse"] and len(changes) > 2
    # The introspection cached by the plan serves the apply; the read under the lock, the changes in the
    # plan's order (the token first, in one request with the warehouse: neither needs the other's result),
    # then the convergence read: nothing else.
    assert sent[0] == "LiveState" and sent[1] == "CreateAccessToken_CreateWarehouse" and sent[-1] == "LiveState"
    # (a market's create first looks up the ids of its countries: one request of its own)
    assert sent.count("Countries") == sum(c["kind"] == "market" for c in changes)
    assert len([name for name in sent if name != "Countries"]) == 2 + len(changes) - 1, sent
    assert INTROSPECTION not in sent and "TokenLifetimes" not in sent
    [(_, value)] = gated.valid()
    assert Path(".provision/secrets/acme.served.global-e-integration.token").read_text().strip() == value


def test_an_old_read_lists_the_tokens_right_before_the_create(gated: gate.Served, outputs: Outputs,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_TOKEN_RECHECK_AFTER", "0")  # any read is old
    sent = _apply_requests(gated, outputs)
    assert sent[:3] == ["LiveState", "TokenLifetimes", "CreateAccessToken"] and sent.count("TokenLifetimes") == 1
    assert sent[-1] == "LiveState" and len(gated.valid()) == 1


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_a_bad_recheck_age_is_refused_before_anything_is_read(gated: gate.Served, outputs: Outputs,
                                                              monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PROVISION_TOKEN_RECHECK_AFTER", value)
    before = len(gated.app.arrived)
    result = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert result.exit_code == ExitCode.ERROR, result.output
    assert "PROVISION_TOKEN_RECHECK_AFTER must be a number of seconds, 0 or more" in result.stderr
    assert "nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert len(gated.app.arrived) == before and gated.tokens() == []
