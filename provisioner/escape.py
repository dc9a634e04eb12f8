"""Escaping for every place a name, value or message from a merchant file, a live store or a server is
written: one function per destination, so no renderer interpolates raw text. A neutral module (it imports
nothing of the tool): the engine writes runbooks, exports and handovers, the renderers build on the
engine, the CLI prints, and all of them escape here.

What foreign text must never do where the tool writes it:
- on a terminal: move the cursor, clear the screen, recolour, hide or reorder a line (control characters,
  escape sequences, bidirectional overrides);
- in a CI log: run a workflow command. GitHub's runner reads every line of stdout and stderr and runs
  `::command::…` when the line begins with `::` after leading blanks (.NET `TrimStart`: any Unicode
  white space), and the older `##[command]…` wherever `##[` occurs in the line. Its lines end at LF, CR
  or CRLF;
- in a comment or runbook: open markup (a heading, a fence, `</details>`, a link, an @mention) or forge
  the hidden marker a workflow finds its comment by (`<!-- provision:… -->`).

The neutralised forms, chosen so a reader still sees every character and nothing acts on any:

- `terminal` (one line for a terminal or a CI log, safe on its own): control characters as `\\x1b`,
  `\\n`, `\\u202e`; a `::` that begins the line (after blanks) with its first colon as `\\x3a`
  (`\\x3a:error::…`); `##[` as `#\\x23[`; past LINE_LIMIT characters the text is cut and the cut said
  (`… (cut, 12,345 more characters)`).
- `log_text` (the last check on everything the CLI writes): the same two command forms on every line;
  nothing else changes (the tool's own colours and line breaks stay).
- `md_text` (Markdown text): control characters as `terminal`; `[` is escaped (`##\\[`, rendered `##[`),
  a leading `::` as `\\::` (rendered `::`), `<` as `&lt;` (so no `<!--`).
- `md_code` / `code_text` (code spans and fenced blocks, where nothing can be escaped): control
  characters as `terminal`, `##[` as `#\\x23[`, `<!--` as `<\\x21--`. A code span cannot begin a line.
- `data_text` (JSON, YAML): the same data when parsed: `#\\u0023[`, and `\\u0085`-style escapes for
  characters a terminal acts on. `yaml_text` writes YAML so that this holds (see there).

`terminal`'s `\\xNN` forms are how it already shows a character that would otherwise be interpreted, so
the two command forms read the same way: the escaped character, not an invented marker, and no
invisible one (a zero-width joiner would hide that anything was changed). `log_text` is what the CLI
applies to everything it writes: text escaped for its place passes unchanged, and a line that was put
together from pieces (a prefix of the tool's own followed by foreign text) is still checked whole.
Only the CLI's own `::add-mask::` line (written by the secret sinks, never through here) may begin a
command.
"""

from __future__ import annotations

import re

LINE_LIMIT = 2_000  # characters of foreign text one terminal line quotes (a name, a value, a message)
TEXT_LIMIT = 8_000  # characters of a message of several lines (an error with a server's reply in it)

# C0 and C1 controls (NEL among them), DEL, and the Unicode characters that reorder or break lines when
# displayed (LS, PS, the bidirectional marks and overrides, the BOM).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Where a line begins for the runner (LF, CR) and for anything that splits lines more eagerly (Python's
# str.splitlines, a terminal or log viewer): a command may begin after any of them.
_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
# Blanks the runner trims before looking for `::` (Unicode white space), plus the zero-width characters
# older .NET trimmed too, and colour codes a log viewer may hide. Not the line breaks: each line is looked
# at from its own start (and a run of empty lines costs no more than its length).
_BLANK = rf"(?:[^\S{_BREAKS}]|[\u180e\u200b\ufeff]|\x1b\[[0-9;]*m)*"
_LINE_END = re.compile(f"([{_BREAKS}])")
_COMMAND_START = re.compile(rf"^({_BLANK}):(?=:)")
_OLD_COMMAND = "##["


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _SHORT:
        return _SHORT[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def _shown(text: str) -> str:
    return _CONTROL.sub(_visible, text)


def _no_command(text: str, colon: str) -> str:
    """`text` with the first colon of each `::` that begins a line (after blanks) replaced by `colon` (a
    `re` template). Only lines holding `::` are looked at: a search finds them at C speed, where a pattern
    tried at every position of a 10 MB document would cost seconds."""
    if "::" not in text:
        return text
    return "".join(_COMMAND_START.sub(rf"\1{colon}", part) if "::" in part else part
                   for part in _LINE_END.split(text))


def cut(text: str, limit: int) -> str:
    """`text` whole when it has at most `limit` characters, else its first `limit` and how much was cut."""
    if len(text) <= limit:
        return text
    more = len(text) - limit
    return f"{text[:limit]}… (cut, {more:,} more character{'' if more == 1 else 's'})"


def log_text(text: str) -> str:
    """The last check on text written to stdout or stderr, line by line: no line begins a workflow command
    (its first colon shown as `\\x3a`) and none carries `##[` (shown as `#\\x23[`). Everything else is
    left as it is (the tool's own colours and line breaks), so it is safe to apply to any output."""
    return _no_command(text, r"\\x3a").replace(_OLD_COMMAND, "#\\x23[")


def terminal(text: object, *, limit: int = LINE_LIMIT) -> str:
    """One line of terminal or CI-log output, safe on its own: every control character shown as an
    escape, no workflow command, at most `limit` characters of the text (then the cut is said)."""
    return log_text(_shown(cut(str(text), limit)))


def terminal_lines(text: object, *, limit: int = TEXT_LIMIT) -> str:
    """Several lines of our own (an error with its details): line breaks kept, each line as `terminal`
    makes it, and at most `limit` characters in all."""
    return "\n".join(log_text(_shown(line)) for line in cut(str(text), limit).split("\n"))


# Characters a JSON or YAML double-quoted string may hold raw but a terminal or log may act on; JSON
# encoders already escape C0, so what is left is C1, DEL and the reordering marks.
_DATA_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def data_text(text: str) -> str:
    """A JSON document (or YAML whose strings holding these characters are double-quoted) for a terminal
    or a log: the characters a terminal acts on, and the `#` that would make `##[`, as `\\uXXXX` escapes.
    Both occur only inside strings there, where JSON and YAML read the escape as the same character."""
    escaped = _DATA_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
    return escaped.replace(_OLD_COMMAND, "#\\u0023[")


def yaml_text(document: object) -> str:
    """YAML a terminal or a CI log can show, that reads back as the same data. Nothing is folded onto a
    line of its own (PyYAML folds long and multi-line strings, and a folded line may begin with `::`), and
    every string `terminal` would not show as it is (a line break, a control or reordering character,
    `##[`, a leading `::`) is double-quoted, where `data_text` can write its characters as escapes."""
    import yaml  # only commands that write YAML need it

    class Dumper(yaml.SafeDumper):
        pass

    def string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        unsafe = terminal(value, limit=len(value)) != value
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if unsafe else None)

    Dumper.add_representer(str, string)
    return data_text(yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=float("inf")))


_MD_SPECIAL = {"\\": "\\\\", "`": "\\`", "|": "\\|", "[": "\\[", "]": "\\]", "*": "\\*",
               "<": "&lt;", "&": "&amp;", "@": "&#64;"}  # a lone ">" starts nothing mid-line
_MD_PATTERN = re.compile("[" + re.escape("".join(_MD_SPECIAL)) + "]")


def md_text(text: object) -> str:
    """Inline markdown text (headings, list items, table cells): shown literally, on one line. `[` is
    escaped, so `##[` never occurs; a leading `::` has its first colon escaped (`\\:`, rendered as `:`)."""
    escaped = _MD_PATTERN.sub(lambda m: _MD_SPECIAL[m.group(0)], _shown(str(text)))
    return _no_command(escaped, r"\\:")


_MD_UNESCAPE = {escaped: char for char, escaped in _MD_SPECIAL.items()} | {"\\:": ":"}
_MD_ESCAPED = re.compile("|".join(re.escape(escaped) for escaped in _MD_UNESCAPE))


def md_plain(text: str) -> str:
    """The text `md_text` was given (its control characters still shown), read back from its output: to
    quote markdown text of the tool's own (a runbook's heading) in another document, escaped once there
    rather than twice. Safe on any text, as what it returns is escaped again before it is written."""
    return _MD_ESCAPED.sub(lambda m: _MD_UNESCAPE[m.group(0)], text)


def code_text(text: object) -> str:
    """Text shown literally in a code span or a fenced block, where nothing can be escaped: control
    characters shown, and the two sequences that act even there broken visibly (`##[` on a log line,
    `<!--` that could forge the comment's marker in its raw body)."""
    return _shown(str(text)).replace(_OLD_COMMAND, "#\\x23[").replace("<!--", "<\\x21--")


def md_code(text: object, *, in_table: bool = False) -> str:
    """An inline code span holding `text` literally: HTML and mentions are inert inside one; the fence is
    longer than any backtick run in the text, and `|` is escaped where a table would split on it."""
    body = code_text(text)
    if in_table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def md_fence(body: str, language: str = "") -> str:
    """A fenced block whose fence no line of `body` can close. The body is the caller's, shown exactly
    (JSON to paste); lines of foreign text in it are escaped by the caller (`code_text`)."""
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"
