"""`${placeholders}` in a merged document, filled at the node level: a value substituted whole is the
node that defines it, so an error in it points at its definition; one a preset needs and the merchant
does not give is reported where the merchant file names that preset.

Part of the merging pass (`merging.py`): it reads a merged node tree and builds a new one, and checks
nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provisioner.config import environments as envs
from provisioner.config import presets
from provisioner.config.nodetree import get, position, scalar_text
from provisioner.config.yamlnodes import construct
from provisioner.errors import Diagnostic

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_STR = "tag:yaml.org,2002:str"
_TOP_LEVEL = ("merchant", "store", "local_vat_rate", "operated_markets", "primary_warehouse")

Position = tuple[str, int, int]


@dataclass(frozen=True)
class Variables:
    """What `${name}` can stand for in one environment: the nodes that define each value (so errors point
    at the definition), and for the values this environment cannot derive, what is missing."""

    defined: dict[str, yaml.Node]
    unavailable: dict[str, str]  # name -> what it needs; "" when the cause is reported where it is written

    def text(self, name: str) -> str | None:
        return scalar_text(self.defined.get(name))


def variables(document: yaml.MappingNode, spec_node: yaml.MappingNode, merchant: str,
              environment: str) -> Variables:
    """The values of one environment's merged document, and the ones derived from its Centra URL."""
    defined: dict[str, yaml.Node] = {}
    unavailable: dict[str, str] = {}
    for name in _TOP_LEVEL:
        node = get(document, name)
        if node is not None:
            defined[name] = node
    for name, node in _mapping_items(get(document, "secrets")):
        defined[f"secrets.{name}"] = node
    for name, node in _mapping_items(get(document, "global_e")):
        defined[f"global_e.{name}"] = node
    tier = envs.tier_for(environment, _scalar(get(spec_node, "tier")))
    url = _scalar(get(spec_node, "centra_url")) or (envs.sandbox_url(merchant) if environment == envs.SANDBOX else None)
    if not isinstance(url, str):
        unavailable["webhook_url"] = unavailable["centra_domain"] = "the environment's centra_url"
        return Variables(defined, unavailable)
    mark = spec_node.start_mark
    defined["centra_url"] = yaml.ScalarNode(_STR, url, mark, mark)
    defined["centra_domain"] = yaml.ScalarNode(_STR, envs.domain_of(url), mark, mark)
    merchant_id = _scalar(defined.get("global_e.merchant_id"))
    ge_env = envs.global_e_environment_for(tier, _scalar(defined.get("global_e.environment")))
    if isinstance(merchant_id, int) and not isinstance(merchant_id, bool) and ge_env in envs.GLOBAL_E_HOSTS:
        defined["webhook_url"] = yaml.ScalarNode(
            _STR, envs.webhook_url(ge_env, merchant_id, envs.domain_of(url)), mark, mark)
    elif "global_e.merchant_id" not in defined:
        unavailable["webhook_url"] = "global_e.merchant_id"
    else:
        unavailable["webhook_url"] = ""  # invalid merchant id: reported where it is written
    return Variables(defined, unavailable)


def _scalar(node: yaml.Node | None) -> Any:
    return construct(node) if isinstance(node, yaml.ScalarNode) else None


def _mapping_items(node: yaml.Node | None) -> Iterator[tuple[str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            yield str(k.value), v


@dataclass
class Filling:
    """One document's placeholders being filled: what could not be, and where (the model's own error at
    such a place would only repeat it)."""

    values: Variables
    file: str  # the merchant file
    root: yaml.MappingNode  # its own tree: where it names its presets
    diagnostics: list[Diagnostic] = field(default_factory=list)
    unfilled: set[Position] = field(default_factory=set)

    def fill(self, node: yaml.Node) -> Any:
        """A copy of `node` with its placeholders filled (mappings and sequences are always new nodes)."""
        if isinstance(node, yaml.MappingNode):
            return yaml.MappingNode(node.tag, [(k, self.fill(v)) for k, v in node.value],
                                    node.start_mark, node.end_mark, node.flow_style)
        if isinstance(node, yaml.SequenceNode):
            return yaml.SequenceNode(node.tag, [self.fill(v) for v in node.value], node.start_mark, node.end_mark,
                                     node.flow_style)
        if not isinstance(node, yaml.ScalarNode) or node.style not in (None, '"', "'", "") or "${" not in str(
                node.value):
            return node
        return self._scalar(node)

    def _scalar(self, node: yaml.ScalarNode) -> yaml.Node:
        defined = self.values.defined
        text = str(node.value)
        whole = PLACEHOLDER.fullmatch(text)
        if whole and whole.group(1) in defined:
            return defined[whole.group(1)]
        missing = [name for name in PLACEHOLDER.findall(text) if name not in defined]
        if missing:
            self.unfilled.add((str(node.start_mark.name), node.start_mark.line + 1, node.start_mark.column + 1))
        for name in missing:
            reason = self.values.unavailable.get(name)
            if reason == "":
                continue  # an invalid merchant id: reported where it is written
            needed = reason or name
            self.diagnostics.append(self._needs(node, f"needs `{needed}` (for ${{{name}}})"))
        if missing:
            return node

        def value(match: re.Match[str]) -> str:
            found = defined[match.group(1)]
            return str(found.value) if isinstance(found, yaml.ScalarNode) else match.group(0)

        return yaml.ScalarNode(_STR, PLACEHOLDER.sub(value, text), node.start_mark, node.end_mark, node.style)

    def _needs(self, node: yaml.Node, what: str) -> Diagnostic:
        """A preset's placeholder the merchant file does not fill: reported where the preset is named."""
        origin = node.start_mark.name
        if origin == self.file:
            return position(self.file, node, f"placeholder {what}")
        for item in getattr(get(self.root, "presets"), "value", []):
            if presets.path_of(str(item.value)) == origin:
                return position(self.file, item,
                                f"preset '{item.value}' {what}; set it in the merchant file or its environment "
                                f"(used at {Path(origin).name}:{node.start_mark.line + 1})")
        return position(self.file, self.root, f"placeholder {what}")
