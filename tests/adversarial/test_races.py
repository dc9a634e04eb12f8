"""Two applies of one merchant and environment at once, over real HTTP: the lock lets one create the
token; the other, planning after it, finds the token and creates nothing. No duplicate, no lost value."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisioner.engine.apply import locking
from provisioner.engine.apply import merchant as applying
from provisioner.engine.plan import document as fleet_document
from provisioner.errors import ExitCode, ProvisionerError, StalePlanError
from provisioner.sandbox.wire import DropConnection
from tests.adversarial.conftest import ServedMerchant
from tests.engine.apply import gate
from tests.engine.conftest import PLANTED

TOKEN = "Global-e integration"
SINK = Path(".provision/secrets/acme.served.global-e-integration.token")
ROUNDS = 10


def _tokens(served: ServedMerchant) -> list[tuple[int, str]]:
    with sqlite3.connect(served.box.store.path) as database:
        return list(database.execute("SELECT id, value FROM tokens WHERE name = ? AND revoked = 0", (TOKEN,)))


def _fresh_store(served: ServedMerchant) -> None:
    response = httpx.post(f"{served.url}/_sandbox/reset", json={},
                          headers={"Authorization": f"Bearer {served.token}"}, timeout=30)
    assert response.status_code == 200, response.text
    for leftover in (".provision/secrets", ".provision/journal", "state", "out"):
        shutil.rmtree(leftover, ignore_errors=True)


def _apply_at_once(saved: Path | None) -> list[Any]:
    """Two applies started together (a barrier), each with its own HTTP client; their results."""
    results: list[Any] = [None, None]
    barrier = threading.Barrier(2, timeout=30)

    def run(slot: int) -> None:
        options = applying.Options(auto_approve=True)
        barrier.wait()
        try:
            saved_plan = fleet_document.read(saved).plans[0] if saved else None
            results[slot] = applying.apply(None if saved else "acme", None if saved else "served", options,
                                           saved=saved, saved_plan=saved_plan)
        except ProvisionerError as exc:
            results[slot] = exc

    threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an apply did not finish"
    return results


def _one_token_and_its_value_delivered(served: ServedMerchant) -> None:
    tokens = _tokens(served)
    assert len(tokens) == 1, f"{len(tokens)} tokens named {TOKEN!r}"
    assert SINK.read_text(encoding="utf-8").strip() == tokens[0][1], "the sink does not hold the live token"


def test_two_applies_at_once_create_one_token_ten_times_over(served_acme: ServedMerchant,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_LOCK_TIMEOUT", "60")
    for _ in range(ROUNDS):
        _fresh_store(served_acme)
        first, second = _apply_at_once(None)
        assert isinstance(first, applying.Report) and isinstance(second, applying.Report), (first, second)
        created = [r for r in (first, second) if any(line.startswith("created API token") for line in r.done)]
        assert len(created) == 1
        _one_token_and_its_value_delivered(served_acme)


def test_one_saved_plan_applied_twice_at_once_runs_once(served_acme: ServedMerchant,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.engine.plan import planning

    monkeypatch.setenv("PROVISION_LOCK_TIMEOUT", "60")
    for _ in range(3):
        _fresh_store(served_acme)
        saved = Path("plan.json")
        planning.plan("acme", "served").plan.write(saved)
        results = _apply_at_once(saved)
        assert sorted(type(r).__name__ for r in results) == ["Report", "StalePlanError"], results
        assert "live store changed" in str(next(r for r in results if isinstance(r, StalePlanError)))
        _one_token_and_its_value_delivered(served_acme)


def test_two_cli_processes_at_once(served_acme: ServedMerchant) -> None:
    """The same race between two real `provision apply` processes."""
    _fresh_store(served_acme)
    env = {**os.environ, "PROVISION_LOCK_TIMEOUT": "60"}
    command = [sys.executable, "-m", "provisioner.cli", "apply", "acme", "--env", "served", "--auto-approve"]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert sum("done: created API token" in out for out, _ in outputs) == 1, outputs
    _one_token_and_its_value_delivered(served_acme)
    assert served_acme.token not in "".join(out + err for out, err in outputs)


def test_a_held_lock_fails_after_a_bounded_wait_naming_the_holder(served_acme: ServedMerchant,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_LOCK_TIMEOUT", "0.2")
    with locking.hold("acme", "served", "apply"), pytest.raises(ProvisionerError) as raised:
        applying.apply("acme", "served", applying.Options(auto_approve=True))
    assert raised.value.exit_code == 1
    assert f"locked by apply (pid {os.getpid()}" in str(raised.value)
    assert _tokens(served_acme) == []


def test_a_rotation_waits_for_the_same_lock(served_acme: ServedMerchant, monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.engine.lifecycle import rotate

    monkeypatch.setenv("PROVISION_LOCK_TIMEOUT", "0.2")
    with locking.hold("acme", "served", "apply"), pytest.raises(ProvisionerError, match="locked by apply"):
        rotate.rotate("acme", "served", TOKEN, sink=None, confirm=None)
    assert _tokens(served_acme) == []


@pytest.fixture
def gated(examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[gate.Served]:
    """acme's sandbox served behind a gate, and acme's environment `served` in this checkout targeting it."""
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    with gate.served_here(tmp_path / "centra.db", monkeypatch) as served:
        yield served


def _journal_status() -> str:
    entries = json.loads(Path(".provision/journal/acme.served.json").read_text(encoding="utf-8"))
    return str(entries[-1]["status"])


def test_a_run_killed_with_its_create_committed_but_unanswered_is_resolved_by_the_next(gated: gate.Served) -> None:
    """SIGKILL once Centra has committed createAccessToken and before its answer leaves: nobody has the value.
    The next apply finds the token (never creates it again) and rotates it: one valid token, in the sink."""
    committed, killed = threading.Event(), threading.Event()

    def hold_the_answer(app: gate.GatedApp) -> None:
        committed.set()
        killed.wait(gate.BOUND)
        raise DropConnection  # the process it would answer is gone

    gated.app.after["CreateAccessToken"] = hold_the_answer
    process = gate.provision(Path.cwd(), gate.environment(gated), "apply", "acme", "--env", "served",
                             "--auto-approve")
    try:
        assert committed.wait(gate.BOUND), "the create never reached the store"
        process.kill()
        process.communicate(timeout=gate.BOUND)
    finally:
        killed.set()
    gated.app.after.clear()
    [(lost_id, _)] = gated.valid()
    assert not SINK.exists() and _journal_status() == "started"
    report = applying.apply("acme", "served", applying.Options(auto_approve=True))
    assert any(f"token id {lost_id} (started) but its value never reached a sink" in w for w in report.warnings)
    tokens = gated.tokens()
    assert (tokens[0][0], tokens[0][2]) == (lost_id, True) and len(tokens) == 2
    _the_sink_holds_the_one_valid_token(gated)


def test_a_run_killed_before_its_create_reached_the_store_is_created_once_by_the_next(gated: gate.Served) -> None:
    arrived = threading.Event()
    gated.app.before["CreateAccessToken"] = lambda app, number: number > 1 or arrived.is_set()
    gated.app.drop["CreateAccessToken"] = 1  # once let through, the killed run's request is dropped unhandled
    process = gate.provision(Path.cwd(), gate.environment(gated), "apply", "acme", "--env", "served",
                             "--auto-approve")
    try:
        assert gated.app.wait_until(lambda app: app.count("CreateAccessToken") == 1), "no create was sent"
        process.kill()
        process.communicate(timeout=gate.BOUND)
    finally:
        arrived.set()
        gated.app.notify()
    assert gated.app.wait_until(lambda app: app.dropped["CreateAccessToken"] == 1)
    assert gated.tokens() == [] and _journal_status() == "started"
    report = applying.apply("acme", "served", applying.Options(auto_approve=True))
    assert not any("never reached a sink" in w for w in report.warnings)
    assert len(gated.tokens()) == 1
    _the_sink_holds_the_one_valid_token(gated)


def _the_sink_holds_the_one_valid_token(served: gate.Served, root: Path = Path()) -> None:
    [(_, value)] = served.valid()
    assert (root / SINK).read_text(encoding="utf-8").strip() == value


# Two checkouts (two directories, each with its own .provision/) applying acme in one environment of one
# served store, in processes of their own. Sharing no lock, the second detects the first before it writes.


def _two_checkouts(tmp_path: Path, served: gate.Served, **env: str) -> list[tuple[Path, int, str, str]]:
    roots = [gate.checkout(tmp_path / name, served.url) for name in ("checkout-a", "checkout-b")]
    environment = gate.environment(served, **env)
    processes = [gate.provision(root, environment, "apply", "acme", "--env", "served", "--auto-approve")
                 for root in roots]
    outputs = [process.communicate(timeout=4 * gate.BOUND) for process in processes]
    assert served.app.stuck == [], served.app.stuck
    runs = [(root, process.returncode, out, err) for root, process, (out, err) in zip(roots, processes, outputs,
                                                                                         strict=True)]
    for _, _, out, err in runs:
        assert "Traceback" not in err and served.box.admin_token not in out + err
        assert all(value not in out + err for _, value, _ in served.tokens())
    return sorted(runs, key=lambda run: run[1])


def test_two_checkouts_one_creates_the_token_and_the_other_finds_it(examples: Path, tmp_path: Path) -> None:
    """With its read under the lock old (here: any age, PROVISION_TOKEN_RECHECK_AFTER=0), the second lists the
    tokens right before its create, after the first created: it finds the token, creates none, and says so
    (exit 7: its plan no longer holds). Exactly one token exists."""
    with gate.served_acme(tmp_path / "centra.db") as served:
        # Both have planned (a create each) before either creates; the second's re-read waits for the create.
        served.app.before["CreateAccessToken"] = lambda app, number: app.answered["LiveState"] >= 2
        served.app.before["TokenLifetimes"] = lambda app, number: number == 1 or app.answered["CreateAccessToken"] > 0
        (first, ok, _, _), (second, stale, _, found) = _two_checkouts(tmp_path, served,
                                                                      PROVISION_TOKEN_RECHECK_AFTER="0")
        assert (ok, stale) == (0, ExitCode.STALE_PLAN), found
        [(token_id, _)] = served.valid()
        assert len(served.tokens()) == 1 and served.app.count("CreateAccessToken") == 1
        assert f"found token id {token_id} with this description, created after this run read the store" in found
        assert "not created again" in found and "nothing was changed" in found
        _the_sink_holds_the_one_valid_token(served, first)
        assert not (second / SINK).exists()
        assert "found token id" in json.loads((second / ".provision/journal/acme.served.json").read_text())[-1][
            "detail"]


def test_a_fresh_read_lists_no_tokens_and_the_convergence_read_finds_the_other_runs_token(examples: Path,
                                                                                          tmp_path: Path) -> None:
    """Both read under their locks before either creates; the second creates only once the first has created,
    converged and stored its token. With its read fresh the second lists nothing before its create: its
    convergence read, the same request, finds the older token, so it revokes its own at once and stores
    nothing (exit 7). One valid token, in the first run's sink; no separate token listing was sent."""
    with gate.served_acme(tmp_path / "centra.db") as served:
        served.app.before["CreateAccessToken"] = lambda app, number: app.answered["LiveState"] >= (2 if number == 1
                                                                                                  else 3)
        (first, ok, _, _), (second, stale, _, found) = _two_checkouts(tmp_path, served)
        assert (ok, stale) == (0, ExitCode.STALE_PLAN), found
        tokens = served.tokens()
        assert [revoked for _, _, revoked in tokens] == [False, True]
        assert f"found token id {tokens[0][0]} with this description, created by another run at the same moment" \
            in found and f"this run's token id {tokens[1][0]} was revoked at once" in found
        assert "nothing was changed" in found
        assert served.app.count("TokenLifetimes") == 0
        _the_sink_holds_the_one_valid_token(served, first)
        assert not (second / SINK).exists()


def test_two_checkouts_that_read_in_the_same_instant_keep_one_token(examples: Path, tmp_path: Path) -> None:
    """Both re-read before either creates, so both create: each reads again, the token with the lower id is
    kept and the other run revokes its own at once. One valid token, in the sink of the run that kept it.

    The token is checked against other runs' on the run's next read of the store (docs/apply.md): until then
    both go on, and each change after the token is made by whichever run comes first, the other finding it
    made. So the run that gives way may have made some of them, and says so (exit 5, not 7); whichever
    made what, each object exists once."""
    with gate.served_acme(tmp_path / "centra.db") as served:
        served.app.before["CreateAccessToken"] = lambda app, number: app.answered["LiveState"] >= 2
        (first, ok, _, _), (second, stale, _, found) = _two_checkouts(tmp_path, served)
        assert ok == 0, found
        assert stale == ExitCode.STALE_PLAN or (stale == ExitCode.PARTIAL_APPLY and "done: created" in found), found
        with served.box.store.transaction() as db:
            for table in ("warehouses", "markets", "pricelists"):
                names = [row["name"] for row in db.execute(f"SELECT name FROM {table}")]
                assert len(names) == len(set(names)), (table, names)
        tokens = served.tokens()
        assert [revoked for _, _, revoked in tokens] == [False, True]  # the lower id is kept
        assert f"found token id {tokens[0][0]} with this description, created by another run at the same moment" \
            in found and f"this run's token id {tokens[1][0]} was revoked at once" in found
        _the_sink_holds_the_one_valid_token(served, first)
        assert not (second / SINK).exists()


def test_two_checkouts_sharing_a_lock_directory_wait_for_each_other(examples: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared-locks"
    with gate.served_acme(tmp_path / "centra.db") as served:
        monkeypatch.setenv(locking.DIR_ENV, str(shared))
        root = gate.checkout(tmp_path / "elsewhere", served.url)
        with locking.hold("acme", "served", "apply"):
            refused = gate.provision(root, gate.environment(served, PROVISION_LOCK_DIR=str(shared),
                                                            PROVISION_LOCK_TIMEOUT="0"),
                                     "apply", "acme", "--env", "served", "--auto-approve")
            _, err = refused.communicate(timeout=gate.BOUND)
        assert refused.returncode == ExitCode.ERROR and f"locked by apply (pid {os.getpid()} on " in err, err
        assert served.tokens() == [] and not (root / ".provision/locks").exists()
        runs = _two_checkouts(tmp_path, served, PROVISION_LOCK_DIR=str(shared), PROVISION_LOCK_TIMEOUT="60")
        assert [code for _, code, _, _ in runs] == [0, 0]
        assert sum("done: created API token" in out for _, _, out, _ in runs) == 1
        assert len(served.tokens()) == 1 and served.app.count("CreateAccessToken") == 1
        assert sorted(p.name for p in shared.iterdir()) == ["acme.served.lock"]


def test_attest_waits_for_the_same_lock_and_records_nothing(served_acme: ServedMerchant,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from provisioner.cli.main import cli

    monkeypatch.setenv("PROVISION_LOCK_TIMEOUT", "0.2")
    with locking.hold("acme", "served", "apply"):
        result = CliRunner().invoke(cli, ["attest", "acme", "--env", "served", "--yes"])
    assert result.exit_code == 1, result.output
    assert f"locked by apply (pid {os.getpid()}" in result.stderr and "Traceback" not in result.stderr
    from provisioner.engine.state import ledger

    assert not ledger.ledger_path("acme", "served").exists()


def test_two_checkouts_whose_extra_token_cannot_be_revoked_keep_both_and_say_so(examples: Path,
                                                                               tmp_path: Path) -> None:
    """As above, but revoking the second token fails: its run stores its value after all (no value is ever
    dropped while its token is valid) and warns that two tokens are valid."""
    with gate.served_acme(tmp_path / "centra.db") as served:
        served.app.before["CreateAccessToken"] = lambda app, number: app.answered["LiveState"] >= 2
        admin = {"Authorization": f"Bearer {served.box.admin_token}"}
        failing = httpx.put(f"{served.url}/_sandbox/faults", headers=admin, timeout=gate.BOUND,
                            json={"fail_mutation": {"nth": 3, "mode": "error", "only": [
                                "createAccessToken", "revokeAccessToken"]}})  # create, create, the revoke
        assert failing.status_code == 200, failing.text
        runs = _two_checkouts(tmp_path, served)
        assert [code for _, code, _, _ in runs] == [0, 0], runs
        tokens = served.tokens()
        assert [revoked for _, _, revoked in tokens] == [False, False]
        warned = [out for _, _, out, _ in runs if "could not be revoked" in out]
        assert len(warned) == 1 and f"another run created token id {tokens[0][0]} 'Global-e integration' at the " \
            f"same moment and this run's (id {tokens[1][0]}) could not be revoked" in warned[0]
        assert "two are valid, revoke one" in warned[0]
        stored = sorted((root / SINK).read_text(encoding="utf-8").strip() for root, _, _, _ in runs)
        assert stored == sorted(value for _, value, _ in tokens)
