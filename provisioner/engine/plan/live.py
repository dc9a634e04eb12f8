"""Read the live store: every managed section of one merchant in one request, plus one more per section
the token may not read (asked again without it). A denied section is unknown, never empty.

Sections are found by type, not by name: for each one, the `Query` field of the target that lists the
section's object type (`[TaxGroup!]!` …), read under the name the target gives it. The query is
checked against the target's own schema before it is sent; a section the target cannot answer as the
tool needs (no such field, a field the tool selects is missing) is unknown with the reason, and the
other sections are still read.

What each section's check found (the target's name for it, or why it cannot be read; the field's text
and shape as sent) is a fact of the target's schema, kept as plain JSON with its introspection
(`schema_store.Facts`): a plan whose target's schema is cached puts its read together from those and
never builds the schema nor imports graphql-core. Checked or read back, the same request is sent."""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from provisioner.centra import operations, prepared
from provisioner.centra.client import CentraClient, CentraError, Result, denial
from provisioner.centra.introspection import CACHE, Facts, TargetSchema
from provisioner.engine.state.ledger import canonical
from provisioner.resources.base import Kind, Obj

if TYPE_CHECKING:
    from graphql import DocumentNode, FieldNode, GraphQLOutputType, GraphQLSchema

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
    return fingerprint_of(canonical(value))


def fingerprint_of(text: str) -> str:
    """The fingerprint of a value whose canonical JSON is `text`."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _selections() -> dict[str, FieldNode]:
    """live_state.graphql's root fields by name: what each section selects."""
    from graphql import FieldNode, OperationDefinitionNode

    document = operations.parsed(OPERATION)  # each section is validated against the target's schema
    op = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return {s.name.value: s for s in op.selection_set.selections if isinstance(s, FieldNode)}


def _lists(field_type: GraphQLOutputType, type_name: str) -> bool:
    from graphql import GraphQLList, GraphQLNonNull, get_named_type

    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    return isinstance(inner, GraphQLList) and get_named_type(inner).name == type_name


def list_field(schema: GraphQLSchema, type_name: str, preferred: str) -> tuple[str | None, str]:
    """The target's Query field listing `type_name` with no required argument, or why there is none."""
    from graphql import is_required_argument

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
    from graphql import DocumentNode, NameNode, OperationDefinitionNode, OperationType, SelectionSetNode

    return DocumentNode(definitions=(OperationDefinitionNode(
        operation=OperationType.QUERY, name=NameNode(value="LiveState"), variable_definitions=(), directives=(),
        selection_set=SelectionSetNode(selections=tuple(fields))),))


@dataclass(frozen=True)
class Section:
    """What the target's schema says of one section: the name of the Query field that lists it, and the
    field as sent (`text`, aliased back to our name) with its `shape`; or, if it cannot be read, why."""

    name: str
    why: str
    text: str | None = None
    shape: prepared.Shape = ()


def _section_field(schema: GraphQLSchema, ours: FieldNode, type_name: str) -> tuple[FieldNode | None, str, str]:
    """Our selection under the target's name (aliased back to ours), checked against its schema."""
    from graphql import FieldNode, NameNode, validate

    name, why = list_field(schema, type_name, ours.name.value)
    if name is None:
        return None, "", why
    node = FieldNode(alias=NameNode(value=ours.name.value), name=NameNode(value=name), arguments=ours.arguments,
                     directives=(), selection_set=ours.selection_set)
    errors = validate(schema, _document([node]))
    if errors:
        return None, name, f"the target's schema does not have what the tool reads: {errors[0].message}"
    return node, name, ""


def _checked(target: TargetSchema, ours: str, type_name: str) -> dict[str, Any]:
    """A section checked against the target's built schema, as the fact kept for it."""
    from graphql import print_ast

    node, name, why = _section_field(target.schema, _selections()[ours], type_name)
    if node is None:
        return {"name": name, "why": why, "text": None, "shape": None}
    return {"name": name, "why": "", "text": print_ast(node),
            "shape": prepared.to_json(operations.field_shape(node))}


def _section(value: Any) -> Section:
    """A section's fact as kept; ValueError for anything else."""
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not isinstance(value.get("why"), str):
        raise ValueError("not a section")
    text = value.get("text")
    if text is None:
        if not value["why"]:
            raise ValueError("a section neither readable nor unreadable")
        return Section(value["name"], value["why"])
    if not isinstance(text, str):
        raise ValueError("not a section")
    return Section(value["name"], "", text, prepared.from_json(value.get("shape")))


@cache
def _facts_key() -> str:
    """Section facts are keyed by the read's file too: another version's selections are checked again."""
    return "section:" + hashlib.sha256(operations.source(OPERATION).encode()).hexdigest()[:16]


class _PerSchema:
    """What read() works out from a target's schema alone, kept for as long as the schema's facts live:
    hosts on one Centra version share them (introspection caches schemas by content), so a fleet reads
    or checks each section once, not once per merchant, and sends one request object per set of sections."""

    def __init__(self) -> None:
        self._sections: weakref.WeakKeyDictionary[Facts, dict[tuple[str, str], Section]]
        self._sections = weakref.WeakKeyDictionary()
        self._reads: weakref.WeakKeyDictionary[Facts, dict[tuple[str, ...], prepared.Prepared]]
        self._reads = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def section(self, target: TargetSchema, ours: str, type_name: str) -> Section:
        facts = CACHE.facts(target)
        key = (ours, type_name)
        # Under the lock: a fleet's first merchants arrive together, and each would check every section
        # itself (a few ms each) before any of them had kept the answer.
        with self._lock:
            known = self._sections.setdefault(facts, {}).get(key)
            if known is None:
                fact = f"{_facts_key()}:{ours}:{type_name}"
                try:
                    known = _section(facts.get(fact, lambda: _checked(target, ours, type_name)))
                except ValueError:  # a facts file that says something else: checked again, and kept
                    facts.replace(fact, _checked(target, ours, type_name))
                    known = _section(facts.get(fact, lambda: None))
                self._sections[facts][key] = known
            return known

    def read(self, target: TargetSchema, sections: list[tuple[str, Section]]) -> prepared.Prepared:
        """The read of these sections: one object per schema and set of sections, so merchants on one
        Centra version send the same object."""
        facts = CACHE.facts(target)
        key = tuple(alias for alias, _ in sections)
        with self._lock:
            built = self._reads.setdefault(facts, {}).get(key)
            if built is None:
                built = prepared.read_query("LiveState", [(str(s.text), s.shape) for _, s in sections])
                self._reads[facts][key] = built
            return built


_PER_SCHEMA = _PerSchema()


def read(client: CentraClient, kinds: list[Kind], managed: set[str], target: TargetSchema) -> LiveState:
    stores = _PER_SCHEMA.section(target, *STORES)
    if stores.text is None:
        raise CentraError(f"cannot read the stores: {stores.why}")
    by_alias: dict[str, Kind] = {}
    sections: list[tuple[str, Section]] = [(STORES[0], stores)]
    unknown: dict[str, Unknown] = {}
    root_fields: dict[str, str] = {}
    for kind in kinds:
        if kind.kind not in managed:
            continue
        section = _PER_SCHEMA.section(target, kind.root_field, kind.object_type)
        if section.text is None:
            unknown[kind.kind] = Unknown(None, section.why)
            continue
        by_alias[kind.root_field] = kind
        root_fields[kind.kind] = section.name
        sections.append((kind.root_field, section))
    # A denied non-null root field nulls the whole answer, and execution stops at the first one, so
    # each denied section costs one more request: one in all when every section is readable.
    while True:
        result = client.send(_PER_SCHEMA.read(target, sections), label="live_state", allow_errors=True)
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
            sections = [(alias, s) for alias, s in sections if alias != denied.root_field]
    stores_read = {s["id"]: s["name"] for s in result.data["stores"]}
    state = LiveState(stores_read, unknown=unknown, app_version=_version(result.extensions), root_fields=root_fields)
    for kind in kinds:
        if kind.kind in managed and kind.kind not in unknown:
            state.objects[kind.kind] = kind.live(result.data, stores_read)
    return state


def _version(extensions: dict[str, Any] | None) -> str | None:
    version = (extensions or {}).get("appVersion")
    return str(version) if version is not None else None


def run_listing(client: CentraClient, name: str, type_name: str, *, allow_errors: bool = False) -> Result:
    """Run the operation `name`, whose one root field lists `type_name`, under the name the target's own
    schema gives that list (the response key stays ours)."""
    from graphql import FieldNode, OperationDefinitionNode

    document = operations.load(name)
    op = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    ours = op.selection_set.selections[0]
    assert isinstance(ours, FieldNode)
    found, why = list_field(CACHE.get(client).schema, type_name, ours.name.value)
    if found is None:
        raise CentraError(f"{name}: {why}")
    return client.send(operations.renamed(name, found), label=name, allow_errors=allow_errors)


def read_current(client: CentraClient, kinds: list[Kind], managed: set[str]) -> tuple[LiveState, TargetSchema]:
    """Read with the target's schema from the cache. When a cached schema no longer fits (the target
    reports another `appVersion`, or refuses the query built from it), introspect again, once, and
    read again with the new schema."""
    before = client.requests
    target = CACHE.get(client)
    if client.requests > before:  # introspected just now: it fits
        return read(client, kinds, managed, target), target
    try:
        state = read(client, kinds, managed, target)
    except CentraError:
        state = None
    if state is not None and state.app_version == target.app_version:
        return state, target
    target = CACHE.refresh(client, target)
    return read(client, kinds, managed, target), target
