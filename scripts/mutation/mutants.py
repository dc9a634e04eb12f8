"""Mutants of one Python module, made from its syntax tree.

Each mutant is one small change a regression could make (a comparison flipped, `and` for `or`, a
constant changed, a return value dropped, a statement of an `if` skipped ...). It is found on the tree
and written as a minimal edit of the source text (so the rest of the file, comments included, stays as
it was); the edited text is parsed again and must give exactly the mutated tree, so what is reported is
what runs. Docstrings, logging calls, type annotations, `if TYPE_CHECKING:` blocks, `__all__` and lines
marked `# pragma: no mutate` are left alone: no test could or should notice a change there.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

NO_MUTATE = "pragma: no mutate"
_LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}

Undo = Callable[[], None]
_Node = TypeVar("_Node", bound=ast.AST)


@dataclass(frozen=True)
class Edit:
    """Replace source bytes [start, end) (offsets in the UTF-8 text, as the tree's columns are) by `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Mutant:
    path: str
    line: int
    end_line: int
    operator: str
    before: str
    after: str
    edits: tuple[Edit, ...]

    def apply(self, source: str) -> str:
        data = source.encode("utf-8")
        for edit in sorted(self.edits, key=lambda e: e.start, reverse=True):
            data = data[: edit.start] + edit.text.encode("utf-8") + data[edit.end :]
        return data.decode("utf-8")

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def change(self) -> str:
        return f"{_shorten(self.before)} → {_shorten(self.after)}"

    @property
    def lines(self) -> range:
        return range(self.line, self.end_line + 1)


def _shorten(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


_OP_TEXT: dict[type[ast.AST], str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
    ast.And: "and", ast.Or: "or", ast.Add: "+", ast.Sub: "-", ast.BitOr: "|", ast.BitAnd: "&",
}
# Where an operator's token is, in the text between its two operands (which holds only the token,
# blanks, brackets and line continuations); the re-parse check catches anything this misreads.
_OP_PATTERN: dict[type[ast.AST], bytes] = {
    ast.Eq: rb"==", ast.NotEq: rb"!=", ast.Lt: rb"<(?!=)", ast.LtE: rb"<=", ast.Gt: rb">(?!=)", ast.GtE: rb">=",
    ast.In: rb"(?<![\w])in(?![\w])", ast.NotIn: rb"(?<![\w])not\s+in(?![\w])",
    ast.Is: rb"(?<![\w])is(?![\w])", ast.IsNot: rb"(?<![\w])is\s+not(?![\w])",
    ast.And: rb"(?<![\w])and(?![\w])", ast.Or: rb"(?<![\w])or(?![\w])",
    ast.Add: rb"\+", ast.Sub: rb"-", ast.BitOr: rb"\|", ast.BitAnd: rb"&",
}
# Each comparison negated, and the strict ones moved across their boundary (`<` ↔ `<=`).
_COMPARE: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,),
    ast.Lt: (ast.GtE, ast.LtE), ast.LtE: (ast.Gt, ast.Lt), ast.Gt: (ast.LtE, ast.GtE), ast.GtE: (ast.Lt, ast.Gt),
    ast.In: (ast.NotIn,), ast.NotIn: (ast.In,), ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,),
}
_BINARY: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr,
}


@dataclass
class _Candidate:
    node: ast.AST
    operator: str
    before: str
    after: str
    edits: tuple[Edit, ...]
    mutate: Callable[[], Undo]


def _set(target: object, name: str, value: object) -> Undo:
    old = getattr(target, name)
    setattr(target, name, value)
    return lambda: setattr(target, name, old)


def _set_item(items: list[_Node], index: int, value: _Node) -> Undo:
    old = items[index]
    items[index] = value
    return lambda: items.__setitem__(index, old)


def _replace_child(parent: ast.AST, field: str, index: int | None, value: ast.AST) -> Undo:
    if index is None:
        return _set(parent, field, value)
    children = getattr(parent, field)
    assert isinstance(children, list)
    return _set_item(children, index, value)


def _is_docstring(parent: ast.AST, field: str, index: int | None, node: ast.AST) -> bool:
    return (isinstance(parent, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and field == "body" and index == 0 and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))


def _is_logging_call(node: ast.AST) -> bool:
    if isinstance(node, ast.Expr):
        node = node.value
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in _LOG_METHODS):
        return False
    receiver = node.func.value
    name = receiver.id if isinstance(receiver, ast.Name) else \
        receiver.attr if isinstance(receiver, ast.Attribute) else ""
    return "log" in name.lower()


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _is_dunder_all(node: ast.AST) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
        if isinstance(node, ast.AnnAssign | ast.AugAssign) else []
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def _is_string(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


class _Finder:
    def __init__(self, source: str, path: str) -> None:
        self.path = path
        self.data = source.encode("utf-8")
        self.line_starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.candidates: list[_Candidate] = []

    # -- positions ------------------------------------------------------------------------------
    def _start(self, node: ast.AST) -> int:
        return self.line_starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined, no-any-return]

    def _end(self, node: ast.AST) -> int:
        return self.line_starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined, no-any-return]

    def _text(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8")

    def _token(self, start: int, end: int, op: type[ast.AST]) -> Edit | None:
        """The operator `op` between two operands, as an edit of nothing yet (text filled in by the caller)."""
        found = re.search(_OP_PATTERN[op], self.data[start:end])
        return Edit(start + found.start(), start + found.end(), "") if found else None

    def _add(self, node: ast.AST, operator: str, edits: list[Edit], after: str, mutate: Callable[[], Undo],
             before: str | None = None) -> None:
        if not edits:
            return
        shown = before if before is not None else self._text(edits[0].start, edits[0].end)
        self.candidates.append(_Candidate(node, operator, shown, after, tuple(edits), mutate))

    # -- the walk ---------------------------------------------------------------------------------
    def visit(self, node: ast.AST) -> None:
        for field, value in ast.iter_fields(node):
            if self._skip_field(node, field):
                continue
            if isinstance(value, list):
                for index, child in enumerate(value):
                    if isinstance(child, ast.AST) and not self._skip_node(node, field, index, child):
                        self._mutations(child, node, field, index)
                        self.visit(child)
            elif isinstance(value, ast.AST) and not self._skip_node(node, field, None, value):
                self._mutations(value, node, field, None)
                self.visit(value)

    @staticmethod
    def _skip_field(node: ast.AST, field: str) -> bool:
        return (field == "annotation"
                or (field == "returns" and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))
                or (field == "format_spec" and isinstance(node, ast.FormattedValue)))

    @staticmethod
    def _skip_node(parent: ast.AST, field: str, index: int | None, node: ast.AST) -> bool:
        if isinstance(parent, ast.JoinedStr) and isinstance(node, ast.Constant):
            return True  # the literal text of an f-string: its positions are not the source's
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "cast":
            return True  # cast(TYPE, value) only informs the type checker
        return (_is_docstring(parent, field, index, node) or _is_logging_call(node) or _is_type_checking(node)
                or _is_dunder_all(node))

    # -- the operators ----------------------------------------------------------------------------
    def _mutations(self, node: ast.AST, parent: ast.AST, field: str, index: int | None) -> None:
        if isinstance(node, ast.Compare):
            self._compare(node)
        elif isinstance(node, ast.BoolOp):
            self._boolean(node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._not(node, parent, field, index)
        elif isinstance(node, ast.Constant):
            self._constant(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("max", "min"):
            other = "min" if node.func.id == "max" else "max"
            self._add(node, "max-min", [Edit(self._start(node.func), self._end(node.func), other)], other,
                      partial(_set, node.func, "id", other))
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._binary(node, self._end(node.left), self._start(node.right), "")
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BINARY:
            self._binary(node, self._end(node.target), self._start(node.value), "=")
        elif isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            value = node.value
            self._add(node, "return-none", [Edit(self._start(value), self._end(value), "None")], "None",
                      lambda: _set(node, "value", ast.Constant(None)))
        elif isinstance(node, ast.Continue | ast.Break):
            other = "break" if isinstance(node, ast.Continue) else "continue"
            replacement: ast.stmt = ast.Break() if isinstance(node, ast.Continue) else ast.Continue()
            self._add(node, "loop-jump", [Edit(self._start(node), self._end(node), other)], other,
                      lambda: _replace_child(parent, field, index, replacement))
        if isinstance(node, ast.If):
            self._if_body(node)

    def _compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            found = self._token(self._end(operands[i]), self._start(operands[i + 1]), type(op))
            for new in _COMPARE[type(op)]:
                if found is None:
                    continue
                text = _OP_TEXT[new]
                self._add(node, "compare", [Edit(found.start, found.end, text)], text,
                          partial(_set_item, node.ops, i, new()))

    def _boolean(self, node: ast.BoolOp) -> None:
        new: type[ast.boolop] = ast.Or if isinstance(node.op, ast.And) else ast.And
        text = _OP_TEXT[new]
        edits: list[Edit] = []
        for left, right in zip(node.values, node.values[1:], strict=False):
            found = self._token(self._end(left), self._start(right), type(node.op))
            if found is None:
                return
            edits.append(Edit(found.start, found.end, text))
        self._add(node, "and-or", edits, text, lambda: _set(node, "op", new()))

    def _not(self, node: ast.UnaryOp, parent: ast.AST, field: str, index: int | None) -> None:
        start = self._start(node)
        found = re.match(rb"not\s*", self.data[start : self._start(node.operand)])
        if found:
            operand = self._text(self._start(node.operand), self._end(node.operand))
            self._add(node, "not", [Edit(start, start + found.end(), "")], operand, lambda: _replace_child(
                parent, field, index, node.operand), before=self._text(start, self._end(node)))

    def _constant(self, node: ast.Constant) -> None:
        value = node.value
        span = (self._start(node), self._end(node))
        replacements: list[object] = []
        if isinstance(value, bool):
            replacements = [not value]
        elif isinstance(value, int | float) and value == value and value not in (float("inf"), float("-inf")):
            replacements = [value + 1, *([type(value)(0)] if value != 0 else [])]
        elif isinstance(value, str):
            replacements = ["XX" + value + "XX" if value else "X"]
        elif isinstance(value, bytes):
            replacements = [b"XX" + value + b"XX" if value else b"X"]
        written = self._text(*span).lower()
        for new in replacements:
            # An integer is written in the base the source uses (0o600 → 0o601, not 385).
            text = oct(new) if written.startswith("0o") and isinstance(new, int) else \
                hex(new) if written.startswith("0x") and isinstance(new, int) else repr(new)
            self._add(node, "constant", [Edit(*span, text)], text,
                      partial(_set, node, "value", new))

    def _binary(self, node: ast.BinOp | ast.AugAssign, start: int, end: int, suffix: str) -> None:
        operands = [node.left, node.right] if isinstance(node, ast.BinOp) else [node.value]
        if isinstance(node.op, ast.Add | ast.Sub) and any(_is_string(operand) for operand in operands):
            return  # "a" - b is a TypeError, not a regression a test should be written for
        op_type = type(node.op)
        new = _BINARY[op_type]
        found = re.search(_OP_PATTERN[op_type] + re.escape(suffix.encode()), self.data[start:end])
        if found:
            text = _OP_TEXT[new] + suffix
            self._add(node, "arithmetic" if op_type in (ast.Add, ast.Sub) else "set-op",
                      [Edit(start + found.start(), start + found.end(), text)], text,
                      lambda: _set(node, "op", new()))

    def _if_body(self, node: ast.If) -> None:
        for i, statement in enumerate(node.body):
            if isinstance(statement, ast.Pass) or _is_logging_call(statement) or (
                    isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
                continue
            self._add(statement, "if-body-pass", [Edit(self._start(statement), self._end(statement), "pass")],
                      "pass", partial(_set_item, node.body, i, ast.Pass()))


def generate(source: str, path: str) -> list[Mutant]:
    """Every mutant of `source` (the text of the file at `path`), in the order of the file."""
    tree = ast.parse(source)
    finder = _Finder(source, path)
    finder.visit(tree)
    skipped_lines = {number for number, line in enumerate(source.splitlines(), start=1) if NO_MUTATE in line}
    tops = [(_first_line(statement), statement.end_lineno or statement.lineno, statement) for statement in tree.body]
    seen: set[tuple[Edit, ...]] = set()
    mutants: list[Mutant] = []
    for candidate in finder.candidates:
        node = candidate.node
        mutant = Mutant(path, node.lineno, node.end_lineno or node.lineno,  # type: ignore[attr-defined]
                        candidate.operator, candidate.before, candidate.after, candidate.edits)
        if skipped_lines.intersection(mutant.lines) or mutant.edits in seen:
            continue
        top = next((entry for entry in tops if entry[0] <= mutant.line <= entry[1]), None)
        if top is None or not _same_tree(finder, top, candidate):
            continue
        seen.add(mutant.edits)
        mutants.append(mutant)
    return sorted(mutants, key=lambda m: (m.line, m.edits[0].start, m.operator))


def _first_line(statement: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def _same_tree(finder: _Finder, top: tuple[int, int, ast.stmt], candidate: _Candidate) -> bool:
    """The edited text parses to the tree with the mutation applied: the edit is the mutant it claims to be.
    Only the top-level statement holding the edits is compared (the rest of the text is unchanged)."""
    first, last, statement = top
    start, end = finder.line_starts[first - 1], finder.line_starts[last]
    if any(edit.start < start or edit.end > end for edit in candidate.edits):
        return False
    chunk = finder.data[start:end]
    for edit in sorted(candidate.edits, key=lambda e: e.start, reverse=True):
        chunk = chunk[: edit.start - start] + edit.text.encode("utf-8") + chunk[edit.end - start :]
    undo = candidate.mutate()
    try:
        expected = ast.dump(statement)
    finally:
        undo()
    try:
        parsed = ast.parse(chunk.decode("utf-8")).body
    except SyntaxError:
        return False
    return len(parsed) == 1 and ast.dump(parsed[0]) == expected
