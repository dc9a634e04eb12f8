"""The target's own schema, by introspection, cached so a fleet introspects each host once.

Centra's schema changes with its version (`extensions.appVersion`), not between requests, so one
introspection per host serves every merchant planned against it: in memory for the process (shared
by the threads of a fleet plan) and on disk under `.provision/cache/` for later runs, up to an age
limit (`schema_store.py`: each distinct introspection once, and an index of hosts).
A response that reports another `appVersion` than the cached one makes the caller refresh.

Hosts on the same Centra version answer the introspection query identically, so the schema built
from it is shared by content: one build per distinct introspection (by digest), not one per host.

The schema is built only when something must be worked out from it: what the tool needs of a schema is
kept as plain JSON per digest (`facts`, schema_store.py), so a run whose schemas and facts are cached
neither builds a schema nor imports graphql-core."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from provisioner.centra.client import CentraClient
from provisioner.centra.failures import BadReply, shown
from provisioner.centra.schema_store import Facts, SchemaStore, digest_of

if TYPE_CHECKING:
    from graphql import DocumentNode, GraphQLSchema

__all__ = ["CACHE", "Facts", "SchemaCache", "TargetSchema", "host_of", "target_schema"]

CACHE_DIR = Path(".provision/cache")
MAX_AGE_SECONDS = 24 * 3600
ALIASES = 4  # equal introspections kept by identity besides the first (see _SchemasByContent)


@cache
def _query() -> DocumentNode:
    """Parsed when first sent (~15 ms): a run whose schemas are all cached never needs it."""
    from graphql import get_introspection_query, parse

    return parse(get_introspection_query(descriptions=False))


@dataclass
class TargetSchema:
    host: str
    app_version: str | None
    fetched_at: float
    introspection: dict[str, Any] = field(repr=False)

    @cached_property
    def text(self) -> str:
        """The introspection serialised once: its digest, and its file in the disk cache."""
        return json.dumps(self.introspection, separators=(",", ":"))

    @cached_property
    def digest(self) -> str:
        digest, self.introspection = _SCHEMAS.identify(self)
        return digest

    @cached_property
    def schema(self) -> GraphQLSchema:
        # The first host's introspection serves every host with the same content: 100 hosts keep one
        # copy (tens of thousands of objects each, which every full garbage collection walks), not 100.
        schema, self.introspection = _SCHEMAS.get(self.digest, self.introspection)
        return schema

    def pointer(self) -> dict[str, Any]:
        """What the disk cache's index keeps per host; the introspection itself is kept once per digest."""
        return {"app_version": self.app_version, "fetched_at": self.fetched_at, "digest": self.digest}


class _SchemasByContent:
    """GraphQLSchemas by the digest of the introspection they were built from. A schema is built whole and
    validated before it is shared (graphql-core then keeps the validation's result on it), so threads
    only ever read it; the lock makes concurrent first requests for one digest wait for a single build."""

    def __init__(self) -> None:
        self._built: dict[str, tuple[GraphQLSchema, dict[str, Any]]] = {}
        self._known: list[tuple[dict[str, Any], str]] = []
        # Other objects found equal to a known introspection, by id (each kept, so its id is not reused): the
        # answers parsed while the first request of a fleet's hosts were in flight together are each shared
        # by the hosts after them (replies.py keeps one per answer), and an `is` finds them at once where
        # comparing ~80 kB of parsed JSON with the kept one costs ~0.3 ms a host.
        self._aliases: OrderedDict[int, tuple[dict[str, Any], str, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def identify(self, target: TargetSchema) -> tuple[str, dict[str, Any]]:
        """The digest of a target's introspection, and the first equal introspection seen (the one to keep).
        A fleet has a few distinct introspections and many hosts: comparing with those already seen is ~10x
        cheaper than serialising each host's (a JSON dump of ~80 kB) to hash it."""
        with self._lock:
            alias = self._aliases.get(id(target.introspection))
            if alias is not None and alias[0] is target.introspection:
                return alias[1], alias[2]
            for introspection, digest in self._known:
                if introspection is target.introspection:
                    return digest, introspection
            for introspection, digest in self._known:
                if introspection == target.introspection:
                    self._aliases[id(target.introspection)] = (target.introspection, digest, introspection)
                    while len(self._aliases) > ALIASES:
                        self._aliases.popitem(last=False)
                    return digest, introspection
            digest = digest_of(target.text)  # not key-sorted: one server version answers in one order
            self._known.append((target.introspection, digest))
            return digest, target.introspection

    def get(self, digest: str, introspection: dict[str, Any]) -> tuple[GraphQLSchema, dict[str, Any]]:
        """The schema for this content, and the introspection it was first built from (equal to the one given)."""
        with self._lock:
            built = self._built.get(digest)
            if built is None:
                from graphql import build_client_schema, validate_schema

                schema = build_client_schema(introspection)  # type: ignore[arg-type]
                validate_schema(schema)  # its result is kept on the schema, for every later validate()
                built = self._built[digest] = (schema, introspection)
            return built


_SCHEMAS = _SchemasByContent()


def host_of(url: str) -> str:
    return (urlsplit(url).netloc or url).lower()


class SchemaCache:
    """Thread-safe: one lock per host, so concurrent plans of one host wait for a single introspection."""

    def __init__(self, directory: Path = CACHE_DIR, max_age: float = MAX_AGE_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_age, self.clock = max_age, clock
        self.store = SchemaStore(directory)
        self._memory: dict[str, TargetSchema] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def get(self, client: CentraClient) -> TargetSchema:
        host = host_of(client.url)
        with self._lock(host):
            cached = self._memory.get(host)
            if not self._fresh(cached):
                cached = self._from_disk(host)
            if cached is not None and self._fresh(cached):
                self._memory[host] = cached
                return cached
            return self._fetch(client, host)

    def _fresh(self, cached: TargetSchema | None) -> bool:
        return cached is not None and self.clock() - cached.fetched_at < self.max_age

    def refresh(self, client: CentraClient, stale: TargetSchema) -> TargetSchema:
        """`stale` no longer fits the target: introspect again, unless another thread already did."""
        host = host_of(client.url)
        with self._lock(host):
            current = self._memory.get(host)
            if current is not None and current is not stale and current.fetched_at >= stale.fetched_at:
                return current
            return self._fetch(client, host)

    def forget(self) -> None:
        with self._guard:
            self._memory.clear()
        self.store.forget()

    def facts(self, target: TargetSchema) -> Facts:
        """What the tool worked out from this target's schema (plain JSON, on disk beside it)."""
        return self.store.facts(target.digest)

    def _fetch(self, client: CentraClient, host: str) -> TargetSchema:
        result = client.execute(_query(), label="introspection")
        if not isinstance(result.data.get("__schema"), dict):
            raise BadReply(f"introspection: {client.endpoint} answered without a schema")
        fetched = TargetSchema(host, _version(result.extensions), self.clock(), result.data)
        _check(fetched, client.endpoint)
        self._memory[host] = fetched
        self._to_disk(fetched)
        return fetched

    def _from_disk(self, host: str) -> TargetSchema | None:
        pointer = self.store.pointer(host)
        if pointer is None:
            return None
        introspection = self.store.introspection(str(pointer["digest"]))
        if introspection is None:
            return None  # gone or changed: introspect again
        app_version = pointer.get("app_version")
        cached = TargetSchema(host, None if app_version is None else str(app_version), float(pointer["fetched_at"]),
                              introspection)
        cached.digest = str(pointer["digest"])  # checked against the content when it was read
        if self.store.facts(cached.digest).known:
            return cached  # checked when its facts were worked out: built only if a fact is missing
        try:
            _check(cached, f"the cached introspection of {host}")
        except BadReply:
            return None  # written by an older version, or edited: introspect again
        return cached

    def _to_disk(self, fetched: TargetSchema) -> None:
        self.store.keep(fetched.host, fetched.pointer(), lambda: fetched.text)


def _check(fetched: TargetSchema, where: str) -> None:
    """The schema built from an answer now, not at its first use: an introspection with nulls or types
    graphql-core cannot build a schema from (or an invalid schema) is a BadReply of its own, before it
    is cached. The answer's shape was checked on entry; what it says is checked here."""
    from graphql import GraphQLError, validate_schema

    try:
        problems = [error.message for error in validate_schema(fetched.schema)]
    except (TypeError, ValueError, KeyError, AttributeError, GraphQLError) as exc:
        problems = [str(exc)]
    if problems:
        raise BadReply(f"introspection: {where} answered with a schema that cannot be used: {shown(problems[0])}")


def _version(extensions: dict[str, Any]) -> str | None:
    version = extensions.get("appVersion")
    return str(version) if version is not None else None


CACHE = SchemaCache()


def target_schema(client: CentraClient) -> TargetSchema:
    return CACHE.get(client)
