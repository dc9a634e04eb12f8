"""Errors a person can act on: the line to fix and what to write, never a regular expression or the YAML
parser's grammar (`expected <block end>`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from provisioner.config.resolve import validate_file
from provisioner.errors import ConfigError

Writer = Callable[[str, str], Path]

GOOD = """
merchant: m
store: GlobalE Store
environments:
  qa:
    centra_url: https://m.centraqa.com
    token: env:M_QA_TOKEN
"""


def _messages(write_merchant: Writer, text: str) -> list[str]:
    return [f"{d.line}:{d.column}: {d.message}" for d in validate_file(write_merchant("m", text))]


def test_a_centra_url_with_a_path_says_what_to_write(write_merchant: Writer) -> None:
    found = _messages(write_merchant, GOOD.replace("centraqa.com", "centraqa.com/api/checkout"))
    assert found == ["5:17: environments.qa.centra_url: 'https://m.centraqa.com/api/checkout' is not the store's "
                     "address only, https://HOST (no path): write https://m.centraqa.com"]
    assert "^" not in found[0] and "pattern" not in found[0]


def test_a_key_without_its_colon_is_reported_on_its_own_line(write_merchant: Writer) -> None:
    found = _messages(write_merchant, GOOD.replace("store: GlobalE Store", "store GlobalE Store"))
    assert found == ["2:1: invalid YAML: this line has no ':' after its key (write `key: value`) "
                     "[could not find expected ':']"]


def test_a_misindented_line_says_which_block_it_should_line_up_with(write_merchant: Writer) -> None:
    found = _messages(write_merchant, GOOD.replace("    token", "   token"))
    assert len(found) == 1 and "invalid YAML: a key at column 4 lines up with nothing around it" in found[0]
    assert found[0].startswith("6:4:") and "begins at line 4, column 3" in found[0], found


@pytest.mark.parametrize(("text", "words"), [
    ("merchant: m: x\n", "a ':' where a value was expected"),
    ("merchant: m\nstore:\n\t- x\n", "a tab: YAML indents with spaces only"),
    ('merchant: "m\nstore: x\n', "a quote opened here is never closed"),
])
def test_other_yaml_mistakes_in_plain_words(write_merchant: Writer, text: str, words: str) -> None:
    found = _messages(write_merchant, text)
    assert len(found) == 1 and words in found[0], found


def test_an_environment_typo_gets_a_suggestion_and_the_list(write_merchant: Writer) -> None:
    from provisioner.config.resolve import load, resolve

    with pytest.raises(ConfigError) as caught:
        resolve(load(write_merchant("m", GOOD)), "qaa")
    assert "unknown environment 'qaa'; did you mean 'qa'? (this merchant has: qa, sandbox)" in str(caught.value)
