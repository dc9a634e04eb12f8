"""SQLite storage of one merchant's sandbox store: one file, WAL, one transaction per request."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from provisioner import files
from provisioner.errors import ProvisionerError

SANDBOX_DIR = Path(".provision/sandbox")
IDLE = 8  # idle connections a store keeps for the next transactions

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stores (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS markets (id INTEGER PRIMARY KEY, name TEXT NOT NULL, store_id INTEGER NOT NULL,
    comment TEXT, countries TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS pricelists (id INTEGER PRIMARY KEY, name TEXT NOT NULL, store_id INTEGER NOT NULL,
    status TEXT NOT NULL, currency TEXT NOT NULL, shipping_option_id INTEGER, countries TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shipping_options (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, uri TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS warehouses (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
    country TEXT, updated_at REAL NOT NULL);
-- Catalogue pages are sorted on indexed columns, the tie-break included, so no page sorts the catalogue.
DROP INDEX IF EXISTS products_updated;
CREATE INDEX IF NOT EXISTS products_status_id ON products (status, id);
CREATE INDEX IF NOT EXISTS products_status_updated ON products (status, updated_at DESC, id ASC);
CREATE TABLE IF NOT EXISTS variants (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS variants_product ON variants (product_id);
CREATE TABLE IF NOT EXISTS sizes (id INTEGER PRIMARY KEY, variant_id INTEGER NOT NULL, sku TEXT NOT NULL,
    description TEXT);
CREATE INDEX IF NOT EXISTS sizes_variant ON sizes (variant_id);
CREATE TABLE IF NOT EXISTS displays (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, store_id INTEGER NOT NULL,
    name TEXT NOT NULL, description TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS displays_product ON displays (product_id);
CREATE TABLE IF NOT EXISTS attribute_types (name TEXT PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tax_groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
    default_in_stores TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tax_rules (id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plugins (id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL, name TEXT NOT NULL,
    method TEXT NOT NULL, type TEXT NOT NULL, uri TEXT NOT NULL, status TEXT NOT NULL, external_id TEXT,
    settings TEXT NOT NULL, UNIQUE (store_id, name));
CREATE TABLE IF NOT EXISTS tokens (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    organization TEXT, integration TEXT, email TEXT, phone TEXT, permissions TEXT NOT NULL,
    restrictions TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL, revoked INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS event_listeners (integration TEXT NOT NULL, object_type TEXT NOT NULL,
    change_types TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (integration, object_type));
CREATE TABLE IF NOT EXISTS rate_quotas (type TEXT NOT NULL, interval TEXT NOT NULL, quota INTEGER NOT NULL,
    PRIMARY KEY (type, interval));
CREATE TABLE IF NOT EXISTS rate_buckets (type TEXT NOT NULL, interval TEXT NOT NULL, level REAL NOT NULL,
    updated_at REAL NOT NULL, PRIMARY KEY (type, interval));
CREATE TABLE IF NOT EXISTS faults (kind TEXT PRIMARY KEY, body TEXT NOT NULL);
"""


# Columns added after a table was first released: a database made before them gains them when opened.
_ADDED_COLUMNS = (("markets", "comment", "TEXT"), ("markets", "countries", "TEXT NOT NULL DEFAULT '[]'"))


def _add_columns(db: sqlite3.Connection) -> None:
    for table, column, declaration in _ADDED_COLUMNS:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


class StoreError(ProvisionerError):
    """The sandbox database cannot be used: a full disk, a file that is not a database, no permission."""


class Store:
    """A sandbox database. A transaction takes an idle connection (or opens one) and gives it back after,
    so the server's thread per client does not open the database anew (~0.25 ms each: the file, its WAL
    and shared memory, the schema read); `transaction()` serialises writers (BEGIN IMMEDIATE), so
    concurrent clients never interleave half a request. At most IDLE connections are kept.

    What SQLite or the file system refuses (a full disk, a broken file) is a StoreError naming the
    database, one line, never a traceback; a link in place of the database or of `.provision/sandbox`
    is refused before SQLite opens anything."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._shm = path.with_name(path.name + "-shm")
        self._idle: list[tuple[sqlite3.Connection, tuple[tuple[int, ...], ...]]] = []
        self._retired: list[sqlite3.Connection] = []
        self._pool = threading.Lock()
        with self._errors():
            default = path.parent == SANDBOX_DIR  # the tool's own folder, or one named with --db
            files.ensure_dir(path.parent, owned=default, private=default)
            # It holds token values: only the user may read it (SQLite gives -wal and -shm the same mode).
            os.close(files.open_private(path))
            connection = self._take()
            connection.executescript(_DDL)
            _add_columns(connection)
            self._give_back(connection)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except files.FileError as exc:
            raise StoreError(f"{exc} (the sandbox database)") from None
        except (sqlite3.Error, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreError(f"{self.path}: {files.one_line(reason)} (the sandbox database)") from None

    def _take(self) -> sqlite3.Connection:
        with self._pool:
            idle = self._idle.pop() if self._idle else None
        if idle is not None:
            connection, seen = idle
            if seen == self._files():
                return connection
            # The database or its WAL index was replaced or deleted: open it anew, as a fresh connection
            # sees it. The old one is not closed yet: closing the last connection of a database writes its
            # WAL into the file, which would put the old content back into whatever is there now.
            with self._pool:
                self._retired.append(connection)
                while len(self._retired) > IDLE:
                    self._retired.pop(0).close()
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    def _files(self) -> tuple[tuple[int, ...], ...]:
        """What an idle connection must find unchanged to be used again: the database file and the WAL
        index beside it, the same files (writes and checkpoints keep them). Another file put in the place
        of either, or the WAL index deleted, and the database is opened anew, as a fresh connection sees it."""
        seen: list[tuple[int, ...]] = []
        for path in (self.path, self._shm):
            try:
                status = os.stat(path)
            except OSError:
                seen.append(())
                continue
            seen.append((status.st_dev, status.st_ino))
        return tuple(seen)

    def _give_back(self, connection: sqlite3.Connection) -> None:
        if connection.in_transaction:  # a COMMIT or ROLLBACK that failed: not a connection to reuse
            connection.close()
            return
        seen = self._files()
        with self._pool:
            if len(self._idle) < IDLE:
                self._idle.append((connection, seen))
                return
        connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._errors():
            db = self._take()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    if db.in_transaction:  # SQLite may have rolled back itself (a full disk does)
                        db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                self._give_back(db)

    def close(self) -> None:
        """Close the idle connections (a transaction under way closes or keeps its own when it ends); a
        later transaction opens the database again."""
        with self._pool:
            idle, self._idle = [connection for connection, _ in self._idle] + self._retired, []
            self._retired = []
        for connection in idle:
            connection.close()


def bump(db: sqlite3.Connection, counter: str, by: int = 1) -> int:
    db.execute("INSERT INTO counters (name, value) VALUES (?, ?) "
               "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value", (counter, by))
    return int(db.execute("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()[0])


def counter(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def loads(text: str) -> Any:
    return json.loads(text)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
