"""Onboarding and keeping a Global-e merchant live: `rotate`, `handover`, `secret new`, `export`."""

from __future__ import annotations

from pathlib import Path

import click

from provisioner import files
from provisioner.cli import completion
from provisioner.cli.terminal import confirmer, echo, example
from provisioner.errors import ProvisionerError
from provisioner.escape import terminal

# The engine is imported when a command runs, so that --help stays fast.


@click.command(epilog=example('provision rotate acme "Global-e integration" --env prod'))
@click.argument("merchant", shell_complete=completion.merchants)
@click.argument("token")
@completion.env_option()
@click.option("--secret-sink", help="env:NAME for CI: the variable NAME__MERCHANT__ENV__TOKEN, as apply names it "
                                    "(default: a 0600 file under .provision/secrets/).")
@completion.yes_option("Do not ask whether the consumer uses the new token: it does, so revoke the old one at "
                       "once (also --auto-approve, and --consumer-has-it as before).")
@click.option("--consumer-has-it", "consumer_has_it", is_flag=True, hidden=True)
@click.option("--revoke", "revoke_id", type=int, metavar="ID",
              help="Revoke the superseded token ID (the step a rotation left in its runbook).")
@click.option("--runbook-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Default out/MERCHANT.ENV.rotate.runbook.md.")
def rotate(merchant: str, token: str, environment: str, secret_sink: str | None, yes: bool, consumer_has_it: bool,
           revoke_id: int | None, runbook_out: Path | None) -> None:
    """Replace TOKEN (its description) of MERCHANT with a new one; revoke the old one after the handover."""
    from provisioner.engine.lifecycle import rotate as rotating

    if revoke_id is not None:
        done = rotating.revoke_old(merchant, environment, token, revoke_id)
        echo(f"revoked the superseded token '{terminal(token)}' (id {done.revoked[0]})")
        return
    result = rotating.rotate(merchant, environment, token, sink=secret_sink,
                             confirm=confirmer(yes=yes or consumer_has_it), runbook_out=runbook_out)
    echo(f"created the successor of '{terminal(token)}' (id {result.new_id}); its value is in "
         f"{terminal(result.delivered_to)}")
    if result.index is not None:
        echo(terminal(result.index))
    if result.revoked:
        echo(f"revoked the old token (id {result.old_id})")
    else:
        echo(f"the old token (id {result.old_id}) stays valid until its consumer has switched: "
             f"runbook step in {terminal(result.runbook)}")


@click.group(epilog=example("provision secret new acme order_api_secret --env qa"))
def secret() -> None:
    """Secrets the merchant file references."""


@secret.command("new", epilog=example("provision secret new acme order_api_secret --env qa"))
@click.argument("merchant", shell_complete=completion.merchants)
@click.argument("name")
@completion.env_option()
@click.option("--replace", is_flag=True, help="Overwrite a secret file that already holds a value.")
def secret_new(merchant: str, name: str, environment: str, replace: bool) -> None:
    """Generate the secret NAME (a key of `secrets:`) into where its reference reads it; never shown."""
    from provisioner.config.secrets import source_of
    from provisioner.engine.lifecycle.secret_new import new_secret

    made = new_secret(merchant, environment, name, replace=replace)
    if made.stand_in:
        echo(terminal(f"nothing generated: the sandbox uses its own stand-in for {made.name} ({made.reference}), "
                      "never a real secret; in CI the same command writes a new value to $GITHUB_ENV"))
        return
    echo(terminal(f"generated {made.name} ({made.reference}) into {made.where}; the value is not shown"))
    echo(terminal(f"paste it into AMS from {source_of(made.reference)} when the runbook asks for it"))


@click.command(epilog=example("provision handover acme --env prod"))
@click.argument("merchant", shell_complete=completion.merchants)
@completion.env_option()
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the documents (default out/).")
@click.option("--secret-sink", metavar="env|STORE",
              help="env: the secrets as CI variables; a secret store (github:env/ENV, github:repo, aws-sm:PREFIX); "
                   "default: a 0600 bundle under .provision/secrets/.")
@click.option("--token-from", metavar="REF", help="Where the Integration API token's value is (env:NAME or "
              "file:PATH); default: the file `apply` or `rotate` wrote.")
def handover(merchant: str, environment: str, out: Path | None, secret_sink: str | None,
             token_from: str | None) -> None:
    """Write what Global-e needs for MERCHANT in ENV; the secrets go to a sink, never into the document."""
    from provisioner.engine.lifecycle import handover as handing_over

    done = handing_over.handover(merchant, environment, out=out, sink=secret_sink, token_from=token_from)
    echo(f"handover: {terminal(done.markdown)} and {terminal(done.json)} (references only)")
    echo(f"secrets: {terminal(done.secrets_at)}")


@click.command("export", epilog=example("provision export acme --env prod --out merchants/acme.yaml --force"))
@click.argument("merchant", shell_complete=completion.merchants)
@completion.env_option()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
              help="Write the merchant file here (default, or -: stdout).")
@click.option("--force", is_flag=True, help="Replace --out if it exists (e.g. the two-line connection file).")
def export_command(merchant: str, environment: str, out: Path | None, force: bool) -> None:
    """Read MERCHANT's live store in ENV and write it as a merchant file (what the API can read)."""
    from provisioner.engine.lifecycle import export as exporting

    if out is not None and str(out) != "-" and out.exists() and not force:
        # a hand-written merchant file holds presets, global_e and secrets the store cannot tell: never lost silently
        raise ProvisionerError(f"{terminal(str(out))} exists; pass --force to replace it (nothing was read or written)")
    text = exporting.export(merchant, environment)
    if out is None or str(out) == "-":
        echo(text, nl=False)
        return
    files.ensure_dir(out.parent)
    files.write_atomic(out, text)
    echo(f"exported to {terminal(out)}", err=True)

