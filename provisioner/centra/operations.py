"""The client's GraphQL operations: one `.graphql` file each, validated against `schema.graphql`."""

from __future__ import annotations

from functools import cache
from importlib import resources

from graphql import DocumentNode, GraphQLSchema, build_schema, parse, validate

from provisioner.errors import ProvisionerError


@cache
def schema() -> GraphQLSchema:
    return build_schema(resources.files("provisioner.centra").joinpath("schema.graphql").read_text(encoding="utf-8"))


def names() -> list[str]:
    folder = resources.files("provisioner.centra").joinpath("operations")
    return sorted(p.name.removesuffix(".graphql") for p in folder.iterdir() if p.name.endswith(".graphql"))


@cache
def load(name: str) -> DocumentNode:
    """Parse and validate an operation; a mismatch with the SDL is a bug, caught before any request."""
    source = resources.files("provisioner.centra").joinpath("operations", f"{name}.graphql").read_text(
        encoding="utf-8")
    document = parse(source)
    errors = validate(schema(), document)
    if errors:
        raise ProvisionerError(f"operation {name}.graphql does not match schema.graphql: {errors[0].message}")
    return document
