"""A secret sink spec, as `--secret-sink` takes it, turned into a store.

| spec | store | names |
|---|---|---|
| `github:repo` | the Actions secrets of $GITHUB_REPOSITORY | GitHub's rules, upper-cased |
| `github:env/ENVIRONMENT` | the secrets of that GitHub Actions environment | the same |
| `aws-sm:PREFIX` | AWS Secrets Manager in boto3's region | `PREFIX/NAME` |

`env:NAME` (a variable for later steps of the job) is not a store: the engine's sinks keep it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from provisioner.errors import ProvisionerError
from provisioner.secretstores.base import SecretStore, foreign
from provisioner.secretstores.github import TOKEN_VARIABLE as GITHUB_TOKEN_VARIABLE
from provisioner.secretstores.github import GitHubSecrets
from provisioner.secretstores.github_api import Clocks

__all__ = ["GITHUB_TOKEN_VARIABLE", "SPECS", "StoreSpec", "is_store_spec", "open_store", "parse"]

SPECS = "github:repo, github:env/ENVIRONMENT or aws-sm:PREFIX"
KINDS = ("github", "aws-sm")


@dataclass(frozen=True)
class StoreSpec:
    kind: str  # "github" or "aws-sm"
    environment: str | None = None  # github: the Actions environment; None for repository secrets
    prefix: str | None = None  # aws-sm: the secrets' name prefix


def is_store_spec(spec: str) -> bool:
    """Whether the spec names a store of this package (so the caller hands it here), valid or not."""
    return spec.partition(":")[0] in KINDS


def parse(spec: str) -> StoreSpec:
    """The spec's parts, checked for shape only (nothing read from the environment or the network)."""
    kind, colon, rest = spec.partition(":")
    if kind == "github" and colon:
        if rest == "repo":
            return StoreSpec("github")
        if rest.startswith("env/") and rest.removeprefix("env/"):
            return StoreSpec("github", environment=rest.removeprefix("env/"))
        raise ProvisionerError(f"secret sink github:{foreign(rest, 40)}: write github:repo (repository secrets) or "
                               "github:env/ENVIRONMENT (an environment's secrets)")
    if kind == "aws-sm" and colon:
        if rest.strip("/"):
            return StoreSpec("aws-sm", prefix=rest)
        raise ProvisionerError("secret sink aws-sm: needs a prefix for the secrets' names, e.g. aws-sm:provision/ci")
    # A value pasted by mistake in place of a spec must not reach the log: only a kind-like word is shown.
    shown = f"{kind}:…" if re.fullmatch(r"[a-z][a-z0-9-]{0,11}", kind) and colon else "(not shown)"
    raise ProvisionerError(f"secret sink {shown}: must be {SPECS}")


def open_store(spec: str, *, environ: Mapping[str, str] | None = None, clocks: Clocks | None = None,
               deadline: float = 300.0) -> SecretStore:
    """The store the spec names, with its credentials found (GitHub: PROVISION_SECRETS_TOKEN,
    GITHUB_REPOSITORY, GITHUB_API_URL from `environ`, default os.environ; AWS: boto3's own lookup in
    os.environ and the AWS profile). Nothing is sent until `check()` or `put()`; errors here name what is
    missing. `deadline` (seconds for one check or put, rate-limit waits included) and `clocks` apply to
    GitHub; boto3 bounds its own requests (timeouts and three attempts)."""
    parsed = parse(spec)
    if parsed.kind == "github":
        return GitHubSecrets.from_environment(parsed.environment, os.environ if environ is None else environ,
                                              clocks=clocks, deadline=deadline)
    from provisioner.secretstores.aws import AwsSecretsManager  # boto3 loads in ~0.3 s: only when asked for

    return AwsSecretsManager(parsed.prefix or "")
