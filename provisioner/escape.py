"""Escaping for every place a name or value from a merchant file or a live store is written: one
function per destination, so no renderer interpolates raw text. A neutral module (it imports nothing of
the tool): the engine writes runbooks, exports and handovers, the renderers build on the engine, and
both escape.

- `terminal`: control characters, escape sequences and bidirectional overrides are shown (`\\x1b`,
  `\\n`, `\\u202e`), never interpreted, so a token name cannot clear the screen or hide a line.
- `md_text` / `md_code`: markdown a reader sees in a PR comment or a runbook: one line always (no raw
  newline can start a heading, a fence or an HTML comment), no table cell split by `|`, no HTML
  (`</details>`, `<!--`), no link, no @mention.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode characters that reorder or break lines when displayed.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _SHORT:
        return _SHORT[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def terminal(text: object) -> str:
    """One line of terminal output: every control character shown as an escape."""
    return _CONTROL.sub(_visible, str(text))


def terminal_lines(text: object) -> str:
    """Several lines of our own (an error with its details): line breaks kept, everything else shown."""
    return "\n".join(terminal(line) for line in str(text).split("\n"))


_MD_SPECIAL = {"\\": "\\\\", "`": "\\`", "|": "\\|", "[": "\\[", "]": "\\]", "*": "\\*",
               "<": "&lt;", "&": "&amp;", "@": "&#64;"}  # a lone ">" starts nothing mid-line
_MD_PATTERN = re.compile("[" + re.escape("".join(_MD_SPECIAL)) + "]")


def md_text(text: object) -> str:
    """Inline markdown text (headings, list items, table cells): shown literally, on one line."""
    return _MD_PATTERN.sub(lambda m: _MD_SPECIAL[m.group(0)], terminal(text))


_MD_UNESCAPE = {escaped: char for char, escaped in _MD_SPECIAL.items()}
_MD_ESCAPED = re.compile("|".join(re.escape(escaped) for escaped in _MD_UNESCAPE))


def md_plain(text: str) -> str:
    """The text `md_text` was given (its control characters still shown), read back from its output: to
    quote markdown text of the tool's own (a runbook's heading) in another document, escaped once there
    rather than twice. Safe on any text, as what it returns is escaped again before it is written."""
    return _MD_ESCAPED.sub(lambda m: _MD_UNESCAPE[m.group(0)], text)


def md_code(text: object, *, in_table: bool = False) -> str:
    """An inline code span holding `text` literally: HTML and mentions are inert inside one; the fence is
    longer than any backtick run in the text, and `|` is escaped where a table would split on it."""
    body = terminal(text)
    if in_table:
        body = body.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def md_fence(body: str, language: str = "") -> str:
    """A fenced block whose fence no line of `body` can close."""
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{language}\n{body}\n{fence}"
