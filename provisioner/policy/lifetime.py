"""Days left on a token, and how worrying that is: one wording for the plan's findings and `doctor`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from provisioner.policy.findings import Severity

DAY = 86400.0


@dataclass(frozen=True)
class Lifetime:
    severity: Severity
    message: str


def describe(name: str, expires_at: float, window_days: int, now: float) -> Lifetime:
    days = (expires_at - now) / DAY
    date = dt.datetime.fromtimestamp(expires_at, dt.UTC).date().isoformat()
    if days <= 0:
        return Lifetime("critical", f"{name} expired on {date}")
    if days < window_days:
        return Lifetime("warning", f"{name} expires in {days:.0f} day(s), on {date} (warning window "
                                   f"{window_days} days): rotate it")
    return Lifetime("info", f"{name} expires in {days:.0f} days, on {date}")
