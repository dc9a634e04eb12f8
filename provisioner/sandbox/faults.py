"""Fault injection, stored in the sandbox database so it works across processes (tests drive a
served sandbox through `/_sandbox/faults`).

kinds and their bodies:
  latency        {"ms": 200}                             every request, until cleared
  status         {"code": 503, "count": 2}               the next `count` requests answer `code`
  rate_limit     {"count": 1, "retry_after": 2}          the next `count` requests answer 429
  drop           {"count": 1}                            the next `count` requests lose their connection
  fail_mutation  {"nth": 2, "mode": "error"}             the nth mutation from now fails: `error` answers
                                                         500 without change, `drop_after_commit` applies
                                                         it and then drops the connection; `"only":
                                                         ["revokeAccessToken", ...]` counts those alone
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from provisioner.sandbox.store import dumps, loads

KINDS = ("latency", "status", "rate_limit", "drop", "fail_mutation")


class FaultError(ValueError):
    pass


def configure(db: sqlite3.Connection, faults: dict[str, Any]) -> None:
    for kind, body in faults.items():
        if kind not in KINDS:
            raise FaultError(f"unknown fault '{kind}' (known: {', '.join(KINDS)})")
        if not isinstance(body, dict):
            raise FaultError(f"fault '{kind}' needs an object")
        if kind == "fail_mutation":
            if not isinstance(body.get("nth"), int) or body["nth"] < 1:
                raise FaultError("fail_mutation needs nth >= 1")
            body = {"mode": "error", **body, "seen": 0}
        db.execute("INSERT OR REPLACE INTO faults VALUES (?, ?)", (kind, dumps(body)))


def clear(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM faults")


def active(db: sqlite3.Connection) -> dict[str, Any]:
    return {row["kind"]: loads(row["body"]) for row in db.execute("SELECT * FROM faults")}


@dataclass(frozen=True)
class Injection:
    latency_ms: int = 0
    action: str | None = None  # "drop" | "status" | "rate_limit"
    status: int = 0
    retry_after: float = 0.0


def _consume(db: sqlite3.Connection, kind: str, body: dict[str, Any]) -> None:
    left = int(body.get("count", 1)) - 1
    if left > 0:
        db.execute("UPDATE faults SET body = ? WHERE kind = ?", (dumps({**body, "count": left}), kind))
    else:
        db.execute("DELETE FROM faults WHERE kind = ?", (kind,))


def for_request(db: sqlite3.Connection) -> Injection:
    faults = active(db)
    latency = int(faults.get("latency", {}).get("ms", 0))
    for kind in ("drop", "status", "rate_limit"):
        if kind in faults:
            body = faults[kind]
            _consume(db, kind, body)
            return Injection(latency, kind, int(body.get("code", 503)), float(body.get("retry_after", 1)))
    return Injection(latency)


def for_mutation(db: sqlite3.Connection, fields: frozenset[str] = frozenset()) -> str | None:
    """The failure mode if this mutation (its root fields) is the one to fail, else None."""
    body = active(db).get("fail_mutation")
    if body is None or (body.get("only") is not None and not fields & set(body["only"])):
        return None
    seen = int(body["seen"]) + 1
    if seen >= int(body["nth"]):
        db.execute("DELETE FROM faults WHERE kind = 'fail_mutation'")
        return str(body["mode"])
    db.execute("UPDATE faults SET body = ? WHERE kind = 'fail_mutation'", (dumps({**body, "seen": seen}),))
    return None
