"""Settings read from the environment (PROVISION_*): one reader per kind of value, so every setting
refuses a bad value in the same words, before anything is sent."""

from __future__ import annotations

import math
import os

from provisioner.errors import ProvisionerError


def seconds_from_env(name: str, default: float, *, zero: bool = False) -> float:
    """Seconds from $NAME, `default` when unset or empty; a finite number above 0 (or 0 too, with `zero`)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    refused = ProvisionerError(f"{name} must be a number of seconds{', 0 or more' if zero else ' above 0'}, "
                               f"not {value[:40]!r}")
    try:
        seconds = float(value)
    except ValueError:
        raise refused from None
    if not (seconds >= 0 if zero else seconds > 0) or seconds == math.inf:
        raise refused
    return seconds
