"""The README's tour, line by line, as a new team member runs it: a fresh copy of the example merchants,
no Centra token, the sandbox. The README's own code blocks are the input, so the tour and this test
cannot drift apart.

Each `provision` line of the tour's `sh` blocks runs in order, as a shell would run its first command:
globs expanded, `$VARIABLES` as a CI job sets them, `> FILE` and `| tee FILE` writing the output there
(`2>&1`: with the errors), and any other pipe left out. A line must work, or, where it needs what a
newcomer does not have (a Centra token for `--env qa|prod`), fail saying how to try it without:
`--env sandbox`."""

from __future__ import annotations

import glob
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from tests.conftest import REPO

TOUR = re.compile(r"^## A short tour$(.*?)^## Exit codes$", re.M | re.S)
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.M | re.S)
# Lines that need something no test may have: a server left running, a git remote.
NOT_RUN = {"sandbox serve": "serves until stopped", "--changed-since": "needs the remote origin/main"}
HINT = "--env sandbox"
WORKED = {0, 2}  # 2: changes present (--detailed-exitcode)


def tour_lines(readme: str) -> list[str]:
    match = TOUR.search(readme)
    assert match, "the README has a tour"
    lines: list[str] = []
    for block in BLOCK.findall(match.group(1)):
        lines += [line.strip() for line in block.split("\n") if line.strip().startswith("provision ")]
    return lines


@dataclass
class Command:
    arguments: list[str]
    output: Path | None = None  # `> FILE`, `>> FILE`, `| tee FILE`
    with_errors: bool = False  # `2>&1`


def command(line: str, variables: dict[str, str]) -> Command:
    words = [re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), ""), word)
             for word in shlex.split(line.split(";")[0], comments=True)]
    found = Command([])
    for index, word in enumerate(words[1:], start=1):
        if word in (">", ">>"):
            found.output = Path(words[index + 1])
            break
        if word == "|":
            found.output = Path(words[index + 2]) if words[index + 1:index + 2] == ["tee"] else None
            break
        if word == "2>&1":
            found.with_errors = True
        elif any(c in word for c in "*?"):
            found.arguments += sorted(glob.glob(word)) or [word]
        else:
            found.arguments.append(word)
    return found


def test_the_tour_has_the_commands_a_newcomer_needs() -> None:
    lines = tour_lines((REPO / "README.md").read_text(encoding="utf-8"))
    commands = {line.split()[1] for line in lines}
    assert {"validate", "plan", "apply", "sandbox", "handover", "secret"} <= commands
    assert any("--env sandbox" in line for line in lines)


def test_the_readme_says_how_to_reach_the_tool_after_make_demo() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    before_tour = readme.split("## A short tour")[0]
    assert "source .venv/bin/activate" in before_tour and ".venv/bin/provision" in before_tour


def test_every_tour_line_works_or_says_how_to_try_it(examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACME_QA_TOKEN", "ACME_PROD_TOKEN", "NORDWIND_QA_TOKEN", "NORDWIND_PROD_TOKEN",
                 "NORDWIND_STAGING_TOKEN", "DATALINE_QA_TOKEN", "DATALINE_PROD_TOKEN", "PROVISION_TOKENS",
                 "GITHUB_ENV", "PROVISION_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    (examples / "schemas").mkdir(exist_ok=True)
    ran: list[str] = []
    variables = {"GITHUB_STEP_SUMMARY": "summary.md", "APPLY_EXIT": "0"}
    for line in tour_lines((REPO / "README.md").read_text(encoding="utf-8")):
        if any(skip in line for skip in NOT_RUN):
            continue
        run = command(line, variables)
        result = CliRunner().invoke(cli, run.arguments, catch_exceptions=False)
        said = result.output + result.stderr
        variables["APPLY_EXIT"] = str(result.exit_code)
        if run.output is not None:
            run.output.write_text(said if run.with_errors else result.output, encoding="utf-8")
        assert "Traceback" not in said, line
        if result.exit_code not in WORKED:
            assert HINT in said, f"{line}\n  exit {result.exit_code}: {said[-600:]}"
        ran.append(line)
    assert len(ran) >= 15
    assert Path("out/acme.sandbox.runbook.md").exists(), "the tour's apply wrote a runbook"


def test_the_files_the_tour_writes_are_ignored_by_git(examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    test_every_tour_line_works_or_says_how_to_try_it(examples, monkeypatch)
    (examples / ".gitignore").write_text((REPO / ".gitignore").read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(examples)], check=True)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=examples, check=True,
                            capture_output=True, text=True).stdout
    shown = sorted(line[3:] for line in status.splitlines())
    assert [path for path in shown if not path.startswith(("merchants/", "schemas/", "state/"))] == [".gitignore"]
