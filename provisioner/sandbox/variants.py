"""Schema variants: the emulator serving another Centra version's schema (fields renamed or dropped), so
tests and rehearsals show the client finds its reads by type and names what a target lacks. Set through
`PUT /_sandbox/schema`; kept in the sandbox database so the served and in-process emulators agree."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    GraphQLSchema,
    NameNode,
    Node,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    build_schema,
    parse,
    print_ast,
    validate_schema,
)

from provisioner.sandbox import graphql_api
from provisioner.sandbox.graphql_api import PERMISSIONS, Resolver, sdl

NodeT = TypeVar("NodeT", bound=Node)


@dataclass(frozen=True)
class Variant:
    """Another Centra version's schema, to show the client copes: fields renamed or dropped, keyed
    `Type.field` (e.g. `{"Query.taxGroups": "taxRuleGroups"}`, `["StorePlugin.method"]`)."""

    rename: tuple[tuple[str, str], ...] = ()
    drop: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, text: str | None) -> Variant:
        data = json.loads(text) if text else {}
        return cls(tuple(sorted((data.get("rename") or {}).items())), tuple(sorted(data.get("drop") or ())))

    def name_of(self, type_name: str, field_name: str) -> str | None:
        """The field's name in this variant; None when it is dropped."""
        key = f"{type_name}.{field_name}"
        return None if key in self.drop else dict(self.rename).get(key, field_name)

    def sdl(self, text: str) -> str:
        document = parse(text)
        definitions = []
        for definition in document.definitions:
            if isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
                fields = []
                for node in definition.fields or ():
                    name = self.name_of(definition.name.value, node.name.value)
                    if name is not None:
                        fields.append(_with(node, name=NameNode(value=name)))
                if not fields and isinstance(definition, ObjectTypeExtensionNode):
                    continue  # an extension left empty is no extension at all
                definition = _with(definition, fields=tuple(fields))
            definitions.append(definition)
        return print_ast(type(document)(definitions=tuple(definitions)))

    def check(self) -> None:
        """Raise GraphQLError when the variant's SDL is not a valid schema."""
        errors = validate_schema(build_schema(self.sdl(sdl())))
        if errors:
            raise errors[0]

    def resolvers(self, resolvers: Mapping[str, Mapping[str, Resolver]]) -> dict[str, dict[str, Resolver]]:
        return {type_name: {new: resolve for old, resolve in fields.items()
                            if (new := self.name_of(type_name, old)) is not None}
                for type_name, fields in resolvers.items()}

    def permissions(self) -> dict[tuple[str, str], str]:
        return {(type_name, new): permission for (type_name, old), permission in PERMISSIONS.items()
                if (new := self.name_of(type_name, old)) is not None}


def _with(node: NodeT, **changes: Any) -> NodeT:
    """A copy of an AST node with some attributes replaced (graphql-core's nodes are immutable)."""
    return type(node)(**{**{key: getattr(node, key) for key in node.keys}, **changes})


def build(resolvers: Mapping[str, Mapping[str, Resolver]], variant: Variant) -> GraphQLSchema:
    """The emulator's schema as `variant` changes it, resolvers and permission rules following the names."""
    if variant == Variant():
        return graphql_api.build(resolvers)
    return graphql_api.bind(build_schema(variant.sdl(sdl())), variant.resolvers(resolvers), variant.permissions())
