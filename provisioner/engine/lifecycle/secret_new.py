"""`provision secret new`: a strong random value for a secret the merchant file references, written only
where that reference reads it back — the file of `file:PATH` (mode 0600), or for `env:NAME` the variable
handed to later CI steps — and never printed. Replaces typing a secret made by hand on a web page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from provisioner.engine.apply import sinks
from provisioner.engine.plan import planning
from provisioner.errors import ProvisionerError

BYTES = 32  # 256 bits


@dataclass(frozen=True)
class NewSecret:
    name: str
    reference: str
    where: str
    stand_in: bool = False  # the sandbox's own value for an env: reference: nothing was generated


def new_secret(merchant: str, environment: str, name: str, *, replace: bool = False) -> NewSecret:
    state = planning.desired(merchant, environment)
    declared = state.spec.secrets or {}
    if name not in declared:
        known = ", ".join(sorted(declared)) or "none"
        raise ProvisionerError(f"the merchant file of {merchant} references no secret '{name}' (secrets: {known})")
    reference = declared[name]
    value = secrets.token_urlsafe(BYTES)
    scheme, _, target = reference.partition(":")
    if state.is_sandbox and scheme == "env" and not sinks.ci_variables_available():
        # The emulator never sees a real secret: it derives a stand-in for every env: reference itself.
        return NewSecret(name, reference, "", stand_in=True)
    if scheme == "file":
        path = Path(target).expanduser()
        if path.exists() and path.stat().st_size and not replace:
            raise ProvisionerError(f"{path} already holds a secret (perhaps in use in Centra); pass --replace to "
                                   "overwrite it; nothing was changed")
        sinks.write_private(path, value + "\n")
        return NewSecret(name, reference, f"{path} (mode 0600)")
    if not sinks.ci_variables_available():
        # sinks.check's message names `--secret-sink`, an option this command does not have
        raise ProvisionerError(f"secrets.{name} is {reference}: an environment variable only CI can hand to later "
                               "steps ($GITHUB_ENV, or $PROVISION_ENV_FILE names a file to append it to); on a "
                               "workstation reference a file (file:PATH) instead, or try it on the emulator with "
                               "--env sandbox; nothing was changed")
    where = sinks.store(value, merchant=merchant, environment=environment, description=name, sink=reference)
    return NewSecret(name, reference, where)
