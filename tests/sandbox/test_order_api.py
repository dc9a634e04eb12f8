"""The Order API probe: `status: ok` only for the active plugin with that URI and the right secret."""

from __future__ import annotations

import pytest

from provisioner.sandbox.instance import Sandbox
from provisioner.sandbox.wire import Request
from tests.sandbox.conftest import sandbox_request


def _probe(box: Sandbox, uri: str, secret: str | None) -> tuple[int, dict[str, object]]:
    headers = {"api-authorization": secret} if secret is not None else {}
    response = box.app.handle(Request("GET", f"/api/{uri}/orders", headers=headers))
    return response.status, response.payload()


@pytest.fixture
def plugin(box: Sandbox) -> None:
    sandbox_request(box, "PUT", "/_sandbox/plugins", {
        "store": "GlobalE Store", "name": "GE Order API", "type": "order_api", "uri": "ge-order-api",
        "settings": {"secret": "s3cret-value"}})


@pytest.mark.usefixtures("plugin")
def test_active_plugin_and_right_secret_answer_ok(box: Sandbox) -> None:
    assert _probe(box, "ge-order-api", "s3cret-value") == (200, {"status": "ok", "plugin": "GE Order API",
                                                                  "uri": "ge-order-api"})


@pytest.mark.usefixtures("plugin")
@pytest.mark.parametrize("secret", ["wrong", "", None])
def test_wrong_or_missing_secret_answers_no(box: Sandbox, secret: str | None) -> None:
    status, body = _probe(box, "ge-order-api", secret)
    assert status == 200 and body["status"] == "no" and body["code"] == -7


@pytest.mark.usefixtures("plugin")
def test_inactive_plugin_answers_no(box: Sandbox) -> None:
    sandbox_request(box, "PUT", "/_sandbox/plugins", {"store": "GlobalE Store", "name": "GE Order API",
                                                      "type": "order_api", "status": "inactive"})
    assert _probe(box, "ge-order-api", "s3cret-value")[1]["status"] == "no"


def test_unknown_uri_answers_no(box: Sandbox) -> None:
    assert _probe(box, "nothing-here", "x") == (404, {"status": "no", "code": -1, "msg": "No API plugin at "
                                                                                         "/api/nothing-here"})


@pytest.mark.usefixtures("plugin")
def test_plugin_settings_are_invisible_to_graphql_and_hashed_in_state(box: Sandbox) -> None:
    state = sandbox_request(box, "GET", "/_sandbox/state")
    assert "s3cret-value" not in str(state)
    plugin = next(p for p in state["plugins"] if p["name"] == "GE Order API")
    assert plugin["settings"]["secret"].startswith("sha256:")
