"""Read the live store: every managed section of one merchant in one request, plus one more per section
the token may not read (asked again without it). A denied section is unknown, never empty.

Sections are found by type, not by name: for each one, the `Query` field of the target that lists the
section's object type (`[TaxGroup!]!` …), read under the name the target gives it. The query is
checked against the target's own schema before it is sent; a section the target cannot answer as the
tool needs (no such field, a field the tool selects is missing) is unknown with the reason, and the
other sections are still read."""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_required_argument,
    validate,
)

from provisioner.centra import operations
from provisioner.centra.client import CentraClient, CentraError, Result, denial
from provisioner.centra.introspection import CACHE, TargetSchema
from provisioner.engine.state.ledger import canonical
from provisioner.resources.base import Kind, Obj

OPERATION = "live_state"  # the one operation a plan sends (its sections found in the target's schema)
STORES = ("stores", "Store")  # every plan needs the store names: (our root field, its object type)


@dataclass(frozen=True)
class Unknown:
    permission: str | None  # None when the target's schema, not the token, is the reason
    message: str

    @property
    def reason(self) -> str:
        return unknown_reason(self.permission, self.message)


def unknown_reason(permission: str | None, message: str | None) -> str:
    """Why a section is unknown: a missing permission, or what the target's schema lacks (raw text: each
    renderer escapes it for its sink)."""
    return f"the token lacks {permission}" if permission else message or "unreadable"


@dataclass
class LiveState:
    stores: dict[int, str]
    objects: dict[str, dict[str, Obj]] = field(default_factory=dict)  # kind -> name -> normalised object
    unknown: dict[str, Unknown] = field(default_factory=dict)  # kind -> why
    app_version: str | None = None
    root_fields: dict[str, str] = field(default_factory=dict)  # kind -> the target's name for its list

    def store_ids(self) -> dict[str, int]:
        return {name: store_id for store_id, name in self.stores.items()}


def fingerprint(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical(value).encode()).hexdigest()


def _selections() -> dict[str, FieldNode]:
    """live_state.graphql's root fields by name: what each section selects."""
    document = operations.parsed(OPERATION)  # each section is validated against the target's schema
    op = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return {s.name.value: s for s in op.selection_set.selections if isinstance(s, FieldNode)}


def _lists(field_type: GraphQLOutputType, type_name: str) -> bool:
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    return isinstance(inner, GraphQLList) and get_named_type(inner).name == type_name


def list_field(schema: GraphQLSchema, type_name: str, preferred: str) -> tuple[str | None, str]:
    """The target's Query field listing `type_name` with no required argument, or why there is none."""
    query = schema.query_type
    candidates = sorted(name for name, query_field in (query.fields.items() if query else ())
                        if _lists(query_field.type, type_name)
                        and not any(is_required_argument(a) for a in query_field.args.values()))
    if preferred in candidates or len(candidates) == 1:
        return (preferred if preferred in candidates else candidates[0]), ""
    if not candidates:
        return None, f"the target's schema has no Query field listing {type_name}"
    return None, f"several Query fields of the target list {type_name} ({', '.join(candidates)})"


def _document(fields: list[FieldNode]) -> DocumentNode:
    return DocumentNode(definitions=(OperationDefinitionNode(
        operation=OperationType.QUERY, name=NameNode(value="LiveState"), variable_definitions=(), directives=(),
        selection_set=SelectionSetNode(selections=tuple(fields))),))


_Checked = tuple[FieldNode | None, str, str]


class _PerSchema:
    """What read() works out from a target's schema alone, kept for as long as the schema lives: hosts on
    one Centra version share one schema object (introspection caches schemas by content), so a fleet
    checks each section against it once, not once per merchant."""

    def __init__(self) -> None:
        self._checked: weakref.WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], tuple[FieldNode, _Checked]]]
        self._checked = weakref.WeakKeyDictionary()
        self._documents: weakref.WeakKeyDictionary[GraphQLSchema, dict[tuple[int, ...],
                                                                       tuple[tuple[FieldNode, ...], DocumentNode]]]
        self._documents = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def section_field(self, schema: GraphQLSchema, ours: FieldNode, type_name: str) -> _Checked:
        key = (ours.name.value, type_name)
        # Checked under the lock: a fleet's first merchants arrive together, and each would validate
        # every section itself (a few ms each) before any of them had kept the answer.
        with self._lock:
            known = self._checked.get(schema, {}).get(key)
            if known is None or known[0] is not ours:
                known = (ours, _section_field(schema, ours, type_name))
                self._checked.setdefault(schema, {})[key] = known
            return known[1]

    def document(self, schema: GraphQLSchema, fields: list[FieldNode]) -> DocumentNode:
        """The read for these sections: one document object per schema and set of checked sections, so
        merchants on one Centra version send the same object (its text is printed once, by identity)."""
        key = tuple(id(node) for node in fields)
        with self._lock:
            built = self._documents.setdefault(schema, {}).get(key)
            if built is None or any(a is not b for a, b in zip(built[0], fields, strict=True)):
                built = (tuple(fields), _document(fields))
                self._documents[schema][key] = built
            return built[1]


_PER_SCHEMA = _PerSchema()


def _section_field(schema: GraphQLSchema, ours: FieldNode, type_name: str) -> _Checked:
    """Our selection under the target's name (aliased back to ours), checked against its schema."""
    name, why = list_field(schema, type_name, ours.name.value)
    if name is None:
        return None, "", why
    node = FieldNode(alias=NameNode(value=ours.name.value), name=NameNode(value=name), arguments=ours.arguments,
                     directives=(), selection_set=ours.selection_set)
    errors = validate(schema, _document([node]))
    if errors:
        return None, name, f"the target's schema does not have what the tool reads: {errors[0].message}"
    return node, name, ""


def read(client: CentraClient, kinds: list[Kind], managed: set[str], schema: GraphQLSchema) -> LiveState:
    selections = _selections()
    stores_field, _, why = _PER_SCHEMA.section_field(schema, selections[STORES[0]], STORES[1])
    if stores_field is None:
        raise CentraError(f"cannot read the stores: {why}")
    by_alias: dict[str, Kind] = {}
    fields: list[FieldNode] = [stores_field]
    unknown: dict[str, Unknown] = {}
    root_fields: dict[str, str] = {}
    for kind in kinds:
        if kind.kind not in managed:
            continue
        node, name, why = _PER_SCHEMA.section_field(schema, selections[kind.root_field], kind.object_type)
        if node is None:
            unknown[kind.kind] = Unknown(None, why)
            continue
        by_alias[kind.root_field] = kind
        root_fields[kind.kind] = name
        fields.append(node)
    # A denied non-null root field nulls the whole answer, and execution stops at the first one, so
    # each denied section costs one more request: one in all when every section is readable.
    while True:
        result = client.execute(_PER_SCHEMA.document(schema, fields), label="live_state", allow_errors=True)
        if not result.errors:
            break
        for error in result.errors:
            path = error.get("path") or []
            category = (error.get("extensions") or {}).get("category")
            denied = by_alias.get(str(path[0])) if path else None
            if category != "authorization" or denied is None or denied.kind in unknown:
                raise denial(error) if category == "authorization" else CentraError(
                    f"reading the live store: {error.get('message')}")
            unknown[denied.kind] = Unknown(denial(error).permission, str(error.get("message")))
            fields = [f for f in fields if (f.alias or f.name).value != denied.root_field]
    stores = {s["id"]: s["name"] for s in result.data["stores"]}
    state = LiveState(stores, unknown=unknown, app_version=_version(result.extensions), root_fields=root_fields)
    for kind in kinds:
        if kind.kind in managed and kind.kind not in unknown:
            state.objects[kind.kind] = kind.live(result.data, stores)
    return state


def _version(extensions: dict[str, Any] | None) -> str | None:
    version = (extensions or {}).get("appVersion")
    return str(version) if version is not None else None


def run_listing(client: CentraClient, name: str, type_name: str, *, allow_errors: bool = False) -> Result:
    """Run the operation `name`, whose one root field lists `type_name`, under the name the target's own
    schema gives that list (the response key stays ours)."""
    document = operations.load(name)
    op = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    ours = op.selection_set.selections[0]
    assert isinstance(ours, FieldNode)
    found, why = list_field(CACHE.get(client).schema, type_name, ours.name.value)
    if found is None:
        raise CentraError(f"{name}: {why}")
    return client.execute(operations.with_root_field(document, found), label=name, allow_errors=allow_errors)


def read_current(client: CentraClient, kinds: list[Kind], managed: set[str]) -> tuple[LiveState, TargetSchema]:
    """Read with the target's schema from the cache. When a cached schema no longer fits (the target
    reports another `appVersion`, or refuses the query built from it), introspect again, once, and
    read again with the new schema."""
    before = client.requests
    target = CACHE.get(client)
    if client.requests > before:  # introspected just now: it fits
        return read(client, kinds, managed, target.schema), target
    try:
        state = read(client, kinds, managed, target.schema)
    except CentraError:
        state = None
    if state is not None and state.app_version == target.app_version:
        return state, target
    target = CACHE.refresh(client, target)
    return read(client, kinds, managed, target.schema), target
