"""Presets and merchant files are read by PyYAML's C parser (libyaml) where it is installed; merchant
files through the limit-counting composer, falling back to the pure-Python loader to explain a refusal.
The C parser yields the same node trees with the same positions, so diagnostics point at the same file,
line and column either way."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from provisioner.config import presets, yamlnodes
from provisioner.config.yamllimits import LimitError

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(yamlnodes.LIMITED_C_LOADER is None, reason="PyYAML without libyaml")


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
    (fast, fast_problems), (slow, slow_problems) = yamlnodes.compose_file(path), _in_python(path)
    assert isinstance(fast, yaml.Node) and isinstance(slow, yaml.Node)
    assert list(_walk(fast)) == list(_walk(slow))
    assert fast.start_mark.name == slow.start_mark.name == str(path)
    assert fast_problems == slow_problems == []


def _in_python(path: Path) -> tuple[yaml.Node | None, list[object]]:
    root, problems = yamlnodes.compose_in_python(path.read_text(encoding="utf-8"), str(path))
    return root, list(problems)


@pytest.mark.parametrize("text", ["a: 1\nb:\n  c: 1\n  c: 2\n", "a: yes\nb: NO\nc: True\nd: 1.5\ne: ~\n",
                                  "name: \"Zoë ✓\"\nlist: [1, {x: 2}]\nblock: |\n  two\n  lines\n"])
def test_same_values_duplicate_keys_and_unicode_positions(tmp_path: Path, text: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    (fast, fast_problems), (slow, slow_problems) = yamlnodes.compose_file(path), _in_python(path)
    assert isinstance(fast, yaml.Node) and isinstance(slow, yaml.Node)
    assert list(_walk(fast)) == list(_walk(slow))
    assert yamlnodes.construct(fast) == yamlnodes.construct(slow)
    assert fast_problems == slow_problems


@pytest.mark.parametrize("text", ["a: [1, 2\nb: 3\n", "a: 1\n b: 2\n", "a: 'open\n", "- a\nb: 1\n"])
def test_syntax_errors_are_placed_on_the_same_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    (fast, fast_problems), (slow, slow_problems) = yamlnodes.compose_file(path), _in_python(path)
    assert (fast, fast_problems) == (slow, slow_problems)  # a refusal is explained by PyYAML's parser
    assert fast is None and slow is None
    assert [(p.file, p.line) for p in fast_problems] == [(p.file, p.line) for p in slow_problems]
    assert all(p.message.startswith("invalid YAML") for p in fast_problems)


def test_presets_are_parsed_once_per_run() -> None:
    presets.clear_cache()
    first, _ = presets.parsed("global-e")
    assert presets.parsed("global-e")[0] is first and presets.parsed.cache_info().hits >= 1


def test_merchant_files_are_composed_by_libyaml_under_the_limits(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid file never reaches the pure-Python parser; anchors stay shared nodes, as PyYAML makes them."""
    path = tmp_path / "m.yaml"
    path.write_text("base: &b {x: [1, 2]}\none: *b\ntwo: *b\n", encoding="utf-8")
    monkeypatch.setattr(yamlnodes, "compose_in_python", lambda *_: pytest.fail("the pure-Python parser ran"))
    root, problems = yamlnodes.compose_file(path)
    assert isinstance(root, yaml.MappingNode) and problems == []
    values = [value for _, value in root.value]
    assert values[0] is values[1] is values[2]


@pytest.mark.parametrize("text", ["a: " + "[" * 70 + "]" * 70 + "\n",
                                  "a: &a [x]\n" + "".join(f"k{i}: *a\n" for i in range(300)),
                                  "a: !!python/object:os.system x\n"])
def test_the_limits_stop_libyaml_too_and_pyyaml_explains(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    assert yamlnodes.LIMITED_C_LOADER is not None
    if "!!" not in text:  # the composer stops libyaml's events at the limit
        with pytest.raises(LimitError):
            yamlnodes.LIMITED_C_LOADER(io.StringIO(text)).get_single_node()
    root, problems = yamlnodes.compose_file(path)
    assert root is None and len(problems) == 1
    assert (root, problems) == _in_python(path)


def _by_pyyaml(node: yaml.Node) -> object:
    loader = yamlnodes.StrictLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


@pytest.mark.parametrize("text", [
    "a: 1\nb: [1, 2.5, -3, 0x1f, 1_000]\nc: {d: null, e: ~, f: true, g: False, h: yes, i: NO}\n",
    "when: 2026-11-24\nat: 2026-11-24 10:00:00\nempty: ''\nlist: []\nmap: {}\n1: one\nnull: key\n",
    "base: &b {x: 1}\none: *b\ntwo: *b\n",  # aliases: the constructor's shared value
    "base: &b {x: 1, y: 2}\nmerged:\n  <<: *b\n  y: 3\n",  # a merge key
    "nested: [[1, [2, {k: [v]}]], {a: {b: {c: d}}}]\n"])
def test_built_values_are_pyyamls_for_every_shape(tmp_path: Path, text: str) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(text, encoding="utf-8")
    root, problems = yamlnodes.compose_in_python(text, str(path))
    assert isinstance(root, yaml.Node), problems
    built, expected = yamlnodes.construct(root), _by_pyyaml(root)
    assert built == expected and type(built) is type(expected)
    assert repr(built) == repr(expected)  # the same types all the way down (1 and True and 1.0 differ here)


@pytest.mark.parametrize("path", sorted((REPO / "merchants").glob("*.yaml")) + [
    Path(presets.path_of(name)) for name in presets.available()], ids=lambda p: p.name)
def test_built_values_are_pyyamls_for_every_shipped_file(path: Path) -> None:
    root, _ = yamlnodes.compose_file(path)
    assert isinstance(root, yaml.Node)
    assert repr(yamlnodes.construct(root)) == repr(_by_pyyaml(root))
