"""`global_e.checkout_plugin`: a Global-e merchant must name the plugin Global-e reads the cart through."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from provisioner.config.resolve import validate_file
from tests.config.test_loader_errors import BASE

Writer = Callable[[str, str], Path]


def problems(write_merchant: Writer, text: str) -> list[str]:
    return [f"{Path(d.file).name}:{d.line}:{d.column}: {d.message}" for d in validate_file(write_merchant("m", text))]


def test_a_global_e_merchant_without_a_checkout_plugin_is_rejected(write_merchant: Writer) -> None:
    text = BASE.replace("global_e: {merchant_id: 1808, checkout_plugin: Checkout API}",
                        "global_e: {merchant_id: 1808}")
    found = problems(write_merchant, text)
    assert len(found) == 1
    assert found[0].startswith("m.yaml:4:11: global_e.checkout_plugin: a Global-e merchant must name the Checkout API")


def test_a_checkout_plugin_of_another_type_is_rejected(write_merchant: Writer) -> None:
    text = BASE.replace("global_e: {merchant_id: 1808, checkout_plugin: Checkout API}",
                        "global_e: {merchant_id: 1808, checkout_plugin: GE Order API}")
    assert problems(write_merchant, text) == [
        "m.yaml:4:48: global_e.checkout_plugin: 'GE Order API' is of type order_api; Global-e reads the cart "
        "through a plugin of type "
        "checkout_api or storefront_api"]


def test_a_declared_storefront_plugin_is_accepted(write_merchant: Writer) -> None:
    text = BASE.replace("global_e: {merchant_id: 1808, checkout_plugin: Checkout API}",
                        "global_e: {merchant_id: 1808, checkout_plugin: Shop}").replace(
        "api_tokens:", "plugins:\n  - {name: Shop, type: storefront_api, store: GlobalE Store, uri: shop}\napi_tokens:")
    assert problems(write_merchant, text) == []


def test_a_merchant_without_global_e_needs_no_checkout_plugin(write_merchant: Writer) -> None:
    text = BASE.replace("presets: [global-e]\n", "").replace(
        "global_e: {merchant_id: 1808, checkout_plugin: Checkout API}\n", "")
    text = text.replace("  - description: Global-e integration\n    email: ops@m.example\n",
                        "  - {description: Reader, organization: M, integration: m, email: ops@m.example, "
                        "permissions: {read: [Order:read]}}\n")
    assert problems(write_merchant, text) == []
