"""Limits on hostile YAML input, checked while and after composing (see `yamlnodes.compose`): a size
cap, the encodings YAML allows, nesting and alias limits, plain tags only (each on its kind of node),
scalar keys, sane integers, values that parse as what they are tagged, merge keys over mappings only,
and a cap on what aliases expand to. Each refusal is a `file:line:col` diagnostic, found in milliseconds."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import yaml

from provisioner.errors import Diagnostic

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 256
MAX_EXPANDED_NODES = 200_000
MAX_INT_DIGITS = 40
ALLOWED_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in
                         ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge"))
_MAP, _SEQ, _MERGE = (f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "merge"))
_SCALAR_TAGS = ALLOWED_TAGS - {_MAP, _SEQ, _MERGE}
# Scalars whose text must parse (a tag can be written by hand, `!!int abc`, and a date can match the date
# pattern and not exist, 2024-13-45): refused here with their position, not left to fail on construction.
_PARSED = {"tag:yaml.org,2002:int": "an integer", "tag:yaml.org,2002:float": "a number",
           "tag:yaml.org,2002:timestamp": "a date or time that exists"}
_PARSER = yaml.constructor.SafeConstructor()  # only its scalar constructors are used: they keep no state


class LimitError(yaml.MarkedYAMLError):
    """A document the loader refuses to go on composing (too deep, too many aliases)."""


class LimitedComposer(yaml.composer.Composer):
    """PyYAML's composer, counting nesting and aliases as it goes: over either limit, it stops at once
    (before a billion-laughs document expands, before a deep one exhausts the stack). It composes from
    whichever parser the loader has: PyYAML's own, or libyaml's events."""

    _depth = 0
    _aliases = 0

    if TYPE_CHECKING:  # the parser's, which the loader mixes in
        check_event: Callable[..., bool]
        peek_event: Callable[[], Any]

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise LimitError(problem=f"more than {MAX_ALIASES} aliases (*name); write the values out",
                                 problem_mark=self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise LimitError(problem=f"nested deeper than {MAX_DEPTH} levels",
                                 problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _at(filename: str, node: yaml.Node, message: str) -> Diagnostic:
    return Diagnostic(filename, node.start_mark.line + 1, node.start_mark.column + 1, message)


def line_col(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def decode(raw: bytes, filename: str) -> tuple[str | None, list[Diagnostic]]:
    """UTF-8 (a BOM allowed) or UTF-16/32 with a BOM, as YAML itself allows; anything else is refused at
    the position of the first byte that is not text."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(codec), []
            except UnicodeDecodeError:
                return None, [Diagnostic(filename, 1, 1, f"not valid {codec.upper()} text")]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        before = raw[:exc.start].decode("utf-8", errors="replace")  # columns count characters, not bytes
        line, col = line_col(before, len(before))
        return None, [Diagnostic(filename, line, col, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the "
                                                      "file as UTF-8")]


def refused(root: yaml.Node, filename: str) -> Iterator[Diagnostic]:
    """Content a merchant file never needs: other types, complex keys, huge integers, huge expansions."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue  # an alias: checked once
        seen.add(id(node))
        if node.tag not in ALLOWED_TAGS:
            yield _at(filename, node, f"the tag {node.tag} is not allowed here (plain YAML values only)")
            continue
        misfit = _misfit(node)
        if misfit:
            yield _at(filename, node, misfit)
            continue
        if isinstance(node, yaml.ScalarNode):
            digits = str(node.value).lstrip("+-").replace("_", "")
            if node.tag.endswith(":int") and len(digits) > MAX_INT_DIGITS:
                yield _at(filename, node, f"a {len(digits)}-digit integer is too long")
            elif node.tag in _PARSED and not _parses(node):
                yield _at(filename, node, f"not {_PARSED[node.tag]}; quote it if it is text")
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    yield _at(filename, key, "a mapping key must be a plain value, not a list or mapping")
                elif key.tag == _MERGE:
                    if not _mergeable(value):
                        yield _at(filename, value, "a merge key (<<) takes a mapping or a list of mappings")
                        continue
                else:
                    stack.append(key)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    size = _expanded_size(root, {})
    if size > MAX_EXPANDED_NODES:
        yield _at(filename, root, f"expands to {size} values through aliases (at most {MAX_EXPANDED_NODES})")


def _misfit(node: yaml.Node) -> str | None:
    """A tag on the wrong kind of node (`!!str [a]`, `!!map x`), or a merge tag away from a key."""
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag in _SCALAR_TAGS else f"the tag {node.tag} does not fit a single value"
    if isinstance(node, yaml.MappingNode):
        return None if node.tag == _MAP else f"the tag {node.tag} does not fit a mapping"
    return None if node.tag == _SEQ else f"the tag {node.tag} does not fit a list"


def _mergeable(value: yaml.Node) -> bool:
    if isinstance(value, yaml.SequenceNode):
        return all(isinstance(item, yaml.MappingNode) for item in value.value)
    return isinstance(value, yaml.MappingNode)


def _parses(node: yaml.ScalarNode) -> bool:
    try:
        _PARSER.yaml_constructors[node.tag](_PARSER, node)
    except (ValueError, ArithmeticError, AttributeError):  # AttributeError: a `!!timestamp` with no date
        return False
    return True


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes the document has once every alias is expanded (depth is capped, so recursion is)."""
    if id(node) not in memo:
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        memo[id(node)] = 1 + sum(_expanded_size(child, memo) for child in children)
    return memo[id(node)]
