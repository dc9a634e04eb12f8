"""Resolve one merchant for one environment, in two passes that hand over once:

1. merging (`merging.py`): presets, then the merchant file, then the environment's overlay, merged as
   YAML nodes (each value keeps its file and line); placeholders filled;
2. checking (here): the merged document built as data once, the checks a schema cannot express and
   the model run over it, every problem reported at its `file:line:col`; derived values computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provisioner.config import environments as envs
from provisioner.config import semantics
from provisioner.config.diagnostics import from_validation_error
from provisioner.config.merging import MerchantSource, MergedDocument, load, merged
from provisioner.config.models import MerchantFile
from provisioner.config.yamlnodes import construct
from provisioner.errors import ConfigError, Diagnostic

# `load` and `MerchantSource` belong to the merging pass; callers find them here, with `resolve`.
__all__ = ["DesiredState", "MerchantSource", "checked", "load", "resolve", "validate_file"]


@dataclass(frozen=True)
class DesiredState:
    """The fully expanded desired state of one merchant in one environment."""

    merchant: str
    environment: str
    tier: str
    centra_url: str
    token_ref: str | None
    global_e_environment: str | None
    webhook_url: str | None
    spec: MerchantFile
    source: str
    token_name: str | None = None  # the token the tool authenticates with, as Centra names it

    @property
    def centra_domain(self) -> str:
        return envs.domain_of(self.centra_url)

    @property
    def is_sandbox(self) -> bool:
        return self.environment == envs.SANDBOX

    def document(self) -> dict[str, Any]:
        """What `provision resolve` prints: managed sections only, with the derived values."""
        body = self.spec.model_dump(mode="json", exclude_none=True, exclude={"environments", "presets"})
        return {
            "merchant": self.merchant,
            "presets": list(self.spec.presets),
            "environment": {"name": self.environment, "tier": self.tier, "centra_url": self.centra_url,
                            "centra_domain": self.centra_domain, "token": self.token_ref or "(sandbox admin token)"},
            "derived": {"webhook_url": self.webhook_url, "global_e_environment": self.global_e_environment},
            **{k: v for k, v in body.items() if k != "merchant"},
        }


def resolve(source: MerchantSource, environment: str) -> DesiredState:
    return checked(source, environment, merged(source, environment))


def checked(source: MerchantSource, environment: str, document: MergedDocument) -> DesiredState:
    """The checking pass: the merged document as data, checked by the rules and the model; the desired
    state, or every problem at once (one per position) as a ConfigError."""
    diagnostics = list(document.diagnostics)
    data = construct(document.document)
    diagnostics.extend(semantics.check(data, document.document, source.file, environment, document.tier,
                                       document.centra_url, document.webhook_url))
    try:
        spec = MerchantFile.model_validate(data)
    except ValidationError as exc:
        found = from_validation_error(exc, document.document, data, MerchantFile, source.file)
        diagnostics.extend(d for d in found if (d.file, d.line, d.column) not in document.unfilled)
        raise ConfigError(_one_per_position(diagnostics)) from None
    if diagnostics:
        raise ConfigError(_one_per_position(diagnostics))
    return _desired(source, environment, semantics.expand_permissions(spec), document.webhook_url)


def _desired(source: MerchantSource, environment: str, spec: MerchantFile, webhook_url: str | None) -> DesiredState:
    env = spec.environments[environment]
    tier = envs.tier_for(environment, env.tier)
    url = env.centra_url or envs.sandbox_url(spec.merchant)
    ge_env = envs.global_e_environment_for(tier, spec.global_e.environment) if spec.global_e else None
    return DesiredState(merchant=spec.merchant, environment=environment, tier=tier, centra_url=url.rstrip("/"),
                        token_ref=env.token, global_e_environment=ge_env, webhook_url=webhook_url, spec=spec,
                        source=source.file,
                        token_name=env.token_name or (envs.SANDBOX_TOKEN_NAME if environment == envs.SANDBOX
                                                      else None))


def _one_per_position(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """A value substituted into several places fails once, at its definition."""
    seen: dict[tuple[str, int, int], Diagnostic] = {}
    for d in diagnostics:
        seen.setdefault((d.file, d.line, d.column), d)
    return sorted(seen.values())


def validate_file(path: Path) -> list[Diagnostic]:
    """Every problem of one merchant file, over all its environments (and the sandbox)."""
    try:
        source = load(path)
    except ConfigError as exc:
        return exc.diagnostics
    found: list[Diagnostic] = list(source.diagnostics)
    for environment in source.environment_names():
        try:
            resolve(source, environment)
        except ConfigError as exc:
            found.extend(exc.diagnostics)
    return _one_per_position(found)
