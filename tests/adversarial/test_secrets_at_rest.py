"""Secrets at rest: a ledger in git gives no cheap (or, with the ledger key, no) way to test a guess of a
secret; format-1 ledgers migrate; token files and sandbox databases are 0600; the sandbox never holds
a real environment's secret; under GitHub Actions a token is masked before it is written."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

import pytest

from provisioner.config import secrets
from provisioner.engine.plan import planning, target
from provisioner.engine.state import ledger as ledgers
from provisioner.resources import KINDS
from tests.engine.conftest import PLANTED, Outputs, converge

LEDGER = Path(".provision/state/acme.sandbox.json")
SECRET_ENTRY = ("acme/sandbox/plugin_settings/GE Order API", "secret")


def _secret_entry() -> dict[str, object]:
    document = json.loads(LEDGER.read_text(encoding="utf-8"))
    assert "key" not in document and document["format_version"] == 2
    return dict(document["items"][SECRET_ENTRY[0]][SECRET_ENTRY[1]])


def test_a_sensitive_value_is_salted_scrypt_and_no_key_is_stored(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    entry = _secret_entry()
    assert entry["scheme"] == "scrypt" and entry["keyed"] is False
    assert 128 * int(entry["r"]) * int(entry["n"]) >= 16 * 1024 * 1024  # memory per guess
    value = secrets.sandbox_value("acme", "env:ACME_ORDER_API_SECRET")
    assert hashlib.sha256(ledgers.canonical(value).encode()).hexdigest() != entry["hash"]  # no cheap check
    again = ledgers.hashed(value, sensitive=True)
    assert again["salt"] != entry["salt"] and again["hash"] != entry["hash"]  # no shared table across entries


def test_with_the_ledger_key_a_guess_cannot_be_checked_without_it(project: Path, outputs: Outputs,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ledgers.KEY_ENV, "a-key-kept-in-the-ci-secret-store")
    converge(outputs, "acme")
    entry = _secret_entry()
    right = secrets.sandbox_value("acme", "env:ACME_ORDER_API_SECRET")
    salt = bytes.fromhex(str(entry["salt"]))
    unkeyed = hashlib.scrypt(ledgers.canonical(right).encode(), salt=salt, n=int(entry["n"]), r=int(entry["r"]),
                             p=int(entry["p"]), dklen=32).hex()
    assert entry["keyed"] is True and unkeyed != entry["hash"]  # even the right value does not verify
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0
    monkeypatch.delenv(ledgers.KEY_ENV)
    unverifiable = outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode")
    assert unverifiable.exit_code == 2 and f"cannot verify: the ledger key {ledgers.KEY_ENV}" in unverifiable.output


def test_a_format_1_ledger_migrates_on_the_next_attest(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    current = json.loads(LEDGER.read_text(encoding="utf-8"))
    key = "0123456789abcdef0123456789abcdef"
    state = planning.desired("acme", "sandbox")
    reveal = target.reveal(state)
    legacy: dict[str, dict[str, object]] = {}
    for kind in KINDS:
        for name, values in kind.settings(state, reveal).items():
            address = f"acme/sandbox/{kind.kind}_settings/{name}"
            for setting, item in values.items():
                if setting in current["items"].get(address, {}):
                    digest = hmac.new(key.encode(), ledgers.canonical(item.value).encode(), hashlib.sha256)
                    legacy.setdefault(address, {})[setting] = {"hash": digest.hexdigest()[:32], "at": 1, "by": "x"}
    legacy[SECRET_ENTRY[0]]["unknowable"] = {"hash": "0" * 32, "at": 1, "by": "x"}
    LEDGER.write_text(json.dumps({"format_version": 1, "merchant": "acme", "environment": "sandbox", "key": key,
                                  "items": legacy}), encoding="utf-8")
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0  # still read
    attested = outputs.run("attest", "acme", "--env", "sandbox", "--yes")
    assert attested.exit_code == 0 and "unknowable: its format-1 hash could not be re-verified" in attested.output
    migrated = json.loads(LEDGER.read_text(encoding="utf-8"))
    assert migrated["format_version"] == 2 and "key" not in migrated and key not in LEDGER.read_text()
    assert all("scheme" in entry for entries in migrated["items"].values() for entry in entries.values())
    assert outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode").exit_code == 0


def test_sandbox_files_are_private_and_hold_no_real_secret(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    database = Path(".provision/sandbox/acme.db")
    for path in [database, *database.parent.glob("acme.db-*"), *Path(".provision/secrets").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    real = PLANTED["ACME_ORDER_API_SECRET"].encode()
    assert not any(real in path.read_bytes() for path in Path(".provision").rglob("*") if path.is_file())


def test_the_env_sink_is_0600_and_masked_under_github_actions(project: Path, outputs: Outputs,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = project / "github_env"
    monkeypatch.setenv("GITHUB_ENV", str(env_file))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--secret-sink", "env:GE_TOKEN")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    name_line, value, end, *index_block = env_file.read_text(encoding="utf-8").splitlines()
    assert name_line.startswith("GE_TOKEN__ACME__SANDBOX__GLOBAL_E_INTEGRATION<<PROVISION_EOF_")
    assert end == name_line.split("<<", 1)[1]
    # The list of variable names is not a secret: masked, it would hide those names in the log.
    assert index_block[0].startswith("GE_TOKEN__VARIABLES<<") and index_block[1] == name_line.split("<<")[0]
    assert result.stderr.count("::add-mask::") == 1
    mask = f"::add-mask::{value}"
    # Registered on stderr before anything the run prints after the plan (shown first, before the token
    # exists); never on stdout, which a workflow keeps (`| tee apply.txt`) for the job summary.
    assert result.stderr.count(value) == 1 and mask + "\n" in result.stderr
    assert value not in result.stdout
    before = result.output[:result.output.index(mask + "\n")]
    assert before.startswith("Plan for acme") and before.splitlines()[-1].startswith("Plan: ")
    assert result.output.count(value) == 1  # and never printed otherwise


def test_an_env_sink_into_a_runner_variable_is_refused(project: Path, outputs: Outputs,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ENV", str(project / "github_env"))
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--secret-sink", "env:GITHUB_PATH")
    assert result.exit_code == 1 and "belongs to the CI runner" in result.stderr
    assert not (project / "github_env").exists()
