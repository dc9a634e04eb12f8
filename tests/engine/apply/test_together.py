"""Changes sent in one request (acme's token and warehouse: neither needs the other's result): each is
journalled "started" before the request goes, each answers on its own (its userErrors are its alone), and
a request whose answer is lost leaves both to the next run, which reads the store to learn what was made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provisioner.errors import ExitCode
from provisioner.sandbox.wire import DropConnection, Response
from tests.engine.apply import gate
from tests.engine.conftest import Outputs

TOGETHER = "CreateAccessToken_CreateWarehouse"
JOURNAL = Path(".provision/journal/acme.served.json")
SINK = Path(".provision/secrets/acme.served.global-e-integration.token")
TOKEN = "acme/served/api_token/Global-e integration"
WAREHOUSE = "acme/served/warehouse/Main"


def _warehouses(served: gate.Served) -> list[str]:
    with served.box.store.transaction() as db:
        return [str(row["name"]) for row in db.execute("SELECT name FROM warehouses WHERE name = 'Main'")]


def _journal() -> dict[str, dict[str, Any]]:
    return {e["address"]: e for e in json.loads(JOURNAL.read_text())}


def test_both_are_journalled_started_before_their_one_request_goes(gated: gate.Served, outputs: Outputs) -> None:
    seen: list[dict[str, dict[str, Any]]] = []
    gated.app.before[TOGETHER] = lambda app, number: bool(seen.append(_journal())) or True
    result = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert result.exit_code == 0, result.output + result.stderr
    assert gated.app.count(TOGETHER) == 1 and gated.app.count("CreateAccessToken") == 1
    [journal] = seen
    assert {a: e["status"] for a, e in journal.items()} == {TOKEN: "started", WAREHOUSE: "started"}
    # each reported on its own, in the plan's order
    token_line = result.stdout.index("done: created API token Global-e integration")
    assert token_line < result.stdout.index("done: created warehouse Main (id ")
    [(_, value)] = gated.valid()
    assert SINK.read_text().strip() == value and value not in result.output + result.stderr
    assert not JOURNAL.exists()  # the run finished


def test_one_refused_in_the_request_is_its_failure_alone(gated: gate.Served, outputs: Outputs) -> None:
    def refuse_the_token(response: Response) -> Response:
        data = response.payload()["data"]
        assert data["createWarehouse"]["warehouse"]["name"] == "Main"  # made, and answered for
        with gated.box.store.transaction() as db:  # the token refused, as Centra refuses one: nothing made
            db.execute("DELETE FROM tokens WHERE name = ?", (gate.TOKEN,))
        return Response.json(200, {"data": {**data, "createAccessToken": {"accessToken": None, "userWarnings": [],
                                     "userErrors": [{"message": "Email is taken", "path": ["input", "email"]}]}}})

    gated.app.rewrite[TOGETHER] = refuse_the_token
    result = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert result.exit_code == ExitCode.PARTIAL_APPLY, result.output + result.stderr
    assert f"{TOKEN}: createAccessToken was rejected by Centra: input.email: Email is taken" in result.stderr
    assert "done: created warehouse Main (id " in result.stderr  # what the run did
    assert f"not done: {TOKEN}" in result.stderr
    journal = _journal()
    assert journal[TOKEN]["status"] == "failed" and "Email is taken" in journal[TOKEN]["detail"]
    assert journal[WAREHOUSE]["status"] == "done" and _warehouses(gated) == ["Main"]
    assert not SINK.exists()
    # The next run has only the token left to make (the refused create made nothing: no rotation).
    gated.app.rewrite.clear()
    again = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert again.exit_code == 0, again.output + again.stderr
    assert gated.app.count("CreateWarehouse") == 1 and len(gated.valid()) == 1
    assert "rotation" not in again.stdout and SINK.read_text().strip() == gated.valid()[0][1]


def test_a_request_lost_before_centra_leaves_both_to_the_next_run(gated: gate.Served, outputs: Outputs) -> None:
    gated.app.drop[TOGETHER] = 1  # dropped unhandled: nothing was made
    result = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert result.exit_code == ExitCode.PARTIAL_APPLY, result.output + result.stderr
    assert f"{TOKEN}, {WAREHOUSE}: createAccessToken+createWarehouse" in result.stderr
    assert {a: e["status"] for a, e in _journal().items()} == {TOKEN: "unknown", WAREHOUSE: "unknown"}
    assert gated.tokens() == [] and _warehouses(gated) == []
    again = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert again.exit_code == 0, again.output + again.stderr
    assert f"continuing after an interrupted run: {TOKEN} (unknown)" in again.stdout
    assert len(gated.valid()) == 1 and _warehouses(gated) == ["Main"]
    assert SINK.read_text().strip() == gated.valid()[0][1]


def test_a_request_made_but_unanswered_is_resolved_by_reading_the_store(gated: gate.Served,
                                                                        outputs: Outputs) -> None:
    def lose_the_answer(app: gate.GatedApp) -> None:
        raise DropConnection  # both made, the answer never sent

    gated.app.after[TOGETHER] = lose_the_answer
    result = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert result.exit_code == ExitCode.PARTIAL_APPLY, result.output + result.stderr
    assert {a: e["status"] for a, e in _journal().items()} == {TOKEN: "unknown", WAREHOUSE: "unknown"}
    [(lost, _)] = gated.valid()
    assert _warehouses(gated) == ["Main"] and not SINK.exists()
    gated.app.after.clear()
    # The next run finds both: the warehouse is there (no change), the token's value reached no sink, so
    # it is rotated: a new one to the sink, the lost one revoked. Exactly one valid, its value stored once.
    assert outputs.run("plan", "acme", "--env", "served").exit_code in (0, 2)
    again = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert again.exit_code == 0, again.output + again.stderr
    assert gated.app.count("CreateWarehouse") == 1
    [(kept, value)] = gated.valid()
    assert kept != lost and SINK.read_text().strip() == value and value not in again.output + again.stderr


def test_an_error_on_one_field_is_that_changes_alone_and_its_outcome_unknown(gated: gate.Served,
                                                                             outputs: Outputs) -> None:
    def fail_the_warehouse(response: Response) -> Response:
        data = response.payload()["data"]
        return Response.json(200, {"data": {**data, "createWarehouse": None}, "errors": [
            {"message": "Internal error", "path": ["createWarehouse"], "locations": [{"line": 9, "column": 3}]}]})

    gated.app.rewrite[TOGETHER] = fail_the_warehouse
    result = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert result.exit_code == ExitCode.PARTIAL_APPLY, result.output + result.stderr
    assert f"{WAREHOUSE}: createWarehouse: {gated.url}/graphql answered an error: Internal error" in result.stderr
    # The token beside it was made: settled by one listing before the run stops, its value stored.
    [(_, value)] = gated.valid()
    assert SINK.read_text().strip() == value and value not in result.output + result.stderr
    assert f"Global-e integration: token value stored in {SINK}" in result.stderr
    journal = _journal()
    assert journal[TOKEN]["status"] == "done" and journal[WAREHOUSE]["status"] == "unknown"
    # Made after all (the error was the answer's, not the create's): the next run finds it, creates nothing.
    gated.app.rewrite.clear()
    again = outputs.run("apply", "acme", "--env", "served", "--yes")
    assert again.exit_code == 0, again.output + again.stderr
    assert gated.app.count("CreateWarehouse") == 1 and gated.app.count("CreateAccessToken") == 1
    assert _warehouses(gated) == ["Main"] and gated.valid() == [(gated.valid()[0][0], value)]
