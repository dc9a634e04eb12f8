"""The root command: lazy command registry, exit codes of usage errors, help examples, completion,
`--debug`, colour and `--out -`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provisioner.cli.main import COMMANDS, cli
from tests.engine.conftest import PLANTED, Outputs

REPO = Path(__file__).resolve().parents[2]


def _every_command() -> list[tuple[list[str], click.Command]]:
    found: list[tuple[list[str], click.Command]] = []
    context = click.Context(cli)
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        assert command is not None
        found.append(([name], command))
        if isinstance(command, click.Group):
            found.extend(([name, sub], command.commands[sub]) for sub in command.commands)
    return found


def test_every_registry_line_names_a_command_whose_help_it_quotes() -> None:
    context = click.Context(cli)
    for name, (_, short_help) in COMMANDS.items():
        command = cli.get_command(context, name)
        assert isinstance(command, click.Command) and command.name == name
        assert (command.help or "").startswith(short_help.rstrip(".?")), name


def test_help_imports_no_command_module() -> None:
    probe = ("import sys; from provisioner.cli.main import cli; cli(['--help'], standalone_mode=False); "
             "print(sorted(m for m in sys.modules if m.endswith('_commands') or m.split('.')[0] in "
             "('pydantic', 'gql', 'httpx', 'graphql') or m.startswith('provisioner.engine')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_no_command_help_imports_the_engine_or_its_libraries() -> None:
    """`provision plan -h` as fast as `provision --help`: a command module imports the engine when it runs."""
    paths = [path for path, _ in _every_command()]
    probe = ("import json, sys\nfrom provisioner.cli.main import cli\nheavy = {}\n"
             f"for path in {paths!r}:\n"
             "    try:\n        cli([*path, '--help'], standalone_mode=False)\n    except SystemExit:\n        pass\n"
             "    heavy[' '.join(path)] = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('pydantic', 'gql', 'httpx', 'graphql', 'yaml', 'deepdiff', 'tenacity') or m.startswith(("
             "'provisioner.config.', 'provisioner.centra', 'provisioner.render', 'provisioner.policy', "
             "'provisioner.resources')) and m != 'provisioner.config.environments' or "
             "m.startswith('provisioner.engine.') and m != 'provisioner.engine.limits')\n"
             "print(json.dumps(heavy))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    heavy = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(heavy) == len(paths) and heavy == {name: [] for name in heavy}


@pytest.mark.parametrize("path", [cmd for cmd, _ in _every_command()] + [[]], ids=lambda p: " ".join(p) or "root")
def test_every_help_ends_with_an_example(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="provision")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-2].strip() == "Example:" or lines[-3].strip() == "Example:", result.output
    assert lines[-1].strip().startswith("provision ")


@pytest.mark.parametrize("args", [["plan", "acme"], ["--bogus"], ["plan", "--env", "qa"], ["nosuchcommand"],
                                  ["catalog", "export", "acme", "--env", "qa"], ["plan", "acme", "--env", "qa",
                                                                                 "--format", "yaml"]])
def test_usage_errors_exit_1_so_that_2_only_means_changes(args: list[str], examples: Path) -> None:
    result = CliRunner().invoke(cli, args, prog_name="provision")
    assert result.exit_code == 1, result.output
    assert "Usage:" in result.stderr and "Traceback" not in result.stderr


def _complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    line = f"provision {words}"
    parts = line.split(" ")
    result = CliRunner().invoke(cli, [], prog_name="provision", env={
        "_PROVISION_COMPLETE": "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(len(parts) - 1), **(env or {})})
    return [item.split(",", 1)[1] for item in result.output.split()]


def test_completion_of_merchant_and_environment_names(examples: Path) -> None:
    assert _complete("plan ") == ["acme", "dataline", "nordwind"]
    assert _complete("apply n") == ["nordwind"]
    assert _complete("plan nordwind --env ") == ["prod", "production", "qa", "sandbox", "staging"]  # + tiers
    assert _complete("resolve acme --env p") == ["prod"]
    assert _complete("catalog export acme --env ") == ["prod", "qa", "sandbox"]


def test_plan_out_dash_writes_the_json_plan_to_stdout(project: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "acme", "--env", "sandbox", "--out", "-"])
    assert result.exit_code == 0, result.output
    assert [p["merchant"] for p in json.loads(result.stdout)["plans"]] == ["acme"]  # the plan document
    assert "Plan: 14 to create" in result.stderr
    assert not Path("-").exists()


def test_catalog_export_out_dash_writes_the_csv_to_stdout(project: Path) -> None:
    result = CliRunner().invoke(cli, ["catalog", "export", "acme", "--env", "sandbox", "--out", "-"])
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert rows[0] == "Product Unique Identifier,SKU,Display Name,Product Description,Country of Origin"
    assert len(rows) > 10 and "wrote stdout" in result.stderr
    assert not Path("-").exists()


def test_export_out_dash_is_stdout_like_no_out(project: Path) -> None:
    dashed = CliRunner().invoke(cli, ["export", "acme", "--env", "sandbox", "--out", "-"])
    plain = CliRunner().invoke(cli, ["export", "acme", "--env", "sandbox"])
    assert dashed.exit_code == 0 and dashed.stdout == plain.stdout and "merchant: acme" in dashed.stdout
    assert not Path("-").exists()


@pytest.mark.parametrize("args", [
    ["plan", "acme", "--env", "sandbox", "--out", "taken"],
    ["export", "acme", "--env", "sandbox", "--out", "taken"],
    ["apply", "acme", "--env", "sandbox", "--auto-approve", "--runbook-out", "taken"],
    ["rotate", "acme", "Global-e integration", "--env", "sandbox", "--runbook-out", "taken"],
], ids=lambda a: a[0])
def test_an_output_path_that_is_a_folder_is_refused_before_anything(project: Path, outputs: Outputs,
                                                                    args: list[str]) -> None:
    Path("taken").mkdir()
    result = outputs.run(*args)
    assert result.exit_code == 1 and "is a directory" in result.stderr and "Traceback" not in result.stderr
    assert not Path(".provision/secrets").exists()  # no token was created


@pytest.mark.parametrize("args", [
    ["plan", "acme", "--env", "sandbox", "--out", "taken/plan.json"],
    ["sandbox", "reset", "acme", "--db", "taken"],
    ["catalog", "export", "acme", "--env", "sandbox", "--out", "taken/missing/catalog.csv"],
], ids=lambda a: a[0])
def test_a_path_the_system_refuses_is_one_line_exit_1(project: Path, args: list[str]) -> None:
    Path("taken").write_text("a file, not a folder\n")
    if args[0] == "sandbox":
        Path("taken").unlink()
        Path("taken").mkdir()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: taken") and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_debug_traces_every_request_of_a_plan_and_no_secret(project: Path, outputs: Outputs) -> None:
    result = outputs.run("--debug", "plan", "acme", "--env", "sandbox")
    trace = [line for line in result.stderr.splitlines() if "provisioner.centra.client" in line]
    assert len(trace) == 2  # introspection and the one read of the store
    assert all("https://acme.sandbox.invalid/graphql -> 200" in line and "complexity" in line for line in trace)
    applied = outputs.run("--debug", "apply", "acme", "--env", "sandbox", "--auto-approve")
    # acme's token and warehouse are created in one request (docs/apply.md)
    assert "createAccessToken+createWarehouse https://acme.sandbox.invalid/graphql -> 200" in applied.stderr
    created = next(Path(".provision/secrets").glob("acme.sandbox.*.token")).read_text().strip()
    admin = Path(".provision/sandbox/acme.token")
    for secret in [*PLANTED.values(), created] + ([admin.read_text().strip()] if admin.exists() else []):
        assert not any(secret in text for text in outputs.texts)
    assert "Bearer" not in applied.stderr


@pytest.mark.parametrize("args", [["plan", "acme", "--env", "sandbox", "--debug"],
                                  ["catalog", "export", "acme", "--debug", "--env", "sandbox", "--out", "-"]])
def test_debug_after_the_command_is_the_same_as_before_it(project: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, args, env={"PROVISION_LOG": None})
    assert result.exit_code == 0, result.output
    assert "https://acme.sandbox.invalid/graphql -> 200" in result.stderr


def test_no_color_after_the_command_is_the_same_as_before_it(project: Path) -> None:
    env = {"NO_COLOR": None, "FORCE_COLOR": "1"}
    result = CliRunner().invoke(cli, ["plan", "acme", "--env", "sandbox", "--no-color"], env=env)
    assert result.exit_code == 0 and "\x1b[" not in result.output and "Plan: 14 to create" in result.output
    assert "\x1b[" in CliRunner().invoke(cli, ["plan", "acme", "--env", "sandbox"], env=env).output


def test_every_command_takes_debug_and_no_color() -> None:
    for path, command in _every_command():
        options = {name for param in command.params for name in getattr(param, "opts", [])}
        assert {"--debug", "--no-color"} <= options, path


def test_provision_log_debug_is_the_same_as_debug(project: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "acme", "--env", "sandbox"], env={"PROVISION_LOG": "debug"})
    assert "-> 200" in result.stderr
    quiet = CliRunner().invoke(cli, ["plan", "acme", "--env", "sandbox"], env={"PROVISION_LOG": None})
    assert "-> 200" not in quiet.stderr


@pytest.mark.parametrize(("env", "flags", "coloured"), [
    ({"FORCE_COLOR": "1"}, [], True),
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, [], False),
    ({"FORCE_COLOR": "1"}, ["--no-color"], False),
    ({}, [], False),  # not a terminal
])
def test_colour_follows_no_color_force_color_and_the_flag(project: Path, env: dict[str, str], flags: list[str],
                                                          coloured: bool) -> None:
    result = CliRunner().invoke(cli, [*flags, "plan", "acme", "--env", "sandbox"],
                                env={"NO_COLOR": None, "FORCE_COLOR": None, **env})
    assert result.exit_code == 0
    assert ("\x1b[" in result.output) is coloured
    assert "Plan: 14 to create" in click.unstyle(result.output)


def test_piped_output_has_no_escape_sequence(project: Path) -> None:
    """The real CLI in a subprocess, stdout and stderr pipes: results only, no progress, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    binary = Path(sys.executable).parent / "provision"
    for args in (["plan", "--all", "--env", "sandbox"], ["catalog", "export", "acme", "--env", "sandbox", "--out",
                                                          "catalog.csv"]):
        result = subprocess.run([str(binary), *args], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout and "\x1b" not in result.stderr and "\r" not in result.stderr
        assert result.stderr == ""


def test_with_debug_a_refused_path_also_shows_where_it_was_raised(project: Path) -> None:
    Path("taken").write_text("a file, not a folder\n")
    result = CliRunner().invoke(cli, ["--debug", "plan", "acme", "--env", "sandbox", "--out", "taken/plan.json"])
    assert result.exit_code == 1 and "error: taken" in result.stderr
    assert "the error's origin" in result.stderr and "Traceback" in result.stderr
