"""The transport's retries, deadlines and budget, through the client, on a fake clock: which operations
are sent again after which failures, how long each wait is, where the budget stops them, and what each
failure says. Nothing waits for real."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from provisioner.centra import deadlines, retries
from provisioner.centra.client import (
    BadReply,
    CentraClient,
    CentraError,
    RequestTooSlow,
    RetryBudgetSpent,
    RetryPolicy,
)
from provisioner.errors import AuthError, ExitCode, ProvisionerError
from tests.centra.conftest import ENDPOINT, TOKEN, URL, Dripping, FakeClock, client_on

OK = {"data": {"stores": [{"id": 1, "name": "S", "type": "DIRECT_TO_CONSUMER"}]}, "extensions": {"complexity": 2}}
TOKEN_INPUT = {"name": "n", "organizationName": "o", "integrationName": "i", "email": "e@x.example",
               "permissions": ["Order:read"], "ttl": 3600}
# Every operation the client sends, its variables, and whether a failure with an unknown outcome may be
# followed by sending it again. A null root field is a well-shaped answer to each.
OPERATIONS: list[tuple[str, dict[str, Any], str, bool]] = [
    ("stores", {}, "stores", True),
    ("set_event_listeners", {"input": [{"objectType": "Order"}]}, "setEventListeners", True),
    ("unset_event_listeners", {"input": [{"objectType": "Order"}]}, "unsetEventListeners", True),
    ("update_access_token", {"id": 7, "input": {"name": "n"}}, "updateAccessToken", True),
    ("revoke_access_token", {"id": 7}, "revokeAccessToken", True),
    ("create_access_token", {"input": TOKEN_INPUT}, "createAccessToken", False),
]


def answer(status: int = 200, payload: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=OK if payload is None and status == 200 else payload or {},
                          headers={k.replace("_", "-"): v for k, v in headers.items()})


def failure(kind: str, clock: FakeClock) -> httpx.Response | Exception:
    if kind == "dropped":
        return httpx.RemoteProtocolError("Server disconnected without sending a response.")
    if kind == "deadline":
        return httpx.Response(200, headers={"content-type": "application/json"},
                              stream=Dripping(clock, [b"{"] * 200, seconds=1.0))
    return httpx.Response(int(kind))


class Script:
    """A transport answering from a list, in order (a drip keeps its fake-clock stream)."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers, self.requests = list(answers), []  # type: ignore[var-annotated]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        next_answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(next_answer, Exception):
            raise next_answer
        return next_answer


def scripted(clock: FakeClock, *answers: httpx.Response | Exception, **options: Any) -> tuple[CentraClient, Script]:
    script = Script(*answers)
    options.setdefault("deadline", 60.0)
    return client_on(clock, transport=httpx.MockTransport(script), **options), script


# -- which failures are sent again --------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["502", "503", "504", "dropped", "deadline"])
@pytest.mark.parametrize("name, variables, root, idempotent", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_an_unknown_outcome_is_retried_only_for_reads_and_idempotent_writes(
        clock: FakeClock, kind: str, name: str, variables: dict[str, Any], root: str, idempotent: bool) -> None:
    client, script = scripted(clock, failure(kind, clock), answer(payload={"data": {root: None}}), deadline=30.0)
    if idempotent:
        assert client.run(name, variables).data == {root: None}
        assert len(script.requests) == 2 and client.requests == 2 and len(clock.slept) == 1
    else:
        with pytest.raises(CentraError, match="not retried") as caught:
            client.run(name, variables)
        assert len(script.requests) == 1 and clock.slept == []
        assert ("HTTP" in str(caught.value)) == kind.isdigit()


@pytest.mark.parametrize("name, variables, root, idempotent", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_a_429_is_retried_for_every_operation_even_a_create(clock: FakeClock, name: str, variables: dict[str, Any],
                                                            root: str, idempotent: bool) -> None:
    """Centra refuses a rate-limited request before executing it, so even a create is safe to resend."""
    client, script = scripted(clock, answer(429, retry_after="3"), answer(payload={"data": {root: None}}))
    assert client.run(name, variables).data == {root: None}
    assert len(script.requests) == 2 and clock.slept == [3.1]


@pytest.mark.parametrize("status", [400, 401, 404, 409, 500, 501, 505])
def test_other_statuses_are_never_retried(clock: FakeClock, status: int) -> None:
    client, script = scripted(clock, answer(status, {"message": "boom"}))
    with pytest.raises(CentraError, match=rf"stores: {ENDPOINT} answered HTTP {status}: boom$"):
        client.run("stores")
    assert len(script.requests) == 1 and clock.slept == []


def test_retryable_decides_by_status_failure_and_idempotence() -> None:
    reply = retries.Reply(503, httpx.Headers(), b"", cut=False)
    dropped = retries.Dropped("gone", "RemoteProtocolError")
    for status in (429, 502, 503, 504):
        assert retries.retryable(retries.HttpStatus(retries.Reply(status, reply.headers, b"", False)), True)
    assert retries.retryable(retries.HttpStatus(retries.Reply(429, reply.headers, b"", False)), False)
    assert not retries.retryable(retries.HttpStatus(reply), False)
    assert not retries.retryable(retries.HttpStatus(retries.Reply(500, reply.headers, b"", False)), True)
    assert retries.retryable(dropped, True) and not retries.retryable(dropped, False)
    assert not retries.retryable(ValueError("a bug"), True)


def test_a_bad_reply_is_not_retried(clock: FakeClock) -> None:
    not_json = httpx.Response(200, content=b"<html>", headers={"content-type": "application/json"})
    client, script = scripted(clock, not_json)
    with pytest.raises(BadReply):
        client.run("stores")
    assert len(script.requests) == 1


# -- how long each wait is ---------------------------------------------------------------------------

def test_the_production_defaults(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (deadlines.DEFAULT_DEADLINE, deadlines.DEFAULT_BUDGET) == (120.0, 900.0)
    assert {429, 502, 503, 504} == retries.RETRY_STATUSES and retries.RATE_LIMIT_JITTER == 0.1
    assert retries.IDEMPOTENT_WRITES == ("set", "update", "unset", "revoke")
    with CentraClient(URL, TOKEN) as client:
        assert client.retry == RetryPolicy(attempts=5, base_delay=0.5, max_delay=30.0)
        assert client._http.deadline == 120.0 and client._http.budget.seconds == 900.0
        assert client._http._client.timeout == httpx.Timeout(30.0)
    # Waits at the top of their jitter: each twice the last, from 0.5 s, five attempts in all.
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    defaults, script = scripted(clock, answer(503), retry=RetryPolicy())
    with pytest.raises(CentraError, match="HTTP 503 after 5 attempts"):
        defaults.run("stores")
    assert len(script.requests) == 5 and clock.slept == [0.5, 1.0, 2.0, 4.0]


def test_backoff_is_capped_at_max_delay(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    client, _ = scripted(clock, answer(503), retry=RetryPolicy(attempts=5, base_delay=10, max_delay=30))
    with pytest.raises(CentraError):
        client.run("stores")
    assert clock.slept == [10, 20, 30, 30]


def test_backoff_has_full_jitter(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: low)
    client, _ = scripted(clock, answer(503), retry=RetryPolicy(attempts=3, base_delay=10))
    with pytest.raises(CentraError):
        client.run("stores")
    assert clock.slept == [0, 0]


def test_retries_stop_at_the_attempt_cap(clock: FakeClock) -> None:
    client, script = scripted(clock, answer(503), retry=RetryPolicy(attempts=3, base_delay=0.01))
    with pytest.raises(CentraError, match=rf"stores: HTTP 503 after 3 attempts \({ENDPOINT}\)"):
        client.run("stores")
    assert len(script.requests) == 3 and len(clock.slept) == 2


def test_a_single_attempt_policy_sends_once(clock: FakeClock) -> None:
    client, script = scripted(clock, answer(503, {"message": "down"}), retry=RetryPolicy(attempts=1))
    with pytest.raises(CentraError, match=r"answered HTTP 503: down$"):
        client.run("stores")
    assert len(script.requests) == 1


@pytest.mark.parametrize("retry_after, wait", [
    ("Tue, 14 Nov 2023 22:13:30 GMT", 10.0),  # Centra's form: a timestamp, 10 s after the fake clock's now
    ("Tue, 14 Nov 2023 22:13:30 -0000", 10.0),  # a date without a zone is still GMT
    ("7", 7.0),  # delta-seconds
    (str(1_700_000_000 + 12), 12.0),  # epoch seconds
    ("Tue, 14 Nov 2023 22:13:00 GMT", 0.0),  # already past: now
    (str(1_700_000_000 - 50), 0.0),
])
def test_retry_after_is_waited_for_in_full_never_less(clock: FakeClock, retry_after: str, wait: float) -> None:
    for jitter, extra in (("least", 0.0), ("most", 0.1)):
        client = client_on(clock, jitter=jitter, transport=httpx.MockTransport(
            Script(answer(429, retry_after=retry_after), answer())))
        clock.slept.clear()
        client.run("stores")
        assert clock.slept == [pytest.approx(wait + extra)]
        clock.elapsed = 0.0


def test_the_rate_limit_jitter_is_drawn_between_0_and_a_tenth_of_a_second(clock: FakeClock) -> None:
    drawn: list[tuple[float, float]] = []
    client = CentraClient(URL, TOKEN, sleep=clock.sleep, clock=clock.time, monotonic=clock.monotonic,
                          jitter=lambda low, high: drawn.append((low, high)) or 0.05,
                          transport=httpx.MockTransport(Script(answer(429, retry_after="2"), answer())))
    client.run("stores")
    assert drawn == [(0.0, 0.1)] and clock.slept == [2.05]


@pytest.mark.parametrize("retry_after", [None, "soon", "-5", "1e9"])
def test_a_429_without_a_readable_retry_after_backs_off(clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
                                                         retry_after: str | None) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    headers = {} if retry_after is None else {"retry_after": retry_after}
    client, _ = scripted(clock, answer(429, **headers), retry=RetryPolicy(attempts=3, base_delay=0.25))
    with pytest.raises(CentraError, match=rf"stores: still rate limited by {ENDPOINT} after 3 attempts"):
        client.run("stores")
    assert clock.slept == [0.25, 0.5]


def test_a_503_s_retry_after_is_not_the_rate_limit_s(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    client, _ = scripted(clock, answer(503, retry_after="60"), answer(), retry=RetryPolicy(base_delay=0.25))
    client.run("stores")
    assert clock.slept == [0.25]


@pytest.fixture
def far_from_gmt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time not GMT, so a date read as local time would be hours off."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_retry_after_parsing(far_from_gmt: None) -> None:
    now = 1_700_000_000.0
    assert retries.retry_after_seconds("Tue, 14 Nov 2023 22:13:30 -0000", now) == 10
    assert retries.retry_after_seconds("5", now) == 5
    assert retries.retry_after_seconds(" 2.5 ", now) == 2.5
    assert retries.retry_after_seconds("1000000000", now) == 1_000_000_000  # the largest delta
    assert retries.retry_after_seconds("1000000001", now) == 0.0  # epoch seconds, long past
    assert retries.retry_after_seconds(str(int(now + 7)), now) == 7
    assert retries.retry_after_seconds("Tue, 14 Nov 2023 22:13:30 GMT", now) == 10
    assert retries.retry_after_seconds("Tue, 14 Nov 2023 22:13:30 +0100", now) == 0.0  # 21:13:30 GMT: past
    for unreadable in ("garbage", "", None, "9" * 13, "Tue, 99 Nov 2023 22:13:30 GMT"):
        assert retries.retry_after_seconds(unreadable, now) is None


def test_a_reply_is_not_changed_once_read() -> None:
    reply = retries.Reply(200, httpx.Headers(), b"{}", cut=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.body = b"other"  # type: ignore[misc]


# -- the retry budget -------------------------------------------------------------------------------

def test_a_wait_that_ends_exactly_at_the_budget_is_taken(clock: FakeClock) -> None:
    client, script = scripted(clock, answer(429, retry_after="10"), answer(), jitter="least",
                              budget=deadlines.Budget(10, clock.monotonic))
    client.run("stores")
    assert clock.slept == [10.0] and len(script.requests) == 2


def test_a_retry_after_past_the_budget_ends_the_command_with_why(clock: FakeClock) -> None:
    client, script = scripted(clock, answer(429, {"errors": [{"message": "Too Many Requests"}]}, retry_after="10"),
                              jitter="least", budget=deadlines.Budget(9.5, clock.monotonic))
    with pytest.raises(RetryBudgetSpent) as caught:
        client.run("create_access_token", {"input": TOKEN_INPUT})
    assert len(script.requests) == 1 and clock.slept == []
    assert str(caught.value) == (
        f"create_access_token: still rate limited by {ENDPOINT} after 1 attempts; not retried, as the wait Centra "
        "asked for (Retry-After: until Tue, 14 Nov 2023 22:13:30 GMT, in 10 s) would end past this command's "
        "retry budget (9.5 s, PROVISION_COMMAND_BUDGET)")
    assert caught.value.exit_code == ExitCode.ERROR and isinstance(caught.value, CentraError)


def test_the_budget_is_what_is_left_of_it(clock: FakeClock) -> None:
    """The second wait no longer fits what the first left of the budget."""
    client, script = scripted(clock, answer(429, retry_after="10"), jitter="least",
                              budget=deadlines.Budget(15, clock.monotonic))
    with pytest.raises(RetryBudgetSpent, match=r"in 10 s\) would end past .* \(15 s, PROVISION_COMMAND_BUDGET\)"):
        client.run("stores")
    assert clock.slept == [10.0] and len(script.requests) == 2


def test_a_backoff_past_the_budget_ends_the_command_too(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    client, script = scripted(clock, answer(503), retry=RetryPolicy(base_delay=0.5),
                              budget=deadlines.Budget(0.4, clock.monotonic))
    with pytest.raises(RetryBudgetSpent, match=rf"stores: {ENDPOINT} answered HTTP 503: .*; not retried, as "
                                               r"the next retry, in 0\.5 s, would end past this command's retry "
                                               r"budget \(0\.4 s, PROVISION_COMMAND_BUDGET\)"):
        client.run("stores")
    assert len(script.requests) == 1


def test_the_budget_counts_from_when_the_client_was_made(clock: FakeClock) -> None:
    client, _ = scripted(clock, answer(429, retry_after="5"), answer(), jitter="least",
                         budget=deadlines.Budget(20, clock.monotonic))
    clock.advance(16)  # the command has been busy for a while
    with pytest.raises(RetryBudgetSpent):
        client.run("stores")


def test_the_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_REQUEST_DEADLINE", "7.5")
    monkeypatch.setenv("PROVISION_COMMAND_BUDGET", " 11 ")
    with CentraClient(URL, TOKEN) as client:
        assert client._http.deadline == 7.5 and client._http.budget.seconds == 11.0


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf", "nan", "1e400"])
def test_a_limit_that_is_not_a_positive_number_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    for name in ("PROVISION_REQUEST_DEADLINE", "PROVISION_COMMAND_BUDGET"):
        monkeypatch.setenv(name, value)
        says = rf"{name} must be a number of seconds above 0, not '{value}'"
        with pytest.raises(ProvisionerError, match=says) as caught:
            CentraClient(URL, TOKEN)
        assert caught.value.exit_code == ExitCode.ERROR
        monkeypatch.delenv(name)


# -- the request deadline ---------------------------------------------------------------------------

def _dripping(clock: FakeClock, chunks: int, seconds: float = 1.0) -> httpx.Response:
    body = [b'{"data": {"stores": []}', *[b" "] * (chunks - 2), b"}"]
    return httpx.Response(200, headers={"content-type": "application/json"}, stream=Dripping(clock, body, seconds))


def test_an_answer_finishing_before_the_deadline_is_read(clock: FakeClock) -> None:
    client, _ = scripted(clock, _dripping(clock, 3), deadline=2.5)
    assert client.run("stores").data == {"stores": []}


def test_an_answer_still_dripping_at_the_deadline_is_given_up(clock: FakeClock) -> None:
    """Three chunks a second apart: the third arrives exactly at a 2 s deadline, which has then passed."""
    client, script = scripted(clock, _dripping(clock, 3), _dripping(clock, 3), deadline=2.0,
                              retry=RetryPolicy(attempts=2, base_delay=0.01))
    with pytest.raises(RequestTooSlow, match=rf"stores: {ENDPOINT} did not finish answering within the request "
                                             r"deadline \(2 s, PROVISION_REQUEST_DEADLINE\) after 2 attempts"):
        client.run("stores")
    assert len(script.requests) == 2


def test_a_write_past_its_deadline_is_not_sent_again(clock: FakeClock) -> None:
    client, script = scripted(clock, _dripping(clock, 10), deadline=3.0)
    with pytest.raises(RequestTooSlow, match=r"deadline \(3 s, PROVISION_REQUEST_DEADLINE\); the outcome of this "
                                             "write is unknown, so it is not retried"):
        client.run("create_access_token", {"input": TOKEN_INPUT})
    assert len(script.requests) == 1


def test_a_read_timeout_before_the_deadline_is_a_failed_connection(clock: FakeClock) -> None:
    client, script = scripted(clock, httpx.ReadTimeout("timed out"), retry=RetryPolicy(attempts=2, base_delay=0.01))
    with pytest.raises(CentraError, match=rf"stores: the connection to {ENDPOINT} failed \(timed out\) after 2 "
                                          "attempts") as caught:
        client.run("stores")
    assert not isinstance(caught.value, RequestTooSlow) and len(script.requests) == 2


@respx.mock
def test_a_connection_failure_names_the_endpoint_once_for_a_single_attempt(clock: FakeClock) -> None:
    respx.post(ENDPOINT).mock(side_effect=httpx.ConnectError("Connection refused"))
    client = client_on(clock, retry=RetryPolicy(attempts=1))
    with pytest.raises(CentraError, match=rf"^stores: the connection to {ENDPOINT} failed \(Connection refused\)$"):
        client.run("stores")


# -- what the failures say --------------------------------------------------------------------------

def test_403_is_an_auth_error_never_retried_and_without_the_token(clock: FakeClock) -> None:
    client, script = scripted(clock, answer(403, {"errors": [{"message": "no"}]}))
    with pytest.raises(AuthError, match=rf"Centra at {ENDPOINT} refused the token \(HTTP 403\)") as caught:
        client.run("stores")
    assert caught.value.exit_code == ExitCode.AUTH and TOKEN not in str(caught.value)
    assert len(script.requests) == 1


@pytest.mark.parametrize("status", [300, 301, 302, 307, 308, 399])
def test_a_redirect_is_not_followed(clock: FakeClock, status: int) -> None:
    client, script = scripted(clock, httpx.Response(status, headers={"location": "https://elsewhere.example/x"}))
    with pytest.raises(CentraError, match=rf"answered HTTP {status}, a redirect to https://elsewhere\.example/x, "
                                          "which is not followed: the token goes only to the environment's "
                                          "centra_url"):
        client.run("stores")
    assert [str(r.url) for r in script.requests] == [ENDPOINT]


@pytest.mark.parametrize("body, says", [
    ({"errors": [{"message": "first"}, {"message": "second"}]}, "first"),
    ({"message": "plain"}, "plain"),
    ({"errors": [{"message": 5}], "message": "fallback"}, "fallback"),
    ({"errors": "boom"}, '{"errors":"boom"}'),
])
def test_a_refusal_quotes_what_the_server_said(clock: FakeClock, body: Any, says: str) -> None:
    client, _ = scripted(clock, httpx.Response(500, json=body))
    with pytest.raises(CentraError) as caught:
        client.run("stores")
    assert str(caught.value) == f"stores: {ENDPOINT} answered HTTP 500: {says}"


def test_a_long_refusal_is_read_and_quoted_only_in_part(clock: FakeClock) -> None:
    client, _ = scripted(clock, httpx.Response(500, content=b"\n::error::x" + b"A" * (1024 * 1024)))
    with pytest.raises(CentraError) as caught:
        client.run("stores")
    message = str(caught.value)
    assert message.endswith("… (cut: 200 of 65536+ characters shown)") and "\\n::error::x" in message
    assert len(message) < 400


def test_every_wait_is_announced_with_what_it_waits_for(clock: FakeClock) -> None:
    heard: list[tuple[float, str]] = []
    client, _ = scripted(clock, answer(429, retry_after="2"), answer(503), httpx.ConnectError("refused"),
                         _dripping(clock, 5), answer(), jitter="least", deadline=2.0,
                         on_wait=lambda seconds, why: heard.append((seconds, why)),
                         retry=RetryPolicy(attempts=5, base_delay=0.01))
    client.run("stores")
    assert [why for _, why in heard] == ["for Centra's rate limit", "to retry stores after HTTP 503",
                                         "to retry stores after a dropped connection",
                                         "to retry stores after its deadline passed"]
    assert heard[0][0] == 2.0 and [s for s, _ in heard] == clock.slept


def test_the_trace_shows_each_attempt_and_no_secret(caplog: pytest.LogCaptureFixture, clock: FakeClock) -> None:
    client, _ = scripted(clock, answer(503), httpx.RemoteProtocolError("dropped"), _dripping(clock, 5), answer(),
                         deadline=2.0, retry=RetryPolicy(attempts=4, base_delay=0.01))
    with caplog.at_level(logging.DEBUG, logger="provisioner.centra"):
        client.run("stores", {"secret": "variable-value"})
    lines = [r.getMessage() for r in caplog.records if r.name == "provisioner.centra.client"]
    attempts = [line for line in lines if " -> " in line]
    assert [line.split(" -> ")[0] for line in attempts] == [f"stores {ENDPOINT}"] * 4
    assert "-> 503 in" in attempts[0] and "attempt 1/4" in attempts[0] and "complexity -" in attempts[0]
    assert "-> failed (RemoteProtocolError)" in attempts[1] and "attempt 2/4" in attempts[1]
    assert "-> deadline passed" in attempts[2]
    assert "-> 200" in attempts[3] and "complexity 2" in attempts[3] and "attempt 4/4" in attempts[3]
    assert sum("stores: waiting" in line for line in lines) == 3
    assert not any(TOKEN in line or "Bearer" in line or "variable-value" in line for line in lines)


def test_the_request_carries_the_token_and_asks_for_json_gzipped(clock: FakeClock) -> None:
    client, script = scripted(clock, answer())
    client.run("stores")
    headers = script.requests[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}" and headers["accept"] == "application/json"
    assert headers["accept-encoding"] == "gzip"


def test_attempts_are_counted(clock: FakeClock) -> None:
    client, _ = scripted(clock, answer(503), answer(503), answer())
    client.run("stores")
    client.run("stores")
    assert client.requests == 4


def test_a_gateway_error_says_how_many_attempts_from_the_second(clock: FakeClock) -> None:
    client, _ = scripted(clock, answer(502), retry=RetryPolicy(attempts=2, base_delay=0.01))
    with pytest.raises(CentraError, match=rf"^stores: HTTP 502 after 2 attempts \({ENDPOINT}\)$"):
        client.run("stores")


def test_a_budget_spent_on_a_dropped_connection_or_a_503_s_retry_after_says_the_next_retry(
        clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    for first in (httpx.ConnectError("refused"), answer(503, retry_after="1")):
        client, _ = scripted(clock, first, retry=RetryPolicy(base_delay=2), budget=deadlines.Budget(1, clock.monotonic))
        with pytest.raises(RetryBudgetSpent, match=r"; not retried, as the next retry, in 2\.0 s, would end past"):
            client.run("stores")


def test_a_read_the_deadline_cut_short_is_the_deadline_s(clock: FakeClock) -> None:
    """The network backend gives a read what is left of the deadline; when that read times out, the
    deadline has passed, even if the clock has not quite reached it."""
    def cut_short(request: httpx.Request) -> httpx.Response:
        current = deadlines._CURRENT.get()
        assert current is not None
        clock.advance(1)
        current.bound(30)  # 9 s left: the read is given 9 s, not httpx's 30
        raise httpx.ReadTimeout("timed out")

    client = client_on(clock, transport=httpx.MockTransport(cut_short), deadline=10.0, retry=RetryPolicy(attempts=1))
    with pytest.raises(RequestTooSlow, match=r"within the request deadline \(10 s, PROVISION_REQUEST_DEADLINE\)"):
        client.run("stores")


def test_the_trace_times_each_attempt(caplog: pytest.LogCaptureFixture, clock: FakeClock) -> None:
    client, _ = scripted(clock, _dripping(clock, 4))
    with caplog.at_level(logging.DEBUG, logger="provisioner.centra"):
        client.run("stores")
    assert f"stores {ENDPOINT} -> 200 in 4000 ms, complexity -, attempt 1/4" in caplog.messages


class Counted(httpx.SyncByteStream):
    def __init__(self, sizes: list[int]) -> None:
        self.sizes, self.read = sizes, 0

    def __iter__(self) -> Iterator[bytes]:
        for size in self.sizes:
            self.read += 1
            yield b"<" * size


@pytest.mark.parametrize("sizes, cut, chunks_read", [
    ([32 * 1024, 32 * 1024], "(cut: 200 of 65536 characters shown)", 2),  # exactly the limit: whole
    ([64 * 1024, 1, 1], "(cut: 200 of 65536+ characters shown)", 2),  # one byte more: cut
    ([40 * 1024] * 100, "(cut: 200 of 65536+ characters shown)", 2),  # the rest is never read
])
def test_a_refusal_is_read_only_up_to_its_limit(clock: FakeClock, sizes: list[int], cut: str,
                                               chunks_read: int) -> None:
    stream = Counted(sizes)
    client, _ = scripted(clock, httpx.Response(500, stream=stream))
    with pytest.raises(CentraError) as caught:
        client.run("stores")
    assert str(caught.value).endswith(cut) and stream.read == chunks_read


def test_json_past_its_limit_from_any_transport_is_refused_unread(clock: FakeClock) -> None:
    stream = Counted([4 * 1024 * 1024] * 10)
    client, script = scripted(clock, httpx.Response(200, headers={"content-type": "application/json"}, stream=stream))
    with pytest.raises(BadReply, match=rf"^stores: {ENDPOINT} answered with more than 16 MiB of JSON, which was not "
                                       "read further$"):
        client.run("stores")
    assert stream.read == 5 and len(script.requests) == 1
