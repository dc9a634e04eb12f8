"""Parsed YAML node trees navigated and merged: every value keeps the file, line and column it came from.

Merchant files, presets and environment overlays are merged as node trees (not as dicts), so a
validation error in the merged document still points at the file and line that contributed the
value, whichever file that was. Nothing here parses (that is `yamlnodes.py`) and nothing here
changes a tree it is given: merging builds new mapping and sequence nodes and shares the rest, so the
presets' cached trees serve every merchant.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import yaml

from provisioner.errors import Diagnostic

_STR = "tag:yaml.org,2002:str"

# Sequences of mappings merge by identity; the field that names an item, by section key.
IDENTITY_KEYS = {
    "plugins": "name",
    "attribute_types": "name",
    "tax_groups": "name",
    "rules": "name",
    "api_tokens": "description",
    "event_listeners": "object_type",
    "waivers": "rule",
    "markets": "name",  # the section; a plugin's or global_e's `markets` lists names, replaced whole
    "pricelists": "name",
    "warehouses": "name",
    "shipping_options": "name",
}


def position(file: str, node: yaml.Node, message: str) -> Diagnostic:
    """`message` at the node's own file and position (the file it was parsed from, in a merged tree)."""
    mark = node.start_mark
    return Diagnostic(mark.name if mark.name and not mark.name.startswith("<") else file,
                      mark.line + 1, mark.column + 1, message)


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


def scalar_text(node: yaml.Node | None) -> str | None:
    """A scalar's text as written (no type resolved); None for a mapping, a sequence or nothing."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


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
    if identity and isinstance(base, yaml.SequenceNode) and isinstance(override, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in (*base.value, *override.value)):
        items = list(base.value)
        for item in override.value:
            name = scalar_text(get(item, identity))
            match = next((i for i, b in enumerate(items)
                          if name is not None and scalar_text(get(b, identity)) == name), None)
            if match is None:
                items.append(item)
            elif _says_absent(item):
                # A removal names the item alone: the preset's fields do not describe what is gone, and
                # merged into the tombstone they would make it invalid.
                items[match] = item
            else:
                items[match] = merge(items[match], item, "") or item
        return yaml.SequenceNode(override.tag, items, override.start_mark, override.end_mark)
    if identity and isinstance(override, yaml.MappingNode) and isinstance(base, yaml.SequenceNode):
        # `{mode: exclusive, items: [...]}` over a plain list: merge the items, keep the mode.
        items_node = merge(base, get(override, "items"), parent_key)
        rest = [(k, v) for k, v in override.value if k.value != "items"]
        items_key = key_node(override, "items") or yaml.ScalarNode(_STR, "items")
        return yaml.MappingNode(override.tag, [*rest, (items_key, items_node)], override.start_mark,
                                override.end_mark)
    if identity and isinstance(base, yaml.MappingNode) and isinstance(override, yaml.SequenceNode):
        return merge(base, yaml.MappingNode("tag:yaml.org,2002:map", [
            (yaml.ScalarNode(_STR, "items"), override)], override.start_mark, override.end_mark), parent_key)
    return override


def _says_absent(item: yaml.Node) -> bool:
    flag = get(item, "absent")
    return (isinstance(flag, yaml.ScalarNode) and flag.tag == "tag:yaml.org,2002:bool"
            and flag.value.lower() == "true")


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
            name = scalar_text(get(item, identity)) if identity else None
            if name is not None:
                if name in seen:
                    line = seen[name].start_mark.line + 1
                    yield position(filename, item, f"{parent_key}: '{name}' is declared twice (first at line {line})")
                else:
                    seen[name] = item
            yield from duplicate_identities(item, filename, parent_key)
