"""Centra's list arguments over in-memory rows: `where` filters, `sort`, `limit` and `page`.

Filter semantics [confirmed names, inferred details]: list-valued keys match any of the values,
`StringMatch` takes exactly one of `equals`/`contains`, `search` matches the name, `notNull` lists
fields that must be set, `negate` lists filter keys whose condition is inverted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphql import GraphQLError

MAX_LIMIT = 200  # [inferred] Centra does not publish its maximum page size

Row = dict[str, Any]


def _string_match(value: Any, match: Mapping[str, str], key: str) -> bool:
    given = {k: v for k, v in match.items() if v is not None}
    if len(given) != 1:
        raise GraphQLError(f"Exactly one input field should be provided in {key}.")
    (how, expected), = given.items()
    text = "" if value is None else str(value)
    return text == expected if how == "equals" else expected.lower() in text.lower()


def _matches(row: Row, key: str, condition: Any, aliases: Mapping[str, str]) -> bool:
    value = row.get(aliases.get(key, key))
    if key == "search":
        return str(condition).lower() in str(row.get("name", "")).lower()
    if key == "notNull":
        return all(row.get(aliases.get(name, name)) not in (None, "", []) for name in condition)
    if isinstance(condition, Mapping):
        return _string_match(value, condition, key)
    if isinstance(condition, list):
        if isinstance(value, list):
            return any(v in condition for v in value)
        return value in condition
    return bool(value == condition)


def where(rows: Sequence[Row], where_: Mapping[str, Any] | None, aliases: Mapping[str, str] | None = None,
          ) -> list[Row]:
    if not where_:
        return list(rows)
    conditions = {k: v for k, v in where_.items() if v is not None and k != "negate"}
    negated = set(where_.get("negate") or ())
    unknown = negated - set(conditions)
    if unknown:
        raise GraphQLError(f"negate names filters that were not given: {', '.join(sorted(unknown))}")
    return [row for row in rows
            if all(_matches(row, key, condition, aliases or {}) != (key in negated)
                   for key, condition in conditions.items())]


def sort(rows: list[Row], sort_: Sequence[str] | None) -> list[Row]:
    for key in reversed(list(sort_ or ())):
        name, _, direction = key.rpartition("_")
        rows = sorted(rows, key=lambda row, n=name: (row.get(n) is None, row.get(n)),  # type: ignore[misc]
                      reverse=direction == "DESC")
    return rows


def check_page(limit: int | None, page: int | None) -> tuple[int | None, int]:
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise GraphQLError(f"limit must be between 1 and {MAX_LIMIT}.")
    if page is not None and page < 1:
        raise GraphQLError("page must be 1 or more.")
    return limit, page or 1


def paginate(rows: list[Row], limit: int | None, page: int | None) -> list[Row]:
    size, number = check_page(limit, page)
    if size is None:
        return rows
    return rows[(number - 1) * size: number * size]


def listing(rows: Sequence[Row], args: Mapping[str, Any], aliases: Mapping[str, str] | None = None) -> list[Row]:
    selected = where(rows, args.get("where"), aliases)
    return paginate(sort(selected, args.get("sort")), args.get("limit"), args.get("page"))
