"""Field-level differences between a desired and a live object, found by DeepDiff.

DeepDiff compares the two objects (declared set fields with `ignore_order`, so only membership
counts); each difference it reports is rendered in the plan's dotted form: a nested mapping's
leaves as `a.b.c: before → after`, a set field as `+/−` membership, any other list as one value
(its order matters, so a reordered list is shown whole)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepdiff.model import DiffLevel

Path = tuple[str | int, ...]


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
    """A mapping's leaves by dotted path (an empty nested mapping is a leaf; `_private` keys are not
    compared)."""
    if isinstance(value, dict) and (value or not prefix):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            if not str(key).startswith("_"):
                flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def _dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)


def _is_set(dotted: str, set_fields: frozenset[str]) -> bool:
    return any(fnmatchcase(dotted, pattern) for pattern in set_fields)


def _at(document: Any, path: Path) -> Any:
    """The value at a path of mapping keys (reported paths stop before any list index)."""
    for part in path:
        if not isinstance(document, dict) or part not in document:
            return None
        document = document[part]
    return document


def _membership(before: list[Any] | None, after: list[Any] | None) -> tuple[list[Any], list[Any]]:
    """A set field's added and removed members, each whole (a mapping that differs in one key is one
    member removed and one added), listed in one order whatever order the sides gave them in."""
    if all(isinstance(member, str) for member in [*(before or []), *(after or [])]):
        # Names and codes (countries, stores, permissions): plain set arithmetic, cheap for ~250 countries.
        old, new = set(before or []), set(after or [])
        return sorted(new - old), sorted(old - new)
    old_keys = {_member_key(member) for member in before or []}
    new_keys = {_member_key(member) for member in after or []}
    added = {_member_key(m): m for m in after or [] if _member_key(m) not in old_keys}
    removed = {_member_key(m): m for m in before or [] if _member_key(m) not in new_keys}
    return [added[k] for k in sorted(added)], [removed[k] for k in sorted(removed)]


def _member_key(member: Any) -> str:
    """A member's canonical JSON: equal members (1 and 1.0 alike, keys in any order) get the same key,
    and the keys order members that `<` cannot compare (mappings, mixed types)."""
    return _MEMBER_KEYS.encode(_numbers_as_one(member))


_MEMBER_KEYS = json.JSONEncoder(sort_keys=True, default=str)  # json.dumps with options builds one per call


def _numbers_as_one(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _numbers_as_one(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers_as_one(item) for item in value]
    return value


def _identical(one: Any, other: Any) -> bool:
    """Equal in value and in type all the way down (`_private` keys aside): what DeepDiff, which also
    reports type changes, can find no difference in. A converged store's objects mostly are."""
    if type(one) is not type(other):
        return False
    if isinstance(one, dict):
        public = [key for key in one if not (isinstance(key, str) and key.startswith("_"))]
        if len(public) != sum(1 for key in other if not (isinstance(key, str) and key.startswith("_"))):
            return False
        return all(key in other and _identical(one[key], other[key]) for key in public)
    if isinstance(one, list | tuple):
        return len(one) == len(other) and all(_identical(a, b) for a, b in zip(one, other, strict=True))
    return bool(one == other)


def _reported(desired: dict[str, Any], live: dict[str, Any], set_fields: frozenset[str]) -> set[Path]:
    """Where each difference is shown: a list that is not a set changes as a whole, at the list's path."""
    if not live or not desired:
        # A create or a delete: every public top-level key of the other side is a difference, which is
        # what DeepDiff would say, at a fraction of its cost (most of a fleet plan's objects are creates).
        return {(key,) for key in desired or live if not (isinstance(key, str) and key.startswith("_"))}

    from deepdiff import DeepDiff  # ~0.1 s to import: only when two objects differ (a converged store's do not)

    def ordered_by_membership(level: DiffLevel) -> bool:
        return _is_set(_dotted(tuple(level.path(output_format="list"))), set_fields)

    delta = DeepDiff(live, desired, ignore_order_func=ordered_by_membership, ignore_numeric_type_changes=True,
                     exclude_obj_callback=lambda _, path: "['_" in path, view="tree", threshold_to_diff_deeper=0)
    reported: set[Path] = set()
    for levels in delta.values():
        for level in levels:
            path: Path = tuple(level.path(output_format="list"))
            first_index = next((i for i, part in enumerate(path) if isinstance(part, int)), None)
            reported.add(path if first_index is None else path[:first_index])
    return reported


def changes(desired: dict[str, Any], live: dict[str, Any], set_fields: frozenset[str]) -> list[FieldChange]:
    if _identical(desired, live):
        return []

    result: dict[str, FieldChange] = {}
    for path in _reported(desired, live, set_fields):
        # A key missing on one side reads as None, as an explicit None does: neither is a change.
        before = flatten(_at(live, path), _dotted(path))
        after = flatten(_at(desired, path), _dotted(path))
        for leaf in set(before) | set(after):
            old, new = before.get(leaf), after.get(leaf)
            if _is_set(leaf, set_fields) and isinstance(old, list | None) and isinstance(new, list | None):
                added, removed = _membership(old, new)
                if added or removed:
                    result[leaf] = FieldChange(leaf, added=added, removed=removed)
            elif old != new:
                result[leaf] = FieldChange(leaf, old, new)
    return [result[path] for path in sorted(result)]
