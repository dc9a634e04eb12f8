"""Presets are read by PyYAML's C parser where it is installed (merchant files keep the pure-Python
loader and its limits): the C parser yields the same node trees with the same positions, so
diagnostics point at the same file, line and column either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from provisioner.config import presets, yamlnodes

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(yamlnodes.C_LOADER is None, reason="PyYAML without libyaml")


def _walk(node: yaml.Node) -> Iterator[tuple[str, str, object, int, int, int, int]]:
    value = node.value if isinstance(node, yaml.ScalarNode) else None
    yield (type(node).__name__, node.tag, value, node.start_mark.line, node.start_mark.column,
           node.end_mark.line, node.end_mark.column)
    if isinstance(node, yaml.MappingNode):
        for key, item in node.value:
            yield from _walk(key)
            yield from _walk(item)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item)


@pytest.mark.parametrize("path", sorted((REPO / "merchants").glob("*.yaml")) + [
    Path(presets.path_of(name)) for name in presets.available()], ids=lambda p: p.name)
def test_same_tree_and_marks_for_every_shipped_file(path: Path) -> None:
    (fast, fast_problems), (slow, slow_problems) = yamlnodes.compose_data_file(path), yamlnodes.compose_file(path)
    assert isinstance(fast, yaml.Node) and isinstance(slow, yaml.Node)
    assert list(_walk(fast)) == list(_walk(slow))
    assert fast.start_mark.name == slow.start_mark.name == str(path)
    assert fast_problems == slow_problems == []


@pytest.mark.parametrize("text", ["a: 1\nb:\n  c: 1\n  c: 2\n", "a: yes\nb: NO\nc: True\nd: 1.5\ne: ~\n",
                                  "name: \"Zoë ✓\"\nlist: [1, {x: 2}]\nblock: |\n  two\n  lines\n"])
def test_same_values_duplicate_keys_and_unicode_positions(tmp_path: Path, text: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    (fast, fast_problems), (slow, slow_problems) = yamlnodes.compose_data_file(path), yamlnodes.compose_file(path)
    assert isinstance(fast, yaml.Node) and isinstance(slow, yaml.Node)
    assert list(_walk(fast)) == list(_walk(slow))
    assert yamlnodes.construct(fast) == yamlnodes.construct(slow)
    assert fast_problems == slow_problems


@pytest.mark.parametrize("text", ["a: [1, 2\nb: 3\n", "a: 1\n b: 2\n", "a: 'open\n", "- a\nb: 1\n"])
def test_syntax_errors_are_placed_on_the_same_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    (fast, fast_problems), (slow, slow_problems) = yamlnodes.compose_data_file(path), yamlnodes.compose_file(path)
    assert fast is None and slow is None
    assert [(p.file, p.line) for p in fast_problems] == [(p.file, p.line) for p in slow_problems]
    assert all(p.message.startswith("invalid YAML") for p in fast_problems)


def test_presets_are_parsed_once_per_run() -> None:
    presets.clear_cache()
    first, _ = presets.parsed("global-e")
    assert presets.parsed("global-e")[0] is first and presets.parsed.cache_info().hits >= 1
