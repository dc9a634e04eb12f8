"""The apply journal (engine/state/journal.py), rule by rule: which outcomes a later run must still resolve,
which entry of an address counts, what is written and when, and what an unreadable journal becomes. The
window between creating a token and delivering its value ("created") is shown end to end in
tests/adversarial/test_unknown_outcomes.py; here each rule is pinned where it is decided."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from provisioner import files
from provisioner.engine.state import journal

PATH = Path(".provision/journal/acme.qa.json")
TOKEN = "acme/qa/api_token/Global-e integration"
LISTENER = "acme/qa/event_listener/Order"


@pytest.fixture(autouse=True)
def _scratch(workdir: Path) -> None:
    """Each test in a scratch directory of its own (the journal's path is relative)."""


def _entry(address: str, action: str, status: str, detail: str = "") -> dict[str, Any]:
    return {"address": address, "action": action, "status": status, "detail": detail, "at": 1}


def _saved(entries: object) -> None:
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(json.dumps(entries), encoding="utf-8")


# ----------------------------------------------------------------------------- what is left to resolve


@pytest.mark.parametrize(("status", "unresolved"), [
    ("started", True),   # sent, no answer yet: the run may have died with it in flight
    ("unknown", True),   # sent, the answer was lost
    ("created", True),   # made, and its value not yet in a sink (a crash, a sink that failed)
    ("failed", False),   # refused: nothing was made
    ("done", False),     # made and delivered
])
def test_a_create_is_resolved_by_the_next_run_unless_it_failed_or_was_delivered(status: str,
                                                                                unresolved: bool) -> None:
    record = journal.Journal(PATH, [_entry(TOKEN, "create", status)])
    assert (TOKEN in record.unresolved_creates()) is unresolved
    assert [e["address"] for e in record.previous_run()] == ([] if status == "done" else [TOKEN])


def test_only_creates_are_resolved_by_reading_the_store() -> None:
    """An update or delete whose answer was lost is safe to send again; only a create would make two."""
    record = journal.Journal(PATH, [_entry(LISTENER, "update", "unknown"), _entry(TOKEN, "delete", "started")])
    assert record.unresolved_creates() == {}
    assert sorted(e["address"] for e in record.previous_run()) == [TOKEN, LISTENER]


def test_the_last_entry_of_an_address_is_the_one_that_counts() -> None:
    record = journal.Journal(PATH, [_entry(TOKEN, "create", "started"), _entry(LISTENER, "update", "failed"),
                                    _entry(TOKEN, "create", "created"), _entry(TOKEN, "create", "done")])
    assert {a: e["status"] for a, e in record.latest().items()} == {TOKEN: "done", LISTENER: "failed"}
    assert record.unresolved_creates() == {}
    created = journal.Journal(PATH, [_entry(TOKEN, "create", "done"), _entry(TOKEN, "create", "created", "again")])
    assert created.unresolved_creates() == {TOKEN: _entry(TOKEN, "create", "created", "again")}


# ---------------------------------------------------------------------------------------- writing


def test_each_record_is_on_disk_before_the_run_goes_on() -> None:
    record = journal.open_journal("acme", "qa")
    assert record.path == PATH and record.entries == [] and not PATH.exists()
    before = int(time.time())
    record.record(TOKEN, "create", "started")
    record.record(TOKEN, "create", "created", "created API token Global-e integration (id 7)")
    written = json.loads(PATH.read_text(encoding="utf-8"))
    assert written == record.entries
    assert PATH.read_text(encoding="utf-8") == json.dumps(written, indent=2) + "\n"  # for a person to read
    assert [(e["address"], e["action"], e["status"], e["detail"]) for e in written] == [
        (TOKEN, "create", "started", ""), (TOKEN, "create", "created", "created API token Global-e integration (id 7)")]
    assert all(before <= e["at"] <= int(time.time()) for e in written)
    assert journal.open_journal("acme", "qa").entries == written
    assert sorted(p.name for p in PATH.parent.iterdir()) == ["acme.qa.json"]  # no temporary file left


def test_a_finished_run_leaves_no_journal() -> None:
    record = journal.open_journal("acme", "qa")
    record.record(TOKEN, "create", "done")
    record.finish()
    assert record.entries == [] and not PATH.exists()
    record.finish()  # nothing left to remove: still fine


def test_a_journal_is_one_per_merchant_and_environment() -> None:
    journal.open_journal("acme", "qa").record(TOKEN, "create", "started")
    assert journal.open_journal("acme", "prod").entries == []
    assert journal.open_journal("nordwind", "qa").entries == []
    assert [e["status"] for e in journal.open_journal("acme", "qa").entries] == ["started"]


def test_a_record_through_a_planted_link_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n", encoding="utf-8")
    PATH.parent.mkdir(parents=True)
    PATH.symlink_to(victim)
    record = journal.open_journal("acme", "qa")
    with pytest.raises(files.FileError, match="is a symbolic link"):
        record.record(TOKEN, "create", "started")
    assert victim.read_text(encoding="utf-8") == "keep me\n" and PATH.is_symlink()


def test_a_linked_journal_directory_is_refused(tmp_path: Path) -> None:
    Path(".provision").mkdir()
    PATH.parent.symlink_to(tmp_path)
    with pytest.raises(files.FileError, match="is a symbolic link"):
        journal.open_journal("acme", "qa").record(TOKEN, "create", "started")
    assert not (tmp_path / PATH.name).exists()


# ------------------------------------------------------------------------------------------ reading


def _unreadable(record: journal.Journal) -> str:
    [entry] = record.entries
    assert (entry["address"], entry["action"], entry["status"]) == ("(journal)", "read", "failed")
    assert entry in record.previous_run() and record.unresolved_creates() == {}
    return str(entry["detail"])


@pytest.mark.parametrize(("content", "reason"), [
    (b"not json", "is not JSON this tool reads"),
    (b'{"address": "x"}', "is not a list of journal entries"),
    (b"[" * 50_000 + b"]" * 50_000, "nested deeper than 4 levels"),
    (json.dumps([{"address": "a", "action": "create", "status": "started", "detail": {"deep": [[1]]}}]).encode(),
     "nested deeper than 4 levels"),
])
def test_an_unreadable_journal_is_said_so_and_the_store_is_read_instead(content: bytes, reason: str) -> None:
    PATH.parent.mkdir(parents=True)
    PATH.write_bytes(content)
    detail = _unreadable(journal.open_journal("acme", "qa"))
    assert detail.startswith(f"{PATH}: ") and reason in detail and detail.endswith("the live store was re-read instead")
    if content.startswith(b"{"):
        assert detail == f"{PATH}: is not a list of journal entries; the live store was re-read instead"


def test_a_journal_too_large_is_not_read(tmp_path: Path) -> None:
    PATH.parent.mkdir(parents=True)
    with PATH.open("wb") as handle:
        handle.truncate(journal.LIMIT + 1)  # sparse: nothing is written to make it
    assert "is larger than 8 MiB" in _unreadable(journal.open_journal("acme", "qa"))


def test_a_journal_that_is_a_link_a_fifo_or_a_directory_is_not_read(tmp_path: Path) -> None:
    PATH.parent.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps([_entry(TOKEN, "create", "started")]), encoding="utf-8")
    PATH.symlink_to(elsewhere)
    assert "is a symbolic link" in _unreadable(journal.open_journal("acme", "qa"))
    PATH.unlink()
    os.mkfifo(PATH)  # no writer: a read that opened it blocking would never return
    assert "is a FIFO, not a regular file" in _unreadable(journal.open_journal("acme", "qa"))
    PATH.unlink()
    PATH.mkdir()
    assert "is a directory, not a regular file" in _unreadable(journal.open_journal("acme", "qa"))


def test_entries_of_another_shape_are_left_out_and_the_rest_still_resolved() -> None:
    good = _entry(TOKEN, "create", "started")
    _saved([1, "x", None, {"address": 5, "action": "create", "status": "started"},
            {"address": "a", "status": "started"}, {"address": "b", "action": "create", "status": ["started"]},
            good])
    record = journal.open_journal("acme", "qa")
    assert record.entries[0] == good and record.unresolved_creates() == {TOKEN: good}
    assert record.entries[1] == {"address": "(journal)", "action": "read", "status": "failed",
                                 "detail": f"{PATH}: 6 entry(ies) of another shape were left out"}
    assert len(record.entries) == 2


def test_a_well_formed_journal_is_read_whole() -> None:
    entries = [_entry(TOKEN, "create", "started"), _entry(LISTENER, "update", "done", "updated")]
    _saved(entries)
    assert journal.open_journal("acme", "qa").entries == entries
