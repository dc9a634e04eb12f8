"""Markdown as GitHub renders it, for tests that check what a person reads and copies.

`cmarkgfm` is GitHub's own fork of cmark (tables, autolinks, strikethrough): the HTML it makes is the HTML
github.com shows for a comment, a job summary or a `.md` file. `Rendered` reads that HTML back as a person
meets it: the text of the page, the text of each code span and block (what a person selects and copies),
and the address of each link (what a click or "copy link" gives)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options


@dataclass
class Rendered:
    html: str
    text: str = ""
    codes: list[str] = field(default_factory=list)  # inline code spans and fenced blocks, as shown
    links: list[str] = field(default_factory=list)  # every href, as a browser resolves its entities
    cells: list[list[str]] = field(default_factory=list)  # table rows, each cell's shown text

    def row(self, first: str) -> list[str]:
        """The table row whose first cell shows `first`."""
        found = [cells for cells in self.cells if cells and cells[0] == first]
        assert len(found) == 1, (first, self.cells)
        return found[0]


class _Reader(HTMLParser):
    def __init__(self, result: Rendered) -> None:
        super().__init__(convert_charrefs=True)
        self.result = result
        self.code: list[str] | None = None
        self.cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "code":
            self.code = []
        elif tag == "a":
            self.result.links += [value or "" for name, value in attrs if name == "href"]
        elif tag == "tr":
            self.result.cells.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "code" and self.code is not None:
            self.result.codes.append("".join(self.code))
            self.code = None
        elif tag in ("td", "th") and self.cell is not None:
            self.result.cells[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        for sink in (self.code, self.cell, self.text):
            if sink is not None:
                sink.append(data)


def render(markdown: str) -> Rendered:
    """`markdown` as GitHub renders it (raw HTML kept, as GitHub's sanitiser keeps `<details>`)."""
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    result = Rendered(html)
    reader = _Reader(result)
    reader.feed(html)
    reader.close()
    result.text = "".join(reader.text)
    return result


def copied(markdown: str, value: str) -> bool:
    """Whether a person finds `value` exactly as one code span or block of the rendered page (a block's
    trailing line break aside), and no link on the page gives a different form of it."""
    page = render(markdown)
    exact = any(code.rstrip("\n") == value for code in page.codes)
    same_place = [link for link in page.links if link.split("?")[0] == value.split("?")[0]]
    return exact and all(link == value for link in same_place)
