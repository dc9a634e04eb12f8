"""Two applies of one merchant and environment at once, over real HTTP: the lock lets one create the
token; the other, planning after it, finds the token and creates nothing. No duplicate, no lost value."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisioner.engine.apply import locking
from provisioner.engine.apply import merchant as applying
from provisioner.engine.plan import document as fleet_document
from provisioner.errors import ProvisionerError, StalePlanError
from tests.adversarial.conftest import ServedMerchant

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


def _kill_during_the_create(served: ServedMerchant) -> bool:
    """Start an apply, SIGKILL it once its journal says the create was sent; whether the store committed it."""
    _fresh_store(served)
    admin = {"Authorization": f"Bearer {served.token}"}
    httpx.put(f"{served.url}/_sandbox/faults", json={"latency": {"ms": 1500}}, headers=admin, timeout=10)
    command = [sys.executable, "-m", "provisioner.cli", "apply", "acme", "--env", "served", "--auto-approve"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = Path(".provision/journal/acme.served.json")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        text = journal.read_text(encoding="utf-8") if journal.exists() else ""
        if f"api_token/{TOKEN}" in text and '"started"' in text:
            time.sleep(0.3)  # the request leaves right after the journal entry; the server holds it 1.5 s
            break
        time.sleep(0.02)
    process.kill()
    process.wait(timeout=30)
    assert process.returncode != 0, "the apply finished before it could be killed"
    httpx.delete(f"{served.url}/_sandbox/faults", headers=admin, timeout=10)
    settle = time.monotonic() + 5
    while time.monotonic() < settle and not _tokens(served):
        time.sleep(0.05)  # the server finishes the request it was given
    return bool(_tokens(served))


def test_a_run_killed_with_the_create_in_flight_is_resolved_by_the_next(served_acme: ServedMerchant) -> None:
    """SIGKILL while createAccessToken is on the wire: the store commits it, nobody receives its value.
    The next apply finds it (never creates it again) and rotates it, so exactly one valid token remains
    and the sink holds its value. (Killed before the request left, the next apply creates it once.)"""
    committed_once = False
    for _ in range(3):  # a kill can land before the request leaves; try until one lands in flight
        committed = _kill_during_the_create(served_acme)
        assert not SINK.exists()
        report = applying.apply("acme", "served", applying.Options(auto_approve=True))
        rotated = any("never reached a sink" in warning for warning in report.warnings)
        assert rotated == committed, report.warnings
        _one_token_and_its_value_delivered(served_acme)
        committed_once = committed_once or committed
        if committed_once:
            break
    assert committed_once, "no kill landed while the create was in flight"


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
