"""The mutant generator of `make mutation`: each operator gives the mutants it should, as minimal edits of
the source, and nothing is made of docstrings, logging, annotations, `TYPE_CHECKING`, `__all__` or a
line marked `# pragma: no mutate`."""

from __future__ import annotations

import ast
import textwrap

from scripts.mutation.modules import MODULES
from scripts.mutation.mutants import generate
from tests.conftest import REPO

SAMPLE = textwrap.dedent('''\
    """Docstring: a < b and not c, 1, 'text', return x: none of it is code."""

    from __future__ import annotations

    import logging
    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        from collections.abc import Iterable

    __all__ = ["pick"]
    log = logging.getLogger(__name__)


    def pick(items: Iterable[int], wanted: set[int], extra: set[int], flag: bool = True) -> "list[int]":
        """Docstring of a function: items > 0 or 'x'."""
        log.debug("picking from %s", wanted)
        chosen: list[int] = []
        for item in items:
            if item < 3:
                continue
            if item in wanted and flag:
                break
            if not flag:
                chosen.append(max(item, 0) - 1)
        label = ""
        both = wanted | extra
        if label == "é" or (len(chosen)) > (1):
            label += f"{label}!"
        return chosen if both else [len(label)]


    def unchanged() -> int:
        return 1  # pragma: no mutate
''')

LINES = SAMPLE.splitlines()


def _line(fragment: str) -> int:
    (number,) = [n for n, line in enumerate(LINES, start=1) if fragment in line]
    return number


def _mutants() -> dict[int, set[tuple[str, str, str]]]:
    found: dict[int, set[tuple[str, str, str]]] = {}
    for mutant in generate(SAMPLE, "sample.py"):
        found.setdefault(mutant.line, set()).add((mutant.operator, mutant.before, mutant.after))
    return found


def test_each_operator_gives_its_mutants() -> None:
    assert _mutants() == {
        _line("flag: bool = True"): {("constant", "True", "False")},
        _line("if item < 3"): {("compare", "<", ">="), ("compare", "<", "<="),
                               ("constant", "3", "4"), ("constant", "3", "0")},
        _line("continue"): {("if-body-pass", "continue", "pass"), ("loop-jump", "continue", "break")},
        _line("if item in wanted"): {("compare", "in", "not in"), ("and-or", "and", "or")},
        _line("break"): {("if-body-pass", "break", "pass"), ("loop-jump", "break", "continue")},
        _line("if not flag"): {("not", "not flag", "flag")},
        _line("chosen.append"): {("if-body-pass", "chosen.append(max(item, 0) - 1)", "pass"),
                                 ("max-min", "max", "min"), ("constant", "0", "1"), ("arithmetic", "-", "+"),
                                 ("constant", "1", "2"), ("constant", "1", "0")},
        _line('label = ""'): {("constant", '""', "'X'")},
        _line("wanted | extra"): {("set-op", "|", "&")},
        # Past a non-ASCII character (the tree counts bytes) and through brackets, on the right token.
        _line('label == "é"'): {("compare", "==", "!="), ("constant", '"é"', "'XXéXX'"), ("and-or", "or", "and"),
                                ("compare", ">", "<="), ("compare", ">", ">="),
                                ("constant", "1", "2"), ("constant", "1", "0")},
        # Adding to a string is the only thing `+=` can do there: no `-=` mutant, nor any in the f-string.
        _line('label += f"'): {("if-body-pass", 'label += f"{label}!"', "pass")},
        _line("return chosen"): {("return-none", "chosen if both else [len(label)]", "None")},
    }


def test_a_mutant_edits_its_token_and_nothing_else() -> None:
    by_change = {(m.line, m.before, m.after): m for m in generate(SAMPLE, "sample.py")}
    expected = {
        (_line("if item < 3"), "<", ">="): "        if item >= 3:",
        (_line("if not flag"), "not flag", "flag"): "        if flag:",
        (_line("label == "), ">", "<="): '    if label == "é" or (len(chosen)) <= (1):',
        (_line("label == "), "or", "and"): '    if label == "é" and (len(chosen)) > (1):',
        (_line("chosen.append"), "max", "min"): "            chosen.append(min(item, 0) - 1)",
        (_line("return chosen"), "chosen if both else [len(label)]", "None"): "    return None",
        (_line("continue"), "continue", "pass"): "            pass",
    }
    for (line, before, after), text in expected.items():
        mutated = by_change[(line, before, after)].apply(SAMPLE).splitlines()
        assert mutated[line - 1] == text
        assert mutated[: line - 1] == LINES[: line - 1] and mutated[line:] == LINES[line:]


def test_docstrings_logging_annotations_and_marked_lines_are_left_alone() -> None:
    untouched = [n for n, line in enumerate(LINES, start=1)
                 if '"""' in line or "log." in line or "TYPE_CHECKING" in line or "__all__" in line
                 or "chosen: list[int]" in line or "no mutate" in line]
    assert len(untouched) == 8
    assert not set(_mutants()).intersection(untouched)


def test_every_mutant_of_the_scored_modules_is_valid_python_and_a_change() -> None:
    """Also: each file that modules.py names exists (a module split or moved is renamed there)."""
    for path in MODULES.values():
        source = (REPO / path).read_text(encoding="utf-8")
        mutants = generate(source, path)
        assert mutants, path
        original = ast.dump(ast.parse(source))
        for mutant in mutants[::15]:  # generate() checks each one's statement; here whole files, a sample
            assert ast.dump(ast.parse(mutant.apply(source))) != original, mutant
