"""The client's GraphQL operations: one `.graphql` file each, validated against `schema.graphql`."""

from __future__ import annotations

from functools import cache
from importlib import resources

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    build_schema,
    parse,
    validate,
)

from provisioner.errors import ProvisionerError


def schema_text() -> str:
    return resources.files("provisioner.centra").joinpath("schema.graphql").read_text(encoding="utf-8")


@cache
def schema() -> GraphQLSchema:
    return build_schema(schema_text())


def names() -> list[str]:
    folder = resources.files("provisioner.centra").joinpath("operations")
    return sorted(p.name.removesuffix(".graphql") for p in folder.iterdir() if p.name.endswith(".graphql"))


@cache
def parsed(name: str) -> DocumentNode:
    """An operation, parsed but not validated against schema.graphql: for a caller that validates what it
    sends against the target's own schema (the live read, section by section), building the bundled
    schema only to check the same thing would cost every run ~50 ms."""
    source = resources.files("provisioner.centra").joinpath("operations", f"{name}.graphql").read_text(
        encoding="utf-8")
    return parse(source)


@cache
def load(name: str) -> DocumentNode:
    """Parse and validate an operation; a mismatch with the SDL is a bug, caught before any request."""
    document = parsed(name)
    errors = validate(schema(), document)
    if errors:
        raise ProvisionerError(f"operation {name}.graphql does not match schema.graphql: {errors[0].message}")
    return document


def with_root_field(document: DocumentNode, name: str) -> DocumentNode:
    """The operation with its root field renamed to what the target's introspection calls it."""
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
