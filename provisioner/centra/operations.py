"""The client's GraphQL operations: one `.graphql` file each, validated against `schema.graphql`.

graphql-core is imported when a document is first parsed, built or printed, not with this module: a plan
whose target's schema is cached sends its read as plain text (`prepared.py`) and never needs it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from provisioner.centra.prepared import Entry, Prepared, Shape
from provisioner.errors import ProvisionerError

if TYPE_CHECKING:
    from graphql import DocumentNode, FieldNode, FragmentDefinitionNode, GraphQLSchema, SelectionSetNode


def schema_text() -> str:
    return resources.files("provisioner.centra").joinpath("schema.graphql").read_text(encoding="utf-8")


_BUILDING = threading.RLock()  # a fleet's threads reach their first write together: one builds, the rest wait


@cache
def _schema() -> GraphQLSchema:
    from graphql import build_schema

    return build_schema(schema_text())


def schema() -> GraphQLSchema:
    """schema.graphql, built once per process (not once per thread that asks at the same moment)."""
    with _BUILDING:
        return _schema()


def names() -> list[str]:
    folder = resources.files("provisioner.centra").joinpath("operations")
    return sorted(p.name.removesuffix(".graphql") for p in folder.iterdir() if p.name.endswith(".graphql"))


def source(name: str) -> str:
    """An operation's text as written in its file."""
    return resources.files("provisioner.centra").joinpath("operations", f"{name}.graphql").read_text(
        encoding="utf-8")


@cache
def parsed(name: str) -> DocumentNode:
    """An operation, parsed but not validated against schema.graphql: for a caller that validates what it
    sends against the target's own schema (the live read, section by section), building the bundled
    schema only to check the same thing would cost every run ~50 ms."""
    from graphql import parse

    return parse(source(name))


def load(name: str) -> DocumentNode:
    """Parse and validate an operation; a mismatch with the SDL is a bug, caught before any request.
    Once per process: threads that ask at the same moment wait for the first one's answer."""
    with _BUILDING:
        return _load(name)


@cache
def _load(name: str) -> DocumentNode:
    from graphql import validate

    document = parsed(name)
    errors = validate(schema(), document)
    if errors:
        raise ProvisionerError(f"operation {name}.graphql does not match schema.graphql: {errors[0].message}")
    return document


def renamed(name: str, root_field: str) -> Prepared:
    """The operation `name` with its root field under the name the target gives it (`with_root_field`), as
    sent: printed and its shape worked out once per process for each (name, root field)."""
    with _BUILDING:
        return _renamed(name, root_field)


@cache
def _renamed(name: str, root_field: str) -> Prepared:
    return _prepare(with_root_field(load(name), root_field))


def with_root_field(document: DocumentNode, name: str) -> DocumentNode:
    """The operation with its root field renamed to what the target's introspection calls it."""
    from graphql import DocumentNode, FieldNode, NameNode, OperationDefinitionNode

    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    root = operation.selection_set.selections[0]
    if not isinstance(root, FieldNode) or root.name.value == name:
        return document
    renamed = FieldNode(alias=root.alias or NameNode(value=root.name.value), name=NameNode(value=name),
                        arguments=root.arguments, directives=root.directives, selection_set=root.selection_set)
    new_operation = OperationDefinitionNode(
        operation=operation.operation, name=operation.name, variable_definitions=operation.variable_definitions,
        directives=operation.directives,
        selection_set=type(operation.selection_set)(selections=(renamed, *operation.selection_set.selections[1:])))
    return DocumentNode(definitions=tuple(new_operation if d is operation else d for d in document.definitions))


def prefix(index: int) -> str:
    """What the variables of the `index`th of several mutations sent together begin with (`together`)."""
    return f"w{index}_"


def together(parts: tuple[tuple[str, str], ...]) -> Prepared:
    """Several mutations in one request: each (operation file, each file once; the target's name for its
    root field) as that operation's root field, in order, its variables prefixed `prefix(index)`, its answer
    under the same key as alone (the shape's `index`th entry). GraphQL runs a mutation's root fields one
    after another, in order; each answers, or fails, on its own. Printed and its shape worked out once per
    process for each list of parts."""
    if len({name for name, _ in parts}) < len(parts):
        raise ValueError("each operation once: each one's answer is under its own key")
    with _BUILDING:
        return _together(parts)


@cache
def _together(parts: tuple[tuple[str, str], ...]) -> Prepared:
    from graphql import (
        DocumentNode,
        FieldNode,
        NameNode,
        OperationDefinitionNode,
        OperationType,
        SelectionSetNode,
        VariableNode,
        Visitor,
        print_ast,
        visit,
    )

    class _Prefixed(Visitor):
        def __init__(self, prefix: str) -> None:
            super().__init__()
            self.prefix = prefix

        def enter_variable(self, node: VariableNode, *_: object) -> VariableNode:
            return VariableNode(name=NameNode(value=self.prefix + node.name.value))

    definitions, fields, names = [], [], []
    for index, (name, root_field) in enumerate(parts):
        operation = next(d for d in with_root_field(load(name), root_field).definitions
                         if isinstance(d, OperationDefinitionNode))
        root = operation.selection_set.selections[0]
        assert isinstance(root, FieldNode) and operation.operation == OperationType.MUTATION, name
        prefixed = _Prefixed(prefix(index))
        definitions += [visit(d, prefixed) for d in operation.variable_definitions or ()]
        fields.append(visit(root, prefixed))
        names.append(operation.name.value if operation.name else root_field)
    selections = SelectionSetNode(selections=tuple(fields))
    document = DocumentNode(definitions=(OperationDefinitionNode(
        operation=OperationType.MUTATION, name=NameNode(value="_".join(names)),
        variable_definitions=tuple(definitions), directives=(), selection_set=selections),))
    return Prepared(print_ast(document), shape_of(selections, {}), mutation=True, root_field=parts[0][1],
                    root_fields=tuple(field for _, field in parts))


class _PreparedByIdentity:
    """Documents as sent (`Prepared`: printed once, their shape worked out once), per document object. Keyed
    by identity, not by the document: a graphql-core node hashes by walking its whole tree on every call,
    which cost more than printing. The documents a run sends are few and long-lived (loaded operations,
    the introspection query), so identity finds them; a document seen once is prepared once."""

    def __init__(self, size: int = 64) -> None:
        self._known: OrderedDict[int, tuple[DocumentNode, Prepared]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __call__(self, document: DocumentNode) -> Prepared:
        with self._lock:
            known = self._known.get(id(document))
        if known is not None and known[0] is document:
            return known[1]
        made = _prepare(document)
        with self._lock:
            self._known[id(document)] = (document, made)  # the document is kept, so its id is not reused
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return made


prepared = _PreparedByIdentity()


def _prepare(document: DocumentNode) -> Prepared:
    from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, OperationType, print_ast

    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = operation.selection_set.selections[0] if operation.selection_set.selections else None
    return Prepared(print_ast(document), shape_of(operation.selection_set, fragments),
                    mutation=operation.operation == OperationType.MUTATION,
                    root_field=root.name.value if isinstance(root, FieldNode) else "")


def field_shape(field: FieldNode) -> Shape:
    """The shape of one root field (no fragments: the live read's sections have none)."""
    return shape_of(_selection_set(field), {})


def _selection_set(field: FieldNode) -> SelectionSetNode:
    from graphql import SelectionSetNode

    return SelectionSetNode(selections=(field,))


def shape_of(selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], depth: int = 0) -> Shape:
    """What `replies` checks an answer against: each field by its response key (required unless a directive
    may leave it out), each fragment's fields on the same object (required only for an inline fragment
    with neither type condition nor directive). Fragments nest at most MAX_DEPTH deep (a cycle is invalid
    GraphQL, never sent; this only keeps the walk bounded)."""
    from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

    from provisioner.centra.prepared import MAX_DEPTH

    entries: list[Entry] = []
    if depth > MAX_DEPTH:
        return ()
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            sub = None if selection.selection_set is None else shape_of(selection.selection_set, fragments,
                                                                         depth + 1)
            entries.append(((selection.alias or selection.name).value, not selection.directives, sub))
        elif isinstance(selection, InlineFragmentNode):
            entries.append((None, selection.type_condition is None and not selection.directives,
                            shape_of(selection.selection_set, fragments, depth + 1)))
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            entries.append((None, False, shape_of(fragments[selection.name.value].selection_set, fragments,
                                                  depth + 1)))
    return tuple(entries)
