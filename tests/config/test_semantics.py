"""The checks a schema cannot express read the raw merged document, before the model has checked its
shapes: a list or mapping where they expect a name must leave the report to the model, never crash
`provision validate` with a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from provisioner.config.resolve import validate_file
from tests.config.test_loader_errors import BASE

Writer = Callable[[str, str], Path]

STOREFRONT = """plugins:
  - name: Storefront
    type: storefront_api
    store: GlobalE Store
    uri: {uri}
api_tokens:"""


def problems(write_merchant: Writer, text: str) -> list[str]:
    return [f"{Path(d.file).name}:{d.line}:{d.column}: {d.message}" for d in validate_file(write_merchant("m", text))]


@pytest.mark.parametrize(("old", "new", "expected"), [
    pytest.param("api_tokens:", STOREFRONT.format(uri="[a, b]"),
                 ["m.yaml:14:10: plugins[Storefront].uri: Input should be a valid string"], id="plugin uri as a list"),
    pytest.param("api_tokens:", STOREFRONT.format(uri="{a: b}"),
                 ["m.yaml:14:10: plugins[Storefront].uri: Input should be a valid string"],
                 id="plugin uri as a mapping"),
    pytest.param("checkout_plugin: Checkout API}", "checkout_plugin: Checkout API, environment: [prod]}",
                 ["m.yaml:4:75: global_e.environment: Input should be 'qa-int' or 'prod'"],
                 id="Global-e environment as a list"),
    pytest.param("checkout_plugin: Checkout API}", "checkout_plugin: Checkout API, environment: {a: 1}}",
                 ["m.yaml:4:75: global_e.environment: Input should be 'qa-int' or 'prod'"],
                 id="Global-e environment as a mapping"),
    pytest.param("    email: ops@m.example", "    email: ops@m.example\n    permissions: {read: [{x: 1}]}",
                 ["m.yaml:13:26: api_tokens[Global-e integration].permissions.read[0]: "
                  "Input should be a valid string"], id="permission as a mapping"),
])
def test_a_wrong_shape_is_reported_by_the_model_not_a_crash(write_merchant: Writer, old: str, new: str,
                                                           expected: list[str]) -> None:
    assert old in BASE
    assert problems(write_merchant, BASE.replace(old, new, 1)) == expected


def test_a_uri_used_twice_in_one_store_is_still_reported(write_merchant: Writer) -> None:
    twice = STOREFRONT.format(uri="shop").replace("api_tokens:", "") + STOREFRONT.format(uri="shop").replace(
        "plugins:\n", "").replace("name: Storefront", "name: Storefront 2")
    found = problems(write_merchant, BASE.replace("api_tokens:", twice, 1))
    assert found == ["m.yaml:18:10: plugins[Storefront 2].uri: 'shop' is already used by plugin 'Storefront' in "
                     "store 'GlobalE Store'"]
