"""Resolve one merchant for one environment: presets, then the merchant file, then the environment's
overlay, merged as YAML nodes; placeholders filled; validated; derived values computed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from provisioner.config import environments as envs
from provisioner.config import presets, semantics
from provisioner.config.diagnostics import from_validation_error
from provisioner.config.models import MerchantFile
from provisioner.config.yamlnodes import (
    compose_file,
    construct,
    duplicate_identities,
    get,
    key_node,
    merge,
    position,
    without,
)
from provisioner.errors import ConfigError, Diagnostic, ProvisionerError

ENV_SPEC_KEYS = ("centra_url", "token", "tier", "token_name")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_STR = "tag:yaml.org,2002:str"


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


@dataclass
class MerchantSource:
    path: Path
    root: yaml.MappingNode
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def file(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        node = get(self.root, "merchant")
        return str(node.value) if isinstance(node, yaml.ScalarNode) else self.path.stem

    def environment_names(self) -> list[str]:
        node = get(self.root, "environments")
        declared = [str(k.value) for k, _ in node.value] if isinstance(node, yaml.MappingNode) else []
        return declared + ([envs.SANDBOX] if envs.SANDBOX not in declared else [])


def load(path: Path) -> MerchantSource:
    if not path.is_file():
        raise ProvisionerError(f"{path}: no such merchant file")
    root, diagnostics = compose_file(path)
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(diagnostics or [Diagnostic(str(path), 1, 1, "a merchant file must be a YAML mapping")])
    diagnostics.extend(duplicate_identities(root, str(path)))
    named = get(root, "merchant")
    if isinstance(named, yaml.ScalarNode) and str(named.value) != path.stem:
        # Plans, ledgers, locks and sandboxes are keyed by the name: two spellings would split them.
        diagnostics.append(position(str(path), named, f"merchant: '{named.value}' does not match the file name "
                                                      f"'{path.name}'; name the file {named.value}.yaml"))
    return MerchantSource(path, root, diagnostics)


def resolve(source: MerchantSource, environment: str) -> DesiredState:
    diagnostics = list(source.diagnostics)
    if environment not in source.environment_names():
        known = ", ".join(source.environment_names())
        raise ConfigError([position(source.file, source.root,
                                    f"unknown environment '{environment}' (this merchant has: {known})")])
    document, spec_node = _merged(source, environment, diagnostics)
    variables, unavailable = _variables(document, spec_node, source.name, environment)
    suppressed: set[tuple[str, int, int]] = set()  # placeholders already explained
    document = _substitute(document, variables, unavailable, source, diagnostics, suppressed)
    data = construct(document)
    declared_tier = _scalar(get(spec_node, "tier"))
    diagnostics.extend(semantics.check(
        data, document, source.file, environment,
        envs.tier_for(environment, declared_tier if isinstance(declared_tier, str) else None),
        _text(variables.get("centra_url")), _text(variables.get("webhook_url"))))
    try:
        spec = MerchantFile.model_validate(data)
    except ValidationError as exc:
        found = from_validation_error(exc, document, data, MerchantFile, source.file)
        diagnostics.extend(d for d in found if (d.file, d.line, d.column) not in suppressed)
        raise ConfigError(_one_per_position(diagnostics)) from None
    if diagnostics:
        raise ConfigError(_one_per_position(diagnostics))
    return _desired(source, environment, semantics.expand_permissions(spec), variables)


def _text(node: yaml.Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _merged(source: MerchantSource, environment: str,
            diagnostics: list[Diagnostic]) -> tuple[yaml.MappingNode, yaml.MappingNode]:
    env_node = get(get(source.root, "environments"), environment)
    env_node = env_node if isinstance(env_node, yaml.MappingNode) else yaml.MappingNode(
        "tag:yaml.org,2002:map", [], source.root.start_mark, source.root.end_mark)
    spec_node = yaml.MappingNode(env_node.tag, [(k, v) for k, v in env_node.value if k.value in ENV_SPEC_KEYS],
                                 env_node.start_mark, env_node.end_mark)
    merged: yaml.Node | None = None
    for preset_node in presets.nodes(source.root, source.file, diagnostics):
        merged = merge(merged, preset_node)
    merged = merge(merged, without(source.root, ["environments"]))
    merged = merge(merged, without(env_node, ENV_SPEC_KEYS))
    assert isinstance(merged, yaml.MappingNode)
    environments_key = key_node(source.root, "environments") or yaml.ScalarNode(_STR, "environments")
    env_key = yaml.ScalarNode(_STR, environment, env_node.start_mark, env_node.end_mark)
    merged.value = [(k, v) for k, v in merged.value if k.value != "environments"] + [
        (environments_key, yaml.MappingNode(env_node.tag, [(env_key, spec_node)], env_node.start_mark,
                                            env_node.end_mark))]
    return merged, spec_node


def _scalar(node: yaml.Node | None) -> Any:
    return construct(node) if isinstance(node, yaml.ScalarNode) else None


def _variables(document: yaml.MappingNode, spec_node: yaml.MappingNode, merchant: str,
               environment: str) -> tuple[dict[str, yaml.Node], dict[str, str]]:
    """Placeholder values as the nodes that define them, so errors point at the definition."""
    variables: dict[str, yaml.Node] = {}
    unavailable: dict[str, str] = {}
    for name in ("merchant", "store", "local_vat_rate", "operated_markets", "primary_warehouse"):
        node = get(document, name)
        if node is not None:
            variables[name] = node
    for name, node in _mapping_items(get(document, "secrets")):
        variables[f"secrets.{name}"] = node
    for name, node in _mapping_items(get(document, "global_e")):
        variables[f"global_e.{name}"] = node
    tier = envs.tier_for(environment, _scalar(get(spec_node, "tier")))
    url = _scalar(get(spec_node, "centra_url")) or (envs.sandbox_url(merchant) if environment == envs.SANDBOX else None)
    if not isinstance(url, str):
        unavailable["webhook_url"] = unavailable["centra_domain"] = "the environment's centra_url"
        return variables, unavailable
    mark = spec_node.start_mark
    variables["centra_url"] = yaml.ScalarNode(_STR, url, mark, mark)
    variables["centra_domain"] = yaml.ScalarNode(_STR, envs.domain_of(url), mark, mark)
    merchant_id = _scalar(variables.get("global_e.merchant_id"))
    ge_env = envs.global_e_environment_for(tier, _scalar(variables.get("global_e.environment")))
    if isinstance(merchant_id, int) and not isinstance(merchant_id, bool) and ge_env in envs.GLOBAL_E_HOSTS:
        variables["webhook_url"] = yaml.ScalarNode(
            _STR, envs.webhook_url(ge_env, merchant_id, envs.domain_of(url)), mark, mark)
    elif "global_e.merchant_id" not in variables:
        unavailable["webhook_url"] = "global_e.merchant_id"
    else:
        unavailable["webhook_url"] = ""  # invalid merchant id: reported where it is written
    return variables, unavailable


def _mapping_items(node: yaml.Node | None) -> Iterator[tuple[str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            yield str(k.value), v


def _substitute(node: yaml.Node, variables: dict[str, yaml.Node], unavailable: dict[str, str],
                source: MerchantSource, diagnostics: list[Diagnostic],
                suppressed: set[tuple[str, int, int]]) -> Any:
    if isinstance(node, yaml.MappingNode):
        return yaml.MappingNode(node.tag, [(k, _substitute(v, variables, unavailable, source, diagnostics,
                                                           suppressed)) for k, v in node.value],
                                node.start_mark, node.end_mark, node.flow_style)
    if isinstance(node, yaml.SequenceNode):
        return yaml.SequenceNode(node.tag, [_substitute(v, variables, unavailable, source, diagnostics, suppressed)
                                            for v in node.value], node.start_mark, node.end_mark, node.flow_style)
    if not isinstance(node, yaml.ScalarNode) or node.style not in (None, '"', "'", "") or "${" not in str(node.value):
        return node
    text = str(node.value)
    whole = PLACEHOLDER.fullmatch(text)
    if whole and whole.group(1) in variables:
        return variables[whole.group(1)]
    missing = [name for name in PLACEHOLDER.findall(text) if name not in variables]
    if missing:
        suppressed.add((str(node.start_mark.name), node.start_mark.line + 1, node.start_mark.column + 1))
    for name in missing:
        reason = unavailable.get(name)
        if reason == "":
            continue  # an invalid merchant id: reported where it is written
        needed = reason or name
        diagnostics.append(_preset_needs(source, node, f"needs `{needed}` (for ${{{name}}})"))
    if missing:
        return node

    def value(match: re.Match[str]) -> str:
        found = variables[match.group(1)]
        return str(found.value) if isinstance(found, yaml.ScalarNode) else match.group(0)

    return yaml.ScalarNode(_STR, PLACEHOLDER.sub(value, text), node.start_mark, node.end_mark, node.style)


def _preset_needs(source: MerchantSource, node: yaml.Node, what: str) -> Diagnostic:
    """A preset's placeholder the merchant file does not fill: reported where the preset is named."""
    origin = node.start_mark.name
    if origin == source.file:
        return position(source.file, node, f"placeholder {what}")
    for item in getattr(get(source.root, "presets"), "value", []):
        if presets.path_of(str(item.value)) == origin:
            return position(source.file, item,
                            f"preset '{item.value}' {what}; set it in the merchant file or its environment "
                            f"(used at {Path(origin).name}:{node.start_mark.line + 1})")
    return position(source.file, source.root, f"placeholder {what}")


def _desired(source: MerchantSource, environment: str, spec: MerchantFile,
             variables: dict[str, yaml.Node]) -> DesiredState:
    env = spec.environments[environment]
    tier = envs.tier_for(environment, env.tier)
    url = env.centra_url or envs.sandbox_url(spec.merchant)
    ge_env = envs.global_e_environment_for(tier, spec.global_e.environment) if spec.global_e else None
    return DesiredState(merchant=spec.merchant, environment=environment, tier=tier, centra_url=url.rstrip("/"),
                        token_ref=env.token, global_e_environment=ge_env,
                        webhook_url=_text(variables.get("webhook_url")), spec=spec, source=source.file,
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
