"""What a policy rule is and what it reports. Kept free of the engine so the plan can carry findings
and the rules can read the plan without an import circle."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from provisioner.policy.context import Context

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")


def at_least(severity: str, threshold: str) -> bool:
    order: list[str] = list(SEVERITIES)
    return order.index(severity) >= order.index(threshold)


@dataclass(frozen=True)
class Hit:
    """One problem a rule found; `severity` overrides the rule's where one rule has degrees."""

    message: str
    severity: Severity | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity  # the highest it reports
    title: str
    fix: str
    check: Callable[[Context], Iterable[Hit]]
    # A critical finding stops `apply` unless waived; False for a rule about time passing (an expired
    # token), which the change does not cause and which apply or rotate is the way out of.
    blocks_apply: bool = True


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    severity: Severity
    message: str
    fix: str
    waived: str | None = None  # the merchant file's reason, when it waives the rule

    @property
    def blocking(self) -> bool:
        return self.waived is None and self.severity != "info"
