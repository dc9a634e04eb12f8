"""The habits every command shares: one flag for "don't ask", --env always explained, merchants by name,
completion of tiers, and files of the user's own keeping in the user's normal mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provisioner.cli.main import COMMANDS, cli
from tests.cli.test_main import _complete
from tests.engine.conftest import Outputs, outputs, project

__all__ = ["outputs", "project"]


def _commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None
        subs = command.commands.items() if isinstance(command, click.Group) else [("", command)]
        found += [(f"{name} {sub}".strip(), each) for sub, each in subs]
    return found


def test_every_env_option_says_what_it_takes() -> None:
    missing = [name for name, command in _commands() for param in command.params
               if "--env" in getattr(param, "opts", []) and not getattr(param, "help", None)]
    assert missing == []


def test_the_one_flag_for_dont_ask_is_spelt_the_same_everywhere() -> None:
    for name, command in _commands():
        flags = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if name in ("rotate", "apply", "attest"):
            assert {"--yes", "-y", "--auto-approve"} <= flags, name


def test_validate_takes_merchant_names_like_every_other_command(examples: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "acme", "nordwind"])
    assert result.exit_code == 0 and "2 merchant file(s) valid" in result.output
    typo = CliRunner().invoke(cli, ["validate", "acem"])
    assert typo.exit_code == 1 and "did you mean 'acme'?" in typo.stderr
    assert CliRunner().invoke(cli, ["validate", "merchants/acme.yaml"]).exit_code == 0


def test_completion_offers_tiers_where_a_fleet_is_planned(examples: Path) -> None:
    assert {"qa", "prod", "sandbox", "staging", "production"} <= set(_complete("plan --all --env "))
    assert _complete("resolve acme --env ") == ["prod", "qa", "sandbox"]  # one merchant: its own names only


def test_merchant_or_plan_completion_offers_saved_plans(examples: Path) -> None:
    from provisioner.cli import completion

    Path("out").mkdir()
    Path("out/qa.json").write_text("{}")
    Path("plan.json").write_text("{}")
    context = click.Context(cli)
    param = click.Argument(["target"])
    assert [i.value for i in completion.merchants_or_plans(context, param, "")] == [
        "acme", "dataline", "nordwind", "plan.json"]
    assert [i.value for i in completion.merchants_or_plans(context, param, "out/")] == ["out/qa.json"]
    assert [i.value for i in completion.merchants_or_plans(context, param, "a")] == ["acme"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_the_catalog_gets_the_users_normal_mode(project: Path, outputs: Outputs, umask: int) -> None:
    previous = os.umask(umask)
    try:
        assert outputs.run("catalog", "export", "acme", "--env", "sandbox", "--out", "catalog.csv").exit_code == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(Path("catalog.csv").stat().st_mode) == 0o666 & ~umask


def test_a_global_dash_c_runs_in_another_checkout(examples: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    start = Path.cwd()
    try:
        os.chdir(elsewhere)
        result = CliRunner().invoke(cli, ["-C", str(examples), "validate", "acme"])
    finally:
        os.chdir(start)
    assert result.exit_code == 0 and "1 merchant file(s) valid" in result.output
    missing = CliRunner().invoke(cli, ["-C", str(elsewhere / "nope"), "validate"])
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_from_a_sub_folder_the_tool_says_where_the_project_is(examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from `docs/` (or deeper), a name or `--all` finds no merchant: an empty fleet that passes, or
    "no merchant 'acme'", would mislead; the error names the folder to run from, and -C reaches it."""
    (examples / "docs" / "deep").mkdir(parents=True)
    monkeypatch.chdir(examples / "docs" / "deep")
    hint = "the project is ../.. (run from there, or `provision -C ../.. ...`)"
    for args in (["plan", "acme", "--env", "sandbox"], ["plan", "--all", "--env", "sandbox"], ["validate"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1 and hint in result.stderr, (args, result.output, result.stderr)
    assert not Path(".provision").exists() and not Path("out").exists()
    assert CliRunner().invoke(cli, ["-C", "../..", "validate", "acme"]).exit_code == 0
