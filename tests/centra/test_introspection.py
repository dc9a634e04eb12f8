"""Schemas built from introspection are shared by content: hosts on one Centra version share one."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
from graphql import get_introspection_query, graphql_sync

from provisioner.centra import introspection, operations, schema_store
from provisioner.centra.introspection import SchemaCache, TargetSchema


def _introspection() -> dict[str, object]:
    result = graphql_sync(operations.schema(), get_introspection_query(descriptions=False))
    assert result.errors is None and result.data is not None
    return json.loads(json.dumps(result.data))  # as it arrives over HTTP: a fresh, plain copy


def test_hosts_with_the_same_introspection_share_one_schema_and_one_copy_of_it() -> None:
    data = _introspection()
    one = TargetSchema("a.centra.example", "v1", 0.0, data)
    other = TargetSchema("b.centra.example", "v1", 0.0, copy.deepcopy(data))
    assert one.digest == other.digest
    assert one.schema is other.schema
    assert other.introspection is one.introspection  # the second host's copy is let go
    assert "text" not in vars(other)  # found equal to the first, not serialised to be hashed
    assert one.schema.query_type is not None and "stores" in one.schema.query_type.fields


class _Counted(dict[str, object]):
    """An introspection that counts how often it is compared with another."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        _Counted.comparisons += 1
        return dict.__eq__(self, other)

    __hash__ = None


def test_an_equal_copy_shared_by_many_hosts_is_compared_with_the_kept_one_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(introspection, "_SCHEMAS", introspection._SchemasByContent())
    data = _introspection()
    shared = _Counted(copy.deepcopy(data))  # an answer parsed once and shared by the hosts after the first
    first = TargetSchema("a.centra.example", "v1", 0.0, data)
    hosts = [TargetSchema(f"h{number}.centra.example", "v1", 0.0, shared) for number in range(5)]
    digest, _Counted.comparisons = first.digest, 0
    assert {host.digest for host in hosts} == {digest}
    assert _Counted.comparisons == 1
    assert all(host.introspection is data for host in hosts)  # the kept copy, as before
    different = copy.deepcopy(data)
    different["__schema"] = {**data["__schema"], "description": "another"}  # type: ignore[dict-item]
    assert TargetSchema("z.centra.example", "v2", 0.0, different).digest != digest


def test_a_different_introspection_gets_its_own_schema() -> None:
    data = _introspection()
    changed = copy.deepcopy(data)
    schema_part = changed["__schema"]
    assert isinstance(schema_part, dict)
    query_type = next(t for t in schema_part["types"] if t["name"] == "Query")
    query_type["fields"] = [f for f in query_type["fields"] if f["name"] != "countries"]
    one = TargetSchema("a.centra.example", "v1", 0.0, data)
    other = TargetSchema("b.centra.example", "v2", 0.0, changed)
    assert one.digest != other.digest and one.schema is not other.schema
    assert other.schema.query_type is not None and "countries" not in other.schema.query_type.fields
    assert other.introspection is changed


def test_the_disk_cache_keeps_each_introspection_once_however_many_hosts_use_it(tmp_path: Path) -> None:
    data = _introspection()
    writer = SchemaCache(tmp_path)
    for host in ("a.centra.example", "b.centra.example"):
        writer._to_disk(TargetSchema(host, "v1", time.time(), copy.deepcopy(data)))
    names = sorted(path.name for path in tmp_path.iterdir() if path.suffix == ".json")
    assert names[0] == "hosts.json" and names[1].startswith("schema-") and len(names) == 2
    reader = SchemaCache(tmp_path)  # a later run
    one, other = reader._from_disk("a.centra.example"), reader._from_disk("b.centra.example")
    assert one is not None and other is not None
    assert one.introspection == data and other.introspection is one.introspection  # read once
    assert one.digest == TargetSchema("c", "v1", 0.0, data).digest and one.app_version == "v1"


def test_an_introspection_file_that_no_longer_matches_its_digest_is_no_cache(tmp_path: Path) -> None:
    data = _introspection()
    SchemaCache(tmp_path)._to_disk(TargetSchema("a.centra.example", "v1", time.time(), data))
    stored = next(tmp_path.glob("schema-*.json"))
    edited = json.loads(stored.read_text())
    edited["__schema"]["types"] = edited["__schema"]["types"][1:]
    stored.write_text(json.dumps(edited))
    assert SchemaCache(tmp_path)._from_disk("a.centra.example") is None  # so the host is introspected again
    stored.unlink()
    assert SchemaCache(tmp_path)._from_disk("a.centra.example") is None


def test_a_batch_writes_the_index_once_and_keeps_what_other_runs_wrote(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data = _introspection()
    other_run = SchemaCache(tmp_path)
    other_run._to_disk(TargetSchema("elsewhere.centra.example", "v1", time.time(), copy.deepcopy(data)))
    this_run = SchemaCache(tmp_path)
    writes: list[str] = []
    real_replace = schema_store._replace
    monkeypatch.setattr(schema_store, "_replace", lambda path, text: (writes.append(path.name),
                                                                        real_replace(path, text))[1])
    with this_run.store.batched():
        for number in range(5):
            this_run._to_disk(TargetSchema(f"shop{number}.centra.example", "v1", time.time(), copy.deepcopy(data)))
        assert writes == []  # the schema file was there already; the index waits for the batch to end
    assert writes == ["hosts.json"]
    index = json.loads((tmp_path / "hosts.json").read_text())
    assert sorted(index["hosts"]) == ["elsewhere.centra.example", *(f"shop{n}.centra.example" for n in range(5))]
    assert SchemaCache(tmp_path)._from_disk("elsewhere.centra.example") is not None


@pytest.mark.parametrize("index", ["{not json", '{"format_version": 99, "hosts": {}}', '{"format_version": 1}',
                                   '{"format_version": 1, "hosts": {"a.centra.example": {"digest": 5}}}'])
def test_an_unreadable_index_is_no_cache_and_is_written_anew(tmp_path: Path, index: str) -> None:
    (tmp_path / "hosts.json").write_text(index)
    cache = SchemaCache(tmp_path)
    assert cache._from_disk("a.centra.example") is None
    cache._to_disk(TargetSchema("a.centra.example", "v1", time.time(), _introspection()))
    assert SchemaCache(tmp_path)._from_disk("a.centra.example") is not None
