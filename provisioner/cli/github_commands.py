"""`provision github ...`: the steps of the GitHub workflows that talk to GitHub itself."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner.cli.terminal import echo, example
from provisioner.escape import terminal

# The engine is imported when a command runs, so that --help stays fast.

_BODY = click.argument("body", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@click.group(name="github", epilog=example("provision github comment comment.md --pr 42"))
def github_group() -> None:
    """For GitHub Actions workflows: comments, drift issues, job summaries."""


@github_group.command(epilog=example("provision github comment comment.md --pr 42"))
@_BODY
@click.option("--pr", "number", type=click.IntRange(1), required=True, help="Pull request number.")
def comment(body: Path, number: int) -> None:
    """Post BODY (a report) on the pull request, updating the comment with the same marker if there is one."""
    from provisioner.gitops import github

    # What GitHub answered (a URL, an id) is the server's text.
    echo(terminal(github.upsert_comment(github.Repository.from_environment(), number,
                                        body.read_text(encoding="utf-8"))))


@github_group.command(epilog=example('provision github notice --pr 42 --env qa --run-url "$RUN_URL"'))
@click.option("--pr", "number", type=click.IntRange(1), required=True, help="Pull request number.")
@click.option("--env", "environment", required=True, help="The tier whose plan comment the notice replaces.")
@click.option("--run-url", required=True, help="The run whose log says what failed.")
def notice(number: int, environment: str, run_url: str) -> None:
    """Replace the pull request's plan comment for ENV with a notice that this run could not make the plan,
    so an outdated plan is never left looking current."""
    from provisioner.escape import md_text
    from provisioner.gitops import github
    from provisioner.render import markdown

    text = (f"## provision plan · {md_text(environment)}\n\n**No plan**: the run that should have made it failed, "
            f"so nothing here may be approved or applied. See {md_text(run_url)}, fix it, and push again.")
    body = github.notice(markdown.marker(environment), text)
    echo(terminal(github.upsert_comment(github.Repository.from_environment(), number, body)))


@github_group.command(epilog=example('provision github issue drift.md --plan drift-qa.json --title "Drift (qa)"'))
@_BODY
@click.option("--title", required=True)
@click.option("--plan", "plan_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The JSON plan document BODY was made from: it decides whether the stores drifted.")
def issue(body: Path, title: str, plan_path: Path) -> None:
    """Open or update one drift issue with BODY while stores drift (or merchants fail to plan); close it once
    every store matches its file again."""
    from provisioner.engine.plan import document as fleet_document
    from provisioner.gitops import github

    document = fleet_document.read(plan_path)
    echo(terminal(github.upsert_issue(github.Repository.from_environment(), title, body.read_text(encoding="utf-8"),
                                      drifted=bool(document.changed() or document.errors))))


@github_group.command(epilog=example('provision github summary out/*.runbook.md --apply-log apply.txt '
                                     '--exit-code "$APPLY_EXIT" --plan qa.json >> "$GITHUB_STEP_SUMMARY"'))
@click.argument("runbooks", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply-log", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="What `provision apply` printed, its errors included (`2>&1 | tee apply.txt`).")
@click.option("--exit-code", type=click.IntRange(0, 255), help="The exit code of `provision apply`.")
@click.option("--plan", "plan_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The JSON plan it applied: its merchants each get a status line.")
def summary(runbooks: tuple[Path, ...], apply_log: Path | None, exit_code: int | None, plan_path: Path | None) -> None:
    """Markdown for $GITHUB_STEP_SUMMARY: one status line per merchant (applied, failed with its exit code
    and reason, waiting for a person), the apply output and the steps of each RUNBOOK."""
    from provisioner.engine.plan import document as fleet_document
    from provisioner.render import job_summary

    merchants = ([f"{p.merchant}/{p.environment}" for p in fleet_document.read(plan_path).plans]
                 if plan_path is not None else [])
    echo(job_summary.render(list(runbooks), apply_log.read_text(encoding="utf-8") if apply_log else None,
                            exit_code=exit_code, merchants=merchants), nl=False)
