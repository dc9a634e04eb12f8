"""The client's GraphQL layer at its boundary (respx): Centra's error categories, partial data, userErrors,
the body gql sends, and the names other packages import from `provisioner.centra.client`. (Retries,
deadlines and the budget: test_transport.py; reply shapes: test_replies.py.)"""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from gql import GraphQLRequest
from graphql import DocumentNode, print_ast

from provisioner.centra import client as client_module
from provisioner.centra import operations, prepared
from provisioner.centra.client import (
    CentraClient,
    CentraError,
    MutationRejected,
    PermissionDenied,
    Prepared,
    Result,
    denial,
    user_errors,
)
from provisioner.errors import ExitCode
from tests.centra.conftest import ENDPOINT, TOKEN, URL, FakeClock, client_on

OK = {"data": {"stores": [{"id": 1, "name": "S", "type": "DIRECT_TO_CONSUMER"}]}, "extensions": {"complexity": 2}}
TOKEN_INPUT = {"name": "n", "organizationName": "o", "integrationName": "i", "email": "e@x.example",
               "permissions": ["Order:read"], "ttl": 3600}
DENIED = {"message": "You need Store:read permission to access stores.", "extensions": {"category": "authorization"},
          "path": ["stores"], "locations": [{"line": 1, "column": 3}]}


@pytest.fixture
def client(clock: FakeClock) -> CentraClient:
    return client_on(clock)


def test_the_names_other_packages_import_stay_here() -> None:
    for name in ("CentraClient", "CentraError", "MutationRejected", "PermissionDenied", "Result", "RetryPolicy",
                 "denial", "retry_after_seconds", "user_errors", "BadReply", "RequestTooSlow", "RetryBudgetSpent",
                 "Budget"):
        assert name in client_module.__all__ and hasattr(client_module, name)


@respx.mock
def test_a_read_returns_data_and_extensions(client: CentraClient) -> None:
    respx.post(ENDPOINT).mock(return_value=httpx.Response(200, json=OK))
    assert client.run("stores") == Result(OK["data"], {"complexity": 2}, [])  # type: ignore[arg-type]


@respx.mock
def test_an_authorization_error_names_the_permission_and_the_endpoint(client: CentraClient) -> None:
    respx.post(ENDPOINT).mock(return_value=httpx.Response(200, json={"data": None, "errors": [DENIED]}))
    with pytest.raises(PermissionDenied) as caught:
        client.run("stores")
    assert caught.value.permission == "Store:read" and caught.value.exit_code == ExitCode.AUTH
    assert str(caught.value) == (f"the token lacks a permission at {ENDPOINT}: You need Store:read permission to "
                                 "access stores.")


@respx.mock
def test_a_denial_is_raised_before_another_error(client: CentraClient) -> None:
    respx.post(ENDPOINT).mock(return_value=httpx.Response(200, json={"data": None, "errors": [
        {"message": "other"}, DENIED]}))
    with pytest.raises(PermissionDenied):
        client.run("stores")


@respx.mock
def test_another_error_beside_partial_data_is_an_error_unless_the_caller_takes_errors(client: CentraClient) -> None:
    partial = {"data": {"stores": [{"id": 1, "name": "S", "type": "D"}]},
               "errors": [{"message": "Internal error\n::error::x", "path": ["stores", 0, "type"]}],
               "extensions": {"complexity": 3}}
    respx.post(ENDPOINT).mock(return_value=httpx.Response(200, json=partial))
    with pytest.raises(CentraError) as caught:
        client.run("stores")
    assert not isinstance(caught.value, PermissionDenied) and caught.value.exit_code == ExitCode.ERROR
    assert str(caught.value) == f"stores: {ENDPOINT} answered an error: Internal error\\n::error::x"
    taken = client.run("stores", allow_errors=True)
    assert taken.data == partial["data"] and taken.extensions == {"complexity": 3}
    assert taken.errors == [{"message": "Internal error\\n::error::x", "path": ["stores", 0, "type"]}]


@respx.mock
def test_a_denial_beside_partial_data_is_left_to_a_caller_that_takes_errors(client: CentraClient) -> None:
    respx.post(ENDPOINT).mock(return_value=httpx.Response(200, json={"data": {"stores": None}, "errors": [DENIED]}))
    taken = client.run("stores", allow_errors=True)
    assert taken.data == {"stores": None} and taken.errors[0]["extensions"] == {"category": "authorization"}


def test_a_permission_is_read_only_in_centra_s_form() -> None:
    assert denial(DENIED).permission == "Store:read"
    assert str(denial(DENIED)) == "the token lacks a permission: You need Store:read permission to access stores."
    for message in ("You need \x1b[2J permission", "You need ##[x] permission", "no permission named"):
        assert denial({"message": message}).permission == "unknown"
    nested = denial({"message": "You need Buyer.billingAddress:read permission"})
    assert nested.permission == "Buyer.billingAddress:read"


@respx.mock
def test_bearer_auth_and_user_errors(client: CentraClient) -> None:
    route = respx.post(ENDPOINT).mock(return_value=httpx.Response(200, json={"data": {"createAccessToken": {
        "accessToken": None, "userErrors": [{"message": "bad email", "path": ["input", "email"]}],
        "userWarnings": []}}}))
    payload = client.run("create_access_token", {"input": TOKEN_INPUT}).data["createAccessToken"]
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    with pytest.raises(MutationRejected, match=r"^createAccessToken was rejected by Centra: input\.email: bad email$"):
        user_errors(payload, "createAccessToken")


def test_no_user_errors_is_no_rejection() -> None:
    for payload in ({"userErrors": []}, {"userErrors": None}, {}, None):
        user_errors(payload, "createAccessToken")


@respx.mock
def test_the_body_sent_is_gqls_own_with_the_operation_printed_once(client: CentraClient,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    printings: list[DocumentNode] = []
    real_prepare = operations._prepare

    def counted(document: DocumentNode) -> Prepared:
        printings.append(document)
        return real_prepare(document)

    monkeypatch.setattr(operations, "_prepare", counted)
    monkeypatch.setattr(operations, "prepared", operations._PreparedByIdentity())  # nothing prepared yet
    route = respx.post(ENDPOINT).mock(return_value=httpx.Response(200, json={"data": {"createAccessToken": None}}))
    variables = {"input": TOKEN_INPUT}
    client.run("create_access_token", variables)
    client.run("create_access_token", variables)
    document = operations.load("create_access_token")
    expected = GraphQLRequest(document, variable_values=variables).payload
    assert expected["query"] == print_ast(document)
    assert [json.loads(call.request.content) for call in route.calls] == [expected, expected]
    assert printings == [document]  # printed once for both sends
    # another object with the same content is printed for itself: identity, not a hash of the whole tree
    assert operations.prepared(DocumentNode(definitions=tuple(document.definitions))).text == expected["query"]
    assert len(printings) == 2


def test_preparing_keeps_a_bounded_number_of_documents() -> None:
    preparer = operations._PreparedByIdentity(size=2)
    documents = [operations.load(name) for name in ("stores", "rate_limits", "create_access_token")]
    for document in documents:
        preparer(document)
    assert [known for known, _ in preparer._known.values()] == documents[1:]


def test_a_prepared_operation_says_what_it_is() -> None:
    stores = operations.prepared(operations.load("stores"))
    assert not stores.mutation and stores.idempotent and stores.root_field == "stores"
    assert stores.shape == (("stores", True, (("id", True, None), ("name", True, None), ("type", True, None))),)
    create = operations.prepared(operations.load("create_access_token"))
    assert create.mutation and not create.idempotent and create.root_field == "createAccessToken"
    revoke = operations.prepared(operations.load("revoke_access_token"))
    assert revoke.mutation and revoke.idempotent
    assert prepared.from_json(json.loads(json.dumps(prepared.to_json(create.shape)))) == create.shape
    for bad in ({}, [["x", "yes", None]], [[None, True, None]], [["x", True, [1]]]):
        with pytest.raises(ValueError):
            prepared.from_json(bad)


@respx.mock
@pytest.mark.parametrize("answer", [OK, {"data": None, "errors": [DENIED]},
                                    {"data": {"stores": [{"id": 1, "name": "S", "type": "D"}]},
                                     "errors": [{"message": "boom", "path": ["stores", 0, "type"]}]},
                                    {"data": {"stores": [{"id": 1}]}}])
@pytest.mark.parametrize("allow_errors", [False, True])
def test_an_operation_sent_as_prepared_is_the_same_request_with_the_same_outcome(
        client: CentraClient, answer: dict[str, object], allow_errors: bool) -> None:
    """`send` (no gql, no graphql-core: a warm plan's read) and `execute` (through gql's session) send the
    same body and come to the same result or the same error."""
    route = respx.post(ENDPOINT).mock(return_value=httpx.Response(200, json=answer))
    document = operations.load("stores")
    outcomes: list[object] = []
    for send in (lambda: client.execute(document, label="stores", allow_errors=allow_errors),
                 lambda: client.send(operations.prepared(document), label="stores", allow_errors=allow_errors)):
        try:
            outcomes.append(send())
        except Exception as exc:
            outcomes.append((type(exc), str(exc)))
    assert outcomes[0] == outcomes[1]
    assert route.calls[0].request.content == route.calls[1].request.content


def test_a_client_is_a_context_that_closes_its_connections(clock: FakeClock) -> None:
    closed: list[bool] = []

    class Closing(httpx.MockTransport):
        def close(self) -> None:
            closed.append(True)

    with client_on(clock, transport=Closing(lambda request: httpx.Response(200, json=OK))) as client:
        assert client.url == URL and client.endpoint == ENDPOINT
    assert closed == [True]


def test_a_trailing_slash_is_not_doubled(clock: FakeClock) -> None:
    assert client_on(clock).endpoint == ENDPOINT
    assert CentraClient(f"{URL}/", TOKEN).endpoint == ENDPOINT
