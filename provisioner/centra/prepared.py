"""An operation ready to send, in plain data: its text, whether it is a mutation, its first root field, and
the shape of the data its selections give (what `replies` checks an answer against). No graphql-core here:
a document is turned into one where it is parsed (`operations.prepared`), and the live read of a target
whose schema is cached is put together from the cached texts and shapes of its sections
(`schema_store`'s facts), so a warm plan never imports graphql-core.

A shape is a tuple of entries `(key, required, sub)`:
- a field: `key` is its response key (alias or name); `required` is False when a directive
  (@include/@skip) may leave it out; `sub` is the shape of its selections, or None for a leaf;
- a fragment (inline or spread): `key` is None; `required` is False when its fields may be absent (a
  type condition, a directive, a named fragment); `sub` is its selections' shape, read on the same object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioner.centra.retries import IDEMPOTENT_WRITES

Entry = tuple[str | None, bool, "Shape | None"]
Shape = tuple[Entry, ...]

MAX_DEPTH = 64  # of nested selections read back from a cache file; deeper is not ours


@dataclass(frozen=True, eq=False)
class Prepared:
    """Kept by identity: an answer checked against one object is found again only for that object."""

    text: str
    shape: Shape
    mutation: bool = False
    root_field: str = ""
    # Every root field, when there are several (writes sent together, `operations.together`).
    root_fields: tuple[str, ...] = ()

    @property
    def idempotent(self) -> bool:
        """Queries, and the writes that may be sent twice (`set*`, `update*`, `unset*`, `revoke*`): all of
        them, when several go in one request."""
        return not self.mutation or all(f.startswith(IDEMPOTENT_WRITES) for f in self.root_fields or (self.root_field,))


def read_query(name: str, fields: list[tuple[str, Shape]]) -> Prepared:
    """A query of these root fields (each as printed, with its shape), as graphql-core prints a document."""
    body = "\n".join("  " + line for text, _ in fields for line in text.splitlines())
    first = fields[0][1][0][0] if fields and fields[0][1] else ""
    return Prepared(f"query {name} {{\n{body}\n}}", tuple(entry for _, shape in fields for entry in shape),
                    root_field=first or "")


def to_json(shape: Shape) -> list[Any]:
    return [[key, required, None if sub is None else to_json(sub)] for key, required, sub in shape]


def from_json(value: Any, depth: int = 0) -> Shape:
    """A shape as `to_json` wrote it; ValueError for anything else."""
    if not isinstance(value, list) or depth > MAX_DEPTH:
        raise ValueError("not a shape")
    entries: list[Entry] = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 3 and (item[0] is None or isinstance(item[0], str))
                and isinstance(item[1], bool)):
            raise ValueError("not a shape entry")
        if item[0] is None and item[2] is None:
            raise ValueError("a fragment without selections")
        entries.append((item[0], item[1], None if item[2] is None else from_json(item[2], depth + 1)))
    return tuple(entries)
