"""Centra's six rate-limit buckets: request count, mutation count and query complexity, each over
10 seconds and 1 hour, shared by every token of the environment. Token buckets that refill
continuously, as Centra documents them (docs/centra.md), not sliding windows."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

INTERVALS = {"TEN_SECONDS": 10, "ONE_HOUR": 3600}
TYPES = ("REQUEST_COUNT", "MUTATION_COUNT", "QUERY_COMPLEXITY")

# Centra's published tiers (new.centra.dev/integration-api/api-rate-limits): (10 s, 1 h) per type.
TIERS: dict[str, dict[str, tuple[int, int]]] = {
    "growth": {"REQUEST_COUNT": (60, 5_000), "MUTATION_COUNT": (20, 1_800),
               "QUERY_COMPLEXITY": (250_000, 30_000_000)},
    "enhanced": {"REQUEST_COUNT": (150, 20_000), "MUTATION_COUNT": (50, 4_500),
                 "QUERY_COMPLEXITY": (900_000, 90_000_000)},
    "high_volume": {"REQUEST_COUNT": (450, 40_000), "MUTATION_COUNT": (150, 7_000),
                    "QUERY_COMPLEXITY": (1_800_000, 180_000_000)},
    "enterprise": {"REQUEST_COUNT": (1_500, 85_000), "MUTATION_COUNT": (500, 25_000),
                   "QUERY_COMPLEXITY": (4_000_000, 400_000_000)},
}


@dataclass(frozen=True)
class Bucket:
    """A token bucket that refills continuously at `quota` per interval (RL: "1 request = 1 token",
    "1 complexity point = 1 token"); `level` may dip below zero after a query costlier than it held."""

    type: str
    interval: str
    quota: int
    level: float

    @property
    def rate(self) -> float:
        return self.quota / INTERVALS[self.interval]

    @property
    def used(self) -> int:
        return min(max(math.ceil(self.quota - self.level - 1e-9), 0), self.quota)

    def as_graphql(self) -> dict[str, object]:
        return {"type": self.type, "intervalSeconds": self.interval, "quota": self.quota,
                "usedQuota": self.used, "remainingQuota": self.quota - self.used}

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds `cost` tokens (capped at a full bucket), 0 when it does now."""
        need = min(cost, float(self.quota))
        return 0.0 if self.level >= need else (need - self.level) / self.rate


def set_quotas(db: sqlite3.Connection, quotas: dict[str, tuple[int, int]]) -> None:
    """New quotas start with full buckets."""
    for kind, (ten, hour) in quotas.items():
        db.execute("INSERT OR REPLACE INTO rate_quotas VALUES (?, 'TEN_SECONDS', ?)", (kind, ten))
        db.execute("INSERT OR REPLACE INTO rate_quotas VALUES (?, 'ONE_HOUR', ?)", (kind, hour))
        db.execute("DELETE FROM rate_buckets WHERE type = ?", (kind,))


def buckets(db: sqlite3.Connection, now: float) -> list[Bucket]:
    """Every bucket as it stands at `now`: its stored level plus what has flowed in since."""
    result = []
    for row in db.execute("SELECT q.type, q.interval, q.quota, b.level, b.updated_at FROM rate_quotas q "
                          "LEFT JOIN rate_buckets b ON b.type = q.type AND b.interval = q.interval "
                          "ORDER BY q.type, q.interval DESC"):
        quota = int(row["quota"])
        if row["level"] is None:
            level = float(quota)
        else:
            elapsed = max(now - float(row["updated_at"]), 0.0)
            level = min(float(quota), float(row["level"]) + elapsed * quota / INTERVALS[row["interval"]])
        result.append(Bucket(row["type"], row["interval"], quota, level))
    return result


def _costs(is_mutation: bool, complexity: int) -> dict[str, int]:
    costs = {"REQUEST_COUNT": 1, "QUERY_COMPLEXITY": complexity}
    if is_mutation:
        costs["MUTATION_COUNT"] = 1
    return costs


def retry_at(db: sqlite3.Connection, is_mutation: bool, now: float, complexity: int = 1,
             levels: list[Bucket] | None = None) -> float | None:
    """When a request that would start now finds a bucket short: the moment it may be retried."""
    costs = _costs(is_mutation, complexity)
    wait = max((b.wait_for(costs[b.type]) for b in levels or buckets(db, now) if b.type in costs), default=0.0)
    return now + wait if wait > 0 else None


def record(db: sqlite3.Connection, now: float, *, is_mutation: bool, complexity: int,
           levels: list[Bucket] | None = None) -> None:
    costs = _costs(is_mutation, complexity)
    db.executemany("INSERT OR REPLACE INTO rate_buckets VALUES (?, ?, ?, ?)",
                   [(b.type, b.interval, b.level - costs[b.type], now) for b in levels or buckets(db, now)
                    if b.type in costs])


def admit(db: sqlite3.Connection, is_mutation: bool, now: float, complexity: int) -> float | None:
    """`retry_at`, and when the request may start, `record` it: the buckets read once for both."""
    levels = buckets(db, now)
    later = retry_at(db, is_mutation, now, complexity, levels)
    if later is None:
        record(db, now, is_mutation=is_mutation, complexity=complexity, levels=levels)
    return later
