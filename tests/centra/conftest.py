"""A clock for the client's time: wall time (Retry-After dates) and monotonic time (deadlines, the retry
budget) move together, and only when a test or a wait moves them; nothing waits for real. And a scripted
transport: answers (or failures) in order, each a request of the operations the client sends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from provisioner.centra.client import CentraClient, RetryPolicy

URL = "https://acme.centraqa.com"
ENDPOINT = f"{URL}/graphql"
TOKEN = "secret-token-value"
WALL_START = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


@dataclass
class FakeClock:
    elapsed: float = 0.0
    slept: list[float] = field(default_factory=list)

    def time(self) -> float:
        return WALL_START + self.elapsed

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.elapsed += seconds

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def no_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISION_REQUEST_DEADLINE", raising=False)
    monkeypatch.delenv("PROVISION_COMMAND_BUDGET", raising=False)


def client_on(clock: FakeClock, *, jitter: str = "most", **options: object) -> CentraClient:
    """A client on the fake clock; the rate-limit jitter its most (or `least`), so waits are exact."""
    options.setdefault("retry", RetryPolicy(attempts=4, base_delay=0.01))
    return CentraClient(URL, TOKEN, sleep=clock.sleep, clock=clock.time, monotonic=clock.monotonic,
                        jitter=(lambda low, high: high) if jitter == "most" else (lambda low, high: low),
                        **options)  # type: ignore[arg-type]


class Dripping(httpx.SyncByteStream):
    """An answer whose every chunk takes `seconds` of the fake clock."""

    def __init__(self, clock: FakeClock, chunks: list[bytes], seconds: float = 1.0) -> None:
        self.clock, self.chunks, self.seconds = clock, chunks, seconds

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            yield chunk
            self.clock.advance(self.seconds)


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


def dripping(clock: FakeClock, chunks: int, seconds: float = 1.0) -> httpx.Response:
    body = [b'{"data": {"stores": []}', *[b" "] * (chunks - 2), b"}"]
    return httpx.Response(200, headers={"content-type": "application/json"}, stream=Dripping(clock, body, seconds))
