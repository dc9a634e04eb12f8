"""The GitOps flow end to end: the shipped workflows' own steps (read from .github/workflows/), run in
order against Centra stores served on 127.0.0.1 and a fake of GitHub's REST API. What a merge applies is
exactly what its pull request's plan showed; nothing merged is silently left out."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.apply.gate import BOUND, GatedApp
from tests.gitops.world import ORDER_SECRET, World, world


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[World]:
    with world(tmp_path, ["acme", "bravo", "cargo"]) as made:
        made.push_main("the fleet", {"README": "merchant files\n", **made.merchant("acme", []),
                                     **made.merchant("bravo", []), **made.merchant("cargo", [])})
        # the first push of a new repository: no record, no pull request; nothing to apply but the files
        first = made.apply()
        assert first.ok(), first.output
        yield made


def descriptions(made: World, merchant: str) -> set[str]:
    return {t["name"] for t in made.stores[merchant].tokens()} - {"Provisioner (sandbox admin)"}


def reviewed_api_changes(made: World) -> set[str]:
    """The api changes of the last reviewed qa plan (the PR's plan-qa artifact)."""
    document = json.loads(made.artifact_files("plan-qa")[-1]["plan-qa.json"])
    return {c["address"] for p in document["plans"] for c in p["changes"]
            if c["executor"] == "api" and c["action"] != "no-op"}


def test_a_merge_applies_exactly_the_reviewed_plan(fleet: World) -> None:
    number = fleet.open_pull(fleet.merchant("acme", ["Reader one", "Reader two"]))
    planned = fleet.plan(number)
    assert planned.ok(), planned.output
    comment = fleet.comments(number)
    assert len(comment) == 2 and all(c.startswith("<!-- provision:plan environment=") for c in comment)
    assert "Reader one" in comment[0] + comment[1]
    merged = fleet.merge(number)
    applied = fleet.apply(merged)
    assert applied.ok(), applied.output
    assert descriptions(fleet, "acme") == {"Reader one", "Reader two"}
    assert fleet.record("qa") == merged and fleet.record("prod") == merged
    told = [c for c in fleet.comments(number) if c.startswith("<!-- provision:applied environment=qa")]
    assert len(told) == 1 and "`acme` **applied**" in told[0]
    assert reviewed_api_changes(fleet) == {"acme/qa/api_token/Reader one", "acme/qa/api_token/Reader two"}
    issue = fleet.tracking_issue("qa")
    assert issue is None or issue.state == "closed"


def test_a_store_edited_between_review_and_merge_waits_for_a_reviewed_plan(fleet: World) -> None:
    number = fleet.open_pull(fleet.merchant("bravo", ["Reader"], prod=True))
    assert fleet.plan(number).ok()
    fleet.stores["bravo"].ams("POST", "tokens", {"name": "Reader", "permissions": ["Order:read", "Product:read"]})
    applied = fleet.apply(fleet.merge(number))
    assert applied.ok(), applied.output  # waiting is not a failure: the record moves on, the issue holds it
    assert [t["permissions"] for t in fleet.stores["bravo"].tokens() if t["name"] == "Reader"] == [
        ["Order:read", "Product:read"]], "nothing applied for the merchant"
    told = next(c for c in fleet.comments(number) if c.startswith("<!-- provision:applied environment=qa"))
    assert "`bravo` **waiting**" in told and "no longer holds" in told
    issue = fleet.tracking_issue("qa")
    assert issue is not None and issue.state == "open" and "`bravo`" in (issue.body or "")
    early = fleet.reviewed_apply("prod")  # prod, as a merge does, waits for qa
    assert not early.ok() and "bravo: waiting in qa" in early.output and "nothing was applied" in early.output
    assert [t["permissions"] for t in fleet.stores["bravo"].tokens() if t["name"] == "Reader"] == [
        ["Order:read", "Product:read"]]
    reviewed = fleet.reviewed_apply("qa")
    assert reviewed.ok(), reviewed.output
    assert "bravo" in next(s for j, s in reviewed.summaries.items() if j.startswith("plan"))
    assert [t["permissions"] for t in fleet.stores["bravo"].tokens() if t["name"] == "Reader"] == [["Order:read"]]
    issue = fleet.tracking_issue("qa")
    assert issue is not None and issue.state == "closed"
    after_qa = fleet.reviewed_apply("prod")
    assert after_qa.ok(), after_qa.output


def test_three_merges_while_an_apply_runs_are_all_applied_by_the_next_run(fleet: World) -> None:
    merged = []
    for name in ("acme", "bravo", "cargo"):
        number = fleet.open_pull(fleet.merchant(name, [f"{name} reader"]))
        assert fleet.plan(number).ok()
        merged.append(fleet.merge(number))
    # the runs for the first two merges were cancelled by the concurrency group: only the last one runs
    applied = fleet.apply(merged[-1])
    assert applied.ok(), applied.output
    assert all(descriptions(fleet, name) == {f"{name} reader"} for name in ("acme", "bravo", "cargo"))
    assert fleet.record("qa") == merged[-1]


def test_an_apply_that_fails_half_way_is_retried_and_converges(fleet: World) -> None:
    number = fleet.open_pull(fleet.merchant("cargo", ["First", "Second"]))
    assert fleet.plan(number).ok()
    merged = fleet.merge(number)
    fleet.stores["cargo"].ams("PUT", "faults", {"fail_mutation": {"nth": 2, "mode": "error"}})
    failed = fleet.apply(merged)
    assert not failed.ok() and "exit 5" in failed.summaries[next(iter(failed.summaries))]
    assert descriptions(fleet, "cargo") == {"First"}
    assert fleet.record("qa") != merged, "never past a failure"
    retried = fleet.apply(merged, event_name="schedule")
    assert retried.ok(), retried.output
    assert descriptions(fleet, "cargo") == {"First", "Second"}
    assert fleet.record("qa") == merged


def test_a_run_that_cannot_plan_replaces_the_comment_with_a_notice(fleet: World) -> None:
    number = fleet.open_pull(fleet.merchant("acme", ["Reader"]))
    assert fleet.plan(number).ok()
    fleet.git("checkout", "--quiet", fleet.pulls[number]["branch"])
    broken = fleet.commit("typo", {"merchants/acme.yaml": "merchant: acme\nstore: [unclosed\n"})
    fleet.git("push", "--quiet", "--force", "origin", fleet.pulls[number]["branch"])
    fleet.pulls[number]["head"] = broken
    fleet.github.issue(number).pull.head_sha = broken  # type: ignore[union-attr]
    failed = fleet.plan(number)
    assert not failed.ok()
    comments = [c for c in fleet.comments(number) if c.startswith("<!-- provision:plan environment=qa")]
    assert len(comments) == 1 and "**No plan**" in comments[0] and "Reader" not in comments[0]
    assert "https://github.test/shop/fleet/actions/runs/" in comments[0]


def test_a_report_with_a_missing_shard_is_refused(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from provisioner.cli.main import cli
    from provisioner.engine.plan.document import PlanDocument

    for shard in ("1/4", "2/4", "4/4"):
        PlanDocument(environment="qa", shard=shard).write(tmp_path / f"qa-{shard[0]}.json")
    result = CliRunner().invoke(cli, ["report", *sorted(str(p) for p in tmp_path.glob("*.json")),
                                      "--expect-shards", "4"])
    assert result.exit_code == 1 and "missing: 3/4" in result.output and "<!--" not in result.output


def test_a_critical_finding_fails_the_pull_request_check(fleet: World) -> None:
    files = fleet.merchant("acme", [])
    text = files["merchants/acme.yaml"].replace("api_tokens: []", "api_tokens:\n  - description: Root\n"
                                                "    organization: acme\n    integration: acme-root\n"
                                                "    store_types: all\n    email: root@acme.example\n"
                                                "    permissions: {read: [Order:read], write: [admin]}")
    number = fleet.open_pull({"merchants/acme.yaml": text})
    planned = fleet.plan(number)
    assert not planned.ok()
    assert any(job.startswith("comment") and result == "failure" for job, result in planned.jobs.items())
    comment = next(c for c in fleet.comments(number) if c.startswith("<!-- provision:plan environment=qa"))
    first = comment.split("\n## provision plan")[1].split("\n", 3)[2]
    assert first.startswith("> [!CAUTION]"), "what fails the check leads the comment"
    assert "**This check fails**" in comment and "`acme`" in comment.split("**This check fails**")[1][:400]


def test_a_deletion_waits_without_the_opt_in_label(fleet: World) -> None:
    fleet.stores["acme"].ams("POST", "tokens", {"name": "Stale", "permissions": ["Order:read"]})
    number = fleet.open_pull(fleet.merchant("acme", ["Reader"], exclusive=True))
    assert fleet.plan(number).ok()
    assert fleet.apply(fleet.merge(number)).ok()
    assert descriptions(fleet, "acme") == {"Stale"}, "no label: nothing of the merchant's plan is applied"
    issue = fleet.tracking_issue("qa")
    assert issue is not None and "provision:allow-deletes" in (issue.body or "")
    refused = fleet.reviewed_apply("qa")  # the reviewed way forward, without allowing deletions
    assert not refused.ok() and descriptions(fleet, "acme") == {"Stale"}
    allowed = fleet.reviewed_apply("qa", allow_deletes=True)
    assert allowed.ok(), allowed.output
    assert descriptions(fleet, "acme") == {"Reader"}


def test_a_deletion_is_applied_with_the_opt_in_label(fleet: World) -> None:
    fleet.stores["acme"].ams("POST", "tokens", {"name": "Stale", "permissions": ["Order:read"]})
    number = fleet.open_pull(fleet.merchant("acme", ["Reader"], exclusive=True))
    assert fleet.plan(number).ok()
    fleet.github.label(number, "provision:allow-deletes")  # a maintainer, after review, before the merge
    assert fleet.apply(fleet.merge(number)).ok()
    assert descriptions(fleet, "acme") == {"Reader"}


def test_a_created_token_reaches_the_secret_store_and_no_log(fleet: World) -> None:
    number = fleet.open_pull(fleet.merchant("bravo", ["Reader"]))
    assert fleet.plan(number).ok()
    applied = fleet.apply(fleet.merge(number))
    assert applied.ok(), applied.output
    names = fleet.github.secret_names(environment="qa")
    assert len(names) == 1
    name = names[0]
    value = fleet.github.secret(name, environment="qa")
    assert "BRAVO" in name and len(value) > 20
    written = fleet.everything_written(applied)
    assert value not in written and ORDER_SECRET not in written
    assert name in written  # the output names where the value went


def test_a_cancelled_apply_tells_the_pull_request_what_it_did_and_the_next_run_finishes(fleet: World) -> None:
    number = fleet.open_pull({**fleet.merchant("acme", ["Reader"]), **fleet.merchant("bravo", ["Reader"]),
                              **fleet.merchant("cargo", ["Reader"])})
    assert fleet.plan(number).ok()
    merged = fleet.merge(number)
    before = fleet.record("qa")
    released = threading.Event()
    reads = {name: store.app.answered["LiveState"] for name, store in fleet.stores.items()}  # before the run

    def converged(name: str) -> bool:  # its read under the lock and the check after its changes
        return fleet.stores[name].app.wait_until(lambda app: app.answered["LiveState"] >= reads[name] + 2)

    def cancel_once_the_others_are_done() -> None:
        # GitHub's cancel (SIGINT to the step) while bravo's read is in flight, acme and cargo applied
        if fleet.stores["bravo"].app.wait_until(lambda app: app.arrived.count("LiveState") > reads["bravo"]) and all(
                converged(name) for name in ("acme", "cargo")):
            fleet.runner.cancel.set()
            for _ in range(int(BOUND / 0.01)):  # until the runner has sent SIGINT to the step
                if fleet.runner.cancel_delivered:
                    break
                time.sleep(0.01)
            time.sleep(1.0)  # for the run's main thread to take it (it waits on a lock: woken at once)
        released.set()
        fleet.stores["bravo"].app.notify()

    fleet.stores["bravo"].app.before["LiveState"] = lambda app, number: number <= reads["bravo"] or released.is_set()
    canceller = threading.Thread(target=cancel_once_the_others_are_done)
    canceller.start()
    try:
        cancelled = fleet.apply(merged)
    finally:
        released.set()
        fleet.stores["bravo"].app.notify()
        canceller.join(BOUND)
    step = next(s for s in cancelled.steps if s.name == "Apply the reviewed plans")
    assert step.code == 130, step.stderr
    assert "Traceback" not in cancelled.output, cancelled.output
    assert cancelled.jobs == {"apply-qa": "cancelled", "apply-prod": "skipped"}
    # applied at once: acme and cargo were done when the cancel came, bravo started no change after it
    assert descriptions(fleet, "acme") == {"Reader"} and descriptions(fleet, "cargo") == {"Reader"}
    assert descriptions(fleet, "bravo") == set()
    assert fleet.record("qa") == before, "an interrupted run never moves the record"
    told = next(c for c in fleet.comments(number) if c.startswith("<!-- provision:applied environment=qa"))
    assert "**The run was interrupted**" in told and "`acme` **applied**" in told and "`cargo` **applied**" in told
    assert "`bravo` **failed** (exit 1): interrupted done: nothing not done: bravo/qa/api_token/Reader" in told
    summary = cancelled.summaries["apply-qa"]  # the summary steps run on a cancel too (`always()`)
    assert summary.index("**The run was interrupted**") < summary.index("`bravo` **failed**")
    del fleet.stores["bravo"].app.before["LiveState"]
    fleet.runner.cancel.clear()
    finished = fleet.apply(merged, event_name="schedule")
    assert finished.ok(), finished.output
    assert all(descriptions(fleet, name) == {"Reader"} for name in ("acme", "bravo", "cargo"))  # acme's once
    assert fleet.record("qa") == merged
    told = next(c for c in fleet.comments(number) if c.startswith("<!-- provision:applied environment=qa"))
    assert "interrupted" not in told and "`bravo` **applied**" in told


def test_a_merge_applies_its_merchants_at_once(fleet: World) -> None:
    """acme's read is held until bravo's has arrived: one after another, acme would wait for ever (the
    gate's bound) and the test fail; at once, both go through."""
    number = fleet.open_pull({**fleet.merchant("acme", ["Reader"]), **fleet.merchant("bravo", ["Reader"])})
    assert fleet.plan(number).ok()
    merged = fleet.merge(number)
    acme, bravo = fleet.stores["acme"].app, fleet.stores["bravo"].app

    def arrived(app: GatedApp, number: int) -> bool:
        acme.notify()  # acme's gate looks again
        return True

    acme.before["LiveState"] = lambda app, number: number > 1 or "LiveState" in bravo.arrived
    bravo.before["LiveState"] = arrived
    applied = fleet.apply(merged)
    assert applied.ok(), applied.output
    assert not acme.stuck, acme.stuck
    assert descriptions(fleet, "acme") == {"Reader"} and descriptions(fleet, "bravo") == {"Reader"}
    told = next(c for c in fleet.comments(number) if c.startswith("<!-- provision:applied environment=qa"))
    assert told.index("`acme` **applied**") < told.index("`bravo` **applied**")


def test_an_env_sink_lists_every_merchants_token_variables_once_for_the_run(fleet: World) -> None:
    """The run's merchants deliver to one place: the list of variables written names all their tokens
    (one list per merchant would leave only the last one's, each replacing the one before)."""
    fleet.runner.variables["PROVISION_SECRET_SINK_QA"] = "env:PROVISION_TOKEN"
    number = fleet.open_pull({**fleet.merchant("acme", ["Reader"]), **fleet.merchant("bravo", ["Reader"])})
    assert fleet.plan(number).ok()
    applied = fleet.apply(fleet.merge(number))
    assert applied.ok(), applied.output
    summary = applied.summaries["apply-qa"]
    listed = [line for line in summary.splitlines() if "PROVISION_TOKEN__VARIABLES lists" in line]
    assert len(listed) == 1, summary
    assert "PROVISION_TOKEN__ACME__QA__READER PROVISION_TOKEN__BRAVO__QA__READER" in listed[0], listed
