"""The first pass over one merchant: its layers merged into one node document per environment.

    merchant file ─► load ─► presets, then the file ─► + environment overlay ─► ${placeholders} filled
     (parsed, file-level checks)   (once per file)       (once per environment)      (node level)

Everything here works on YAML nodes, so every value keeps the file and line it came from; nothing
here validates (that is the second pass, `resolve.py`). Problems met on the way (a preset that does
not exist, a placeholder nobody fills) travel with the document, in the order they were met."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import yaml

from provisioner.config import environments as envs
from provisioner.config import placeholders, presets
from provisioner.config.nodetree import duplicate_identities, get, key_node, merge, position, without
from provisioner.config.yamlnodes import compose_file, construct
from provisioner.errors import ConfigError, Diagnostic, ProvisionerError

ENV_SPEC_KEYS = ("centra_url", "token", "tier", "token_name")
_STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class MerchantSource:
    """One merchant file, parsed and checked as a file, with its presets merged under it once: its
    environments share it, and resolving them only reads it."""

    path: Path
    root: yaml.MappingNode
    diagnostics: list[Diagnostic]  # of the file itself: duplicates, a name that is not the file's
    under_environments: yaml.MappingNode  # its presets, then the file itself without `environments`
    preset_diagnostics: tuple[Diagnostic, ...]  # met merging the presets: unknown, listed twice, broken

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
    preset_diagnostics: list[Diagnostic] = []
    merged: yaml.Node | None = None
    for preset_node in presets.nodes(root, str(path), preset_diagnostics):
        merged = merge(merged, preset_node)
    merged = merge(merged, without(root, ["environments"]))
    assert isinstance(merged, yaml.MappingNode)  # the file's own tree is a mapping, and so is every preset
    return MerchantSource(path, root, diagnostics, merged, tuple(preset_diagnostics))


@dataclass(frozen=True)
class MergedDocument:
    """One merchant in one environment as a single node tree: presets, then the merchant file, then the
    environment's overlay, placeholders filled. `environments` holds only this environment's own keys."""

    document: yaml.MappingNode
    diagnostics: list[Diagnostic]  # the file's, the presets', then the placeholders' (in the order met)
    unfilled: frozenset[placeholders.Position]  # placeholders already explained: the model need not repeat them
    tier: str  # as the checks see it: a declared tier only when it is text
    centra_url: str | None
    webhook_url: str | None


def merged(source: MerchantSource, environment: str) -> MergedDocument:
    """The merging pass for one environment. Nothing in `source` changes: each environment builds its
    own tree over the shared one."""
    if environment not in source.environment_names():
        names = list(source.environment_names())
        close = difflib.get_close_matches(environment, names, n=1, cutoff=0.6)
        guess = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError([position(source.file, source.root, f"unknown environment '{environment}'{guess} "
                                                              f"(this merchant has: {', '.join(names)})")])
    env_node = get(get(source.root, "environments"), environment)
    env_node = env_node if isinstance(env_node, yaml.MappingNode) else yaml.MappingNode(
        "tag:yaml.org,2002:map", [], source.root.start_mark, source.root.end_mark)
    spec_node = yaml.MappingNode(env_node.tag, [(k, v) for k, v in env_node.value if k.value in ENV_SPEC_KEYS],
                                 env_node.start_mark, env_node.end_mark)
    document = merge(source.under_environments, without(env_node, ENV_SPEC_KEYS))
    assert isinstance(document, yaml.MappingNode)  # a new node: both sides are mappings
    environments_key = key_node(source.root, "environments") or yaml.ScalarNode(_STR, "environments")
    env_key = yaml.ScalarNode(_STR, environment, env_node.start_mark, env_node.end_mark)
    document.value = [(k, v) for k, v in document.value if k.value != "environments"] + [
        (environments_key, yaml.MappingNode(env_node.tag, [(env_key, spec_node)], env_node.start_mark,
                                            env_node.end_mark))]
    values = placeholders.variables(document, spec_node, source.name, environment)
    filling = placeholders.Filling(values, source.file, source.root,
                                   [*source.diagnostics, *source.preset_diagnostics])
    filled = filling.fill(document)
    declared_tier = get(spec_node, "tier")
    declared = construct(declared_tier) if isinstance(declared_tier, yaml.ScalarNode) else None
    return MergedDocument(filled, filling.diagnostics, frozenset(filling.unfilled),
                          envs.tier_for(environment, declared if isinstance(declared, str) else None),
                          values.text("centra_url"), values.text("webhook_url"))

