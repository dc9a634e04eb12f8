"""`apply FLEET.json` with merchants applied at once: every guarantee of one merchant's apply holds for each
(its lock, journal, order of changes, exit code, isolation), blocks are printed whole in the document's
order, and an interrupt stops every merchant between changes. Interleavings are forced by events (a
barrier, an event), never by timing."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.apply import executors
from provisioner.engine.apply import merchant as applying
from provisioner.engine.fleet import applier
from provisioner.engine.plan import document as fleet_document
from provisioner.engine.state import journal
from provisioner.errors import ExitCode
from tests.engine.conftest import Outputs, sandbox_call, tokens_named

BOUND = 60.0  # seconds: a bound on waiting for an event, so a broken interleaving fails instead of hanging
TOKEN = "Global-e integration"


def _api_changes(merchant: str, plan: Path = Path("fleet.json")) -> list[str]:
    """The api changes of `merchant` in a saved plan, in the plan's order: what apply executes."""
    document = json.loads(plan.read_text())
    return [c["address"] for p in document["plans"] if p["merchant"] == merchant for c in p["changes"]
            if c["executor"] == "api" and c["action"] != "no-op"]


def _hook(monkeypatch: pytest.MonkeyPatch, before: Any = None, after: Any = None) -> list[str]:
    """Wrap the api executor: `before(state, change)` and `after(state, change)` around each change;
    answers the list of changes executed, as merchant:address, in the order they started."""
    real = executors.execute
    started: list[str] = []
    lock = threading.Lock()

    def execute(client: Any, caps: Any, state: Any, live: Any, change: Any,
                **options: Any) -> executors.Outcome | executors.Created:
        with lock:
            started.append(f"{state.merchant}:{change.address}")
        if before is not None:
            before(state, change)
        outcome = real(client, caps, state, live, change, **options)
        if after is not None:
            after(state, change)
        return outcome

    monkeypatch.setattr(executors, "execute", execute)
    monkeypatch.setattr(executors, "mutation_for", lambda *_, **__: None)  # every change made alone, by execute
    return started


def _is_token_create(change: Any) -> bool:
    return bool(change.kind == "api_token" and change.action == "create")


def test_merchants_are_applied_at_once_and_each_block_is_printed_whole_in_order(
        project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    both = threading.Barrier(2, timeout=BOUND)  # passed only if both merchants are at their create at once
    nordwind_done = threading.Event()

    def before(state: Any, change: Any) -> None:
        if _is_token_create(change):
            both.wait()
        if state.merchant == "acme":
            assert nordwind_done.wait(BOUND)  # acme finishes last, yet its block comes first

    real_apply = applying.apply

    def apply(*args: Any, **kwargs: Any) -> applying.Report:
        report = real_apply(*args, **kwargs)
        if report.plan.merchant == "nordwind":
            nordwind_done.set()
        return report

    _hook(monkeypatch, before)
    monkeypatch.setattr(applying, "apply", apply)
    result = outputs.run("apply", "fleet.json", "--yes")
    assert result.exit_code == 0, result.output + result.stderr
    out = result.stdout
    acme, nordwind = out.index("== acme/sandbox"), out.index("== nordwind/sandbox")
    assert acme < nordwind and out.count("== ") == 2
    block = out[acme:nordwind]
    assert "Plan for acme in sandbox" in block and f"done: created API token {TOKEN}" in block
    assert "token value stored in .provision/secrets/acme.sandbox.global-e-integration.token" in block
    assert "converged: no api change left" in block and "nordwind" not in block
    rest = out[nordwind:]
    assert rest.index(f"done: created API token {TOKEN}") < rest.index("done: created event listener Order")
    assert "applied 2 of 2 plan(s)" in rest
    assert len(tokens_named("acme", TOKEN)) == 1 and len(tokens_named("nordwind", TOKEN)) == 1


def test_each_merchants_changes_run_in_the_plans_order(project: Path, outputs: Outputs,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert outputs.run("plan", "acme", "nordwind", "dataline", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    started = _hook(monkeypatch)
    assert outputs.run("apply", "fleet.json", "--yes").exit_code == 0
    nordwind = [entry.split(":", 1)[1] for entry in started if entry.startswith("nordwind:")]
    assert nordwind == _api_changes("nordwind") and len(nordwind) > 3
    assert nordwind[:3] == ["nordwind/sandbox/api_token/Global-e integration", "nordwind/sandbox/event_listener/Order",
                            "nordwind/sandbox/event_listener/Return"]


def test_two_merchants_failing_at_once_are_each_reported_and_the_others_applied(
        project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    assert outputs.run("plan", "acme", "nordwind", "dataline", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    for merchant in ("acme", "nordwind"):
        sandbox_call(merchant, "PUT", "/_sandbox/faults", {"fail_mutation": {"nth": 1}})
    both = threading.Barrier(2, timeout=BOUND)
    met: set[str] = set()

    def before(state: Any, change: Any) -> None:
        if state.merchant in ("acme", "nordwind") and state.merchant not in met:
            met.add(state.merchant)
            both.wait()  # both failing creates are in flight at once (in the fleet run)

    _hook(monkeypatch, before)
    result = outputs.run("apply", "fleet.json", "--yes")
    assert result.exit_code == ExitCode.PARTIAL_APPLY, result.output
    assert "error: acme/sandbox: acme/sandbox/api_token/Global-e integration:" in result.stderr
    assert "error: nordwind/sandbox: nordwind/sandbox/api_token/Global-e integration:" in result.stderr
    assert "applied 1 of 3 plan(s); 2 failed" in result.stdout
    assert len(tokens_named("dataline", "Data platform")) == 1
    for merchant in ("acme", "nordwind"):
        assert tokens_named(merchant, TOKEN) == []
        [entry] = journal.open_journal(merchant, "sandbox").previous_run()
        assert entry["status"] == "unknown"  # a create whose answer failed: resolved by reading, next run
    again = outputs.run("apply", "nordwind", "--env", "sandbox", "--yes")
    assert again.exit_code == 0, again.output
    assert ("continuing after an interrupted run: nordwind/sandbox/api_token/Global-e integration (unknown)"
            in again.output)
    assert len(tokens_named("nordwind", TOKEN)) == 1


def test_an_interrupt_stops_every_merchant_between_changes_and_each_says_what_it_did(
        project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    stop = threading.Event()
    acme_sending = threading.Event()

    def before(state: Any, change: Any) -> None:
        if state.merchant == "acme":
            acme_sending.set()
            assert stop.wait(BOUND)  # acme's create is sent as the interrupt comes: it completes
        elif _is_token_create(change):
            assert acme_sending.wait(BOUND)  # the interrupt comes once acme is under way

    def after(state: Any, change: Any) -> None:
        if state.merchant == "nordwind" and _is_token_create(change):
            stop.set()  # Ctrl-C just after nordwind's token was made

    _hook(monkeypatch, before, after)
    document = fleet_document.read(Path("fleet.json"))
    outcome = applier.apply_document(document, Path("fleet.json"), applying.Options(auto_approve=True), stop=stop)
    assert outcome.interrupted
    acme, nordwind = outcome.results
    # acme's first change was under way: it completes, and acme starts no other
    assert acme.error is not None and acme.error.exit_code == ExitCode.PARTIAL_APPLY
    assert f"done: created API token {TOKEN}" in acme.error.reason and len(tokens_named("acme", TOKEN)) == 1
    assert f"not done: {', '.join(_api_changes('acme')[1:])}" in acme.error.reason
    assert nordwind.error is not None and nordwind.error.exit_code == ExitCode.PARTIAL_APPLY
    reason = nordwind.error.reason
    assert reason.startswith("interrupted") and f"done: created API token {TOKEN}" in reason
    assert "token value stored in .provision/secrets/nordwind.sandbox.global-e-integration.token" in reason
    assert f"not done: {', '.join(_api_changes('nordwind')[1:])}" in reason
    assert len(tokens_named("nordwind", TOKEN)) == 1
    # the next run says what the interrupted one did, and where its token went, then finishes once
    again = outputs.run("apply", "nordwind", "--env", "sandbox", "--yes")
    assert again.exit_code == 0, again.output
    assert ("continuing after an interrupted run: nordwind/sandbox/api_token/Global-e integration (done: created "
            f"API token {TOKEN}") in again.output and "stored in .provision/secrets/nordwind" in again.output
    assert len(tokens_named("nordwind", TOKEN)) == 1
    assert "done: created event listener Order" in again.output


def test_merchants_not_started_when_the_run_is_interrupted_change_nothing(project: Path, outputs: Outputs) -> None:
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    stop = threading.Event()
    stop.set()
    document = fleet_document.read(Path("fleet.json"))
    outcome = applier.apply_document(document, Path("fleet.json"), applying.Options(auto_approve=True), stop=stop)
    assert outcome.interrupted and [r.error.reason for r in outcome.results if r.error] == [
        "interrupted before it changed anything; nothing was changed"] * 2
    assert tokens_named("acme", TOKEN) == [] and tokens_named("nordwind", TOKEN) == []


def test_a_rate_limit_hit_while_applying_is_waited_out_and_the_token_made_once(
        project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "fleet.json").exit_code == 0

    def before(state: Any, change: Any) -> None:
        if _is_token_create(change):  # the next two requests (the check, then the create) are refused
            sandbox_call(state.merchant, "PUT", "/_sandbox/faults", {"rate_limit": {"count": 2, "retry_after": 0}})

    _hook(monkeypatch, before)
    waits: list[str] = []
    document = fleet_document.read(Path("fleet.json"))
    outcome = applier.apply_document(document, Path("fleet.json"), applying.Options(auto_approve=True),
                                     on_wait=lambda seconds, why: waits.append(why))
    assert [r.error for r in outcome.results] == [None, None] and not outcome.interrupted
    assert len(tokens_named("acme", TOKEN)) == 1 and len(tokens_named("nordwind", TOKEN)) == 1
    assert sum("rate limit" in why for why in waits) >= 4, waits  # two refusals per merchant, each said
    assert not list(Path(".provision/journal").glob("*.json"))  # both finished: nothing left to resolve


def test_a_fleet_that_has_to_ask_applies_one_merchant_after_another(
        project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    asked: list[str] = []
    started = _hook(monkeypatch)
    options = applying.Options(confirm=lambda question: asked.append(question) or True)
    assert not applier.concurrent(options)
    outcome = applier.apply_document(fleet_document.read(Path("fleet.json")), Path("fleet.json"), options)
    assert [r.error for r in outcome.results] == [None, None] and len(asked) == 2
    # every change of acme ran before nordwind's first: one after another
    assert [entry.split(":")[0] for entry in started] == (["acme"] * len(_api_changes("acme"))
                                                          + ["nordwind"] * len(_api_changes("nordwind")))
    assert json.loads(Path("fleet.json").read_text())["plans"]


def test_one_merchant_tells_each_step_as_it_happens_and_what_it_waits_for(project: Path) -> None:
    steps: list[tuple[str, str]] = []
    report = applying.apply("nordwind", "sandbox", applying.Options(auto_approve=True,
                                                                    on_step=lambda *step: steps.append(step)))
    # the read; each api change as it starts and as it is done; the read that checks convergence, which also
    # settles the created token: then where its value went
    changes = [text for role, text in steps if role == "working" and text.startswith("create ")]
    assert len(changes) == len(report.done) > 3
    assert [role for role, _ in steps] == ["working", *["working", "done"] * len(changes), "working", "secret"]
    assert steps[0][1] == "reading nordwind/sandbox from https://nordwind.sandbox.invalid"
    assert steps[1][1] == "create nordwind/sandbox/api_token/Global-e integration"
    assert steps[-2][1] == "reading the store again to check that it converged"
    assert [text for role, text in steps if role == "done"] == report.done
    assert [text for role, text in steps if role == "secret"] == report.secrets


def test_a_token_list_that_cannot_be_written_is_an_error_after_every_merchant_is_reported(
        project: Path, outputs: Outputs, monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.engine.apply import sinks
    from provisioner.errors import ProvisionerError

    env_file = project / "github_env"
    monkeypatch.setenv("GITHUB_ENV", str(env_file))
    real = sinks._to_env_file

    def to_env_file(name: str, value: str, *, secret: bool = True, masked: bool = False) -> str:
        if name.endswith("__VARIABLES"):
            raise ProvisionerError(f"cannot append to {env_file.name}: no space left on device")
        return real(name, value, secret=secret, masked=masked)

    monkeypatch.setattr(sinks, "_to_env_file", to_env_file)
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    result = outputs.run("apply", "fleet.json", "--yes", "--secret-sink", "env:CI_TOKEN")
    assert result.exit_code == ExitCode.PARTIAL_APPLY, result.output
    assert "error: cannot append to github_env: no space left on device; the tokens were stored" in result.stderr
    for merchant in ("ACME", "NORDWIND"):
        assert (f"Global-e integration: token value stored in environment variable "
                f"CI_TOKEN__{merchant}__SANDBOX__GLOBAL_E_INTEGRATION") in result.stdout
    assert "applied 2 of 2 plan(s)" in result.stdout
