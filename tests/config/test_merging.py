"""The merging pass: one node document per environment over a tree shared by the file's environments,
and by every merchant naming the same preset. Sharing is only safe while nothing changes what it shares."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from provisioner.config import presets
from provisioner.config.merging import load, merged
from provisioner.config.nodetree import get, locate
from provisioner.config.resolve import resolve
from provisioner.errors import ConfigError
from tests.config.test_loader_errors import BASE

Writer = Callable[[str, str], Path]


def _snapshot(node: yaml.Node) -> object:
    """Everything a tree says, positions included."""
    where = (node.start_mark.name, node.start_mark.line, node.start_mark.column, node.tag)
    if isinstance(node, yaml.MappingNode):
        return where, [(_snapshot(k), _snapshot(v)) for k, v in node.value]
    if isinstance(node, yaml.SequenceNode):
        return where, [_snapshot(item) for item in node.value]
    return where, node.value


def test_resolving_changes_neither_the_file_s_tree_nor_the_presets(write_merchant: Writer) -> None:
    text = BASE.replace("api_tokens:", "plugins:\n  - name: GE Order API\n    debug_logging: false\napi_tokens:")
    source = load(write_merchant("m", text + "  staging:\n    centra_url: https://m2.centraqa.com\n"
                                        "    token: env:M_STAGING_TOKEN\n    local_vat_rate: 25\n"))
    preset, _ = presets.parsed("global-e")
    assert preset is not None
    before = _snapshot(source.root), _snapshot(source.under_environments), _snapshot(preset)
    for environment in source.environment_names():
        resolve(source, environment)
    assert (_snapshot(source.root), _snapshot(source.under_environments), _snapshot(preset)) == before


def test_an_environment_resolves_alike_alone_or_after_the_others(write_merchant: Writer) -> None:
    text = BASE.replace("  prod:\n", "  prod:\n    local_vat_rate: 250\n")
    path = write_merchant("m", text)
    shared = load(path)
    for environment in shared.environment_names():
        with contextlib.suppress(ConfigError):
            resolve(shared, environment)
    with pytest.raises(ConfigError) as after_others:
        resolve(shared, "prod")
    with pytest.raises(ConfigError) as alone:
        resolve(load(path), "prod")
    assert after_others.value.diagnostics == alone.value.diagnostics
    assert [d.message for d in alone.value.diagnostics] == [
        "local_vat_rate: Input should be less than or equal to 100"]


def test_the_document_holds_its_environment_only_and_each_value_s_origin(write_merchant: Writer) -> None:
    path = write_merchant("m", BASE.replace("  prod:\n", "  prod:\n    store: Prod Store\n"))
    document = merged(load(path), "prod")
    assert document.diagnostics == [] and document.tier == "prod"
    assert document.centra_url == "https://m.centra.com"
    assert document.webhook_url == ("https://centra.global-e.com/webhooks/v1/Webhooks/WebhookIntegrationApi"
                                    "?merchantId=1808&domain=m.centra.com")
    environments = get(document.document, "environments")
    assert isinstance(environments, yaml.MappingNode)
    assert [k.value for k, _ in environments.value] == ["prod"]
    store = locate(document.document, ["store"])
    assert (store.value, store.start_mark.name, store.start_mark.line + 1) == ("Prod Store", str(path), 18)
    # a preset's plugin keeps the preset's file; its `${store}` is filled from the environment's overlay
    plugin_store = locate(document.document, ["plugins", 0, "store"])
    assert plugin_store.value == "Prod Store" and plugin_store.start_mark.name == str(path)
    plugin_uri = locate(document.document, ["plugins", 0, "uri"])
    assert plugin_uri.start_mark.name == presets.path_of("global-e")


@pytest.mark.parametrize(("section", "removal"), [
    ("api_tokens", "  - description: Global-e integration\n    absent: true\n"),
    ("plugins", "  - name: GE Integration Webhooks\n    absent: true\n"),
])
def test_an_item_a_preset_declares_is_removed_by_name_alone(write_merchant: Writer, section: str,
                                                             removal: str) -> None:
    """`absent: true` replaces the preset's item: its fields (organization, type, ...) describe
    nothing that is wanted, and merged into the tombstone they made the file invalid."""
    text = BASE if section != "api_tokens" else BASE.replace(
        "api_tokens:\n  - description: Global-e integration\n    email: ops@m.example\n", "")
    desired = resolve(load(write_merchant("m", text.replace("environments:", f"{section}:\n{removal}environments:"))),
                      "prod")
    items = getattr(desired.spec, section).items
    removed = [i for i in items if getattr(i, "absent", False)]
    assert len(removed) == 1
    assert removed[0].model_dump(exclude_defaults=True) == {
        "description" if section == "api_tokens" else "name": removal.split(": ", 1)[1].split("\n")[0],
        "absent": True}
    kept = resolve(load(write_merchant("n", BASE.replace("merchant: m", "merchant: n"))), "prod")
    assert len(items) == len(getattr(kept.spec, section).items)  # replaced in place, not added
