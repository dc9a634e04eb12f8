"""The sandbox database's connections: kept for the next transaction, whichever thread runs it, and
given up when the file under them is no longer the one they opened."""

from __future__ import annotations

import threading
from pathlib import Path

from provisioner.sandbox import store as store_module
from provisioner.sandbox.store import Store, meta, set_meta


def _in_thread(store: Store) -> object:
    used: list[object] = []

    def run() -> None:
        with store.transaction() as db:
            used.append(db)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return used[0]


def test_a_thread_per_client_reuses_the_connection_the_last_one_gave_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    first = _in_thread(store)
    assert _in_thread(store) is first and _in_thread(store) is first


def test_a_database_put_in_place_of_the_file_is_opened_anew(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    with store.transaction() as db:
        set_meta(db, "which", "first")
    other = Store(tmp_path / "other.db")
    with other.transaction() as db:
        set_meta(db, "which", "second")
    other.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"s.db{suffix}").unlink(missing_ok=True)
    (tmp_path / "other.db").replace(tmp_path / "s.db")
    with store.transaction() as db:
        assert meta(db, "which") == "second"
    store.close()


def test_idle_connections_are_bounded_and_closed_with_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    held = [store._take() for _ in range(store_module.IDLE + 3)]  # as many threads reading at once
    assert len({id(connection) for connection in held}) == len(held)
    for connection in held:
        store._give_back(connection)
    assert len(store._idle) == store_module.IDLE
    store.close()
    assert store._idle == []
    with store.transaction() as db:  # usable again: opened anew
        assert meta(db, "nothing") is None
