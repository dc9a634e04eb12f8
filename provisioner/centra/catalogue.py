"""Reference data kept as YAML beside this module: ISO countries and the permission catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from provisioner.config.yamlnodes import StrictLoader


def _load(name: str) -> Any:
    text = resources.files("provisioner.centra").joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=StrictLoader)


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> short name."""
    return {str(code): str(name) for code, name in _load("countries.yaml").items()}


@dataclass(frozen=True)
class PermissionCatalogue:
    read: tuple[str, ...]
    write: tuple[str, ...]
    special: tuple[str, ...]

    @property
    def every(self) -> frozenset[str]:
        return frozenset(self.read) | frozenset(self.write) | frozenset(self.special)


@cache
def permissions() -> PermissionCatalogue:
    data = _load("permissions.yaml")
    return PermissionCatalogue(tuple(data["read"]), tuple(data["write"]), tuple(data["special"]))
