"""provisioner/escape.py, branch by branch: each test pins one rule with its exact output, so changing the
rule (a range, a limit, a form, `max` for `min`) fails a test. The property at the end checks what every
rule is for: whatever the text, nothing written can begin a workflow command or carry `##[`."""

from __future__ import annotations

import json
import random
import re

import pytest
import yaml

from provisioner import escape

# --- terminal: control characters shown ---------------------------------------------------------------

# Each end of every range the terminal must not interpret, with its shown form.
SHOWN = {
    "\x00": "\\x00", "\x07": "\\x07", "\x08": "\\x08", "\x0b": "\\x0b", "\x0c": "\\x0c", "\x1b": "\\x1b",
    "\x1f": "\\x1f", "\x7f": "\\x7f", "\x80": "\\x80", "\x85": "\\x85", "\x9b": "\\x9b", "\x9d": "\\x9d",
    "\x9f": "\\x9f", "\u061c": "\\u061c", "\u200e": "\\u200e", "\u200f": "\\u200f", "\u2028": "\\u2028",
    "\u2029": "\\u2029", "\u202a": "\\u202a", "\u202c": "\\u202c", "\u202e": "\\u202e", "\u2066": "\\u2066",
    "\u2067": "\\u2067", "\u2069": "\\u2069",
    "\ufeff": "\\ufeff", "\n": "\\n", "\r": "\\r", "\t": "\\t",
}
# Their neighbours outside the ranges: shown as they are.
KEPT = [" ", "~", "\xa0", "é", "\u061b", "\u061d", "\u200d", "\u2010", "\u2027", "\u202f", "\u2065", "\u206a",
        "\ufefe", "\ufffd", "😀"]


@pytest.mark.parametrize("char", sorted(SHOWN))
def test_a_control_character_is_shown_as_its_escape(char: str) -> None:
    assert escape.terminal(f"a{char}b") == f"a{SHOWN[char]}b"


@pytest.mark.parametrize("char", KEPT)
def test_a_printable_character_is_kept(char: str) -> None:
    assert escape.terminal(f"a{char}b") == f"a{char}b"


def test_escape_csi_and_osc_sequences_are_inert() -> None:
    assert escape.terminal("\x1b[2J\x1b[H\x1b]0;title\x07\x9b31m") == "\\x1b[2J\\x1b[H\\x1b]0;title\\x07\\x9b31m"


def test_anything_is_written_as_its_text() -> None:
    assert escape.terminal(42) == "42" and escape.terminal_lines(3.5) == "3.5" and escape.md_text(7) == "7"


# --- workflow commands -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, shown", [
    ("::error::x", "\\x3a:error::x"),
    ("::", "\\x3a:"),
    ("  ::add-mask::x", "  \\x3a:add-mask::x"),
    ("\u00a0\u3000\u2003::x", "\u00a0\u3000\u2003\\x3a:x"),  # blanks .NET's TrimStart removes
    ("\u200b\u180e::x", "\u200b\u180e\\x3a:x"), ("\ufeff::x", "\\ufeff::x"),  # a shown BOM begins nothing
    (":x", ":x"), (": :x", ": :x"), (": ::x", ": ::x"), (":a::x", ":a::x"), ("a::x", "a::x"), ("x ::y", "x ::y"),
    ("-::x", "-::x"),
])
def test_a_line_cannot_begin_a_workflow_command(text: str, shown: str) -> None:
    assert escape.terminal(text) == shown


@pytest.mark.parametrize("text, shown", [
    ("##[group]x", "#\\x23[group]x"), ("a ##[error]b", "a #\\x23[error]b"), ("###[", "##\\x23["),
    ("#[x", "#[x"), ("## [x", "## [x"), ("##", "##"),
])
def test_the_old_command_form_is_broken_anywhere_in_a_line(text: str, shown: str) -> None:
    assert escape.terminal(text) == shown
    assert escape.log_text(text) == shown


# Every character after which a reader may start a new line, and the runner's own CRLF.
BREAKS = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("brk", BREAKS)
def test_log_text_checks_every_line(brk: str) -> None:
    assert escape.log_text(f"ok{brk}::error::x{brk}  ::warning::y") == f"ok{brk}\\x3a:error::x{brk}  \\x3a:warning::y"


@pytest.mark.parametrize("text, shown", [
    ("\x1b[31m::x", "\x1b[31m\\x3a:x"), ("\x1b[1;31m ::x", "\x1b[1;31m \\x3a:x"), ("\x1b[m::x", "\x1b[m\\x3a:x"),
    ("\x1b[31mx::y", "\x1b[31mx::y"), ("\x1b(B::x", "\x1b(B::x"), ("\x00::x", "\x00::x"), ("\x1b[:m::x", "\x1b[:m::x"),
    ("\ufeff\u200b\u180e::x", "\ufeff\u200b\u180e\\x3a:x"),
])
def test_log_text_sees_through_the_tools_own_colours_and_changes_nothing_else(text: str, shown: str) -> None:
    assert escape.log_text(text) == shown


def test_log_text_is_idempotent_and_leaves_escaped_text_alone() -> None:
    once = escape.log_text("::a\n##[b\n  ::c")
    assert escape.log_text(once) == once == "\\x3a:a\n#\\x23[b\n  \\x3a:c"
    assert escape.log_text(escape.terminal("x\n::y")) == escape.terminal("x\n::y") == "x\\n::y"


def test_log_text_costs_the_length_of_a_run_of_empty_lines() -> None:
    text = "\n" * 200_000 + " " * 200_000 + "::x"
    assert escape.log_text(text) == "\n" * 200_000 + " " * 200_000 + "\\x3a:x"


# --- cutting quoted text -----------------------------------------------------------------------------------

def test_cut_keeps_text_up_to_the_limit_and_says_how_much_it_cut() -> None:
    assert escape.cut("abcde", 5) == "abcde"
    assert escape.cut("abcdef", 5) == "abcde… (cut, 1 more character)"
    assert escape.cut("abcdefg", 5) == "abcde… (cut, 2 more characters)"
    assert escape.cut("x" * 12_350, 5) == "xxxxx… (cut, 12,345 more characters)"
    assert escape.cut("", 0) == ""


def test_a_terminal_line_quotes_at_most_2000_characters() -> None:
    assert escape.terminal("x" * 2000) == "x" * 2000
    assert escape.terminal("x" * 2001) == "x" * 2000 + "… (cut, 1 more character)"
    assert escape.terminal("x" * 10, limit=4) == "xxxx… (cut, 6 more characters)"


def test_the_cut_counts_the_text_not_its_escapes() -> None:
    assert escape.terminal("\x1b" * 2001) == "\\x1b" * 2000 + "… (cut, 1 more character)"


def test_a_message_of_several_lines_is_cut_at_8000_characters_in_all() -> None:
    assert escape.terminal_lines("x" * 8000) == "x" * 8000  # one line longer than a terminal line's limit
    assert escape.terminal_lines("ab\n" * 2666 + "ab") == "ab\n" * 2666 + "ab"  # 8000 characters
    assert escape.terminal_lines("ab\n" * 2667) == "ab\n" * 2666 + "ab… (cut, 1 more character)"
    assert escape.terminal_lines("x" * 30, limit=10) == "x" * 10 + "… (cut, 20 more characters)"
    assert escape.terminal_lines("x" * 9000) == "x" * 8000 + "… (cut, 1,000 more characters)"  # cut once


def test_terminal_lines_keeps_our_line_breaks_and_escapes_each_line() -> None:
    assert escape.terminal_lines("one\n::two\r\x1b[2J\n##[x") == "one\n\\x3a:two\\r\\x1b[2J\n#\\x23[x"


# --- data: JSON and YAML -------------------------------------------------------------------------------

DATA_UNSAFE = ["\x7f", "\x80", "\x85", "\x9f", "\u061c", "\u200e", "\u200f", "\u2028", "\u2029", "\u202a",
               "\u202c", "\u202e", "\u2066", "\u2067", "\u2069", "\ufeff"]


@pytest.mark.parametrize("char", DATA_UNSAFE)
def test_data_escapes_what_a_terminal_acts_on_as_the_same_character(char: str) -> None:
    encoded = json.dumps({"k": f"a{char}b"}, ensure_ascii=False)
    shown = escape.data_text(encoded)
    assert shown == encoded.replace(char, f"\\u{ord(char):04x}")
    assert json.loads(shown) == {"k": f"a{char}b"}


def test_data_breaks_the_old_command_form_and_reads_back_the_same() -> None:
    value = {"##[group]": ["###[x", "#[", "a\\##[b"]}
    shown = escape.data_text(json.dumps(value))
    assert "##[" not in shown and '"#\\u0023[group]"' in shown
    assert json.loads(shown) == value
    quoted = escape.data_text('k: "##[x\u202e"\n')  # a YAML double-quoted string
    assert quoted == 'k: "#\\u0023[x\\u202e"\n' and yaml.safe_load(quoted) == {"k": "##[x\u202e"}


def test_data_leaves_everything_else_as_it_is() -> None:
    text = '{"a": "é \u00a0 \\n \u061b \u2030 \u2044 \u2070 \u3042 x::y"}'
    assert escape.data_text(text) == text


YAML_CASES = {
    "multi-line": "a\n::error::x\n  ::warning::y",
    "folded at 80 columns before": "word " * 30 + "::error::fold",
    "old form": "##[group]g",
    "leading command": "  ::add-mask::x",
    "reordering": "a\u202eb\u2028c\x85d\x1b[2J",
    "plain": "GlobalE Store",
    "looks like another type": ["123", "true", "null", "1.5"],
}


def test_yaml_reads_back_the_same_and_begins_nothing() -> None:
    document = {"cases": YAML_CASES, "##[group]key": [1, True, None], "::key": "v", "é": "ü"}
    text = escape.yaml_text(document)
    assert yaml.safe_load(text) == document
    assert "plain: GlobalE Store\n" in text and "é: ü\n" in text  # what needs no quotes is as it is
    assert list(yaml.safe_load(text)) == ["cases", "##[group]key", "::key", "é"]  # in the document's order
    for line in text.splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line and "\x1b" not in line, line
    assert not any(char in text for char in "\u202e\u2028\x85")


# --- markdown text -------------------------------------------------------------------------------------

MD = {"\\": "\\\\", "`": "\\`", "|": "\\|", "[": "\\[", "]": "\\]", "*": "\\*", "<": "&lt;", "&": "&amp;",
      "@": "&#64;"}


@pytest.mark.parametrize("char", sorted(MD))
def test_markdown_text_escapes_each_special_character(char: str) -> None:
    assert escape.md_text(f"a{char}b") == f"a{MD[char]}b"


def test_markdown_text_cannot_begin_a_command_or_carry_the_old_form_and_renders_both_exactly() -> None:
    assert escape.md_text("::error::x") == "\\::error::x"
    assert escape.md_text(" \u3000::x") == " \u3000\\::x"
    assert escape.md_text("a::b ##[c]") == "a::b ##\\[c\\]"
    assert escape.md_text("<!-- provision:plan -->") == "&lt;!-- provision:plan -->"
    assert escape.md_text("x\n::y\x1b") == "x\\\\n::y\\\\x1b"  # shown escapes, their backslash escaped once more


@pytest.mark.parametrize("text", ["::error::x", "a|b`c[d]*e<f&g@h\\i", "  ::x", "plain", "\\::x", "x\\:y"])
def test_markdown_text_reads_back_to_the_text(text: str) -> None:
    assert escape.md_plain(escape.md_text(text)) == text


def test_markdown_is_not_cut() -> None:
    assert escape.md_text("x" * 10_000) == "x" * 10_000  # runbooks carry values to paste; a comment budgets


# --- code spans and fences -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, span", [
    ("plain", "`plain`"),
    ("a`b", "``a`b``"),
    ("a``b`c", "```a``b`c```"),
    ("a`b```c``d", "````a`b```c``d````"),  # longer than the longest run, not the shortest or the first
    ("`start", "`` `start ``"),
    ("end`", "`` end` ``"),
    ("", "`  `"),
    ("   ", "`     `"),
    (" x ", "` x `"),
])
def test_a_code_span_is_fenced_longer_than_any_backtick_run(text: str, span: str) -> None:
    assert escape.md_code(text) == span


def test_a_code_span_shows_what_it_cannot_escape() -> None:
    assert escape.md_code("a|b") == "`a|b`"
    assert escape.md_code("a|b", in_table=True) == "`a\\|b`"
    assert escape.md_code("x\n::y ##[g] <!-- provision:plan -->\x1b") == (
        "`x\\n::y #\\x23[g] <\\x21-- provision:plan -->\\x1b`")
    assert escape.code_text("<!--<!--##[##[") == "<\\x21--<\\x21--#\\x23[#\\x23["


@pytest.mark.parametrize("body, fence", [
    ("plain", "```"), ("``", "```"), ("```", "````"), ("a ``` b\n`````", "``````"), ("````\n```", "`````"),
])
def test_a_fence_is_longer_than_any_run_of_three_or_more_backticks(body: str, fence: str) -> None:
    assert escape.md_fence(body, "json") == f"{fence}json\n{body}\n{fence}"
    assert escape.md_fence(body) == f"{fence}\n{body}\n{fence}"


# --- the property ------------------------------------------------------------------------------------

ALPHABET = [":", ":", "#", "#", "[", " ", "\t", "\u3000", "\u200b", "\n", "\r", "\x85", "\u2028", "\x1b", "[",
            "3", "1", "m", "x", "<", "!", "-", "`", "\\"]
COMMAND = re.compile(r"^[\s\u180e\u200b\ufeff]*::")


def _texts() -> list[str]:
    chance = random.Random(21)  # fixed: the same 3000 texts every run
    return ["".join(chance.choice(ALPHABET) for _ in range(chance.randint(0, 24))) for _ in range(3000)]


def test_nothing_escaped_begins_a_command_or_carries_the_old_form() -> None:
    for text in _texts():
        for shown in (escape.terminal(text), escape.md_text(text), escape.md_code(text)):
            assert not COMMAND.match(shown) and "##[" not in shown and not re.search("[\n\r\x1b\x85]", shown)
        guarded = escape.log_text(text)
        for line in re.split("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]", guarded):
            assert not COMMAND.match(re.sub(r"\x1b\[[0-9;]*m", "", line)) and "##[" not in line, (text, line)
        assert "<!--" not in escape.md_code(text) and "<!--" not in escape.md_text(text)
