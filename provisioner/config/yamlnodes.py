"""YAML parsed to node trees: every value keeps the file, line and column it came from, so a merged
document still knows its origins (merging and navigating the trees: `nodetree.py`). And the trees built
as Python values, with only true/false as booleans.

The loader is also the first line against hostile input (limits in `yamllimits.py`): nesting and
aliases are counted while composing, so a billion-laughs document or a 900-level nesting fails in
milliseconds with its `file:line:col`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from provisioner.config.nodetree import (  # re-exported: callers found the tree functions here first
    IDENTITY_KEYS,
    duplicate_identities,
    get,
    key_node,
    locate,
    merge,
    position,
    without,
)
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


def _at(mark: yaml.Mark | None) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


def yaml_problem(exc: yaml.MarkedYAMLError) -> tuple[int, int, str]:
    """A parser's error as the line and column to fix and what to write there, in a person's words (not
    the parser's `expected <block end>`); the parser's own words follow in brackets for a search."""
    problem = exc.problem or str(exc).splitlines()[0]
    context = exc.context or ""
    line, col = _at(exc.problem_mark or exc.context_mark)
    if "could not find expected ':'" in problem and exc.context_mark is not None:
        # PyYAML finds out on the next line; the key without its colon is where the context began
        line, col = _at(exc.context_mark)
        return line, col, f"this line has no ':' after its key (write `key: value`) [{problem}]"
    if problem.startswith("expected <block end>") and exc.context_mark is not None:
        start_line, start_col = _at(exc.context_mark)
        found = "a list item ('-')" if "'-'" in problem else "a key"
        return line, col, (f"{found} at column {col} lines up with nothing around it: the enclosing block begins "
                           f"at line {start_line}, column {start_col}; indent it, in spaces, like the lines it "
                           f"belongs with [{problem}]")
    if problem == "mapping values are not allowed here":
        return line, col, (f"a ':' where a value was expected: indent this key under its parent, or quote a value "
                           f"that holds ': ' [{problem}]")
    if "'\\t'" in problem or "\t" in problem:
        return line, col, f"a tab: YAML indents with spaces only [{problem}]"
    if "quoted scalar" in context and exc.context_mark is not None:
        line, col = _at(exc.context_mark)
        return line, col, f"a quote opened here is never closed [{problem}]"
    return line, col, problem


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
        line, col, problem = yaml_problem(exc)
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

__all__ = ["IDENTITY_KEYS", "LIMITED_C_LOADER", "StrictLoader", "compose", "compose_file", "compose_in_python",
           "construct", "duplicate_identities", "get", "key_node", "locate", "merge", "position", "without"]
