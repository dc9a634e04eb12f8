"""Values YAML can write but not read: a tag on the wrong kind of node, a hand-written `!!int` that is
not one, a date that does not exist, a merge key (`<<`) over a single value. Each is refused while the
file is loaded, at its own position, by both parsers; none reaches the constructor, where it used to
end `provision validate` with a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.config import yamlnodes
from provisioner.config.resolve import validate_file
from provisioner.errors import Diagnostic
from tests.config.test_loader_errors import BASE

Writer = Callable[[str, str], Path]
STORE = "store: GlobalE Store"  # line 3 of BASE: a value starts at column 8

CASES = {
    "a date that does not exist": ("store: 2024-13-45", 8, "not a date or time that exists; quote it if it is text"),
    "a time on a day that does not exist": ("store: 2024-02-30T10:00:00Z", 8,
                                            "not a date or time that exists; quote it if it is text"),
    "a time zone beyond a day": ("store: !!timestamp 2024-02-03 10:00:00 +99:00", 8,
                                 "not a date or time that exists; quote it if it is text"),
    "a timestamp tag on text": ("store: !!timestamp soon", 8, "not a date or time that exists; quote it if it is text"),
    "an int tag on text": ("store: !!int abc", 8, "not an integer; quote it if it is text"),
    "an int tag on a bare prefix": ("store: !!int 0x", 8, "not an integer; quote it if it is text"),
    "an octal 9": ("store: !!int 0o9", 8, "not an integer; quote it if it is text"),
    "a float tag on text": ("store: !!float .", 8, "not a number; quote it if it is text"),
    "a str tag on a list": ("store: !!str [a]", 8, "the tag tag:yaml.org,2002:str does not fit a list"),
    "a map tag on a value": ("store: !!map x", 8, "the tag tag:yaml.org,2002:map does not fit a single value"),
    "a seq tag on a mapping": ("store: !!seq {a: 1}", 8, "the tag tag:yaml.org,2002:seq does not fit a mapping"),
    "a merge tag on a value": ("store: !!merge x", 8, "the tag tag:yaml.org,2002:merge does not fit a single value"),
    "a merge key over a value": ("store: {<<: x}", 13, "a merge key (<<) takes a mapping or a list of mappings"),
    "a merge key over a list of values": ("store: {<<: [x]}", 13,
                                          "a merge key (<<) takes a mapping or a list of mappings"),
}


@pytest.mark.parametrize(("line", "column", "message"), CASES.values(), ids=CASES.keys())
def test_refused_at_its_position(write_merchant: Writer, line: str, column: int, message: str) -> None:
    path = write_merchant("m", BASE.replace(STORE, line))
    assert [str(d) for d in validate_file(path)] == [f"{path}:3:{column}: {message}"]


@pytest.mark.parametrize(("line", "column", "message"), CASES.values(), ids=CASES.keys())
def test_both_parsers_refuse_it_alike(line: str, column: int, message: str) -> None:
    text = BASE.lstrip("\n").replace(STORE, line)
    fast = yamlnodes.compose(text, "m.yaml")
    slow = yamlnodes.compose_in_python(text, "m.yaml")
    assert fast == slow == (None, [Diagnostic("m.yaml", 3, column, message)])


@pytest.mark.parametrize(("line", "key", "expected"), [
    ("store: !!int 1_000", "store", 1000), ("store: !!float 1e3", "store", 1000.0),
    ("store: !!timestamp 2024-02-29", "store", "2024-02-29"),
    ("store: &a {name: x}\nother: {<<: *a, more: 1}", "other", {"name": "x", "more": 1}),
    ("store: {<<: [{a: 1}, {b: 2}]}", "store", {"a": 1, "b": 2}),
])
def test_values_that_do_read_are_still_read(line: str, key: str, expected: object) -> None:
    root, problems = yamlnodes.compose(BASE.lstrip("\n").replace(STORE, line), "m.yaml")
    assert problems == [] and root is not None
    value = yamlnodes.construct(root)[key]
    assert (value.isoformat() if hasattr(value, "isoformat") else value) == expected


def test_validate_reports_it_without_a_traceback(write_merchant: Writer) -> None:
    path = write_merchant("m", BASE.replace(STORE, "store: !!int abc\nlocal_vat_rate: 2024-13-45"))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [f"{path}:3:8: not an integer; quote it if it is text",
                                          f"{path}:4:17: not a date or time that exists; quote it if it is text",
                                          "2 problem(s) found"]
    assert "Traceback" not in result.output

