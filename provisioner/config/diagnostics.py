"""Turn pydantic validation errors into one precise `file:line:col: message` line each."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from provisioner.config.nodetree import IDENTITY_KEYS, locate, position
from provisioner.errors import Diagnostic

_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}


def from_validation_error(exc: ValidationError, root: yaml.Node, data: Any, model: type[BaseModel],
                          filename: str) -> list[Diagnostic]:
    return [_one(error, root, data, model, filename) for error in exc.errors(include_input=True)]


def _one(error: ErrorDetails, root: yaml.Node, data: Any, model: type[BaseModel], filename: str) -> Diagnostic:
    loc = error["loc"]
    kind = error["type"]
    path = display_path(loc, data)
    if kind == "missing":
        node = locate(root, loc[:-1])
        message = f"missing required key '{loc[-1]}'"
    elif kind == "extra_forbidden":
        node = locate(root, loc, at_key=True)
        message = f"unknown key '{loc[-1]}'" + _suggestion(str(loc[-1]), _valid_keys(model, loc[:-1]))
    else:
        node = locate(root, loc)
        message = _message(error)
    return position(filename, node, f"{path}: {message}" if path else message)


# What a value of each pattern looks like, said to a person instead of the regular expression.
_FORMS = {
    r"^https?://[A-Za-z0-9.-]+(:\d+)?/?$": "the store's address only, https://HOST (no path)",
    r"^[a-z][a-z0-9_]*$": "lower-case letters, digits and '_', starting with a letter",
    r"^[a-z0-9][a-z0-9_-]*$": "lower-case letters, digits, '-' and '_'",
    r"^[a-z][a-z0-9_-]*$": "lower-case letters, digits, '-' and '_', starting with a letter",
    r"^https?://[^\s/]+(:(80|443))?(/\S*)?$": "an http(s) URL without spaces, on port 80 or 443",
    r"^\d+x\d+$": "WIDTHxHEIGHT, e.g. 100x100",
    r"^[A-Za-z0-9_-]+$": "letters, digits, '-' and '_'",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "an email address, e.g. integrations@example.com",
    r"^[A-Z]{3}$": "an ISO 4217 currency code, three capital letters, e.g. EUR",
    r"^[A-Za-z0-9_.-]+$": "letters, digits, '.', '-' and '_' (a code, e.g. ge-standard)",
}


def _pattern_message(value: Any, pattern: str) -> str:
    form = _FORMS.get(pattern, "a different form (see schemas/merchant.schema.json)")
    message = f"'{value}' is not {form}" if pattern in _FORMS else f"'{value}' must have {form}"
    if pattern.startswith("^https?://[A-Za-z0-9") and isinstance(value, str) and "://" in value:
        scheme, _, rest = value.partition("://")
        origin = f"{scheme}://{rest.split('/')[0].split('?')[0]}"
        if origin != value.rstrip("/"):
            message += f": write {origin}"
    return message


def _message(error: ErrorDetails) -> str:
    value = error.get("input")
    if error["type"] == "string_pattern_mismatch":
        return _pattern_message(value, str((error.get("ctx") or {}).get("pattern", "")))
    if error["type"] == "bool_type" and isinstance(value, str) and value.lower() in _YAML11_BOOLEANS:
        return f"'{value}' is not a boolean here: write true or false"
    if error["type"] == "int_type" and isinstance(value, str) and value.isdigit():
        return f"expected a number, got the string \"{value}\": remove the quotes"
    return str(error["msg"])


def display_path(loc: Sequence[int | str], data: Any) -> str:
    """`plugins[GE Order API].secret`: list items by identity, union tags left out."""
    parts: list[str] = []
    parent = ""
    node = data
    for index, segment in enumerate(loc):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
            if segment != "items":
                parts.append(f".{segment}")
                parent = str(segment)
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            item = node[segment]
            identity = IDENTITY_KEYS.get(parent)
            name = item.get(identity) if identity and isinstance(item, dict) else None
            parts.append(f"[{name}]" if isinstance(name, str) else f"[{segment}]")
            node = item
        elif index == len(loc) - 1 and isinstance(node, dict) and not _is_tag(segment, node):
            parts.append(f".{segment}")  # a missing or unknown key names itself
    return "".join(parts).lstrip(".")


def _is_tag(segment: int | str, node: dict[str, Any]) -> bool:
    return segment in {"present", "absent", "list", "all_except"} or segment == node.get("type")


def _suggestion(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _valid_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Field names of the model found at `loc` (union tags in `loc` choose the member)."""
    current: list[Any] = [model]
    for segment in loc:
        following: list[Any] = []
        for tp in current:
            following.extend(_step(tp, segment))
        current = following or current
    keys: set[str] = set()
    for tp in current:
        for candidate in _models_in(tp):
            keys.update(candidate.model_fields)
    return sorted(keys)


def _step(tp: Any, segment: int | str) -> list[Any]:
    out: list[Any] = []
    for candidate in _flatten(tp):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            field = candidate.model_fields.get(str(segment))
            if field is not None:
                out.append(field.annotation)
            elif segment in ("present", "absent") or _tagged(candidate, segment):
                out.append(candidate)
        elif typing.get_origin(candidate) in (list, dict) and isinstance(segment, int | str):
            args = typing.get_args(candidate)
            if args and (isinstance(segment, int) or typing.get_origin(candidate) is dict):
                out.append(args[-1])
    if segment in ("present", "absent"):
        tomb = [c for c in out if "absent" in getattr(c, "model_fields", {})]
        return tomb if segment == "absent" else [c for c in out if c not in tomb]
    return out


def _tagged(model: type[BaseModel], segment: int | str) -> bool:
    field = model.model_fields.get("type")
    return field is not None and segment in typing.get_args(field.annotation)


def _flatten(tp: Any) -> Iterator[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        yield from _flatten(typing.get_args(tp)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            yield from _flatten(arg)
    else:
        yield tp


def _models_in(tp: Any) -> Iterator[type[BaseModel]]:
    for candidate in _flatten(tp):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            yield candidate
