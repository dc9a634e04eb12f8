"""The HTTP client at its boundary (respx): retries, Retry-After, typed errors, no blind create retries."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest
import respx

from provisioner.centra.client import CentraClient, CentraError, MutationRejected, PermissionDenied, RetryPolicy
from provisioner.centra.client import retry_after_seconds as parse_retry_after
from provisioner.errors import AuthError, ExitCode

URL = "https://acme.centraqa.com"
OK = {"data": {"stores": [{"id": 1, "name": "S", "type": "DIRECT_TO_CONSUMER"}]}, "extensions": {"complexity": 2}}
TOKEN_INPUT = {"name": "n", "organizationName": "o", "integrationName": "i", "email": "e@x.example",
               "permissions": ["Order:read"], "ttl": 3600}


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def client(slept: list[float]) -> CentraClient:
    return CentraClient(URL, "secret-token-value", sleep=slept.append, retry=RetryPolicy(attempts=4, base_delay=0.01))


@respx.mock
def test_429_with_a_timestamp_retry_after_waits_until_then(client: CentraClient, slept: list[float]) -> None:
    retry_at = formatdate(time.time() + 3, usegmt=True)
    route = respx.post(f"{URL}/graphql").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": retry_at}, json={"errors": [{"message": "Too Many Requests"}]}),
        httpx.Response(200, json=OK)])
    result = client.run("stores")
    assert result.data["stores"][0]["name"] == "S"
    assert route.call_count == 2 and client.requests == 2
    assert len(slept) == 1 and 1.5 < slept[0] <= 3.2


@respx.mock
def test_429_with_delta_seconds_is_honoured_too(client: CentraClient, slept: list[float]) -> None:
    respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(429, headers={"Retry-After": "2"}),
                                                   httpx.Response(200, json=OK)])
    client.run("stores")
    assert 2 <= slept[0] <= 2.2


@respx.mock
@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_with_backoff(client: CentraClient, slept: list[float], status: int) -> None:
    route = respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(status), httpx.Response(status),
                                                           httpx.Response(200, json=OK)])
    client.run("stores")
    assert route.call_count == 3 and len(slept) == 2


@respx.mock
def test_a_dropped_connection_is_retried_for_reads(client: CentraClient) -> None:
    route = respx.post(f"{URL}/graphql").mock(side_effect=[httpx.RemoteProtocolError("dropped"),
                                                           httpx.Response(200, json=OK)])
    client.run("stores")
    assert route.call_count == 2


@respx.mock
def test_retries_stop_at_the_cap(client: CentraClient) -> None:
    route = respx.post(f"{URL}/graphql").mock(return_value=httpx.Response(503))
    with pytest.raises(CentraError, match="HTTP 503 after 4 attempts"):
        client.run("stores")
    assert route.call_count == 4


@respx.mock
def test_a_create_mutation_is_never_retried(client: CentraClient) -> None:
    route = respx.post(f"{URL}/graphql").mock(side_effect=httpx.RemoteProtocolError("dropped"))
    with pytest.raises(CentraError, match="not retried"):
        client.run("create_access_token", {"input": TOKEN_INPUT})
    assert route.call_count == 1
    respx.post(f"{URL}/graphql").mock(return_value=httpx.Response(503))
    with pytest.raises(CentraError):
        client.run("create_access_token", {"input": TOKEN_INPUT})


@respx.mock
def test_an_idempotent_set_mutation_is_retried(client: CentraClient) -> None:
    payload = {"data": {"setEventListeners": {"eventListeners": [], "userErrors": [], "userWarnings": []}}}
    route = respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=payload)])
    client.run("set_event_listeners", {"input": [{"objectType": "Order"}]})
    assert route.call_count == 2


@respx.mock
def test_a_revoke_is_retried_too(client: CentraClient) -> None:
    payload = {"data": {"revokeAccessToken": {"accessToken": {"id": 7, "isValid": False}, "userErrors": [],
                                              "userWarnings": []}}}
    route = respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(502), httpx.Response(200, json=payload)])
    client.run("revoke_access_token", {"id": 7})
    assert route.call_count == 2


@respx.mock
def test_403_is_an_auth_error_with_exit_3_and_no_token_in_the_message(client: CentraClient) -> None:
    respx.post(f"{URL}/graphql").mock(return_value=httpx.Response(403, json={"errors": [{"message": "no"}]}))
    with pytest.raises(AuthError) as caught:
        client.run("stores")
    assert caught.value.exit_code == ExitCode.AUTH
    assert "secret-token-value" not in str(caught.value)


@respx.mock
def test_authorization_error_names_the_permission(client: CentraClient) -> None:
    respx.post(f"{URL}/graphql").mock(return_value=httpx.Response(200, json={
        "data": None, "errors": [{"message": "You need Store:read permission to access stores.",
                                  "extensions": {"category": "authorization"}, "path": ["stores"]}]}))
    with pytest.raises(PermissionDenied) as caught:
        client.run("stores")
    assert caught.value.permission == "Store:read" and caught.value.exit_code == ExitCode.AUTH


@respx.mock
def test_bearer_auth_and_user_errors(client: CentraClient) -> None:
    from provisioner.centra.client import user_errors
    route = respx.post(f"{URL}/graphql").mock(return_value=httpx.Response(200, json={"data": {"createAccessToken": {
        "accessToken": None, "userErrors": [{"message": "bad email", "path": ["input", "email"]}],
        "userWarnings": []}}}))
    payload = client.run("create_access_token", {"input": TOKEN_INPUT}).data["createAccessToken"]
    assert route.calls[0].request.headers["Authorization"] == "Bearer secret-token-value"
    with pytest.raises(MutationRejected, match=r"input\.email: bad email"):
        user_errors(payload, "createAccessToken")


def test_retry_after_parsing() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("5", now) == 5
    assert parse_retry_after(formatdate(now + 10, usegmt=True), now) == pytest.approx(10, abs=1)
    assert parse_retry_after(str(int(now + 7)), now) == 7
    assert parse_retry_after("garbage", now) is None
    assert parse_retry_after(None, now) is None


@respx.mock
def test_a_create_refused_with_429_is_retried_after_retry_after(client: CentraClient, slept: list[float]) -> None:
    """Centra refuses a rate-limited request before executing it, so even a create is safe to resend."""
    payload = {"data": {"createAccessToken": {"accessToken": {"id": 7}, "userErrors": [], "userWarnings": []}}}
    route = respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(429, headers={"Retry-After": "3"}),
                                                           httpx.Response(200, json=payload)])
    result = client.run("create_access_token", {"input": TOKEN_INPUT})
    assert route.call_count == 2 and result.data["createAccessToken"]["accessToken"] == {"id": 7}
    assert len(slept) == 1 and 3 <= slept[0] <= 3.2


@respx.mock
def test_429_without_retry_after_backs_off_and_gives_up_at_the_cap(client: CentraClient, slept: list[float]) -> None:
    route = respx.post(f"{URL}/graphql").mock(return_value=httpx.Response(429))
    with pytest.raises(CentraError, match=r"still rate limited .* after 4 attempts"):
        client.run("create_access_token", {"input": TOKEN_INPUT})
    assert route.call_count == 4 and len(slept) == 3
    assert all(0 <= wait <= 0.01 * 2 ** n for n, wait in enumerate(slept))


@respx.mock
def test_a_long_retry_after_is_capped(slept: list[float]) -> None:
    capped = CentraClient(URL, "t", sleep=slept.append, retry=RetryPolicy(attempts=2, max_retry_after=5))
    respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(429, headers={"Retry-After": "3600"}),
                                                   httpx.Response(200, json=OK)])
    capped.run("stores")
    assert slept == [5]


@respx.mock
def test_other_statuses_are_not_retried_and_name_the_url(client: CentraClient) -> None:
    route = respx.post(f"{URL}/graphql").mock(return_value=httpx.Response(500, json={"message": "boom"}))
    with pytest.raises(CentraError, match=r"https://acme\.centraqa\.com/graphql answered HTTP 500: boom"):
        client.run("stores")
    assert route.call_count == 1


@respx.mock
def test_an_unreachable_host_names_the_url(client: CentraClient) -> None:
    respx.post(f"{URL}/graphql").mock(side_effect=httpx.ConnectError("Connection refused"))
    with pytest.raises(CentraError, match=r"connection to https://acme\.centraqa\.com/graphql failed .* after 4"):
        client.run("stores")


@respx.mock
def test_every_wait_is_announced_with_what_it_waits_for() -> None:
    heard: list[tuple[float, str]] = []
    announcing = CentraClient(URL, "t", sleep=lambda _: None, on_wait=lambda s, why: heard.append((s, why)),
                              retry=RetryPolicy(attempts=3, base_delay=0.01))
    respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(429, headers={"Retry-After": "2"}),
                                                   httpx.Response(503), httpx.Response(200, json=OK)])
    announcing.run("stores")
    assert [why for _, why in heard] == ["for Centra's rate limit", "to retry stores after HTTP 503"]
    assert 2 <= heard[0][0] <= 2.1


@respx.mock
def test_debug_log_traces_each_attempt_without_a_header_or_variable(caplog: pytest.LogCaptureFixture,
                                                                     client: CentraClient) -> None:
    respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=OK)])
    with caplog.at_level("DEBUG", logger="provisioner.centra"):
        client.run("stores")
    lines = [r.getMessage() for r in caplog.records]
    assert any("stores https://acme.centraqa.com/graphql -> 503" in line and "attempt 1/4" in line
               for line in lines)
    assert any("-> 200" in line and "complexity 2" in line and "attempt 2/4" in line for line in lines)
    assert not any("secret-token-value" in line or "Bearer" in line for line in lines)


@respx.mock
def test_the_body_sent_is_gqls_own_with_the_operation_printed_once(client: CentraClient,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from gql import GraphQLRequest
    from graphql import DocumentNode, print_ast

    from provisioner.centra import client as client_module
    from provisioner.centra import operations

    printings: list[DocumentNode] = []

    def counted(document: DocumentNode) -> str:
        printings.append(document)
        return print_ast(document)

    monkeypatch.setattr(client_module, "print_ast", counted)
    monkeypatch.setattr(client_module, "printed", client_module._PrintedByIdentity())  # nothing printed yet
    route = respx.post(f"{URL}/graphql").mock(return_value=httpx.Response(200, json=OK))
    variables = {"input": TOKEN_INPUT}
    client.run("create_access_token", variables, allow_errors=True)
    client.run("create_access_token", variables, allow_errors=True)
    document = operations.load("create_access_token")
    expected = GraphQLRequest(document, variable_values=variables).payload
    assert [json.loads(call.request.content) for call in route.calls] == [expected, expected]
    assert printings == [document]  # printed once for both sends
    # another object with the same content is printed for itself: identity, not a hash of the whole tree
    assert client_module.printed(DocumentNode(definitions=tuple(document.definitions))) == expected["query"]
    assert len(printings) == 2


@respx.mock
def test_a_byte_identical_introspection_answer_is_parsed_once(client: CentraClient,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from provisioner.centra import client as client_module
    from provisioner.centra.introspection import _QUERY

    monkeypatch.setattr(client_module, "_INTROSPECTIONS", client_module._IntrospectionAnswers())
    schema = {"__schema": {"types": [{"name": f"Type{n}", "fields": []} for n in range(600)]}}
    answer = json.dumps({"data": schema, "extensions": {"appVersion": "v1.60.0"}}).encode()
    assert len(answer) > client_module._IntrospectionAnswers.SMALLEST
    other = json.dumps({"data": {"__schema": {"types": schema["__schema"]["types"][1:]}},
                        "extensions": {"appVersion": "v1.61.0"}}).encode()
    route = respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(200, content=body)
                                                           for body in (answer, answer, other)])
    parses: list[bytes] = []
    real_loads = json.loads
    monkeypatch.setattr(client._transport, "json_deserialize",
                        lambda content: (parses.append(content), real_loads(content))[1])
    first, again, changed = (client.execute(_QUERY, label="introspection") for _ in range(3))
    assert route.call_count == 3 and len(parses) == 2  # the repeated answer was not parsed again
    assert again.data["__schema"] is first.data["__schema"] and again.extensions == first.extensions
    assert changed.data["__schema"]["types"] == schema["__schema"]["types"][1:]
    assert changed.extensions["appVersion"] == "v1.61.0"


@respx.mock
def test_only_introspection_answers_are_kept(client: CentraClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from provisioner.centra import client as client_module

    monkeypatch.setattr(client_module, "_INTROSPECTIONS", client_module._IntrospectionAnswers())
    products = {"data": {"stores": [{"id": n, "name": f"S{n}", "type": "DIRECT_TO_CONSUMER"} for n in range(900)]}}
    body = json.dumps(products).encode()
    assert len(body) > client_module._IntrospectionAnswers.SMALLEST
    respx.post(f"{URL}/graphql").mock(side_effect=[httpx.Response(200, content=body) for _ in range(2)])
    first, second = client.run("stores"), client.run("stores")
    assert first.data == second.data and first.data["stores"] is not second.data["stores"]  # each its own
