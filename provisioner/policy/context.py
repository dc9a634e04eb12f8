"""What a policy rule sees: the resolved desired state, the live store as the plan read it, the
plan's changes and the attestation ledger. Plain data and protocols, no engine import."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from provisioner.config.models import ApiToken
from provisioner.config.resolve import DesiredState

Obj = dict[str, Any]


class FieldView(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def added(self) -> list[Any] | None: ...


class ChangeView(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def fields(self) -> Sequence[FieldView]: ...


@dataclass(frozen=True)
class Context:
    state: DesiredState
    live: dict[str, dict[str, Obj]]  # kind -> name -> the normalised live object
    unknown: dict[str, str] = field(default_factory=dict)  # kind -> the permission its read lacks
    changes: Sequence[ChangeView] = ()
    # address, setting, value -> whether the ledger's (salted) hash is of that value; None: nothing attested
    matches: Callable[[str, str, Any], bool | None] = lambda address, setting, value: None
    now: float = 0.0

    def address(self, kind: str, name: str) -> str:
        return f"{self.state.merchant}/{self.state.environment}/{kind}/{name}"


def granted(token: ApiToken) -> set[str]:
    """A resolved token's permissions (resolution has already expanded every `all_except`)."""
    return {p for side in (token.permissions.read, token.permissions.write) if isinstance(side, list) for p in side}
