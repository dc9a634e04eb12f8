"""The GitHub workflows stay thin: every `provision` command line they run exists with the options it
uses, secrets and expressions reach shell steps only through `env:`, and actions are pinned by SHA."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from provisioner.cli.main import cli

WORKFLOWS = sorted((Path(__file__).resolve().parents[2] / ".github" / "workflows").glob("*.yml"))


def steps(path: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def provision_lines(script: str) -> list[list[str]]:
    joined = script.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        for part in re.split(r"\|\||\||;|&&", line):
            words = shlex.split(part.split(">")[0], comments=True)
            if words and words[0] == "provision":
                found.append(words[1:])
    return found


def test_there_are_the_four_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["apply.yml", "drift.yml", "plan.yml", "reviewed-apply.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_provision_command_they_run_exists_with_its_options(path: Path) -> None:
    commands = [words for step in steps(path) if "run" in step for words in provision_lines(step["run"])]
    assert commands
    for words in commands:
        names = [w for w in words if not w.startswith("-")]
        path_to_command = names[:2] if names[0] in ("github", "gitops") else names[:1]
        command: click.Command | None = cli
        for name in path_to_command:
            assert isinstance(command, click.Group)
            command = command.get_command(click.Context(command), name)
        assert command is not None, f"{path.name}: provision {' '.join(path_to_command)} does not exist"
        options = {option for param in command.params for option in param.opts}
        for option in (w.split("=")[0] for w in words if w.startswith("--")):
            assert option in options, f"{path.name}: provision {' '.join(path_to_command)} has no {option}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_a_failing_provision_fails_its_step_even_through_a_pipe(path: Path) -> None:
    """`shell: bash` runs steps with `-o pipefail`; GitHub's default (`bash -e`) would take `tee`'s status."""
    assert yaml.safe_load(path.read_text())["defaults"]["run"]["shell"] == "bash"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_script_and_actions_are_pinned(path: Path) -> None:
    for step in steps(path):
        assert "${{" not in step.get("run", ""), f"{path.name}: pass expressions through env:, not into run:"
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_secret_is_run_as_shell(path: Path) -> None:
    """`provision` reads PROVISION_TOKENS' NAME=value lines as data; sourcing or eval would run them."""
    for step in steps(path):
        script = step.get("run", "")
        assert not re.search(r"(^|[;&|(\s])(\.|source|eval)\s", script), f"{path.name}: {script}"
        assert "<(" not in script, f"{path.name}: {script}"
