"""Presets are data: partial merchant files under provisioner/presets/, named in `presets: [...]`."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import yaml

from provisioner.config.yamlnodes import compose_file, duplicate_identities, get, position
from provisioner.errors import Diagnostic


def directory() -> Path:
    return Path(str(resources.files("provisioner.presets")))


def available() -> list[str]:
    return sorted(p.stem for p in directory().glob("*.yaml"))


def path_of(name: str) -> str:
    return str(directory() / f"{name}.yaml")


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
        node, problems = compose_file(Path(path_of(name)))
        diagnostics.extend(problems)
        if isinstance(node, yaml.MappingNode):
            diagnostics.extend(duplicate_identities(node, path_of(name)))
            yield node
