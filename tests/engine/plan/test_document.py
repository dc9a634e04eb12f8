"""A plan document with its plans in memory and one with them in a spool are the same document: for the same
fleet they sort alike, name the same merchants and give the same exit code (one implementation serves both)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from provisioner.engine.plan import document as documents
from provisioner.engine.plan.document import MerchantError, PlanDocument, Skipped, SpooledDocument, as_written
from provisioner.engine.plan.model import Plan
from provisioner.errors import ExitCode
from tests.engine.conftest import Outputs


@pytest.fixture
def planned(project: Path, outputs: Outputs) -> Plan:
    """A real plan (the example merchant against its sandbox): settings to create, some only to attest."""
    done = outputs.run("plan", "acme", "--env", "sandbox", "--out", str(project / "acme.json"))
    assert done.exit_code == 0, done.output
    plan = documents.read(project / "acme.json").plans[0]
    assert plan.has_work() and plan.to_attest
    return plan


def _kinds(plan: Plan) -> dict[str, Plan]:
    """The plan as it is (work), with only settings to attest left (changes but no work), and with nothing."""
    attest_only = [c for c in plan.changes if c in plan.to_attest or c.action == "no-op"]
    return {"work": plan, "attest": plan.model_copy(update={"changes": attest_only}),
            "none": plan.model_copy(update={"changes": [c for c in plan.changes if c.action == "no-op"]})}


def _both(plans: list[Plan], errors: list[MerchantError],
          skipped: list[Skipped]) -> tuple[PlanDocument, SpooledDocument]:
    whole = PlanDocument(environment="sandbox", plans=list(plans), errors=list(errors), skipped=list(skipped))
    spooled = SpooledDocument("sandbox")
    for plan in plans:
        spooled.add(plan.merchant, plan.environment, as_written(plan), changes=plan.has_changes(), work=plan.has_work())
    spooled.errors.extend(errors)
    spooled.skipped.extend(skipped)
    return whole, spooled


@pytest.mark.parametrize(("kind", "failure"), list(itertools.product(["work", "attest", "none"],
                                                                      [None, ExitCode.AUTH, ExitCode.INVALID_CONFIG])))
def test_both_documents_sort_name_and_exit_alike(planned: Plan, kind: str, failure: ExitCode | None) -> None:
    variant = _kinds(planned)[kind]
    # out of order on purpose: the sort is what puts them in the document's order
    plans = [variant.model_copy(update={"merchant": name, "environment": environment})
             for name, environment in [("zulu", "qa"), ("alpha", "qa2"), ("alpha", "qa")]]
    errors = [MerchantError(merchant=name, environment=environment, exit_code=int(failure), reason="no")
              for name, environment in [("yankee", "qa"), ("bravo", None), ("bravo", "qa")]] if failure else []
    skipped = [Skipped(merchant="xray", reason="no qa"), Skipped(merchant="charlie", reason="no qa")]
    whole, spooled = _both(plans, errors, skipped)
    try:
        whole.sort()
        spooled.sort()
        assert [(p.merchant, p.environment) for p in spooled.plans] == [(p.merchant, p.environment)
                                                                       for p in whole.plans] \
            == [("alpha", "qa"), ("alpha", "qa2"), ("zulu", "qa")]
        assert spooled.errors == whole.errors and spooled.skipped == whole.skipped
        assert [s.merchant for s in whole.skipped] == ["charlie", "xray"]
        if failure:
            assert [(e.merchant, e.environment) for e in whole.errors] == [("bravo", None), ("bravo", "qa"),
                                                                          ("yankee", "qa")]
        assert spooled.merchants == whole.merchants
        for detailed in (False, True):
            expected = (failure if failure else ExitCode.CHANGES if detailed and kind == "work" else ExitCode.OK)
            assert spooled.exit_code(detailed=detailed) == whole.exit_code(detailed=detailed) == expected
        assert "".join(spooled.chunks()) == whole.model_dump_json(indent=2) + "\n"
    finally:
        spooled.close()
