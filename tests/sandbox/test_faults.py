"""Fault injection: latency, 5xx, 429, dropped connections, the Nth mutation failing."""

from __future__ import annotations

import math
from email.utils import parsedate_to_datetime

import httpx
import pytest

from provisioner.sandbox.app import SandboxApp
from provisioner.sandbox.instance import Sandbox
from provisioner.sandbox.wire import DropConnection
from tests.sandbox.conftest import Call, Clock, sandbox_request

CREATE = ('mutation($n: String!) { createAccessToken(input: {name: $n, organizationName: "o", integrationName: "i", '
          'email: "a@b.example", permissions: ["Order:read"], ttl: 3600}) '
          '{ accessToken { id } userErrors { message } } }')


def _token_names(call: Call) -> list[str]:
    data = call("{ graphQLAccesses { user { name } } }").payload()["data"]
    return [t["user"]["name"] for t in data["graphQLAccesses"]]


def test_status_fault_answers_the_next_n_requests(call: Call, box: Sandbox) -> None:
    sandbox_request(box, "PUT", "/_sandbox/faults", {"status": {"code": 503, "count": 2}})
    assert [call("{ stores { id } }").status for _ in range(3)] == [503, 503, 200]


def test_rate_limit_fault_sends_a_timestamp(call: Call, box: Sandbox, clock: Clock) -> None:
    sandbox_request(box, "PUT", "/_sandbox/faults", {"rate_limit": {"count": 1, "retry_after": 3}})
    response = call("{ stores { id } }")
    assert response.status == 429
    assert parsedate_to_datetime(response.headers["retry-after"]).timestamp() == math.ceil(clock.now + 3)
    assert call("{ stores { id } }").status == 200  # the next request is not refused


def test_latency_fault_sleeps_before_answering(box: Sandbox) -> None:
    slept: list[float] = []
    app = SandboxApp(box.store, sleep=slept.append)
    sandbox_request(box, "PUT", "/_sandbox/faults", {"latency": {"ms": 250}})
    from provisioner.sandbox.wire import Request
    app.handle(Request("POST", "/graphql", headers={"authorization": f"Bearer {box.admin_token}"},
                       body=b'{"query": "{ stores { id } }"}'))
    assert slept == [0.25]


def test_dropped_connection_reaches_httpx_as_a_protocol_error(box: Sandbox) -> None:
    sandbox_request(box, "PUT", "/_sandbox/faults", {"drop": {"count": 1}})
    with httpx.Client(transport=box.transport(), base_url="https://acme.sandbox.invalid") as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/graphql", json={"query": "{ stores { id } }"})
        assert client.post("/graphql", json={"query": "{ stores { id } }"},
                           headers={"Authorization": f"Bearer {box.admin_token}"}).status_code == 200


def test_nth_mutation_fails_without_change(call: Call, box: Sandbox) -> None:
    sandbox_request(box, "PUT", "/_sandbox/faults", {"fail_mutation": {"nth": 2}})
    assert call(CREATE, {"n": "first"}).status == 200
    assert call(CREATE, {"n": "second"}).status == 500
    assert call(CREATE, {"n": "third"}).status == 200
    assert _token_names(call)[1:] == ["first", "third"]


def test_nth_mutation_can_apply_and_then_drop_the_connection(call: Call, box: Sandbox) -> None:
    sandbox_request(box, "PUT", "/_sandbox/faults", {"fail_mutation": {"nth": 1, "mode": "drop_after_commit"}})
    with pytest.raises(DropConnection):
        call(CREATE, {"n": "ghost"})
    assert "ghost" in _token_names(call)


def test_unknown_fault_is_refused(box: Sandbox) -> None:
    from provisioner.sandbox.wire import Request
    response = box.app.handle(Request("PUT", "/_sandbox/faults", headers=box.admin_headers(), body=b'{"meteor": {}}'))
    assert response.status == 400 and "unknown fault 'meteor'" in response.payload()["error"]
    assert sandbox_request(box, "GET", "/_sandbox/state")["faults"] == {}
