"""Centra's six rate-limit buckets: request count, mutation count and query complexity, each over
10 seconds and 1 hour, shared by every token of the environment (docs/centra.md)."""

from __future__ import annotations

import sqlite3
import time
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
    type: str
    interval: str
    quota: int
    used: int
    oldest: float | None

    @property
    def remaining(self) -> int:
        return max(self.quota - self.used, 0)

    def as_graphql(self) -> dict[str, object]:
        return {"type": self.type, "intervalSeconds": self.interval, "quota": self.quota,
                "usedQuota": min(self.used, self.quota), "remainingQuota": self.remaining}


def set_quotas(db: sqlite3.Connection, quotas: dict[str, tuple[int, int]]) -> None:
    for kind, (ten, hour) in quotas.items():
        db.execute("INSERT OR REPLACE INTO rate_quotas VALUES (?, 'TEN_SECONDS', ?)", (kind, ten))
        db.execute("INSERT OR REPLACE INTO rate_quotas VALUES (?, 'ONE_HOUR', ?)", (kind, hour))


def buckets(db: sqlite3.Connection, now: float) -> list[Bucket]:
    db.execute("DELETE FROM rate_usage WHERE at <= ?", (now - INTERVALS["ONE_HOUR"],))
    result = []
    for row in db.execute("SELECT type, interval, quota FROM rate_quotas ORDER BY type, interval DESC"):
        since = now - INTERVALS[row["interval"]]
        used, oldest = db.execute("SELECT COALESCE(SUM(amount), 0), MIN(at) FROM rate_usage "
                                  "WHERE type = ? AND at > ?", (row["type"], since)).fetchone()
        result.append(Bucket(row["type"], row["interval"], int(row["quota"]), int(used), oldest))
    return result


def retry_at(db: sqlite3.Connection, is_mutation: bool, now: float) -> float | None:
    """When a request that would start now is over quota: the moment it may be retried."""
    for bucket in buckets(db, now):
        if bucket.type == "MUTATION_COUNT" and not is_mutation:
            continue
        if bucket.used >= bucket.quota:
            return (bucket.oldest or now) + INTERVALS[bucket.interval]
    return None


def record(db: sqlite3.Connection, now: float, *, is_mutation: bool, complexity: int) -> None:
    rows = [(now, "REQUEST_COUNT", 1), (now, "QUERY_COMPLEXITY", complexity)]
    if is_mutation:
        rows.append((now, "MUTATION_COUNT", 1))
    db.executemany("INSERT INTO rate_usage VALUES (?, ?, ?)", rows)


def now() -> float:
    return time.time()
