"""A clock for the client's time: wall time (Retry-After dates) and monotonic time (deadlines, the retry
budget) move together, and only when a test or a wait moves them; nothing waits for real."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

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
