"""`python -m scripts.mutation` (`make mutation`): the mutation score of the modules that guard safety.

Exit status: 0 when the run completed (a low score is information, not an error), 1 when `--fail-under`
is given and a module scores below it, 2 when the runner itself failed, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from scripts.mutation.execute import RunnerError
from scripts.mutation.modules import MODULES
from scripts.mutation.mutants import generate
from scripts.mutation.report import as_json, text
from scripts.mutation.runner import Settings, run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.mutation", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", nargs="+", metavar="NAME",
                        help="modules of scripts/mutation/modules.py to score, by name, glob (centra/*) or path "
                             "(default: all of them)")
    parser.add_argument("--path", action="append", default=[], metavar="FILE",
                        help="score this Python file (relative to --root) as well; repeatable")
    parser.add_argument("--max-mutants", type=int, metavar="N", help="score a random sample of N mutants per module")
    parser.add_argument("--seed", type=int, default=0, help="seed of that sample (default 0: the same sample each run)")
    parser.add_argument("--workers", type=int, default=2, help="pytest runs at once (default 2)")
    parser.add_argument("--timeout-factor", type=float, default=3.0, metavar="F",
                        help="a mutant's run may take F times its tests' normal time, plus 30 s (default 3)")
    parser.add_argument("--tests", action="append", default=[], metavar="PATH",
                        help="tests to measure and run (default: the project's pytest testpaths); repeatable")
    parser.add_argument("--whole-suite", action="store_true",
                        help="run each survivor again against the whole suite (slow: a full run each)")
    parser.add_argument("--baseline", action="store_true",
                        help="before a module's mutants, run its tests once without mutant in a worker's copy and "
                             "leave out those that fail (by default: those that failed while coverage was measured)")
    parser.add_argument("--fail-under", type=float, metavar="PERCENT",
                        help="exit 1 when a module's score is below PERCENT")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--list", action="store_true", help="list the modules and their mutants' count; run nothing")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the project (default: the current directory)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "provisioner-mutation",
                        help="where per-test coverage is kept, keyed by the project's content (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="measure coverage again even if it is cached")
    return parser


def select(patterns: list[str] | None, paths: list[str]) -> dict[str, str]:
    if patterns is None and paths:
        chosen: dict[str, str] = {}
    elif patterns is None:
        chosen = dict(MODULES)
    else:
        chosen = {}
        for pattern in patterns:
            found = {name: path for name, path in MODULES.items()
                     if fnmatch.fnmatchcase(name, pattern) or path == pattern}
            if not found:
                raise RunnerError(f"no module named {pattern!r}; the modules are: {', '.join(MODULES)}")
            chosen.update(found)
    chosen.update({path: path for path in paths})
    return chosen


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals() -> Iterator[None]:
    """Started in the background by a shell (`make mutation &`, nohup, some CI runners), a process has SIGINT
    and SIGQUIT ignored, and so would every test run it starts: a test that stops a server with SIGINT then
    waits forever. Handled here, they are back to their defaults in each child. SIGTERM ends the runner
    like Ctrl-C: the test runs it started are ended and its copies removed. The caller's handlers are put
    back after."""
    wanted: dict[signal.Signals, Callable[[int, FrameType | None], Any] | int] = {
        signal.SIGINT: signal.default_int_handler, signal.SIGQUIT: signal.SIG_DFL, signal.SIGTERM: _interrupt}
    previous = {number: signal.signal(number, handler) for number, handler in wanted.items()}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        modules = select(options.modules, options.path)
        root = options.root.resolve()
        if options.list:
            for name, path in modules.items():
                source = (root / path).read_text(encoding="utf-8")
                print(f"{name:<20} {path:<45} {len(generate(source, path)):>4} mutants")
            return 0
        settings = Settings(root=root, modules=modules, workers=max(1, options.workers),
                            max_mutants=options.max_mutants, seed=options.seed, timeout_factor=options.timeout_factor,
                            pytest_args=options.tests, whole_suite=options.whole_suite, baseline=options.baseline,
                            cache_dir=None if options.no_cache else options.cache_dir,
                            also_measure=[path for path in MODULES.values() if (root / path).is_file()])
        with _signals():
            results = run(settings, progress)
    except RunnerError as error:
        print(f"mutation: {error}", file=sys.stderr)
        return 2
    except (OSError, SyntaxError) as error:
        print(f"mutation: {error}", file=sys.stderr)
        return 2
    except Exception:  # a bug of the runner: its traceback, and the status that says the runner failed
        traceback.print_exc()
        return 2
    except KeyboardInterrupt:
        print("mutation: interrupted", file=sys.stderr)
        return 130
    print(text(results))
    if options.json:
        options.json.write_text(as_json(results) + "\n", encoding="utf-8")
    if options.fail_under is not None:
        low = [m for m in results if m.score < options.fail_under]
        if low:
            print(f"\nBelow {options.fail_under:g} %: " + ", ".join(f"{m.name} ({m.score:.1f} %)" for m in low))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
