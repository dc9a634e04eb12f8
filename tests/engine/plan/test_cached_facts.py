"""A plan whose target's schema is cached reads what it needs of the schema (each section's field as sent,
what the target can write) from the facts kept beside the introspection, and never builds the schema.
Introspected just now, read from the facts, or worked out again from a cached schema without facts (or
from facts that say something else), the same request is sent and the same plan made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioner.centra import introspection
from provisioner.centra.client import CentraClient
from provisioner.centra.introspection import CACHE
from provisioner.engine.plan import live, planning
from provisioner.engine.plan.model import comparable
from tests.engine.conftest import sandbox_call

VARIANTS = {
    "as bundled": None,
    # renamed lists, and a field the tool reads that this version lacks (its section unknown)
    "another version": {"rename": {"Query.taxGroups": "taxRuleGroups", "Query.graphQLAccesses": "accessTokens"},
                        "drop": ["StorePlugin.method"]},
}
CACHE_DIR = Path(".provision/cache")


def _planned(monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[tuple[str, object]], object, int, bool]:
    """The plan, the live reads sent (text and shape), the capabilities, the requests, and whether any
    schema was built, as a new process would make them (memory empty; the disk cache as it is)."""
    CACHE.forget()
    monkeypatch.setattr(introspection, "_SCHEMAS", introspection._SchemasByContent())  # nothing built yet
    monkeypatch.setattr(live, "_PER_SCHEMA", live._PerSchema())
    sent: list[tuple[str, object]] = []
    real_send = CentraClient.send

    def send(self: CentraClient, operation: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append((operation.text, operation.shape))
        return real_send(self, operation, *args, **kwargs)

    monkeypatch.setattr(CentraClient, "send", send)
    planned = planning.plan("acme", "sandbox")
    monkeypatch.setattr(CentraClient, "send", real_send)
    return (comparable(planned.plan), sent, planned.capabilities, planned.requests,
            bool(introspection._SCHEMAS._built))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cold_warm_and_recomputed_facts_make_the_same_plan(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                          variant: str) -> None:
    planning.plan("acme", "sandbox")  # seeds the sandbox
    if VARIANTS[variant]:
        sandbox_call("acme", "PUT", "/_sandbox/schema", VARIANTS[variant])
    for cached in CACHE_DIR.glob("*.json"):
        cached.unlink()
    cold = _planned(monkeypatch)
    assert cold[3] == 2 and cold[4]  # introspected, and the schema built to check the read against
    [facts_file] = CACHE_DIR.glob("facts-*.json")
    warm = _planned(monkeypatch)
    assert warm[3] == 1 and not warm[4]  # the read put together from the facts: no schema built
    assert warm[:3] == cold[:3]
    facts_file.unlink()
    recomputed = _planned(monkeypatch)
    assert recomputed[3] == 1 and recomputed[4] and recomputed[:3] == cold[:3]
    kept = json.loads(facts_file.read_text(encoding="utf-8"))
    kept["facts"] = {key: {"name": 1} if key.startswith("section:") else ["nonsense"] for key in kept["facts"]}
    facts_file.write_text(json.dumps(kept), encoding="utf-8")
    tampered = _planned(monkeypatch)
    assert tampered[4] and tampered[:3] == cold[:3]  # worked out again, and kept again
    assert _planned(monkeypatch)[:3] == cold[:3] and not _planned(monkeypatch)[4]
    if variant == "another version":
        assert cold[0]["sections"]["plugins"]["state"] == "unknown"
        assert "taxRuleGroups" in cold[1][0][0]


def test_the_warm_read_is_the_text_graphql_core_prints(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from graphql import parse, print_ast

    planning.plan("acme", "sandbox")
    _, sent, *_ = _planned(monkeypatch)
    [(text, _)] = sent
    assert print_ast(parse(text)) == text and text.startswith("query LiveState {\n  stores: stores {")


def test_facts_of_another_schema_or_format_are_not_taken(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planning.plan("acme", "sandbox")
    [facts_file] = CACHE_DIR.glob("facts-*.json")
    kept = json.loads(facts_file.read_text(encoding="utf-8"))
    for wrong in ({**kept, "schema": "sha256:" + "0" * 64}, {**kept, "format_version": 0}, ["not", "facts"]):
        facts_file.write_text(json.dumps(wrong), encoding="utf-8")
        assert _planned(monkeypatch)[4]  # the schema built again, the facts worked out again
        assert json.loads(facts_file.read_text(encoding="utf-8"))["schema"] == kept["schema"]
