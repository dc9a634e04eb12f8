"""The transport through the client, on a fake clock: the request deadline (between chunks, and as the
network backend cuts a read short), what each failure says and names, how far an answer is read, the
headers sent, the trace. Nothing waits for real."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from provisioner.centra import deadlines
from provisioner.centra.client import BadReply, CentraError, RequestTooSlow, RetryPolicy
from provisioner.errors import AuthError, ExitCode
from tests.centra.conftest import (
    ENDPOINT,
    TOKEN,
    TOKEN_INPUT,
    FakeClock,
    answer,
    client_on,
    dripping,
    scripted,
)

# -- the request deadline ---------------------------------------------------------------------------

def test_an_answer_finishing_before_the_deadline_is_read(clock: FakeClock) -> None:
    client, _ = scripted(clock, dripping(clock, 3), deadline=2.5)
    assert client.run("stores").data == {"stores": []}


def test_an_answer_still_dripping_at_the_deadline_is_given_up(clock: FakeClock) -> None:
    """Three chunks a second apart: the third arrives exactly at a 2 s deadline, which has then passed."""
    client, script = scripted(clock, dripping(clock, 3), dripping(clock, 3), deadline=2.0,
                              retry=RetryPolicy(attempts=2, base_delay=0.01))
    with pytest.raises(RequestTooSlow, match=rf"stores: {ENDPOINT} did not finish answering within the request "
                                             r"deadline \(2 s, PROVISION_REQUEST_DEADLINE\) after 2 attempts"):
        client.run("stores")
    assert len(script.requests) == 2


def test_a_write_past_its_deadline_is_not_sent_again(clock: FakeClock) -> None:
    client, script = scripted(clock, dripping(clock, 10), deadline=3.0)
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


@respx.mock
def test_a_host_that_cannot_be_found_is_said_once_and_not_retried(clock: FakeClock) -> None:
    route = respx.post(ENDPOINT).mock(side_effect=httpx.ConnectError("[Errno -2] Name or service not known"))
    client = client_on(clock, retry=RetryPolicy(attempts=5))
    with pytest.raises(CentraError, match=r"cannot be found \(DNS: .*\): check the environment's centra_url"):
        client.run("stores")
    assert route.call_count == 1 and "dropped" not in str(route.calls)


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
    ({"errors": [], "message": "after no errors"}, "after no errors"),
    ({"errors": ["boom"]}, '{"errors":["boom"]}'),
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
                         dripping(clock, 5), answer(), jitter="least", deadline=2.0,
                         on_wait=lambda seconds, why: heard.append((seconds, why)),
                         retry=RetryPolicy(attempts=5, base_delay=0.01))
    client.run("stores")
    assert [why for _, why in heard] == ["for Centra's rate limit", "to retry stores after HTTP 503",
                                         "to retry stores after a dropped connection",
                                         "to retry stores after its deadline passed"]
    assert heard[0][0] == 2.0 and [s for s, _ in heard] == clock.slept


def test_the_trace_shows_each_attempt_and_no_secret(caplog: pytest.LogCaptureFixture, clock: FakeClock) -> None:
    client, _ = scripted(clock, answer(503), httpx.RemoteProtocolError("dropped"), dripping(clock, 5), answer(),
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
    client, _ = scripted(clock, dripping(clock, 4))
    clock.advance(100)  # the attempt starts well after the clock's zero
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
