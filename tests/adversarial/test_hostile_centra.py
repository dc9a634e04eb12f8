"""A hostile Centra on 127.0.0.1: the real CLI planned (and applied) against a server that answers one
kind of request wrongly — odd reply shapes, a body that is not JSON or not labelled JSON, a huge body, a
gzip bomb, a server dripping a byte at a time, a redirect loop, a Retry-After an hour away, foreign text
that tries to issue CI workflow commands — and everything else as acme's sandbox would. Each case ends
with its exact exit code and a one-line error naming the endpoint, no traceback, within 10 s, and, run
as in GitHub Actions, no output line that the runner would take as a command (`::` after leading
blanks, or `##[` anywhere)."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from graphql import get_introspection_query, graphql_sync

from provisioner.centra import operations, wire
from provisioner.cli.main import cli
from provisioner.engine.fleet.hosts import Gates, SharedPool
from provisioner.errors import ExitCode
from provisioner.sandbox.instance import Sandbox, for_merchant
from provisioner.sandbox.wire import Request
from tests.engine.conftest import PLANTED

MB = 1024 * 1024
DEADLINE, BUDGET = 1.0, 4.0  # seconds: PROVISION_REQUEST_DEADLINE and PROVISION_COMMAND_BUDGET in these tests
CASE_SECONDS = 10
INJECTED = "x\n::error::forged\n  ::add-mask::forged\n##[group]forged\r::stop-commands::forged"
Answer = Callable[["_Handler"], None]


def _kind(body: bytes) -> str:
    """Which request this is: the introspection, a mutation, or a read."""
    query = str(json.loads(body or b"{}").get("query", ""))
    if "__schema" in query:
        return "introspection"
    return "mutation" if query.lstrip().startswith("mutation") else "read"


@dataclass
class Hostile:
    """acme's sandbox behind a server that answers the request kinds in `answers` its own way."""

    box: Sandbox
    answers: dict[str, Answer] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)  # a hostile answer has ended
    sent: int = 0  # bytes of hostile body written
    seen: list[str] = field(default_factory=list)
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    centra: Hostile

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        kind = _kind(body)
        self.centra.seen.append(kind)
        answer = self.centra.answers.get(kind)
        if answer is None:
            response = self.centra.box.app.handle(Request("POST", self.path, headers={
                k.lower(): v for k, v in self.headers.items()}, body=body))
            self.reply(response.status, response.body, response.headers)
            return
        try:
            answer(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should
        finally:
            self.close_connection = True
            self.centra.finished.set()

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in ({"content-type": "application/json"} if headers is None else headers).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def open_ended(self, headers: dict[str, str]) -> None:
        """A 200 whose body runs until the connection closes (no length: read until the end)."""
        self.send_response(200)
        for name, value in {"connection": "close", **headers}.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def json_answer(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return raw_answer(json.dumps(payload).encode(), status=status, headers=headers)


def raw_answer(body: bytes, *, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return lambda handler: handler.reply(status, body, headers)


def huge(content_type: str, total: int = 100 * MB) -> Answer:
    def answer(handler: _Handler) -> None:
        handler.open_ended({"content-type": content_type})
        chunk = b"A" * MB
        while handler.centra.sent < total and not handler.centra.stop.is_set():
            handler.wfile.write(chunk)
            handler.centra.sent += len(chunk)
    return answer


def gzip_bomb(unpacked: int = 100 * MB) -> Answer:
    packed = gzip.compress(b" " * unpacked, compresslevel=9)  # ~100 kB that unfold into `unpacked` bytes
    return raw_answer(packed, headers={"content-type": "application/json", "content-encoding": "gzip"})


def drip(headers_first: bool) -> Answer:
    """A byte every 50 ms (each read is quick: only an overall deadline stops it): of the body after
    prompt headers, or of the status line itself."""
    def answer(handler: _Handler) -> None:
        text = b'{"data": {"__schema": ' + b" " * 10
        if headers_first:
            handler.open_ended({"content-type": "application/json"})
        else:
            text = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n" + text
        for byte in text:
            if handler.centra.stop.wait(0.05):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            handler.centra.sent += 1
    return answer


def redirect_loop(handler: _Handler) -> None:
    handler.reply(302, b"", {"location": f"{handler.centra.url}/graphql"})


def _introspection() -> dict[str, Any]:
    answer = graphql_sync(operations.schema(), get_introspection_query(descriptions=False))
    assert answer.data is not None
    return answer.data


def introspection_with(change: Callable[[dict[str, Any]], None]) -> Answer:
    data = _introspection()
    change(data["__schema"])
    return json_answer({"data": data, "extensions": {"appVersion": "v1"}})


@pytest.fixture
def hostile(examples: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hostile]:
    """acme.yaml with an environment `hostile` on the server; the run as in GitHub Actions, with short
    limits so that every case ends in seconds."""
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    centra = Hostile(for_merchant("acme"))
    handler = type("Handler", (_Handler,), {"centra": centra})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    centra.url = f"http://{host!s}:{port}"
    merchant = examples / "merchants" / "acme.yaml"
    merchant.write_text(merchant.read_text(encoding="utf-8") + f"  hostile:\n    centra_url: {centra.url}\n"
                        "    token: env:HOSTILE_TOKEN\n    tier: qa\n", encoding="utf-8")
    monkeypatch.setenv("HOSTILE_TOKEN", centra.box.admin_token)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("PROVISION_REQUEST_DEADLINE", str(DEADLINE))
    monkeypatch.setenv("PROVISION_COMMAND_BUDGET", str(BUDGET))
    try:
        yield centra
    finally:
        centra.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run(*args: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result, time.monotonic() - started


def assert_clean(result: Result, seconds: float) -> None:
    """No traceback, no line a CI runner would act on, no planted secret, and soon."""
    text = result.output + result.stderr
    assert "Traceback" not in text and "\x1b" not in text
    for line in text.splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line, line
    assert not any(secret in text for secret in PLANTED.values())
    assert seconds < CASE_SECONDS, f"took {seconds:.1f} s"


@dataclass(frozen=True)
class Case:
    answers: dict[str, Answer]
    code: int
    says: str  # in the one error line
    names_host: bool = True  # a denial is the token's, worded by the live read (engine/plan/live.py)


def _schema_types(value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda schema: schema.__setitem__("types", value)


def _first_type_null(schema: dict[str, Any]) -> None:
    schema["types"][0] = None


def _field_type_null(schema: dict[str, Any]) -> None:
    next(t for t in schema["types"] if t["kind"] == "OBJECT" and t["fields"])["fields"][0]["type"] = None


def _query_type_null(schema: dict[str, Any]) -> None:
    schema["queryType"] = None


ERROR_SHAPE = "did not answer with a GraphQL response"
CASES: dict[str, Case] = {
    "body not JSON": Case({"introspection": raw_answer(b"<html>Bad gateway</html>")}, 1,
                          f"{ERROR_SHAPE}: not JSON"),
    "HTML labelled HTML": Case({"introspection": raw_answer(b"<html>login</html>", headers={
        "content-type": "text/html"})}, 1, "answered with a web page, not Centra's JSON"),
    "JSON labelled text": Case({"read": raw_answer(b'{"data": {}}', headers={"content-type": "text/plain"})}, 1,
                               "Content-Type text/plain, not JSON"),
    "no content type": Case({"introspection": raw_answer(b"{}", headers={})}, 1, "Content-Type none, not JSON"),
    "a JSON list": Case({"introspection": json_answer([1, 2])}, 1, f"{ERROR_SHAPE}: Input should be an object"),
    "data a list": Case({"read": json_answer({"data": [1, 2]})}, 1, f"{ERROR_SHAPE}: data: Input should be"),
    "data null": Case({"read": json_answer({"data": None})}, 1, "answered data null, and no error says why"),
    "neither data nor errors": Case({"read": json_answer({"extensions": {}})}, 1, "neither data nor errors"),
    "errors a string": Case({"read": json_answer({"errors": "boom"})}, 1, f"{ERROR_SHAPE}: errors: Input should be"),
    "errors an object": Case({"read": json_answer({"errors": {"message": "boom"}})}, 1, f"{ERROR_SHAPE}: errors:"),
    "error message a number": Case({"read": json_answer({"errors": [{"message": 5}]})}, 1, "errors.0.message"),
    "error path an object": Case({"read": json_answer({"data": None, "errors": [{"message": "m", "path": {}}]})},
                                 1, "errors.0.path"),
    "appVersion an object": Case({"read": json_answer({"data": {}, "extensions": {"appVersion": {}}})}, 1,
                                 "extensions.appVersion"),
    "stores a string": Case({"read": json_answer({"data": {"stores": "many"}})}, 1,
                            "data of another shape than the operation selects: stores: an object was expected, "
                            "not a string"),
    "a store's name an object": Case({"read": json_answer({"data": {"stores": [{"id": 1, "name": {}}]}})}, 1,
                                     "stores[0].name: a value was expected, not an object"),
    "stores missing": Case({"read": json_answer({"data": {}})}, 1, "stores: missing"),
    "schema a string": Case({"introspection": json_answer({"data": {"__schema": "x"}})}, 1,
                            "__schema: an object was expected"),
    "schema types null": Case({"introspection": introspection_with(_schema_types(None))}, 1,
                              "answered with a schema that cannot be used"),
    "schema type null": Case({"introspection": introspection_with(_first_type_null)}, 1,
                             "answered with a schema that cannot be used"),
    "schema field type null": Case({"introspection": introspection_with(_field_type_null)}, 1,
                                   "answered with a schema that cannot be used"),
    "schema query type null": Case({"introspection": introspection_with(_query_type_null)}, 1,
                                   "answered with a schema that cannot be used"),
    "JSON nested past the parser's limit": Case({"read": raw_answer(b'{"data": ' + b"[" * 50_000)}, 1,
                                                "recursion limit exceeded"),
    "a refusal with workflow commands": Case({"read": json_answer({"errors": [{"message": INJECTED}]}, status=500)},
                                             1, "answered HTTP 500: x\\n::error::forged"),
    "an error with workflow commands": Case({"read": json_answer({"data": None, "errors": [{"message": INJECTED}]})},
                                            1, "reading the live store: x\\n::error::forged", names_host=False),
    "a body with workflow commands": Case({"read": raw_answer(INJECTED.encode(), headers={
        "content-type": "text/plain"})}, 1, "not JSON: x\\n::error::forged\\n  ::add-mask::forged\\n#\\x23[group]"),
    "a redirect loop": Case({"introspection": redirect_loop}, 1, "answered HTTP 302, a redirect to http://127.0.0.1:"),
    "a denied permission": Case({"read": json_answer({"data": None, "errors": [{
        "message": "You need Store:read permission to access stores.", "path": ["stores"],
        "extensions": {"category": "authorization"}}]})}, ExitCode.AUTH,
        "the token lacks a permission: You need Store:read permission", names_host=False),
    "a denied permission with workflow commands": Case({"introspection": json_answer({"data": None, "errors": [{
        "message": f"You need {INJECTED} permission", "extensions": {"category": "authorization"}}]})},
        ExitCode.AUTH, "the token lacks a permission at http://127.0.0.1:"),
    "a refused token": Case({"introspection": json_answer({"errors": [{"message": "no"}]}, status=403)},
                            ExitCode.AUTH, "refused the token (HTTP 403)"),
    "a Retry-After an hour away": Case({"introspection": json_answer({"errors": [{"message": "slow down"}]},
                                                                     status=429, headers={
        "content-type": "application/json", "retry-after": "3600"})}, 1,
        "not retried, as the wait Centra asked for (Retry-After: until"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_answer_is_one_clear_error(hostile: Hostile, name: str) -> None:
    case = CASES[name]
    hostile.answers.update(case.answers)
    result, seconds = run("plan", "acme", "--env", "hostile")
    assert result.exit_code == case.code, result.output + result.stderr
    assert_clean(result, seconds)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert case.says in errors[0] and (f"{hostile.url}/graphql" in errors[0] or not case.names_host), errors[0]
    assert len(errors[0]) < 700


def test_the_same_server_answering_well_plans(hostile: Hostile) -> None:
    """The harness itself: with no hostile answer, the plan is acme's, read over HTTP."""
    result, seconds = run("plan", "acme", "--env", "hostile")
    assert result.exit_code == 0, result.output + result.stderr
    assert_clean(result, seconds)
    assert hostile.seen == ["introspection", "read"]


def _fleet_pool_is_bounded() -> bool:
    """Whether a fleet run's shared connections (engine/fleet/hosts.py) hold requests to their deadline and
    answers to their limit: only if they are built with centra's transport (`wire.pooled`)."""
    pool = SharedPool(Gates())
    try:
        return isinstance(pool.transport("http://127.0.0.1:9"), wire.BoundedTransport)
    finally:
        pool.close()


# `plan` goes through the fleet's shared pool; `doctor` through one client's own transport.
NETWORK_COMMANDS = [
    pytest.param(["plan", "acme", "--env", "hostile"], id="plan", marks=pytest.mark.xfail(
        not _fleet_pool_is_bounded(), strict=True, reason="engine/fleet/hosts.py builds its pool with "
        "httpx.HTTPTransport, which knows no deadline and reads answers whole: use centra.wire.pooled")),
    pytest.param(["doctor", "acme", "--env", "hostile"], id="doctor"),
]


@pytest.mark.parametrize("command", NETWORK_COMMANDS)
@pytest.mark.parametrize("content_type, read_at_most", [("application/json", 16 * MB), ("text/plain", MB)])
def test_a_huge_body_is_neither_read_whole_nor_echoed(hostile: Hostile, command: list[str], content_type: str,
                                                      read_at_most: int) -> None:
    hostile.answers["introspection"] = huge(content_type)
    result, seconds = run(*command)
    assert result.exit_code == 1, result.output + result.stderr
    assert_clean(result, seconds)
    assert hostile.finished.wait(CASE_SECONDS)  # the server saw the client go
    # What the server got out before it noticed: what was read, plus what the sockets' buffers held.
    assert hostile.sent < read_at_most + 8 * MB
    assert len(result.stderr) < 1000
    if content_type == "application/json":
        assert "answered with more than 16 MiB of JSON, which was not read further" in result.stderr
    else:
        assert "Content-Type text/plain, not JSON: AAAA" in result.stderr and "(cut: 200 of 65536+" in result.stderr


def test_a_gzip_bomb_is_cut_where_it_unfolds(hostile: Hostile) -> None:
    """(Through the fleet's pool too once it is centra's: tests/centra/test_wire.py.)"""
    hostile.answers["introspection"] = gzip_bomb()
    result, seconds = run("doctor", "acme", "--env", "hostile")
    assert result.exit_code == 1, result.output + result.stderr
    assert_clean(result, seconds)
    assert "more than 16 MiB of JSON, which was not read further" in result.stderr


@pytest.mark.parametrize("command", NETWORK_COMMANDS)
@pytest.mark.parametrize("headers_first", [True, False], ids=["body", "status line"])
def test_a_dripping_server_is_given_up_at_the_deadline(hostile: Hostile, command: list[str],
                                                       headers_first: bool) -> None:
    hostile.answers["introspection"] = drip(headers_first)
    result, seconds = run(*command)
    assert result.exit_code == 1, result.output + result.stderr
    assert_clean(result, seconds)
    assert "did not finish answering within the request deadline (1 s, PROVISION_REQUEST_DEADLINE)" in result.stderr
    # An idempotent read is retried within the budget, each attempt held to the deadline.
    attempts = hostile.seen.count("introspection")
    assert 2 <= attempts <= 1 + BUDGET / DEADLINE
    assert seconds < BUDGET + DEADLINE + 2


@pytest.mark.parametrize("user_errors, says", [
    ("the email is bad", "createAccessToken.userErrors: an object was expected, not a string"),
    ([{"message": 5, "path": None}], "createAccessToken.userErrors: 0.message: Input should be a valid string"),
    ([{"message": "m", "path": [{"x": 1}]}], "createAccessToken.userErrors[0].path[0]: a value was expected"),
], ids=["a string", "a message a number", "a path of objects"])
def test_user_errors_of_another_shape_stop_the_apply_and_change_nothing(hostile: Hostile, user_errors: Any,
                                                                         says: str) -> None:
    hostile.answers["mutation"] = json_answer({"data": {"createAccessToken": {
        "accessToken": None, "userErrors": user_errors, "userWarnings": []}, "createWarehouse": {
        "warehouse": {"id": 9, "name": "Main"}, "userErrors": [], "userWarnings": []}}})
    before = hostile.box.app.handle(Request("GET", "/_sandbox/state", headers=hostile.box.admin_headers())).payload()
    result, seconds = run("apply", "acme", "--env", "hostile", "--auto-approve")
    assert_clean(result, seconds)
    # The apply stops at the token, sent with acme's warehouse (exit 5, "run apply again"), naming the
    # answer that stopped both: an answer of another shape is nobody's to trust.
    assert result.exit_code == ExitCode.PARTIAL_APPLY, result.output + result.stderr
    assert f"createAccessToken+createWarehouse: {hostile.url}/graphql answered data of another shape" in result.stderr
    assert says in result.stderr and "done: nothing" in result.stderr
    after = hostile.box.app.handle(Request("GET", "/_sandbox/state", headers=hostile.box.admin_headers())).payload()
    assert after["tokens"] == before["tokens"]
