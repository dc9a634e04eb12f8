from __future__ import annotations

import yaml

from provisioner.config.yamlnodes import compose, construct, duplicate_identities, locate, merge


def parse(text: str, name: str = "f.yaml") -> yaml.Node:
    node, problems = compose(text, name)
    assert problems == []
    assert node is not None
    return node


def test_only_true_and_false_are_booleans() -> None:
    data = construct(parse("a: yes\nb: no\nc: on\nd: off\ne: true\nf: False\ncountry: NO\n"))
    assert data == {"a": "yes", "b": "no", "c": "on", "d": "off", "e": True, "f": False, "country": "NO"}


def test_duplicate_key_reported_at_second_occurrence_with_first_line() -> None:
    _, problems = compose("a: 1\nb:\n  c: 1\n  c: 2\n", "dup.yaml")
    assert [str(p) for p in problems] == ["dup.yaml:4:3: duplicate key 'c' (first at line 3)"]


def test_syntax_error_has_a_position() -> None:
    node, problems = compose("a: [1, 2\nb: 3\n", "broken.yaml")
    assert node is None
    assert len(problems) == 1
    assert problems[0].file == "broken.yaml" and problems[0].line == 2
    assert problems[0].message.startswith("invalid YAML")


def test_merge_named_items_by_identity_keeps_each_values_origin() -> None:
    base = parse("plugins:\n  - name: A\n    x: 1\n    y: 1\n  - name: B\n    x: 2\n", "preset.yaml")
    over = parse("plugins:\n  - name: B\n    x: 3\n  - name: C\n    x: 4\n", "merchant.yaml")
    merged = merge(base, over)
    assert merged is not None
    assert construct(merged) == {"plugins": [{"name": "A", "x": 1, "y": 1}, {"name": "B", "x": 3},
                                             {"name": "C", "x": 4}]}
    b_x = locate(merged, ["plugins", 1, "x"])
    a_y = locate(merged, ["plugins", 0, "y"])
    assert (b_x.start_mark.name, b_x.start_mark.line) == ("merchant.yaml", 2)
    assert (a_y.start_mark.name, a_y.start_mark.line) == ("preset.yaml", 3)


def test_merge_list_into_exclusive_section_form() -> None:
    base = parse("api_tokens:\n  - description: T\n    email: a@b.c\n")
    over = parse("api_tokens:\n  mode: exclusive\n  items:\n    - description: T\n      phone: '1'\n")
    merged = merge(base, over)
    assert merged is not None
    assert construct(merged) == {"api_tokens": {"mode": "exclusive", "items": [
        {"description": "T", "email": "a@b.c", "phone": "1"}]}}


def test_scalar_lists_are_replaced_not_merged() -> None:
    merged = merge(parse("operated_markets: [GB, US]\n"), parse("operated_markets: [SE]\n"))
    assert merged is not None
    assert construct(merged) == {"operated_markets": ["SE"]}


def test_duplicate_identity_within_one_list() -> None:
    root = parse("tax_groups:\n  - name: X\n  - name: Y\n  - name: X\n", "m.yaml")
    assert [str(d) for d in duplicate_identities(root, "m.yaml")] == [
        "m.yaml:4:5: tax_groups: 'X' is declared twice (first at line 2)"]


def test_locate_skips_union_tags_and_lands_on_key_for_unknown_keys() -> None:
    root = parse("plugins:\n  - name: A\n    type: order_api\n    uri: u\n")
    assert locate(root, ["plugins", 0, "present", "order_api", "uri"]).start_mark.line == 3
    key = locate(root, ["plugins", 0, "uri"], at_key=True)
    assert (key.start_mark.line, key.start_mark.column) == (3, 4)
