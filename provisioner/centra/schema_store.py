"""The introspection cache on disk, under `.provision/cache/`: each distinct introspection once, in
`schema-<sha256>.json`, and one index, `hosts.json`, giving each host's digest, Centra version and when it
was fetched. A fleet run notes its hosts in memory and writes the index once, at its end, merged under a
file lock with what other runs wrote meanwhile: a file per host cost each merchant more than its YAML.

Beside each introspection, `facts-<sha256>.json` keeps what the tool worked out from that schema, as plain
JSON (`Facts`): what the target can write, and for each section the live read asks for, the field's
text and shape as sent. A plan whose target's schema is cached reads these instead of building the
schema, so it never imports graphql-core. A facts file is written only for a schema that was checked
(`introspection._check`), and its entries are keyed by what they were worked out from on the tool's side
(operation files, tables), so a new version of the tool works out its own.

Nothing here is secret, and everything is a cache: a file that is missing, unreadable, or no longer
matches its digest only costs an introspection (a facts file: building the schema once more)."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from provisioner import files

INDEX = "hosts.json"
INDEX_FORMAT = 1
FACTS_FORMAT = 1
FACTS_LIMIT = 200  # entries kept per schema: older versions' entries go first
LOCK_WAIT_SECONDS = 10.0  # another run writing the index: past this, the index is left as it is

Pointer = dict[str, Any]  # {"app_version": str | None, "fetched_at": float, "digest": "sha256:…"}


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class SchemaStore:
    """Thread-safe; one per process (forked processes each start from their parent's memory)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._index: dict[str, Pointer] | None = None  # as read from disk, once
        self._pending: dict[str, Pointer] = {}  # noted in this process, not yet written
        self._stored: set[str] = set()  # digests whose file this process has seen on disk
        self._by_digest: dict[str, dict[str, Any]] = {}
        self._facts: dict[str, Facts] = {}
        self._batching = 0
        self._lock = threading.Lock()

    def pointer(self, host: str) -> Pointer | None:
        with self._lock:
            if host in self._pending:
                return self._pending[host]
            if self._index is None:
                self._index = _read_index(self.directory / INDEX)
            return self._index.get(host)

    def introspection(self, digest: str) -> dict[str, Any] | None:
        """One read per digest for the process, however many hosts point at it."""
        with self._lock:
            known = self._by_digest.get(digest)
        if known is not None:
            return known
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return None
        try:
            text = self._schema_path(digest).read_text(encoding="utf-8")
            introspection = json.loads(text) if digest_of(text) == digest else None
        except (OSError, ValueError):
            return None
        if not isinstance(introspection, dict):
            return None
        with self._lock:
            return self._by_digest.setdefault(digest, introspection)

    def keep(self, host: str, pointer: Pointer, text: Callable[[], str]) -> None:
        """Note a host's introspection: its content once per digest (`text` is asked only if the file is
        not there yet), its pointer in the index now, or when the batch ends."""
        digest = str(pointer["digest"])
        try:
            with self._lock:
                stored = digest in self._stored
            if not stored:
                self.directory.mkdir(parents=True, exist_ok=True)
                path = self._schema_path(digest)
                if not path.exists():
                    _replace(path, text())
                with self._lock:
                    self._stored.add(digest)
        except OSError:
            return  # a cache that cannot be written only costs a request next run
        with self._lock:
            self._pending[host] = pointer
            batching = self._batching > 0
        if not batching:
            self.flush()

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Pointers noted inside are written together when the outermost batch ends."""
        with self._lock:
            self._batching += 1
        try:
            yield
        finally:
            with self._lock:
                self._batching -= 1
                done = self._batching == 0
            if done:
                self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        from filelock import FileLock, Timeout  # when the index is written, not in every run that reads it

        index_path = self.directory / INDEX
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with FileLock(str(index_path) + ".lock", timeout=LOCK_WAIT_SECONDS):
                hosts = _read_index(index_path)  # what other runs wrote since
                for host, pointer in pending.items():
                    if float(pointer["fetched_at"]) >= float(hosts.get(host, {}).get("fetched_at", 0.0)):
                        hosts[host] = pointer
                _replace(index_path, json.dumps({"format_version": INDEX_FORMAT, "hosts": hosts}))
        except (OSError, Timeout):
            return
        with self._lock:
            self._index = hosts

    def forget(self) -> None:
        """Memory only (a new process, as far as this store can tell); files stay."""
        with self._lock:
            self._index = None
            self._pending.clear()
            self._stored.clear()
            self._by_digest.clear()
            self._facts.clear()

    def _schema_path(self, digest: str) -> Path:
        return self.directory / f"schema-{digest.removeprefix('sha256:')}.json"

    def _facts_path(self, digest: str) -> Path:
        return self.directory / f"facts-{digest.removeprefix('sha256:')}.json"

    def facts(self, digest: str) -> Facts:
        """The facts of one schema, read from disk at first use; one object per digest for the process."""
        with self._lock:
            found = self._facts.get(digest)
            if found is None:
                found = self._facts[digest] = Facts(self, digest)
            return found

    def read_facts(self, digest: str) -> dict[str, Any] | None:
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return None
        try:
            document = json.loads(self._facts_path(digest).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (not isinstance(document, dict) or document.get("format_version") != FACTS_FORMAT
                or document.get("schema") != digest or not isinstance(document.get("facts"), dict)):
            return None
        return dict(document["facts"])

    def write_facts(self, digest: str, facts: dict[str, Any]) -> None:
        kept = dict(list(facts.items())[-FACTS_LIMIT:])
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _replace(self._facts_path(digest), json.dumps(
                {"format_version": FACTS_FORMAT, "schema": digest, "facts": kept}, separators=(",", ":")))
        except OSError:
            return  # a cache that cannot be written only costs building the schema next run


class Facts:
    """What the tool works out from one schema, by key, as plain JSON: `get(key, compute)` answers from the
    file, or computes, keeps and writes it. A value is the JSON it is written as (computed values are read
    back through JSON), so a run that computes a fact and one that reads it see the same value. Thread-safe:
    concurrent first requests for a key wait for one computation."""

    def __init__(self, store: SchemaStore, digest: str) -> None:
        self._store, self.digest = store, digest
        self._known: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def known(self) -> bool:
        """Whether any fact of this schema is known (from its file, or worked out in this process): only
        ever so for a schema that passed its check, since facts are worked out from the built schema."""
        with self._lock:
            return bool(self._load())

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            known = self._load()
            if key not in known:
                known[key] = json.loads(json.dumps(compute()))
                self._store.write_facts(self.digest, known)
            return known[key]

    def replace(self, key: str, value: Any) -> None:
        """A fact worked out again (the file said something this version cannot read)."""
        with self._lock:
            known = self._load()
            known[key] = json.loads(json.dumps(value))
            self._store.write_facts(self.digest, known)

    def _load(self) -> dict[str, Any]:
        if self._known is None:
            self._known = self._store.read_facts(self.digest) or {}
        return self._known


def _read_index(path: Path) -> dict[str, Pointer]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("format_version") != INDEX_FORMAT:
        return {}
    hosts = document.get("hosts")
    if not isinstance(hosts, dict):
        return {}
    return {str(host): pointer for host, pointer in hosts.items()
            if isinstance(pointer, dict) and isinstance(pointer.get("digest"), str)
            and isinstance(pointer.get("fetched_at"), int | float)}


def _replace(path: Path, text: str) -> None:
    """Whole or not at all: a reader never sees half a file."""
    files.write_atomic(path, text)
