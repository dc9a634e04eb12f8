"""The introspection cache on disk, under `.provision/cache/`: each distinct introspection once, in
`schema-<sha256>.json`, and one index, `hosts.json`, giving each host's digest, Centra version and when it
was fetched. A fleet run notes its hosts in memory and writes the index once, at its end, merged under a
file lock with what other runs wrote meanwhile: a file per host cost each merchant more than its YAML.

Nothing here is secret, and everything is a cache: a file that is missing, unreadable, or no longer
matches its digest only costs an introspection."""

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

    def _schema_path(self, digest: str) -> Path:
        return self.directory / f"schema-{digest.removeprefix('sha256:')}.json"


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
