"""Fleet plans end to end through the real CLI, against an emulator served on 127.0.0.1: isolation,
exit-code precedence, environments by tier, sharding and `report`, `-C`, and `apply FLEET.json`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from provisioner.engine.plan.document import json_schema
from provisioner.errors import ExitCode
from tests.engine.conftest import Outputs, sandbox_call, tokens_named
from tests.engine.fleet_fixtures import Served, merchant_yaml, served_centra, write_failing, write_fleet

__all__ = ["served_centra"]  # the fixture, imported for pytest

NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


def test_a_broken_merchant_and_one_without_its_token_leave_the_others_planned(
        workdir: Path, served_centra: Served, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fleet(workdir, served_centra.url, NAMES)
    write_failing(workdir, served_centra.url)
    (workdir / "merchants" / "refused.yaml").write_text(
        merchant_yaml("refused", served_centra.url, merchant_id=78, environments={"qa": None},
                      token="REFUSED_QA_TOKEN"), encoding="utf-8")
    monkeypatch.setenv("REFUSED_QA_TOKEN", "planted-unknown-token-3b9f")
    result = outputs.run("plan", "--all", "--env", "qa", "--format", "json", "--out", "fleet.json")
    assert result.exit_code == ExitCode.AUTH, result.output  # 3 outranks 4 (see the precedence in `plan --help`)
    document = json.loads(Path("fleet.json").read_text())
    jsonschema.Draft202012Validator(json_schema()).validate(document)
    assert json.loads(result.stdout) == document
    assert [p["merchant"] for p in document["plans"]] == NAMES
    assert all(p["changes"] for p in document["plans"])
    errors = {e["merchant"]: e for e in document["errors"]}
    assert set(errors) == {"broken", "tokenless", "refused"}
    assert errors["refused"]["exit_code"] == ExitCode.AUTH and "HTTP 403" in errors["refused"]["reason"]
    assert errors["broken"]["exit_code"] == ExitCode.INVALID_CONFIG and "broken.yaml" in errors["broken"]["reason"]
    assert errors["tokenless"]["exit_code"] == ExitCode.AUTH
    assert "TOKENLESS_QA_TOKEN" in errors["tokenless"]["reason"]
    assert "error: tokenless/qa:" in result.stderr and "Traceback" not in result.stderr

    markdown = outputs.run("report", "fleet.json").output
    assert "### Failed (3)" in markdown
    assert "| `tokenless` | `qa` | 3 |" in markdown and "| `broken` | – | 4 |" in markdown
    assert "6 merchants, identical change sets" in markdown
    text = outputs.run("plan", "--all", "--env", "qa")
    assert "Fleet qa: 6 planned (6 with changes), 3 failed, 0 skipped." in text.output
    texts = [*outputs.texts, Path("fleet.json").read_text()]
    for secret in ("planted-fleet-order-secret", "planted-unknown-token", served_centra.box.admin_token):
        assert not any(secret in t for t in texts), "a secret reached an output or the plan document"


def test_apply_reports_merchants_the_plan_could_not_plan(project: Path, outputs: Outputs) -> None:
    Path("merchants/broken.yaml").write_text("merchant: broken\nstore: [unclosed\n")
    planned = outputs.run("plan", "--all", "--env", "sandbox", "--out", "fleet.json")
    assert planned.exit_code == ExitCode.INVALID_CONFIG
    result = outputs.run("apply", "fleet.json", "--auto-approve")
    assert result.exit_code == ExitCode.INVALID_CONFIG, result.output
    assert "error: not planned, so not applied: broken:" in result.stderr
    assert "applied 3 of 3 plan(s); 1 merchant(s) were not planned" in result.output
    assert len(tokens_named("acme", "Global-e integration")) == 1


def test_exit_code_precedence_without_failures_is_changes_then_ok(
        workdir: Path, served_centra: Served, outputs: Outputs) -> None:
    write_fleet(workdir, served_centra.url, NAMES[:2])
    assert outputs.run("plan", "--all", "--env", "qa").exit_code == 0
    assert outputs.run("plan", "--all", "--env", "qa", "--detailed-exitcode").exit_code == ExitCode.CHANGES
    (workdir / "merchants" / "broken.yaml").write_text("merchant: broken\nstore: [unclosed\n", encoding="utf-8")
    assert outputs.run("plan", "--all", "--env", "qa", "--detailed-exitcode").exit_code == ExitCode.INVALID_CONFIG


def test_env_by_tier_covers_differently_named_environments_and_skips_the_rest(
        workdir: Path, served_centra: Served, outputs: Outputs) -> None:
    url = served_centra.url
    shapes: dict[str, dict[str, str | None]] = {
        "named-prod": {"qa": None, "prod": None}, "production": {"staging": None, "production": None},
        "live": {"live": None}, "declared": {"qa": None, "main": "prod"}, "qa-only": {"qa": None, "uat": None}}
    for number, (name, environments) in enumerate(shapes.items()):
        (workdir / "merchants" / f"{name}.yaml").write_text(
            merchant_yaml(name, url, merchant_id=500 + number, environments=environments), encoding="utf-8")
    result = outputs.run("plan", "--all", "--env", "prod", "--format", "json", "--out", "prod.json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [(p["merchant"], p["environment"], p["tier"]) for p in document["plans"]] == [
        ("declared", "main", "prod"), ("live", "live", "prod"), ("named-prod", "prod", "prod"),
        ("production", "production", "prod")]
    assert document["skipped"] == [{"merchant": "qa-only",
                                    "reason": "no environment matches 'prod' (has: qa, uat)"}]
    qa = json.loads(outputs.run("plan", "--all", "--env", "qa", "--format", "json").output)
    assert sorted((p["merchant"], p["environment"]) for p in qa["plans"]) == [
        ("declared", "qa"), ("named-prod", "qa"), ("production", "staging"), ("qa-only", "qa")]
    assert [s["merchant"] for s in qa["skipped"]] == ["live"]  # "qa" names qa-only's `qa`, not its `uat` too
    markdown = outputs.run("plan", "--all", "--env", "prod", "--format", "markdown").output
    assert "### Skipped (1)" in markdown and "`qa-only`" in markdown
    assert "`named-prod`" in markdown and "`live (live)`" in markdown


def test_an_environment_no_merchant_has_and_no_tier_is_a_clear_error(
        workdir: Path, served_centra: Served, outputs: Outputs) -> None:
    write_fleet(workdir, served_centra.url, NAMES[:2])
    result = outputs.run("plan", "--all", "--env", "prdo")
    assert result.exit_code == ExitCode.ERROR
    assert "no selected merchant has an environment 'prdo'" in result.stderr and "Traceback" not in result.stderr
    assert not Path(".provision/ledger").exists()


@pytest.mark.parametrize("args", [[], ["alpha", "--all"], ["--all", "--changed-since", "HEAD"]])
def test_selection_needs_exactly_one_way_to_choose(workdir: Path, outputs: Outputs, args: list[str]) -> None:
    result = outputs.run("plan", *args, "--env", "qa")
    assert result.exit_code == ExitCode.ERROR and "one of them" in result.output


def test_shards_are_disjoint_cover_the_fleet_and_report_like_one_run(
        workdir: Path, served_centra: Served, outputs: Outputs) -> None:
    names = [f"m{n:02d}" for n in range(14)]
    write_fleet(workdir, served_centra.url, names)
    (workdir / "merchants" / "broken.yaml").write_text("merchant: broken\nstore: [unclosed\n", encoding="utf-8")
    whole = outputs.run("plan", "--all", "--env", "qa", "--format", "markdown", "--out", "all.json",
                        "--plan-at", "the plan artifact")
    shards = []
    for index in (1, 2, 3):
        result = outputs.run("plan", "--all", "--env", "qa", "--shard", f"{index}/3", "--format", "json",
                             "--out", f"shard-{index}.json")
        shards.append({p["merchant"] for p in json.loads(result.stdout)["plans"]}
                      | {e["merchant"] for e in json.loads(result.stdout)["errors"]})
    assert set.union(*shards) == {*names, "broken"}
    assert sum(len(s) for s in shards) == len(names) + 1  # disjoint
    assert all(shards)  # 15 names spread over every shard
    merged = outputs.run("report", "shard-3.json", "shard-1.json", "shard-2.json", "--plan-at", "the plan artifact")
    assert merged.stdout == whole.stdout
    assert "### Changes: 14 merchants in 1 group" in merged.stdout
    assert merged.exit_code == whole.exit_code == ExitCode.INVALID_CONFIG
    again = outputs.run("report", "shard-1.json", "shard-1.json")
    assert again.exit_code == ExitCode.ERROR and "in both" in again.stderr


def test_dash_c_plans_another_checkout(workdir: Path, served_centra: Served, outputs: Outputs) -> None:
    checkout = workdir / "checkout"
    (checkout / "merchants").mkdir(parents=True)
    write_fleet(checkout, served_centra.url, ["alpha"])
    result = outputs.run("plan", "-C", str(checkout), "alpha", "--env", "qa", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [p["merchant"] for p in json.loads(result.stdout)["plans"]] == ["alpha"]


def test_apply_a_fleet_document_merchant_by_merchant(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "nordwind", "dataline", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    sandbox_call("nordwind", "POST", "/_sandbox/tokens", {"name": "Someone else", "permissions": ["Order:read"]})
    result = outputs.run("apply", "fleet.json", "--auto-approve", "--allow-deletes")
    assert result.exit_code == ExitCode.STALE_PLAN, result.output
    assert "== acme/sandbox" in result.output and "== dataline/sandbox" in result.output
    assert "error: nordwind/sandbox:" in result.stderr and "changed since the plan" in result.stderr
    assert "applied 2 of 3 plan(s); 1 failed" in result.output
    assert len(tokens_named("acme", "Global-e integration")) == 1
    assert len(tokens_named("dataline", "Data platform")) == 1
    assert tokens_named("nordwind", "Global-e integration") == []


def test_apply_still_takes_a_bare_plan_file(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    [plan] = json.loads(Path("fleet.json").read_text())["plans"]
    Path("bare-plan.json").write_text(json.dumps(plan))
    result = outputs.run("apply", "bare-plan.json", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert len(tokens_named("acme", "Global-e integration")) == 1


def test_bad_fleet_inputs_are_clear_errors_and_change_nothing(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    result = outputs.run("apply", "fleet.json", "--auto-approve", "--runbook-out", "one.md")
    assert result.exit_code == ExitCode.ERROR and "--runbook-out names one file" in result.stderr
    assert tokens_named("acme", "Global-e integration") == [] and not Path("one.md").exists()
    document = json.loads(Path("fleet.json").read_text())
    Path("other.json").write_text(json.dumps({**document, "environment": "qa", "plans": [], "identifiers": {}}))
    merged = outputs.run("report", "fleet.json", "other.json")
    assert merged.exit_code == ExitCode.ERROR and "different environments (qa, sandbox)" in merged.stderr
    Path("garbled.json").write_text("{not json")
    garbled = outputs.run("apply", "garbled.json", "--auto-approve")
    assert garbled.exit_code == ExitCode.ERROR and "garbled.json: not a plan file" in garbled.stderr
    assert "Traceback" not in merged.stderr + garbled.stderr + result.stderr


def test_a_fleet_run_collects_less_and_leaves_the_collector_as_it_found_it(
        workdir: Path, served_centra: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from provisioner.engine.fleet import planner as fleet

    write_fleet(workdir, served_centra.url, NAMES[:2])
    monkeypatch.chdir(workdir)
    before = gc.get_threshold()
    during: list[tuple[tuple[int, int, int], int]] = []
    document = fleet.plan_fleet(fleet.FleetRequest(environment="qa", every=True),
                                on_progress=lambda _: during.append((gc.get_threshold(), gc.get_freeze_count())))
    assert [plan.merchant for plan in document.plans] == NAMES[:2] and not document.errors
    assert all(threshold[0] >= 20_000 and threshold[1:] == before[1:] and frozen > 0
               for threshold, frozen in during) and len(during) == 2
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_spooled_document_is_written_and_shown_as_the_whole_one_would_be(
        workdir: Path, served_centra: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI keeps a fleet's plans in a spool, not in memory: the file it writes, the JSON it prints and the
    text it shows are, byte for byte, those of the document with every plan in memory; `read` takes it."""
    from provisioner.engine.fleet import planner as fleet
    from provisioner.engine.plan import document as documents
    from provisioner.engine.plan.document import MerchantError, Skipped
    from provisioner.render import fleet_text

    write_fleet(workdir, served_centra.url, NAMES[:3])
    monkeypatch.chdir(workdir)
    spooled = fleet.plan_fleet_spooled(fleet.FleetRequest(environment="qa", every=True),
                                       show=fleet_text.shower(verbose=True))
    try:
        assert spooled.shows  # each plan's text was made where it was planned
        spooled.errors.append(MerchantError(merchant="zed", environment="qa", exit_code=4, reason="bad \"file\"\n2"))
        spooled.skipped.append(Skipped(merchant="quiet", reason="no qa environment"))
        whole = spooled.materialize()
        assert isinstance(whole, documents.PlanDocument) and len(whole.plans) == 3
        assert [plan.merchant for plan in spooled.plans] == sorted(NAMES[:3]) == [p.merchant for p in whole.plans]
        assert "".join(spooled.chunks()) == whole.model_dump_json(indent=2) + "\n"
        spooled.write(workdir / "spooled.json")
        whole.write(workdir / "whole.json")
        assert (workdir / "spooled.json").read_bytes() == (workdir / "whole.json").read_bytes()
        assert documents.read(workdir / "spooled.json") == whole
        assert fleet_text.render(spooled, verbose=True) == fleet_text.render(whole, verbose=True)
        assert spooled.exit_code(detailed=True) == whole.exit_code(detailed=True) == ExitCode.INVALID_CONFIG
        assert spooled.changed_count() == whole.changed_count() and spooled.merchants == whole.merchants
    finally:
        spooled.close()


def test_an_empty_spooled_document_is_the_empty_document(tmp_path: Path) -> None:
    from provisioner.engine.plan.document import PlanDocument, SpooledDocument

    spooled = SpooledDocument("qa", "1/2")
    try:
        assert "".join(spooled.chunks()) == PlanDocument(environment="qa", shard="1/2").model_dump_json(indent=2) + "\n"
    finally:
        spooled.close()


def test_planning_sends_each_plan_as_the_document_writes_it(
        workdir: Path, served_centra: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a planning process sends back holds no plan object: text, unpickled as one string."""
    from provisioner.engine.fleet import planner as fleet
    from provisioner.engine.fleet.hosts import Gates

    write_fleet(workdir, served_centra.url, NAMES[:2])
    monkeypatch.chdir(workdir)
    sent: list[object] = []
    fleet._plan_paths("qa", 4, sorted((workdir / "merchants").glob("*.yaml")), sent.append, lambda *_: None,
                      Gates(4, 4))
    plans = [plan for outcome in sent for plan in outcome.plans]  # type: ignore[attr-defined]
    assert len(plans) == 2 and all(isinstance(plan.text, str) and plan.text.startswith("{") for plan in plans)
