"""Secrets of a real (non-sandbox) environment, end to end: the tool's own token and a plugin's secret
reach a store served over HTTP on 127.0.0.1 as the values themselves, read through `reveal_for` and
`reveal`, and never appear in an output. (The lifecycle tests run on the sandbox, which only ever sees
stand-ins: there, a `reveal_for` that lost real values would go unnoticed.)"""

from __future__ import annotations

import json

import pytest

from provisioner.sandbox.wire import Request
from tests.adversarial.conftest import ServedMerchant
from tests.engine.conftest import PLANTED, Outputs

ORDER_API = {"store": "GlobalE Store", "name": "GE Order API", "type": "order_api", "uri": "ge-order-api"}
ACCEPTED = "ok  plugin GE Order API secret: /api/ge-order-api accepts the secret"


def _put_order_api_plugin(served: ServedMerchant, secret: str) -> None:
    """What a person does in the store's AMS: the Order API plugin, with the secret of the merchant file."""
    response = served.box.app.handle(Request("PUT", "/_sandbox/plugins", headers=served.box.admin_headers(),
                                             body=json.dumps({**ORDER_API, "settings": {"secret": secret}}).encode()))
    assert response.status == 200, response.payload()


def test_verify_probes_a_real_store_with_the_secret_itself(served_acme: ServedMerchant, outputs: Outputs) -> None:
    _put_order_api_plugin(served_acme, PLANTED["ACME_ORDER_API_SECRET"])
    result = outputs.run("verify", "acme", "--env", "served")
    assert ACCEPTED in result.output, result.output + result.stderr
    assert not any(PLANTED["ACME_ORDER_API_SECRET"] in text for text in outputs.texts)


def test_verify_of_a_real_store_names_a_secret_that_is_not_set(served_acme: ServedMerchant, outputs: Outputs,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _put_order_api_plugin(served_acme, PLANTED["ACME_ORDER_API_SECRET"])
    monkeypatch.delenv("ACME_ORDER_API_SECRET")
    result = outputs.run("verify", "acme", "--env", "served")
    assert result.exit_code == 1
    assert "FAIL plugin GE Order API secret: env:ACME_ORDER_API_SECRET is not set here" in result.output


def test_a_token_ending_in_a_newline_is_sent_without_it(served_acme: ServedMerchant, outputs: Outputs,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI secret set with `echo` ends in a newline. Sent as is, httpx refused the header with an error
    quoting it, and the tool printed that error: the whole token, five times."""
    monkeypatch.setenv("SERVED_ADMIN_TOKEN", served_acme.token + "\n")
    result = outputs.run("plan", "acme", "--env", "served")
    assert result.exit_code == 0, result.output + result.stderr
    assert "Plan: 14 to create" in result.output
    assert not any(served_acme.token in text for text in outputs.texts)


@pytest.mark.parametrize("char", ["\t", "\x1b", "\x7f", "\r"], ids=["tab", "ESC", "DEL", "carriage return"])
def test_a_token_with_a_control_character_inside_is_refused_by_reference(
        served_acme: ServedMerchant, outputs: Outputs, monkeypatch: pytest.MonkeyPatch, char: str) -> None:
    before = served_acme.box.app.handle(Request("GET", "/_sandbox/stats", headers=served_acme.box.admin_headers()))
    monkeypatch.setenv("SERVED_ADMIN_TOKEN", served_acme.token[:20] + char + served_acme.token[20:])
    result = outputs.run("plan", "acme", "--env", "served")
    assert result.exit_code == 3, result.output + result.stderr
    assert "secret env:SERVED_ADMIN_TOKEN is not one line of text" in result.stderr
    assert not any(served_acme.token[:20] in text or served_acme.token[20:] in text for text in outputs.texts)
    after = served_acme.box.app.handle(Request("GET", "/_sandbox/stats", headers=served_acme.box.admin_headers()))
    assert after.payload()["graphql_requests"] == before.payload()["graphql_requests"]  # nothing was sent
