"""Where created tokens go: with `--secret-sink env:NAME`, each token of a run (of every merchant of a
fleet apply, and every token of one merchant) in a variable of its own, NAME__MERCHANT__ENV__TOKEN,
listed in NAME__VARIABLES; tokens that would share a place are refused before any is created."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest

from provisioner.engine.apply import sinks
from provisioner.errors import ExitCode
from tests.engine.conftest import (
    PLANTED,
    Outputs,
    box,
    env_file_variables,
    sandbox_call,
    scan_for_secrets,
    tokens_named,
)

ACME = "CI_TOKEN__ACME__SANDBOX__GLOBAL_E_INTEGRATION"
NORDWIND = "CI_TOKEN__NORDWIND__SANDBOX__GLOBAL_E_INTEGRATION"
INDEX = "CI_TOKEN__VARIABLES"
SECOND_TOKEN = """  - description: Reporting (Café)
    organization: Acme
    email: reports@acme.example
    integration: reporting
    permissions: {read: [Order:read], write: []}
"""


@pytest.fixture
def env_file(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runner's `$GITHUB_ENV`, outside the project, so scanning the project finds no value in it."""
    path = tmp_path_factory.mktemp("runner") / "github_env"
    monkeypatch.setenv("GITHUB_ENV", str(path))
    return path


def _add_token(merchant: str, text: str) -> None:
    path = Path(f"merchants/{merchant}.yaml")
    path.write_text(path.read_text().replace("environments:\n", text + "environments:\n", 1))


def _token_named_by(merchant: str, value: str) -> str:
    """The description of the valid token `value` authenticates as in the merchant's store."""
    with box(merchant).store.transaction() as db:
        row = db.execute("SELECT name, revoked FROM tokens WHERE value = ?", (value,)).fetchone()
    assert row is not None and not row["revoked"], f"no valid token of {merchant} has this value"
    return str(row["name"])


def _without_masks(outputs: Outputs, values: list[str]) -> None:
    """Drop the one place a value may appear under GitHub Actions (its `::add-mask::` line, on stderr)
    so the scan that follows covers everything else."""
    for index, text in enumerate(outputs.texts):
        for value in values:
            text = text.replace(f"::add-mask::{value}\n", "")
        outputs.texts[index] = text


def test_variable_names_are_upper_case_bounded_and_keep_parts_apart() -> None:
    assert sinks.token_variable("env:CI", "acme", "qa", "Global-e integration") == "CI__ACME__QA__GLOBAL_E_INTEGRATION"
    assert sinks.token_variable("env:CI", "nord-wind", "prod_eu", "Café  reporting!") == \
        "CI__NORD_WIND__PROD_EU__CAFE_REPORTING"
    # A part that would run into the next could make two tokens one variable; two underscores never occur in a part.
    assert sinks.token_variable("env:CI", "acme_qa", "eu", "t") != sinks.token_variable("env:CI", "acme", "qa_eu", "t")
    assert sinks.index_variable("env:CI") == "CI__VARIABLES"
    long_name = sinks.token_variable("env:" + "N" * 128, "m" * 300, "e" * 300, "Integration " * 40)
    assert len(long_name) <= 254 and re.fullmatch(r"N{128}(__[A-Z0-9]+(_[A-Z0-9]+)*){3}", long_name)
    # Cut parts end in a hash of the whole part: parts differing only past the cut stay apart.
    assert sinks.token_variable("env:CI", "m", "e", "x" * 60 + "a") != sinks.token_variable("env:CI", "m", "e",
                                                                                          "x" * 60 + "b")
    # Nothing Latin to keep: a hash of the text, still a valid, distinct name.
    assert re.fullmatch(r"CI__M__E__X[0-9A-F]{8}", sinks.token_variable("env:CI", "m", "e", "Интеграция"))
    assert sinks.token_variable("env:CI", "m", "e", "Интеграция") != sinks.token_variable("env:CI", "m", "e", "同步")


def test_a_fleet_apply_gives_each_merchants_token_its_own_masked_variable(
        project: Path, outputs: Outputs, env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    result = outputs.run("apply", "fleet.json", "--auto-approve", "--secret-sink", "env:CI_TOKEN")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    written = env_file_variables(env_file)
    # merchants applied at once write their variables as they finish; the index is written last, sorted
    assert sorted(list(written)[:2]) == [ACME, NORDWIND] and list(written)[2] == INDEX
    assert written[INDEX] == f"{ACME} {NORDWIND}"
    assert _token_named_by("acme", written[ACME]) == "Global-e integration"
    assert _token_named_by("nordwind", written[NORDWIND]) == "Global-e integration"
    assert written[ACME] != written[NORDWIND]
    for variable in (ACME, NORDWIND):
        value = written[variable]
        mask = f"::add-mask::{value}\n"
        # Masked on stderr before the run says where the value went; the value nowhere else.
        assert result.output.index(mask) < result.output.index(f"stored in environment variable {variable} ")
        assert value not in result.stdout and result.stderr.count(value) == 1 and mask in result.stderr
    assert result.stderr.count("::add-mask::") == 2  # the list of names is not masked
    assert f"{INDEX} lists the token variable(s) written: {ACME} {NORDWIND}" in result.stdout
    _without_masks(outputs, [written[ACME], written[NORDWIND]])
    scan_for_secrets(project, outputs, [written[ACME], written[NORDWIND], *PLANTED.values()])
    assert not Path(".provision/secrets").exists()


def test_one_merchant_with_two_tokens_gets_two_variables(project: Path, outputs: Outputs, env_file: Path) -> None:
    _add_token("acme", SECOND_TOKEN)
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--secret-sink", "env:CI_TOKEN")
    assert result.exit_code == 0, result.output
    reporting = "CI_TOKEN__ACME__SANDBOX__REPORTING_CAFE"
    written = env_file_variables(env_file)
    assert sorted(written) == sorted([ACME, reporting, INDEX])
    assert sorted(written[INDEX].split(" ")) == sorted([ACME, reporting])
    assert _token_named_by("acme", written[ACME]) == "Global-e integration"
    assert _token_named_by("acme", written[reporting]) == "Reporting (Café)"
    assert f"Reporting (Café): token value stored in environment variable {reporting} " in result.stdout
    scan_for_secrets(project, outputs, [written[ACME], written[reporting]])


def test_two_tokens_of_one_merchant_sharing_a_name_are_refused_before_either_is_created(
        project: Path, outputs: Outputs, env_file: Path) -> None:
    _add_token("acme", SECOND_TOKEN.replace("Reporting (Café)", "Global-E Integration"))
    for sink in (["--secret-sink", "env:CI_TOKEN"], []):  # the 0600 files would share a name as well
        result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", *sink)
        assert result.exit_code == ExitCode.ERROR, result.output
        [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert ("acme/sandbox token 'Global-E Integration' and acme/sandbox token 'Global-e integration' would "
                "both be stored in ") in line
        assert (ACME if sink else "global-e-integration.token") in line
        assert "nothing was changed" in line and "Traceback" not in result.output
        assert tokens_named("acme", "Global-e integration") == tokens_named("acme", "Global-E Integration") == []
        assert not env_file.exists() and not Path(".provision/secrets").exists()


def test_merchants_whose_names_share_a_variable_are_refused_before_any_token_is_created(
        project: Path, outputs: Outputs, env_file: Path) -> None:
    shutil.copy("merchants/acme.yaml", "merchants/acme-eu.yaml")
    shutil.copy("merchants/acme.yaml", "merchants/acme_eu.yaml")
    for name in ("acme-eu", "acme_eu"):
        path = Path(f"merchants/{name}.yaml")
        path.write_text(path.read_text().replace("merchant: acme\n", f"merchant: {name}\n"))
    assert outputs.run("plan", "acme", "acme-eu", "acme_eu", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    result = outputs.run("apply", "fleet.json", "--auto-approve", "--secret-sink", "env:CI_TOKEN")
    assert result.exit_code == ExitCode.ERROR, result.output
    assert ("acme-eu/sandbox token 'Global-e integration' and acme_eu/sandbox token 'Global-e integration' would "
            "both be stored in CI_TOKEN__ACME_EU__SANDBOX__GLOBAL_E_INTEGRATION") in result.stderr
    for merchant in ("acme", "acme-eu", "acme_eu"):  # not even the merchant without a clash was applied
        assert tokens_named(merchant, "Global-e integration") == []
    assert not env_file.exists() and "Traceback" not in result.output


def test_rotate_delivers_the_successor_under_the_same_name_as_apply(
        project: Path, outputs: Outputs, env_file: Path) -> None:
    first = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--secret-sink", "env:CI_TOKEN")
    assert first.exit_code == 0, first.output
    created = env_file_variables(env_file)[ACME]
    result = outputs.run("rotate", "acme", "Global-e integration", "--env", "sandbox", "--secret-sink",
                         "env:CI_TOKEN", "--consumer-has-it")
    assert result.exit_code == 0, result.output
    assert f"its value is in environment variable {ACME} " in result.stdout
    assert f"{INDEX} lists the token variable(s) written: {ACME}" in result.stdout
    written = env_file_variables(env_file)  # the later assignment wins, as on the runner
    assert written[ACME] != created and written[INDEX] == ACME
    assert _token_named_by("acme", written[ACME]) == "Global-e integration"
    assert [t["revoked"] for t in tokens_named("acme", "Global-e integration")] == [True, False]
    scan_for_secrets(project, outputs, [created, written[ACME]])



def test_a_token_made_before_a_failure_is_still_listed(project: Path, outputs: Outputs, env_file: Path) -> None:
    sandbox_call("nordwind", "PUT", "/_sandbox/faults", {"fail_mutation": {"nth": 2}})  # after its token
    result = outputs.run("apply", "nordwind", "--env", "sandbox", "--auto-approve", "--secret-sink", "env:CI_TOKEN")
    assert result.exit_code == ExitCode.PARTIAL_APPLY, result.output
    assert f"{INDEX} lists the token variable(s) written: {NORDWIND}" in result.stderr
    written = env_file_variables(env_file)
    assert written[INDEX] == NORDWIND and _token_named_by("nordwind", written[NORDWIND]) == "Global-e integration"


def test_a_fleet_lists_every_token_made_also_when_a_merchant_fails(project: Path, outputs: Outputs,
                                                                   env_file: Path) -> None:
    sandbox_call("nordwind", "PUT", "/_sandbox/faults", {"fail_mutation": {"nth": 2}})  # after its token
    assert outputs.run("plan", "acme", "nordwind", "--env", "sandbox", "--out", "fleet.json").exit_code == 0
    result = outputs.run("apply", "fleet.json", "--auto-approve", "--secret-sink", "env:CI_TOKEN")
    assert result.exit_code == ExitCode.PARTIAL_APPLY, result.output
    assert f"{INDEX} lists the token variable(s) written: {ACME} {NORDWIND}" in result.stdout
    # the merchant that failed still says where its token went (by name, never the value), and the other
    # merchant was applied all the same
    failed = result.stderr[result.stderr.index("error: nordwind/sandbox:"):]
    assert f"Global-e integration: token value stored in environment variable {NORDWIND}" in failed
    assert "not done: nordwind/sandbox/event_listener/Order, nordwind/sandbox/event_listener/Return" in failed
    assert "applied 1 of 2 plan(s); 1 failed" in result.stdout
    written = env_file_variables(env_file)
    assert written[INDEX] == f"{ACME} {NORDWIND}"
    assert _token_named_by("acme", written[ACME]) == _token_named_by("nordwind", written[NORDWIND])
    scan_for_secrets(project, outputs, [written[ACME], written[NORDWIND]])
