"""Reads found by type against another Centra version's schema (the emulator serving renamed and dropped
fields), and the introspection cache: each host introspected once per process and once per age limit."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from provisioner.centra import operations
from provisioner.centra.introspection import CACHE
from provisioner.engine.plan import planning
from tests.engine.conftest import Outputs, sandbox_call
from tests.engine.fleet_fixtures import Served, served_centra, write_fleet

__all__ = ["served_centra"]  # the fixture, imported for pytest

RENAMED = {"Query.taxGroups": "taxRuleGroups", "Query.storePlugins": "plugins",
           "Query.graphQLAccesses": "accessTokens", "Query.attributeTypes": "attributeTypeList"}


def _graphql_requests() -> int:
    return int(sandbox_call("acme", "GET", "/_sandbox/stats")["graphql_requests"])


def test_renamed_root_fields_are_found_by_their_type(project: Path, outputs: Outputs) -> None:
    reference = planning.plan("acme", "sandbox").plan
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"rename": RENAMED})
    planned = planning.plan("acme", "sandbox")
    assert {name: s.state for name, s in planned.plan.sections.items()} == {
        name: "managed" for name in reference.sections}
    assert [(c.address, c.action) for c in planned.plan.changes] == [
        (c.address, c.action) for c in reference.changes]
    assert planned.live.root_fields["tax_group"] == "taxRuleGroups"
    assert planned.live.root_fields["plugin"] == "plugins"


def test_a_section_the_target_cannot_list_is_unknown_and_the_others_are_read(project: Path,
                                                                               outputs: Outputs) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"drop": ["Query.taxGroups"], "rename": {
        "Query.storePlugins": "plugins"}})
    result = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode", "--format", "json")
    assert result.exit_code == 2, result.output
    [plan] = json.loads(result.output)["plans"]
    tax = plan["sections"]["tax_groups"]
    assert tax["state"] == "unknown" and tax["permission"] is None
    assert "no Query field listing TaxGroup" in tax["message"]
    assert tax["blocked"] == ["GE Local VAT"]
    others = {name: s["state"] for name, s in plan["sections"].items() if name != "tax_groups"}
    assert set(others.values()) == {"managed"} and "plugins" in others and "api_tokens" in others
    assert not [c for c in plan["changes"] if c["kind"].startswith("tax_group")]
    text = outputs.run("plan", "acme", "--env", "sandbox").output
    assert "? tax_groups: unknown — the target's schema has no Query field listing TaxGroup" in text


def test_a_field_the_tool_reads_that_the_target_lacks_makes_only_its_section_unknown(project: Path) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"drop": ["StorePlugin.method"]})
    planned = planning.plan("acme", "sandbox")
    plugins = planned.plan.sections["plugins"]
    assert plugins.state == "unknown" and "method" in (plugins.message or "")
    assert "StorePlugin" in (plugins.message or "")
    assert {n for n, s in planned.plan.sections.items() if s.state == "unknown"} == {"plugins"}
    assert planned.requests == 2


def test_two_plans_of_one_host_introspect_once(project: Path) -> None:
    first, second = planning.plan("acme", "sandbox"), planning.plan("acme", "sandbox")
    assert (first.requests, second.requests) == (2, 1)


def test_concurrent_plans_of_one_host_introspect_once(project: Path) -> None:
    planning.plan("acme", "sandbox")  # seeds the sandbox before the threads share it
    CACHE.forget()
    for cached in Path(".provision/cache").glob("*.json"):
        cached.unlink()
    before = _graphql_requests()
    with ThreadPoolExecutor(max_workers=4) as pool:
        planned = list(pool.map(lambda _: planning.plan("acme", "sandbox"), range(4)))
    assert sorted(p.requests for p in planned) == [1, 1, 1, 2]
    assert _graphql_requests() - before == 5


def test_concurrent_plans_check_each_section_once_and_send_one_read_document(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.centra.client import CentraClient
    from provisioner.engine.plan import live

    planning.plan("acme", "sandbox")
    CACHE.forget()
    for facts in Path(".provision/cache").glob("facts-*.json"):
        facts.unlink()  # the schema is cached, what was worked out from it is not: checked again
    monkeypatch.setattr(live, "_PER_SCHEMA", live._PerSchema())  # nothing checked yet
    checked: list[str] = []
    real_check = live._checked
    monkeypatch.setattr(live, "_checked", lambda target, ours, type_name: (
        checked.append(type_name), real_check(target, ours, type_name))[1])
    sent: list[object] = []
    real_send = CentraClient.send

    def send(self: CentraClient, operation: object, *args: object, **kwargs: object) -> object:
        if kwargs.get("label") == "live_state":
            sent.append(operation)
        return real_send(self, operation, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(CentraClient, "send", send)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: planning.plan("acme", "sandbox"), range(4)))
    assert len(checked) == len(set(checked)) and "Store" in checked  # each section once, not once a thread
    assert len(sent) == 4 and all(operation is sent[0] for operation in sent)


def test_a_later_run_uses_the_disk_cache_until_the_age_limit(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert planning.plan("acme", "sandbox").requests == 2
    index = json.loads(Path(".provision/cache/hosts.json").read_text())
    assert list(index["hosts"]) == ["acme.sandbox.invalid"]
    CACHE.forget()  # a new process: memory empty, disk cache present
    assert planning.plan("acme", "sandbox").requests == 1
    CACHE.forget()
    a_day_later = time.time() + CACHE.max_age + 1
    monkeypatch.setattr(CACHE, "clock", lambda: a_day_later)  # the cached introspection is now too old
    assert planning.plan("acme", "sandbox").requests == 2


def test_a_new_app_version_refreshes_the_cache(project: Path) -> None:
    assert planning.plan("acme", "sandbox").requests == 2
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"rename": RENAMED, "app_version": "v1.61.0"})
    upgraded = planning.plan("acme", "sandbox")
    assert upgraded.requests == 3  # read, introspect again, read with the new schema
    assert upgraded.plan.app_version == "v1.61.0"
    assert upgraded.live.root_fields["tax_group"] == "taxRuleGroups"
    assert not upgraded.plan.unknown_sections
    stored = json.loads(Path(".provision/cache/hosts.json").read_text())["hosts"]["acme.sandbox.invalid"]
    assert stored["app_version"] == "v1.61.0"
    assert planning.plan("acme", "sandbox").requests == 1


def test_a_schema_variant_that_does_not_build_is_refused(project: Path) -> None:
    from provisioner.sandbox.wire import Request
    from tests.engine.conftest import box

    sandbox = box("acme")
    query = operations.schema().query_type
    assert query is not None
    every_query_field = [f"Query.{name}" for name in query.fields]  # a schema without a Query is no schema
    response = sandbox.app.handle(Request("PUT", "/_sandbox/schema", headers=sandbox.admin_headers(),
                                          body=json.dumps({"drop": every_query_field}).encode()))
    assert response.status == 400 and "does not build" in response.payload()["error"]
    assert sandbox_call("acme", "GET", "/_sandbox/state")["merchant"] == "acme"


def test_an_unreadable_cache_file_means_introspecting_again(project: Path) -> None:
    assert planning.plan("acme", "sandbox").requests == 2
    cached = Path(".provision/cache/hosts.json")
    cached.write_text("{not json", encoding="utf-8")
    CACHE.forget()
    assert planning.plan("acme", "sandbox").requests == 2
    assert list(json.loads(cached.read_text(encoding="utf-8"))["hosts"]) == ["acme.sandbox.invalid"]  # anew


def test_a_list_field_needing_an_argument_is_not_a_section_read() -> None:
    from graphql import build_schema

    from provisioner.engine.plan.live import list_field

    schema = build_schema("""
      type TaxGroup { id: Int! }
      type Query { taxGroupsOf(storeId: Int!): [TaxGroup!]!  groups(limit: Int): [TaxGroup!]!
                   one: TaxGroup  several: [TaxGroup!]! }""")
    assert list_field(schema, "TaxGroup", "taxGroups") == (None, "several Query fields of the target list "
                                                              "TaxGroup (groups, several)")
    assert list_field(schema, "TaxGroup", "groups") == ("groups", "")
    lonely = build_schema("type TaxGroup { id: Int! } type Query { taxGroupsOf(storeId: Int!): [TaxGroup!]! }")
    assert list_field(lonely, "TaxGroup", "taxGroups") == (None, "the target's schema has no Query field listing "
                                                                 "TaxGroup")


def test_token_listings_beside_the_plan_find_the_renamed_field_too(project: Path, outputs: Outputs) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"rename": {"Query.graphQLAccesses": "accessTokens"}})
    result = outputs.run("doctor", "acme", "--env", "sandbox")
    assert result.exit_code == 0, result.output
    assert "own token        the token 'Provisioner (sandbox admin)' expires in" in result.output
    assert "api_tokens       managed      readable" in result.output


def test_a_fleet_plan_introspects_its_host_once_per_run_and_once_per_age_limit(
        workdir: Path, served_centra: Served, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    """Six merchants on one Centra host, planned by the real CLI over HTTP: one introspection for the run,
    none in the next run (the disk cache), one again once the cache is older than its age limit."""
    from provisioner.sandbox.wire import Request

    def requests() -> int:
        box = served_centra.box
        answer = box.app.handle(Request("GET", "/_sandbox/stats", headers=box.admin_headers()))
        return int(answer.payload()["graphql_requests"])

    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    write_fleet(workdir, served_centra.url, names)
    a_day_later = time.time() + CACHE.max_age + 1
    for run, introspections in enumerate([1, 0, 1]):
        if run == 2:
            monkeypatch.setattr(CACHE, "clock", lambda: a_day_later)
        CACHE.forget()  # a new process: memory empty, the disk cache as the last run left it
        before = requests()
        result = outputs.run("plan", "--all", "--env", "qa", "--format", "json")
        assert result.exit_code == 0, result.output
        assert len(json.loads(result.stdout)["plans"]) == len(names)
        assert requests() - before == len(names) + introspections, f"run {run + 1}"
