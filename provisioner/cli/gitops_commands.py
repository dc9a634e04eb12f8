"""`provision gitops ...`: the merge side of the GitOps flow — apply exactly the reviewed plans of what
was merged, list what waits for a person, apply a freshly reviewed plan of the waiting merchants."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from provisioner.cli.terminal import echo, example
from provisioner.engine import limits

# The engine is imported when a command runs, so that --help stays fast.

_ENV = click.option("--env", "environment", required=True, metavar="TIER",
                    help="The environment tier of the merchant files (qa, prod), as the pull request planned it.")
_SINK = click.option("--secret-sink", envvar="PROVISION_SECRET_SINK",
                     help="Where created tokens go (env:NAME, or a secret store); default $PROVISION_SECRET_SINK.")


def _run_url() -> str | None:
    parts = [os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


@click.group(name="gitops", epilog=example("provision gitops apply --env qa --head \"$GITHUB_SHA\""))
def gitops_group() -> None:
    """For the apply workflows: the merge applies exactly what was reviewed."""


@gitops_group.command(name="apply", epilog=example('provision gitops apply --env qa --head "$GITHUB_SHA" '
                                                   '>> "$GITHUB_STEP_SUMMARY"',
                                                   'provision gitops apply --env prod --after qa --head "$GITHUB_SHA"'))
@_ENV
@click.option("--head", default="HEAD", show_default=True, help="The merged commit to bring the environment to.")
@click.option("--after", metavar="TIER", help="Apply only what TIER has applied already (prod after qa).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("reviewed"),
              show_default=True, help="Where the reviewed plans are downloaded.")
@_SINK
@click.option("--parallelism", type=click.IntRange(1, 256), default=limits.DEFAULT_PARALLELISM, show_default=True,
              help="Centra requests in flight across the run (merchants are applied at once).")
def apply_merged(environment: str, head: str, after: str | None, workdir: Path, secret_sink: str | None,
                 parallelism: int) -> None:
    """Apply the reviewed plans of every pull request merged since ENV's record; print the job summary.

    A merchant whose reviewed plan no longer holds (or that has none) is not applied: it is listed in
    ENV's tracking issue and told on its pull request. The record moves to HEAD only when nothing failed."""
    from provisioner.gitops import merge, report
    from provisioner.gitops.outcomes import Outcome
    from provisioner.gitops.rest import Repository

    def told(outcome: Outcome) -> None:
        echo(report.status_line(outcome), err=True)

    request = merge.Request(environment=environment, head=head, workdir=workdir, secret_sink=secret_sink,
                            after=after, run_url=_run_url(), parallelism=parallelism)
    run = merge.apply_merged(Repository.from_environment(), request, on_outcome=told)
    echo(report.summary(run), nl=False)
    code = run.exit_code()
    if code:
        sys.exit(code)


@gitops_group.command(epilog=example("provision gitops waiting --env qa"))
@_ENV
def waiting(environment: str) -> None:
    """The merchants waiting in ENV's tracking issue, one per line."""
    from provisioner.gitops import tracking
    from provisioner.gitops.rest import Repository

    repository = Repository.from_environment()
    with repository.session() as session:
        for name in sorted(tracking.read(session, environment)):
            echo(name)


@gitops_group.command(name="apply-reviewed", epilog=example("provision gitops apply-reviewed plan-qa.json --env qa"))
@click.argument("plan", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_ENV
@_SINK
@click.option("--allow-deletes", is_flag=True, help="Apply the plan's deletions (the workflow's input, which only "
                                                    "people who may run it can set).")
@click.option("--after", metavar="TIER", help="Refuse unless TIER has applied HEAD and none of the plan's merchants "
                                              "waits there (prod after qa).")
@click.option("--head", default="HEAD", show_default=True, help="The commit the plan was made from.")
def apply_reviewed(plan: Path, environment: str, secret_sink: str | None, allow_deletes: bool, after: str | None,
                   head: str) -> None:
    """Apply exactly PLAN (a fresh plan a reviewer approved) and take its applied merchants off ENV's
    tracking issue."""
    from provisioner.gitops import report, settle
    from provisioner.gitops.rest import Repository

    run = settle.apply_reviewed(Repository.from_environment(), plan, environment, secret_sink=secret_sink,
                                allow_deletes=allow_deletes, run_url=_run_url(), after=after, head=head)
    echo(report.summary(run), nl=False)
    code = run.exit_code()
    if code:
        sys.exit(code)
