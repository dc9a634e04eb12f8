"""Client-side pacing under Centra's shared rate limits: keep this run's requests and complexity in
the 10-second window below what `rateLimits` said was left, so a long export rarely meets a 429 (and
honours Retry-After through the client when it does)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 10.0
HEADROOM = 0.8  # the limits are shared with every other integration of the environment
NOTICEABLE = 0.5  # shorter pauses are not worth telling anyone about


@dataclass
class Pacer:
    requests: int  # allowed per window
    complexity: int
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    on_wait: Callable[[float, str], None] | None = None  # hears of each pause before it starts
    _events: deque[tuple[float, int]] = field(default_factory=deque)
    waited: float = 0.0

    @classmethod
    def from_rate_limits(cls, limits: list[dict[str, object]], **kwargs: object) -> Pacer:
        ten = {str(item["type"]): int(str(item["remainingQuota"])) for item in limits
               if item.get("intervalSeconds") == "TEN_SECONDS"}
        return cls(max(1, int(ten.get("REQUEST_COUNT", 60) * HEADROOM)),
                   max(1, int(ten.get("QUERY_COMPLEXITY", 250_000) * HEADROOM)), **kwargs)  # type: ignore[arg-type]

    def _expire(self, now: float) -> None:
        while self._events and self._events[0][0] <= now - WINDOW:
            self._events.popleft()

    def before(self, expected_complexity: int) -> None:
        """Wait, if needed, until one more request of this complexity fits the window."""
        while True:
            now = self.clock()
            self._expire(now)
            used = sum(cost for _, cost in self._events)
            if len(self._events) < self.requests and (not self._events or used + expected_complexity
                                                       <= self.complexity):
                return
            pause = self._events[0][0] + WINDOW - now
            self.waited += pause
            if self.on_wait is not None and pause >= NOTICEABLE:
                self.on_wait(pause, "for Centra's rate limit")
            self.sleep(max(pause, 0.01))

    def after(self, complexity: int) -> None:
        self._events.append((self.clock(), complexity))
