"""PyYAML at the node level: every value keeps the file, line and column it came from.

Merchant files, presets and environment overlays are merged as node trees (not as dicts), so a
validation error in the merged document still points at the file and line that contributed the
value, whichever file that was.

The loader is also the first line against hostile input (limits in `yamllimits.py`): nesting and
aliases are counted while composing, so a billion-laughs document or a 900-level nesting fails in
milliseconds with its `file:line:col`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from provisioner.config.yamllimits import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    LimitedComposer,
    LimitError,
    decode,
    line_col,
    refused,
)
from provisioner.errors import Diagnostic

# YAML 1.1 reads yes/no/on/off as booleans (and `NO`, Norway's code, as false). Only true/false
# are booleans here, so the runtime agrees with YAML 1.2 editors and the JSON Schema check.
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_BOOL_TAG = "tag:yaml.org,2002:bool"


class StrictLoader(LimitedComposer, yaml.SafeLoader):
    """The pure-Python loader: what explains a refusal (its errors carry positions libyaml's lack)."""

    def _flow_nesting(self) -> None:
        # Checked in the scanner too: it tracks flow levels at a cost that grows with their square.
        if self.flow_level >= MAX_DEPTH:
            raise LimitError(problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=self.get_mark())

    def fetch_flow_sequence_start(self) -> None:
        self._flow_nesting()
        super().fetch_flow_sequence_start()

    def fetch_flow_mapping_start(self) -> None:
        self._flow_nesting()
        super().fetch_flow_mapping_start()


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(_BOOL_TAG, _BOOL, list("tTfF"))


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(node.value).lower() == "true"


StrictLoader.add_constructor(_BOOL_TAG, _construct_bool)


def position(file: str, node: yaml.Node, message: str) -> Diagnostic:
    mark = node.start_mark
    return Diagnostic(mark.name if mark.name and not mark.name.startswith("<") else file,
                      mark.line + 1, mark.column + 1, message)


def compose(text: str, filename: str) -> tuple[yaml.Node | None, list[Diagnostic]]:
    """Parse one document into a node tree; report syntax errors, refused content and duplicate keys."""
    composed = _compose_with_libyaml(text, filename)
    if composed is _UNPARSED:
        return compose_in_python(text, filename)
    root = composed if isinstance(composed, yaml.Node) else None
    return _checked(root, filename)


_UNPARSED = object()


def _compose_with_libyaml(text: str, filename: str) -> yaml.Node | object | None:
    """The node tree by libyaml's parser under the same composer and limits: the same tree with the same
    marks, several times faster. `_UNPARSED` if libyaml is missing or refuses the text: then PyYAML's
    own parser composes it again, so every refusal is explained in one way, with its position."""
    if LIMITED_C_LOADER is None:
        return _UNPARSED
    stream = io.StringIO(text)
    stream.name = filename  # libyaml names its marks after the stream
    loader = LIMITED_C_LOADER(stream)
    try:
        root: yaml.Node | None = loader.get_single_node()
    except yaml.YAMLError:
        return _UNPARSED
    finally:
        loader.dispose()
    return root


def compose_in_python(text: str, filename: str) -> tuple[yaml.Node | None, list[Diagnostic]]:
    try:
        loader = StrictLoader(text)  # the reader checks every character here
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, other controls)
        line, col = line_col(text, exc.position)
        return None, [Diagnostic(filename, line, col, f"invalid YAML: character {exc.character!r} is not allowed")]
    loader.name = filename  # marks carry it, so merged trees still know their origin
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or str(exc).splitlines()[0]
        return None, [Diagnostic(filename, line, col, f"invalid YAML: {problem}")]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(filename, 1, 1, f"invalid YAML: {str(exc).splitlines()[0]}")]
    finally:
        loader.dispose()
    return _checked(root, filename)


def _checked(root: yaml.Node | None, filename: str) -> tuple[yaml.Node | None, list[Diagnostic]]:
    if root is None:
        return None, []
    problems = list(refused(root, filename))
    if problems:
        return None, problems
    return root, list(_duplicate_keys(root, filename))


def compose_file(path: Path) -> tuple[yaml.Node | None, list[Diagnostic]]:
    filename = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [Diagnostic(filename, 1, 1, f"cannot read the file: {exc.strerror or type(exc).__name__}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [Diagnostic(filename, 1, 1, f"larger than {MAX_FILE_BYTES // 1024} KiB; a merchant file is "
                                                 "a few kilobytes")]
    text, problems = decode(raw, filename)
    if text is None:
        return None, problems
    return compose(text, filename)


def _duplicate_keys(node: yaml.Node, filename: str) -> Iterator[Diagnostic]:
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in first_seen:
                line = first_seen[name].start_mark.line + 1
                yield position(filename, key, f"duplicate key '{name}' (first at line {line})")
            else:
                first_seen[name] = key
            yield from _duplicate_keys(value, filename)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item, filename)


def construct(node: yaml.Node) -> Any:
    """The node tree as Python values, as StrictLoader constructs them. A tree where each mapping and
    sequence appears once (no aliases) and no key merges (`<<`) is built directly, ~5x faster than
    PyYAML's constructor and its generators; anything else goes through the constructor itself."""
    try:
        return _plain(node, set())
    except _NotPlain:
        loader = StrictLoader("")
        try:
            return loader.construct_document(node)
        finally:
            loader.dispose()


class _NotPlain(Exception):
    """A tree `_plain` leaves to PyYAML's constructor."""


_MAP, _SEQ, _STR = (f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str"))
_SCALARS = StrictLoader("")  # only its scalar constructors are used: they keep no state between calls


def _plain(node: yaml.Node, seen: set[int]) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _STR:
            return node.value
        constructor = StrictLoader.yaml_constructors.get(node.tag)
        if constructor is None or node.tag in _NOT_SCALAR_VALUES:
            raise _NotPlain
        return constructor(_SCALARS, node)
    if id(node) in seen:
        raise _NotPlain  # an alias: the constructor shares one value between its uses
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
        if any(key.tag not in _PLAIN_KEYS for key, _ in node.value):
            raise _NotPlain  # `<<` merges and `=` value keys
        return {_plain(key, seen): _plain(value, seen) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        return [_plain(item, seen) for item in node.value]
    raise _NotPlain


_PLAIN_KEYS = frozenset({_STR, *(f"tag:yaml.org,2002:{name}" for name in ("int", "bool", "null", "float"))})
_NOT_SCALAR_VALUES = frozenset(f"tag:yaml.org,2002:{name}" for name in ("binary", "omap", "pairs", "set", "merge"))


def get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return v  # type: ignore[no-any-return]
    return None


def key_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if k.value == key:
                return k  # type: ignore[no-any-return]
    return None


def without(node: yaml.MappingNode, keys: Sequence[str]) -> yaml.MappingNode:
    kept = [(k, v) for k, v in node.value if k.value not in keys]
    return yaml.MappingNode(node.tag, kept, node.start_mark, node.end_mark, node.flow_style)


def locate(root: yaml.Node, loc: Sequence[str | int], *, at_key: bool = False) -> yaml.Node:
    """The deepest node along a pydantic error `loc`.

    Segments the document does not have (union tags, a missing field's own name) are skipped, so
    an error lands on the nearest enclosing node. With `at_key`, a final mapping segment resolves
    to the key instead of its value (for "unknown key" errors)."""
    node = root
    for index, segment in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if k.value == segment), None)
            if hit is not None:
                node = hit[0] if (last and at_key) else hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(segment, int) and 0 <= segment < len(node.value):
            node = node.value[segment]
    return node


# Sequences of mappings merge by identity; the field that names an item, by section key.
IDENTITY_KEYS = {
    "plugins": "name",
    "attribute_types": "name",
    "tax_groups": "name",
    "rules": "name",
    "api_tokens": "description",
    "event_listeners": "object_type",
    "waivers": "rule",
}


def merge(base: yaml.Node | None, override: yaml.Node | None, parent_key: str = "") -> yaml.Node | None:
    """Overlay `override` on `base`: mappings merge key by key, sequences of named items merge by
    identity (see IDENTITY_KEYS), anything else is replaced."""
    if base is None:
        return override
    if override is None:
        return base
    if isinstance(base, yaml.MappingNode) and isinstance(override, yaml.MappingNode):
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        override_by_key = {k.value: (k, v) for k, v in override.value}
        for k, v in base.value:
            if k.value in override_by_key:
                ok, ov = override_by_key.pop(k.value)
                merged.append((ok, merge(v, ov, str(k.value)) or ov))
            else:
                merged.append((k, v))
        merged.extend(override_by_key.values())
        return yaml.MappingNode(override.tag, merged, override.start_mark, override.end_mark)
    identity = IDENTITY_KEYS.get(parent_key)
    if identity and isinstance(base, yaml.SequenceNode) and isinstance(override, yaml.SequenceNode):
        items = list(base.value)
        for item in override.value:
            name = _scalar(get(item, identity))
            match = next((i for i, b in enumerate(items) if name is not None and _scalar(get(b, identity)) == name),
                         None)
            if match is None:
                items.append(item)
            else:
                items[match] = merge(items[match], item, "") or item
        return yaml.SequenceNode(override.tag, items, override.start_mark, override.end_mark)
    if identity and isinstance(override, yaml.MappingNode) and isinstance(base, yaml.SequenceNode):
        # `{mode: exclusive, items: [...]}` over a plain list: merge the items, keep the mode.
        items_node = merge(base, get(override, "items"), parent_key)
        rest = [(k, v) for k, v in override.value if k.value != "items"]
        items_key = key_node(override, "items") or yaml.ScalarNode("tag:yaml.org,2002:str", "items")
        return yaml.MappingNode(override.tag, [*rest, (items_key, items_node)], override.start_mark,
                                override.end_mark)
    if identity and isinstance(base, yaml.MappingNode) and isinstance(override, yaml.SequenceNode):
        return merge(base, yaml.MappingNode("tag:yaml.org,2002:map", [
            (yaml.ScalarNode("tag:yaml.org,2002:str", "items"), override)], override.start_mark,
            override.end_mark), parent_key)
    return override


def _scalar(node: yaml.Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def duplicate_identities(node: yaml.Node, filename: str, parent_key: str = "") -> Iterator[Diagnostic]:
    """Two items of one list with the same identity (merging would silently collapse them)."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = str(k.value)
            if key == "items" and parent_key in IDENTITY_KEYS:
                key = parent_key
            yield from duplicate_identities(v, filename, key)
    elif isinstance(node, yaml.SequenceNode):
        identity = IDENTITY_KEYS.get(parent_key)
        seen: dict[str, yaml.Node] = {}
        for item in node.value:
            name = _scalar(get(item, identity)) if identity else None
            if name is not None:
                if name in seen:
                    line = seen[name].start_mark.line + 1
                    yield position(filename, item, f"{parent_key}: '{name}' is declared twice (first at line {line})")
                else:
                    seen[name] = item
            yield from duplicate_identities(item, filename, parent_key)


# PyYAML's C parser (libyaml), where it is installed: the same node tree with the same marks (file,
# line, column), several times faster, its events composed under LimitedComposer so the nesting and
# alias limits still hold.
LIMITED_C_LOADER: Callable[[io.StringIO], Any] | None = None
if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser

    class LimitedCLoader(LimitedComposer, CParser, yaml.resolver.Resolver):
        yaml_implicit_resolvers = StrictLoader.yaml_implicit_resolvers

        def __init__(self, stream: io.StringIO) -> None:
            CParser.__init__(self, stream)
            LimitedComposer.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    LIMITED_C_LOADER = LimitedCLoader
