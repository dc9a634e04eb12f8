"""Presets are data: partial merchant files under provisioner/presets/, named in `presets: [...]`.

Each preset is parsed once per run (the C parser where available), however many merchants and
environments name it: merging never changes the cached node trees, it builds new ones."""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from provisioner.config.nodetree import duplicate_identities, get, position
from provisioner.config.yamlnodes import compose_file, construct
from provisioner.errors import Diagnostic

PRESETS_DIR_VARIABLE = "PROVISION_PRESETS_DIR"


def directory() -> Path:
    """The installed presets, or another checkout's (`$PROVISION_PRESETS_DIR`): CI plans a pull request's
    presets, which are data, with the base branch's tool, whose code is trusted."""
    chosen = os.environ.get(PRESETS_DIR_VARIABLE)
    if chosen:
        return Path(chosen)
    return Path(str(resources.files("provisioner.presets")))


@cache
def available() -> list[str]:
    return sorted(p.stem for p in directory().glob("*.yaml"))


def path_of(name: str) -> str:
    return str(directory() / f"{name}.yaml")


@cache
def parsed(name: str) -> tuple[yaml.MappingNode | None, tuple[Diagnostic, ...]]:
    """One preset's node tree and its problems (none, for the presets shipped)."""
    node, problems = compose_file(Path(path_of(name)))
    if not isinstance(node, yaml.MappingNode):
        return None, tuple(problems)
    return node, (*problems, *duplicate_identities(node, path_of(name)))


_DATA_LOCK = threading.Lock()


def data(name: str) -> Any:
    """One preset as plain data (placeholders left as text), built once and shared: callers only read it.
    Under a lock, as a fleet's workers all ask for it at once and would each build it."""
    with _DATA_LOCK:
        return _data(name)


@cache
def _data(name: str) -> Any:
    node, _ = parsed(name)
    return construct(node) if node is not None else None


def clear_cache() -> None:
    available.cache_clear()
    parsed.cache_clear()
    _data.cache_clear()


def nodes(root: yaml.Node, filename: str, diagnostics: list[Diagnostic]) -> Iterator[yaml.MappingNode]:
    """The node tree of each preset the merchant file names, in order."""
    listed = get(root, "presets")
    if not isinstance(listed, yaml.SequenceNode):
        return  # absent, or not a list: the model reports the latter
    seen: set[str] = set()
    for item in listed.value:
        name = str(item.value)
        if name in seen:
            diagnostics.append(position(filename, item, f"preset '{name}' is listed twice"))
            continue
        seen.add(name)
        if not isinstance(item, yaml.ScalarNode) or name not in available():
            close = difflib.get_close_matches(name, available(), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            diagnostics.append(position(filename, item, f"unknown preset '{name}' ({hint}available: "
                                                        f"{', '.join(available())})"))
            continue
        node, problems = parsed(name)
        diagnostics.extend(problems)
        if node is not None:
            yield node
