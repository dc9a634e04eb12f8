"""What every resource kind provides to the engine: its desired objects, normalised live objects,
how it is read, and which executor changes it (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

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

    def why_manual(self, action: str, paths: list[str], capabilities: Capabilities) -> str | None: ...

    def comparable(self, desired: Obj, live: Obj) -> Obj: ...

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

    def why_manual(self, action: str, paths: list[str], capabilities: Capabilities) -> str | None:
        """Why a change the API could make is planned by hand (said in the plan), or None."""
        return None

    def comparable(self, desired: Obj, live: Obj) -> Obj:
        """The live object as compared with the desired one."""
        return live

    def settings(self, state: DesiredState, reveal: Reveal) -> dict[str, dict[str, Setting]]:
        return {}


class ApiKind(KindBase):
    """A kind the Integration API writes where the target has the mutation (`writes`: action -> capability),
    each confirmed against the target's own schema; by hand otherwise, and for a change of a field no
    documented mutation changes (`manual_fields`). Optional fields a file leaves out (None) are not managed:
    their live values are not compared."""

    writes: ClassVar[dict[str, str]] = {}
    manual_fields: frozenset[str] = frozenset()
    what: str = ""

    def executor(self, action: str, capabilities: Capabilities) -> str:
        capability = self.writes.get(action)
        return "api" if capability and getattr(capabilities, capability) else "manual"

    def why_manual(self, action: str, paths: list[str], capabilities: Capabilities) -> str | None:
        if action == "no-op":
            return None
        capability = self.writes.get(action)
        if capability is None:
            return f"Centra documents no mutation that can {action} a {self.what}"
        fixed = sorted({p.split(".")[0] for p in paths} & self.manual_fields) if action == "update" else []
        if fixed:
            return f"no documented mutation changes a {self.what}'s {', '.join(fixed)}"
        return capabilities.why_not(capability)

    def comparable(self, desired: Obj, live: Obj) -> Obj:
        return {k: v for k, v in live.items() if k in desired or k.startswith("_")}
