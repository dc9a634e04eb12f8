"""Every 200 answer checked for its shape where it enters: the envelope by pydantic, `data` against the
operation's selections, `userErrors` of mutations; and how a server's text is shown in errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from graphql import DocumentNode, parse

from provisioner.centra import operations, replies
from provisioner.centra.failures import BadReply, MutationRejected, shown
from provisioner.centra.retries import Reply
from provisioner.errors import ExitCode

ENDPOINT = "https://acme.centraqa.com/graphql"
JSON = {"content-type": "application/json"}
STORES = operations.load("stores")


def reply(payload: Any = None, *, body: bytes | None = None, headers: dict[str, str] | None = None,
          cut: bool = False) -> Reply:
    content = body if body is not None else json.dumps(payload).encode()
    return Reply(200, httpx.Headers(JSON if headers is None else headers), content, cut)


def interpret(answer: Reply, document: DocumentNode = STORES) -> Any:
    """As the client sends a document: prepared once per document object (its text and shape)."""
    return replies.interpret(answer, operations.prepared(document), label="stores", endpoint=ENDPOINT)


def refused(answer: Reply, document: DocumentNode = STORES) -> str:
    with pytest.raises(BadReply) as caught:
        interpret(answer, document)
    assert caught.value.exit_code == ExitCode.ERROR
    message = str(caught.value)
    assert message.startswith(f"stores: {ENDPOINT} ") and "\n" not in message
    return message


def test_errors_null_is_no_errors() -> None:
    assert interpret(reply({"data": {"stores": []}, "errors": None})).errors is None
    assert "neither data nor errors" in refused(reply({"errors": None}))


def test_a_well_shaped_answer_passes_whole() -> None:
    result = interpret(reply({"data": {"stores": [{"id": 1, "name": "S", "type": "D"}]},
                              "extensions": {"complexity": 2, "appVersion": "v1", "permissionsUsed": ["x"]}}))
    assert result.data == {"stores": [{"id": 1, "name": "S", "type": "D"}]}
    assert result.errors is None and result.extensions["permissionsUsed"] == ["x"]


@pytest.mark.parametrize("headers, says", [
    ({"content-type": "text/html; charset=utf-8"}, "answered with a web page, not Centra's JSON"),
    ({"content-type": "text/plain"}, "Content-Type text/plain, not JSON"),
    ({}, "Content-Type none, not JSON"),
])
def test_an_answer_not_labelled_json_is_refused_even_if_it_is(headers: dict[str, str], says: str) -> None:
    assert says in refused(reply({"data": {"stores": []}}, headers=headers))


def test_a_cut_answer_says_so_when_quoted() -> None:
    message = refused(reply(body=b"x" * 10, headers={"content-type": "text/plain"}, cut=True))
    assert message.endswith("not JSON: xxxxxxxxxx… (cut: the rest was not read)")


def test_a_web_page_is_named_by_its_title_not_dumped() -> None:
    page = b"<!DOCTYPE html><html><head><title>\n  404 Not Found | Example\n</title></head><body>" + b"<p>x</p>" * 99
    message = refused(reply(body=page, headers={"content-type": "text/html"}))
    assert message.endswith("answered with a web page titled '404 Not Found | Example', not Centra's JSON: is the "
                            "environment's centra_url the store's Centra address?")
    assert "<p>" not in message
    assert "web page, not Centra's JSON" in refused(reply(body=b"<html>x</html>", headers={}))


@pytest.mark.parametrize("payload, says", [
    ([], "did not answer with a GraphQL response: Input should be an object"),
    ({"data": [1]}, "did not answer with a GraphQL response: data: Input should be an object"),
    ({"data": "x"}, "data: Input should be an object"),
    ({"errors": "boom"}, "errors: Input should be a valid array"),
    ({"errors": {"message": "boom"}}, "errors: Input should be a valid array"),
    ({"errors": ["boom"]}, "errors.0: Input should be an object"),
    ({"errors": [{}]}, "errors.0.message: Field required"),
    ({"errors": [{"message": 1}]}, "errors.0.message: Input should be a valid string"),
    ({"errors": [{"message": "m", "path": "stores"}]}, "errors.0.path: Input should be a valid array"),
    ({"errors": [{"message": "m", "path": [1.5]}]}, "errors.0.path.0"),
    ({"errors": [{"message": "m", "locations": [{"line": "1"}]}]}, "errors.0.locations.0.line"),
    ({"errors": [{"message": "m", "extensions": []}]}, "errors.0.extensions: Input should be an object"),
    ({"data": {}, "extensions": []}, "extensions: Input should be an object"),
    ({"data": {}, "extensions": {"appVersion": 1}}, "extensions.appVersion: Input should be a valid string"),
    ({"data": {}, "extensions": {"complexity": "2"}}, "extensions.complexity"),
    ({"data": None}, "answered data null, and no error says why"),
    ({"data": None, "errors": []}, "answered data null, and no error says why"),
    ({}, "answered neither data nor errors, and no error says why"),
    ({"errors": []}, "answered neither data nor errors"),
])
def test_an_envelope_of_another_shape_is_refused(payload: Any, says: str) -> None:
    assert says in refused(reply(payload))


def test_json_that_is_not_json_is_quoted_safely() -> None:
    message = refused(reply(body=b"\n::add-mask::x ##[error]" + b"y" * 500))
    assert "did not answer with a GraphQL response: not JSON (Invalid JSON: " in message
    assert "\\n::add-mask::x #\\x23[error]" in message and message.endswith("(cut: 120 of 524 characters shown)")


def test_json_nested_too_deep_is_refused_not_a_recursion_error() -> None:
    assert "recursion limit exceeded" in refused(reply(body=b'{"data": ' + b"[" * 100_000))


SELECTIONS = parse("""
query Q($more: Boolean!) {
  stores { id name renamed: type }
  one { id inner { a } }
  list { nested { b } }
  ... on Query { typed { x } }
  ... { untyped }
  ...Spread
  maybe @include(if: $more)
}
fragment Spread on Query { spread { y } }
""")
GOOD: dict[str, Any] = {"stores": [{"id": 1, "name": "S", "renamed": "D"}, None], "one": None,
                        "list": [[{"nested": [{"b": 1}]}], []], "untyped": 3}


@pytest.mark.parametrize("change, says", [
    (lambda d: d.pop("stores"), "stores: missing"),
    (lambda d: d.pop("untyped"), "untyped: missing"),
    (lambda d: d["stores"][0].pop("renamed"), "stores[0].renamed: missing"),
    (lambda d: d.__setitem__("stores", "x"), "stores: an object was expected, not a string"),
    (lambda d: d.__setitem__("stores", [1]), "stores[0]: an object was expected, not a number"),
    (lambda d: d.__setitem__("stores", [True]), "stores[0]: an object was expected, not a boolean"),
    (lambda d: d.__setitem__("stores", [[1.5]]), "stores[0][0]: an object was expected, not a number"),
    (lambda d: d["stores"][0].__setitem__("id", {"x": 1}), "stores[0].id: a value was expected, not an object"),
    (lambda d: d["stores"][0].__setitem__("id", [{}]), "stores[0].id[0]: a value was expected, not an object"),
    (lambda d: d.__setitem__("one", {"id": 1, "inner": "s"}), "one.inner: an object was expected, not a string"),
    (lambda d: d.__setitem__("one", {"id": 1}), "one.inner: missing"),
    (lambda d: d["list"][0][0]["nested"].append({}), "list[0][0].nested[1].b: missing"),
    (lambda d: d.__setitem__("typed", "t"), "typed: an object was expected, not a string"),
    (lambda d: d.__setitem__("spread", {}), "spread.y: missing"),
])
def test_data_of_another_shape_than_the_operation_selects_is_refused(change: Any, says: str) -> None:
    data = json.loads(json.dumps(GOOD))
    change(data)
    message = refused(reply({"data": data}), SELECTIONS)
    assert message.endswith(f"answered data of another shape than the operation selects: {says}")


def test_fields_under_a_fragment_or_a_directive_may_be_absent() -> None:
    assert interpret(reply({"data": GOOD}), SELECTIONS).data == GOOD
    present = {**GOOD, "typed": {"x": 1}, "spread": {"y": [2]}, "maybe": 1}
    assert interpret(reply({"data": present}), SELECTIONS).data == present


def test_partial_data_beside_errors_is_checked_too() -> None:
    result = interpret(reply({"data": {"stores": None}, "errors": [{"message": "m", "path": ["stores"]}]}))
    assert result.data == {"stores": None} and result.errors == [{"message": "m", "path": ["stores"]}]
    assert "stores: an object was expected" in refused(reply({"data": {"stores": 5}, "errors": [{"message": "m"}]}))


CREATE = operations.load("create_access_token")


def _created(user_errors: Any, user_warnings: Any = ()) -> Reply:
    return reply({"data": {"createAccessToken": {"accessToken": None, "userErrors": user_errors,
                                                 "userWarnings": list(user_warnings)}}})


@pytest.mark.parametrize("user_errors, says", [
    ("bad", "createAccessToken.userErrors: an object was expected, not a string"),
    ([{"message": 5, "path": None}], "createAccessToken.userErrors: 0.message: Input should be a valid string"),
    ([{"path": ["input"]}], "createAccessToken.userErrors[0].message: missing"),
    ([{"message": "m", "path": "input.email"}], "createAccessToken.userErrors: 0.path: Input should be a valid list"),
    ([{"message": "m", "path": [True]}], "createAccessToken.userErrors: 0.path.0.str: Input should be a valid string"),
])
def test_user_errors_of_another_shape_are_refused(user_errors: Any, says: str) -> None:
    message = refused(_created(user_errors), CREATE)
    assert message.endswith(f"answered data of another shape than the operation selects: {says}"), message


def test_user_warnings_are_held_to_the_same_shape() -> None:
    message = refused(_created([], [{"message": None, "path": None}]), CREATE)
    assert message.endswith("createAccessToken.userWarnings: 0.message: Input should be a valid string")


def test_well_shaped_user_errors_pass_to_the_caller() -> None:
    errors = [{"message": "bad email", "path": ["input", "email"]}, {"message": "m", "path": None}]
    result = interpret(_created(errors), CREATE)
    assert result.data["createAccessToken"]["userErrors"] == errors


def test_an_error_s_message_is_made_safe_to_show_as_it_enters() -> None:
    long = "You need Order:read permission\n::error::x ##[group]" + "z" * 2000
    result = interpret(reply({"data": None, "errors": [{"message": long, "extensions": {"category": "c"}}]}))
    message = result.errors[0]["message"]
    assert message.startswith("You need Order:read permission\\n::error::x #\\x23[group]zz")
    assert message.endswith(f"(cut: {replies.MESSAGE_LIMIT} of {len(long)} characters shown)")
    assert result.errors[0]["extensions"] == {"category": "c"}


def test_shown_text_is_one_line_without_runner_commands_and_cut_saying_so() -> None:
    assert shown("plain") == "plain"
    assert shown("a\nb\r\x1b[2J\u202e") == "a\\nb\\r\\x1b[2J\\u202e"
    assert shown("##[group]x ##[endgroup]") == "#\\x23[group]x #\\x23[endgroup]"
    assert shown("x" * 200) == "x" * 200
    assert shown("x" * 201) == "x" * 200 + "… (cut: 200 of 201 characters shown)"
    assert shown("abc", 2, partial=True) == "ab… (cut: 2 of 3+ characters shown)"
    assert shown("abc", partial=True) == "abc… (cut: the rest was not read)"


def test_mutation_rejected_quotes_each_error_safely_and_counts_the_rest() -> None:
    errors = [{"message": f"bad\n{n}", "path": ["input", n]} for n in range(7)] + [{"message": "no path"}]
    rejected = MutationRejected("createAccessToken", errors)
    assert str(rejected).startswith("createAccessToken was rejected by Centra: input.0: bad\\n0; input.1: bad\\n1")
    assert str(rejected).endswith("input.4: bad\\n4 (and 3 more)") and rejected.user_errors == errors
    assert str(MutationRejected("x", [{"message": "m"}])) == "x was rejected by Centra: -: m"


def _kept(answer: Reply) -> Any:
    return replies._INTROSPECTIONS.get(str(replies._IntrospectionAnswers.key(answer.body)),
                                       operations.prepared(TestIntrospectionAnswers.QUERY))


class TestIntrospectionAnswers:
    """A byte-identical introspection answer is parsed once, for the same document only."""

    QUERY = parse("{ __schema { types { name } } }")

    def answer(self, version: str, types: int = 1000) -> Reply:
        return reply({"data": {"__schema": {"types": [{"name": f"T{n}"} for n in range(types)]}},
                      "extensions": {"appVersion": version}})

    def test_parsed_once_and_shared(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(replies, "_INTROSPECTIONS", replies._IntrospectionAnswers())
        parses: list[bytes] = []
        real = replies._parse
        monkeypatch.setattr(replies, "_parse", lambda body: (parses.append(body), real(body))[1])
        answer = self.answer("v1")
        assert len(answer.body) > replies._IntrospectionAnswers.SMALLEST
        first = interpret(answer, self.QUERY)
        again = interpret(answer, self.QUERY)
        assert len(parses) == 1 and again.data["__schema"] is first.data["__schema"]
        assert again.extensions == first.extensions and again.extensions is not first.extensions
        other = interpret(self.answer("v2"), self.QUERY)
        assert len(parses) == 2 and other.extensions["appVersion"] == "v2"
        # The same bytes answering another document are checked against that one.
        assert "stores: missing" in refused(answer, STORES)

    def test_only_large_introspection_answers_are_kept(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(replies, "_INTROSPECTIONS", replies._IntrospectionAnswers(size=1))
        small = self.answer("v1", types=3)
        assert replies._IntrospectionAnswers.key(small.body) is None
        assert replies._IntrospectionAnswers.key(b'{"data": {"stores": ' + b" " * 20_000 + b"}}") is None
        stores = reply({"data": {"stores": [{"id": n, "name": "S", "type": "D"} for n in range(900)]}})
        first, second = interpret(stores), interpret(stores)
        assert first.data == second.data and first.data["stores"] is not second.data["stores"]
        one, two = self.answer("v1"), self.answer("v2")
        interpret(one, self.QUERY)
        assert _kept(one) is not None
        interpret(two, self.QUERY)  # the cache holds one answer: the first is gone
        assert _kept(one) is None
        assert _kept(two) is not None
        with_errors = reply({"data": {"__schema": {"types": [{"name": f"T{n}"} for n in range(1000)]}},
                             "errors": [{"message": "partial"}]})
        kept = replies._INTROSPECTIONS
        key = kept.key(with_errors.body)
        assert key is not None
        interpret(with_errors, self.QUERY)
        assert kept.get(key, operations.prepared(self.QUERY)) is None
