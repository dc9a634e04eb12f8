"""validate, resolve, schema: the offline commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from provisioner import config
from provisioner.cli import completion
from provisioner.cli.terminal import echo, example
from provisioner.errors import ConfigError, ProvisionerError
from provisioner.escape import data_text, terminal, yaml_text

# The models and the loader are imported when a command runs, so that --help stays fast.


@click.command(epilog=example("provision validate acme", "provision validate merchants/acme.yaml"))
@click.argument("merchants", nargs=-1, shell_complete=completion.merchants)
def validate(merchants: tuple[str, ...]) -> None:
    """Check merchant files offline: MERCHANTS by name or path (default: merchants/*.yaml).

    Every problem of every file is reported, one line each (file:line:col: message); exit 4 if any."""
    from provisioner.config import resolve as resolver

    # a name, like every other command takes, or a file or folder
    paths = [Path(m) if Path(m).exists() or m.endswith((".yaml", ".yml")) or "/" in m else config.merchant_path(m)
             for m in merchants]
    files = config.merchant_files(paths)
    if not files:
        root = config.project_above()
        where = f"; the project is {root} (run from there, or `provision -C {root} ...`)" if root else ""
        raise ProvisionerError(f"no merchant files found (looked in merchants/){where}")
    problems = [d for f in files for d in resolver.validate_file(f)]
    if problems:
        raise ConfigError(problems)
    echo(f"{len(files)} merchant file(s) valid")


@click.command(epilog=example("provision resolve acme --env prod --format json"))
@click.argument("merchant", shell_complete=completion.merchants)
@completion.env_option()
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def resolve(merchant: str, environment: str, fmt: str) -> None:
    """Print the fully expanded desired state of MERCHANT in ENV."""
    from provisioner.config import resolve as resolver

    desired = resolver.resolve(resolver.load(config.merchant_path(merchant)), environment)
    document = desired.document()
    if fmt == "json":
        echo(data_text(json.dumps(document, indent=2)))
    else:
        echo(yaml_text(document), nl=False)


@click.command(epilog=example("provision schema --check"))
@click.option("--check", is_flag=True, help="Exit 1 if schemas/ is not current, instead of writing it.")
def schema(check: bool) -> None:
    """Write (or check) schemas/: merchant files and JSON plans."""
    from provisioner.render import schemas

    root = Path.cwd()
    if check:
        stale = schemas.stale(root)
        if stale:
            raise ProvisionerError(f"{', '.join(map(str, stale))} is stale: run `provision schema`")
        echo("schemas/ is current")
        return
    for path in schemas.write(root):
        echo(f"wrote {terminal(path)}")

