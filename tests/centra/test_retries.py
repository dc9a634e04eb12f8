"""The retry policy through the client, on a fake clock: which operations are sent again after which
failures, how long each wait is (Retry-After in full, never less; backoff), and where the command's
retry budget stops them, saying why. Nothing waits for real."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from provisioner.centra import deadlines, retries
from provisioner.centra.client import BadReply, CentraClient, CentraError, RetryBudgetSpent, RetryPolicy
from provisioner.errors import ExitCode, ProvisionerError
from tests.centra.conftest import (
    ENDPOINT,
    OPERATIONS,
    TOKEN,
    TOKEN_INPUT,
    URL,
    FakeClock,
    Script,
    answer,
    client_on,
    failure,
    scripted,
)

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
