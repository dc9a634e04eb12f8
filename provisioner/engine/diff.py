"""Field-level differences between a desired and a live object: nested mappings flattened to dotted
paths, declared set fields as +/− membership, everything else as before → after."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any = None
    after: Any = None
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)
    sensitive: bool = False

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path}
        if self.added or self.removed:
            data.update(added=self.added, removed=self.removed)
        else:
            data.update(before=self.before, after=self.after)
        if self.sensitive:
            data["sensitive"] = True
        return data


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and (value or not prefix):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            if not str(key).startswith("_"):
                flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def changes(desired: dict[str, Any], live: dict[str, Any], set_fields: frozenset[str]) -> list[FieldChange]:
    want, have = flatten(desired), flatten(live)
    result = []
    for path in sorted(set(want) | set(have)):
        before, after = have.get(path), want.get(path)
        if before == after:
            continue
        if any(fnmatchcase(path, pattern) for pattern in set_fields) and (
                isinstance(before, list | type(None)) and isinstance(after, list | type(None))):
            added = sorted(set(after or []) - set(before or []))
            removed = sorted(set(before or []) - set(after or []))
            if added or removed:
                result.append(FieldChange(path, added=added, removed=removed))
            continue
        result.append(FieldChange(path, before, after))
    return result
