"""What every resource kind provides to the engine: its desired objects, normalised live objects,
how it is read, and which executor changes it (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from provisioner.centra.capabilities import Capabilities
from provisioner.config.resolve import DesiredState

Obj = dict[str, Any]
Reveal = Callable[[str], str | None]  # secret reference -> value, None when unavailable


@dataclass
class DesiredSection:
    mode: str  # additive | exclusive
    objects: dict[str, Obj] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Setting:
    """An attested setting: the API can neither read nor write it."""

    value: Any
    sensitive: bool = False
    reference: str | None = None  # the secret reference, shown instead of a sensitive value


class Kind(Protocol):
    kind: str  # address segment, e.g. "plugin"
    section: str  # merchant-file section
    object_type: str  # the GraphQL type the section lists; its Query field is found by this type
    root_field: str  # its root field in live_state.graphql (the response key, whatever the target calls it)
    permission: str  # what reading it needs
    set_fields: frozenset[str]  # paths compared as sets ("*" matches one key)

    def desired(self, state: DesiredState) -> DesiredSection | None: ...

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]: ...

    def executor(self, action: str, capabilities: Capabilities) -> str: ...

    def settings(self, state: DesiredState, reveal: Reveal) -> dict[str, dict[str, Setting]]: ...


def section_of(state: DesiredState, name: str) -> Any:
    return getattr(state.spec, name)


def split(section: Any, identity: str, normalise: Callable[[Any], Obj]) -> DesiredSection:
    desired = DesiredSection(section.mode)
    for item in section.items:
        key = getattr(item, identity)
        if getattr(item, "absent", False):
            desired.absent.add(key)
        else:
            desired.objects[key] = normalise(item)
    return desired


class KindBase:
    """The common part of a kind: a merchant-file section of items keyed by `identity`, changed by
    hand unless a kind says otherwise, with no attested settings unless it has some."""

    section: str
    identity: str = "name"

    def normalise(self, item: Any) -> Obj:
        raise NotImplementedError

    def desired(self, state: DesiredState) -> DesiredSection | None:
        section = section_of(state, self.section)
        return None if section is None else split(section, self.identity, self.normalise)

    def executor(self, action: str, capabilities: Capabilities) -> str:
        return "manual"

    def settings(self, state: DesiredState, reveal: Reveal) -> dict[str, dict[str, Setting]]:
        return {}
