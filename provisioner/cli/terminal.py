"""How the CLI writes to the terminal: every line through `echo` (the one place output leaves the tool),
every expected error through `show_error`, colour, and one progress line, all from click.

Whatever is written, on a terminal or into a CI log, passes `escape.log_text` last: foreign text is
escaped where it is placed (`escape.terminal`, the renderers), and a line put together from pieces still
cannot begin a workflow command (`::…`) or carry `##[`. The one line that must begin a command, the
secret sinks' `::add-mask::`, is the engine's own and never passes here.

Colour is on when the stream is a terminal, unless `--no-color` or `NO_COLOR` (no-color.org) says
otherwise; `FORCE_COLOR` turns it on for a pipe (for CI logs that render ANSI). `NO_COLOR` wins over
`FORCE_COLOR`.

Progress is one line on stderr, rewritten in place (click's progress bar): done of total, rate, ETA,
and what the run is waiting for ("waiting for Centra's rate limit (12 s)"). When stderr is not a
terminal (CI, a pipe, a test) nothing is written at all: only results. The engine reports progress
through plain callbacks (`advance`, `waiting`), so it never imports click.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

import click

from provisioner.errors import ConfigError, ProvisionerError
from provisioner.escape import log_text, terminal, terminal_lines

STYLES: dict[str, dict[str, Any]] = {
    "heading": {"bold": True}, "create": {"fg": "green"}, "update": {"fg": "yellow"}, "delete": {"fg": "red"},
    "unknown": {"fg": "red"}, "error": {"fg": "red", "bold": True}, "dim": {"dim": True},
}
Paint = Callable[[str, str], str]


def colour_wanted(stream: TextIO, *, no_color: bool = False) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR")
    if force:
        return force.lower() not in ("0", "false", "no")
    return stream.isatty()


def plain(text: str, role: str) -> str:
    return text


def styled(text: str, role: str) -> str:
    return click.style(text, **STYLES.get(role, {}))


@dataclass
class Console:
    """The run's terminal choices, from the root options (`--no-color`)."""

    no_color: bool = False

    def colour(self, *, err: bool = False) -> bool:
        return colour_wanted(sys.stderr if err else sys.stdout, no_color=self.no_color)

    def paint(self, *, err: bool = False) -> Paint:
        return styled if self.colour(err=err) else plain

    def echo(self, text: str, *, err: bool = False, nl: bool = True) -> None:
        """Print already painted text (ANSI kept when colour is wanted, even into a pipe)."""
        echo(text, err=err, nl=nl, color=self.colour(err=err))


def console() -> Console:
    context = click.get_current_context(silent=True)
    found = context.find_object(Console) if context is not None else None
    return found or Console()


def echo(text: str = "", *, err: bool = False, nl: bool = True, color: bool | None = None) -> None:
    """Write `text` to stdout (or stderr): the CLI's only way out, so no line of it can begin a workflow
    command or carry `##[` (`escape.log_text`), whoever assembled it."""
    click.echo(log_text(text), err=err, nl=nl, color=color)


class SafeStream(io.TextIOBase):
    """Stdout for the engine to write to itself (the catalog CSV with `--out -`): each write passes
    `escape.log_text`, as `echo` does. A write is taken as beginning a line (the engine writes whole rows)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._stream.write(log_text(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def show_error(error: ProvisionerError) -> None:
    """An expected error on stderr, however it ends the command: its message quotes servers and files, so
    it is escaped line by line and cut (`escape.terminal_lines`); an invalid file's diagnostics one line
    each, then their count."""
    if isinstance(error, ConfigError):
        for diagnostic in error.diagnostics:
            echo(terminal(diagnostic), err=True)
        echo(f"{len(error.diagnostics)} problem(s) found", err=True)
        return
    console().echo(console().paint(err=True)("error:", "error") + f" {terminal_lines(error)}", err=True)


MIN_BAR = 10  # columns the bar itself keeps on a narrow terminal


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else (text[: width - 1] + "…" if width > 1 else "")


def _nothing() -> Iterator[int]:
    yield from ()


class Progress:
    """One progress line for `total` units of work (None: unknown, no ETA), on stderr when it is a
    terminal, else nothing. Use as a context manager; pass `advance` and `waiting` to the engine."""

    def __init__(self, label: str, total: int | None, *, unit: str, hidden: bool = False,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() and not hidden
        self.completed = 0
        self.current = ""
        self._clock = clock
        self._started = clock()
        self._bar: Any = None
        # The bar is drawn from the engine's threads and from the countdown's: one at a time.
        self._lock = threading.RLock()
        self._wait: tuple[float, str] | None = None  # (when it ends on the clock, why)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            # click needs a length or an iterable; one with no length makes the total unknown
            unknown: Iterator[int] | None = iter(_nothing()) if self.total is None else None
            self._bar = click.progressbar(unknown, length=self.total, label=self.label, file=self.stream,
                                          show_pos=True, show_eta=False, item_show_func=self._detail, width=0,
                                          color=colour_wanted(self.stream, no_color=console().no_color))
            self._bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self._bar is not None:
                self._wait = None  # whatever was announced, the run is past it: the last frame says so
                self._bar.label = self._label()
                self._bar.render_progress()
                self._bar.__exit__(kind, error, trace)
                self._bar = None

    def rate(self) -> float:
        elapsed = self._clock() - self._started
        return self.completed / elapsed if elapsed > 0 else 0.0

    def eta(self) -> str:
        """Time left at the rate so far (waits included), plus what is left of a wait under way. (click's
        own ETA keeps a sample a second, so a burst of pages after a long wait left it minutes off.)"""
        rate = self.rate()
        if self.total is None or rate <= 0:
            return ""
        waiting = max(self._wait[0] - self._clock(), 0.0) if self._wait is not None else 0.0
        minutes, seconds = divmod(int(max(self.total - self.completed, 0) / rate + waiting), 60)
        hours, minutes = divmod(minutes, 60)
        return f"ETA {hours}:{minutes:02d}:{seconds:02d}" if hours else f"ETA {minutes}:{seconds:02d}"

    def _room(self) -> int:
        """Columns left for the label and the detail: a line longer than the terminal wraps, and `\\r`
        then rewrites only its last row, leaving the rest as debris. click's line is
        `label  [bar]  pos  detail`; the bar keeps at least MIN_BAR columns."""
        position = f"{self.completed}/{self.total}" if self.total is not None else str(self.completed)
        # click sizes its bar by the same measure (shutil, which honours COLUMNS)
        return shutil.get_terminal_size().columns - 1 - len(position) - 8 - MIN_BAR

    def _detail(self, _: object) -> str:
        parts = (f"{self.rate():.1f} {self.unit}/s", self.eta(), terminal(self.current))
        label = self._bar.label if self._bar is not None else self.label
        return _cut(" ".join(part for part in parts if part), self._room() - len(label))

    def advance(self, steps: int = 1, current: str | None = None) -> None:
        """`steps` more units done; `current`, if given, names what is being worked on now."""
        self.completed += steps
        if current is not None:
            self.current = current
        with self._lock:
            if self._bar is not None:
                self._bar.label = self._label()
                self._bar.update(steps)

    def working_on(self, current: str) -> None:
        """Name what is being worked on now, before it is done."""
        self.current = current
        with self._lock:
            if self._bar is not None:
                self._bar.label = self._label()
                self._bar.render_progress()

    def set_total(self, total: int) -> None:
        self.total = total
        with self._lock:
            if self._bar is not None:
                self._bar.length = total

    def waiting(self, seconds: float, why: str) -> None:
        """The engine's `on_wait`: shown in place of the label, counting down each second, until the wait
        is over. Merchants planned at once wait (and finish) independently: another one finishing does
        not end a wait, and of waits under way the line shows the one that ends last."""
        with self._lock:
            ends = self._clock() + seconds
            if self._wait is None or ends >= self._wait[0]:
                self._wait = (ends, why)
            if self._bar is None:
                return
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._count_down, name="progress-countdown", daemon=True)
                self._ticker.start()
        self.tick()

    def _label(self) -> str:
        if self._wait is not None and self._wait[0] - self._clock() <= 0:
            self._wait = None
        if self._wait is None:
            return _cut(self.label, self._room())
        return _cut(terminal(f"waiting {self._wait[1]} ({self._wait[0] - self._clock():.0f} s)"), self._room())

    def tick(self) -> None:
        """Redraw the line (the countdown of a wait) without any progress."""
        with self._lock:
            if self._bar is not None:
                self._bar.label = self._label()
                self._bar.render_progress()

    def _count_down(self) -> None:
        while not self._stop.wait(1.0):
            if self._wait is not None:
                self.tick()


def note_wait(seconds: float, why: str) -> None:
    """An `on_wait` for commands without a progress line: one line per wait, on a terminal only."""
    if sys.stderr.isatty():
        echo(terminal(f"  … waiting {why} ({seconds:.0f} s)"), err=True)


def example(*commands: str) -> str:
    """A command's help epilog, so that `--help` ends with an example."""
    return "\b\nExample:\n" + "\n".join(f"  {command}" for command in commands)


def confirmer(*, yes: bool = False) -> Callable[[str], bool] | None:
    """How a command asks a yes/no question: always yes (`--yes` and its kin), on a terminal by asking,
    and nowhere else (None: the command then refuses, or leaves the step to a runbook)."""
    if yes:
        return lambda _question: True
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None
    return lambda question: click.confirm(terminal(question), default=False)
