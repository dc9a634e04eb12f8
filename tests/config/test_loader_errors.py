"""Each loader error: exact position, one line per problem, all problems in one run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from provisioner.config.resolve import load, resolve, validate_file
from provisioner.errors import ConfigError

Writer = Callable[[str, str], Path]

BASE = """
merchant: m
presets: [global-e]
store: GlobalE Store
global_e: {merchant_id: 1808, checkout_plugin: Checkout API}
local_vat_rate: 20
operated_markets: [GB]
primary_warehouse: Main
secrets:
  order_api_secret: env:M_ORDER_API_SECRET
api_tokens:
  - description: Global-e integration
    email: ops@m.example
environments:
  qa:
    centra_url: https://m.centraqa.com
    token: env:M_QA_TOKEN
  prod:
    centra_url: https://m.centra.com
    token: env:M_PROD_TOKEN
"""


def problems(write_merchant: Writer, text: str) -> list[str]:
    return [f"{Path(d.file).name}:{d.line}:{d.column}: {d.message}" for d in validate_file(write_merchant("m", text))]


def test_base_is_valid(write_merchant: Writer) -> None:
    assert problems(write_merchant, BASE) == []


def test_mistyped_key_names_the_closest_valid_key(write_merchant: Writer) -> None:
    text = BASE.replace("primary_warehouse: Main", "primary_warehouse: Main\nlocal_vat_rat: 21")
    assert problems(write_merchant, text) == [
        "m.yaml:8:1: local_vat_rat: unknown key 'local_vat_rat'; did you mean 'local_vat_rate'?"]


def test_mistyped_key_inside_a_plugin_suggests_from_that_plugin_type(write_merchant: Writer) -> None:
    text = BASE.replace("api_tokens:", "plugins:\n  - name: GE Order API\n    debug_loging: true\napi_tokens:")
    assert problems(write_merchant, text) == [
        "m.yaml:12:5: plugins[GE Order API].debug_loging: unknown key 'debug_loging'; did you mean 'debug_logging'?"]


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes"])
def test_yaml11_boolean_words_are_rejected_with_advice(write_merchant: Writer, word: str) -> None:
    text = BASE.replace("api_tokens:", f"plugins:\n  - name: GE Order API\n    return_on_hold: {word}\napi_tokens:")
    assert problems(write_merchant, text) == [
        f"m.yaml:12:21: plugins[GE Order API].return_on_hold: '{word}' is not a boolean here: write true or false"]


def test_duplicate_key(write_merchant: Writer) -> None:
    text = BASE.replace("store: GlobalE Store", "store: GlobalE Store\nstore: Other")
    assert problems(write_merchant, text) == ["m.yaml:4:1: duplicate key 'store' (first at line 3)"]


def test_literal_secret_is_rejected_without_echoing_it(write_merchant: Writer) -> None:
    text = BASE.replace("env:M_ORDER_API_SECRET", "Sup3rS3cretValue")
    found = problems(write_merchant, text)
    assert found == ["m.yaml:9:21: secrets.order_api_secret: must be a secret reference (env:NAME or file:PATH), "
                     "not a literal value (value not shown)"]
    assert "Sup3rS3cretValue" not in "".join(found)


def test_literal_environment_token_is_rejected(write_merchant: Writer) -> None:
    text = BASE.replace("token: env:M_QA_TOKEN", "token: abcdef123456")
    found = problems(write_merchant, text)
    assert len(found) == 1 and found[0].startswith("m.yaml:16:12: environments.qa.token: must be a secret reference")
    assert "abcdef123456" not in found[0]


def test_prod_pointing_at_qa_hosts(write_merchant: Writer) -> None:
    text = BASE.replace("https://m.centra.com", "https://m.centraqa.com")
    text = text.replace("token: env:M_PROD_TOKEN", "token: env:M_PROD_TOKEN\n    global_e: {environment: qa-int}")
    assert problems(write_merchant, text) == [
        "m.yaml:18:17: environments.prod.centra_url: a production environment must not use a QA Centra host "
        "(*.centraqa.com)",
        "m.yaml:20:29: global_e.environment: 'qa-int' points the prod environment 'prod' at Global-e "
        "centra-int.bglobale.com (expected 'prod')",
    ]


def test_qa_pointing_at_prod_webhook_host(write_merchant: Writer) -> None:
    text = BASE.replace("api_tokens:", "plugins:\n  - name: GE Integration Webhooks\n    url: https://centra.global-e.com"
                        "/webhooks/v1/Webhooks/WebhookIntegrationApi?merchantId=1808&domain=m.centraqa.com\n"
                        "api_tokens:")
    found = problems(write_merchant, text)
    assert "m.yaml:12:10: plugins[GE Integration Webhooks].url: the qa environment 'qa' must not send webhooks to " \
           "centra.global-e.com" in found


def test_all_problems_in_one_run(write_merchant: Writer) -> None:
    text = (BASE.replace("primary_warehouse: Main", "primary_warehouse: Main\nlocal_vat_rat: 21")
            .replace("store: GlobalE Store", "store: GlobalE Store\nstore: Other")
            .replace("env:M_ORDER_API_SECRET", "hunter2hunter2")
            .replace("api_tokens:", "plugins:\n  - name: GE Order API\n    return_on_hold: yes\napi_tokens:")
            .replace("token: env:M_PROD_TOKEN", "token: env:M_PROD_TOKEN\n    global_e: {environment: qa-int}"))
    found = problems(write_merchant, text)
    assert len(found) == 5, found
    assert [line.split(":")[1] for line in found] == ["4", "9", "11", "14", "25"]


def test_out_of_range_vat_points_at_the_merchant_value_not_the_preset(write_merchant: Writer) -> None:
    found = problems(write_merchant, BASE.replace("local_vat_rate: 20", "local_vat_rate: 120"))
    assert found == ["m.yaml:5:17: local_vat_rate: Input should be less than or equal to 100"]


def test_unknown_market_code(write_merchant: Writer) -> None:
    found = problems(write_merchant, BASE.replace("[GB]", "[GB, UK]"))
    assert found == ["m.yaml:6:24: operated_markets[1]: 'UK' is not an ISO 3166-1 alpha-2 country code"]


def test_merchant_id_must_be_numeric(write_merchant: Writer) -> None:
    found = problems(write_merchant, BASE.replace("merchant_id: 1808", 'merchant_id: "1808"'))
    assert found == ['m.yaml:4:25: global_e.merchant_id: expected a number, got the string "1808": remove the quotes']


def test_missing_value_a_preset_needs_is_reported_at_the_preset_name(write_merchant: Writer) -> None:
    found = problems(write_merchant, BASE.replace("local_vat_rate: 20\n", ""))
    assert len(found) == 1
    assert found[0].startswith("m.yaml:2:11: preset 'global-e' needs `local_vat_rate` (for ${local_vat_rate})")


def test_unknown_preset_suggests(write_merchant: Writer) -> None:
    found = problems(write_merchant, BASE.replace("[global-e]", "[global-ee]"))
    assert found[0] == "m.yaml:2:11: unknown preset 'global-ee' (did you mean 'global-e'? available: data-platform, " \
                       "global-e)"


def test_duplicate_item_names(write_merchant: Writer) -> None:
    text = BASE.replace("api_tokens:", "tax_groups:\n  - name: GE Local VAT\n  - name: GE Local VAT\napi_tokens:")
    expected = "m.yaml:12:5: tax_groups: 'GE Local VAT' is declared twice (first at line 11)"
    assert expected in problems(write_merchant, text)


def test_duplicate_plugin_uri(write_merchant: Writer) -> None:
    text = BASE.replace("api_tokens:", "plugins:\n  - name: Other API\n    type: order_api\n    store: GlobalE Store\n"
                        "    uri: ge-order-api\napi_tokens:")
    assert problems(write_merchant, text) == [
        "m.yaml:14:10: plugins[Other API].uri: 'ge-order-api' is already used by plugin 'GE Order API' in store "
        "'GlobalE Store'"]


def test_permission_on_the_wrong_side_and_unknown_permission(write_merchant: Writer) -> None:
    text = BASE.replace("    email: ops@m.example", "    email: ops@m.example\n    permissions:\n"
                        "      read: [Order:write, Prodcut:read]")
    found = problems(write_merchant, text)
    assert "m.yaml:14:14: api_tokens[Global-e integration].permissions.read: 'Order:write' is a write permission; " \
           "list it under write" in found
    assert "m.yaml:14:27: api_tokens[Global-e integration].permissions.read[1]: unknown permission 'Prodcut:read'; " \
           "did you mean 'Product:read'?" in found


def test_missing_environment_fields(write_merchant: Writer) -> None:
    text = BASE.replace("    token: env:M_PROD_TOKEN\n", "")
    assert problems(write_merchant, text) == ["m.yaml:18:5: environments.prod: missing required key 'token'"]


def test_unknown_environment_is_a_config_error(write_merchant: Writer) -> None:
    with pytest.raises(ConfigError, match="unknown environment 'stage' \\(this merchant has: qa, prod, sandbox\\)"):
        resolve(load(write_merchant("m", BASE)), "stage")


def test_not_a_mapping(write_merchant: Writer) -> None:
    assert problems(write_merchant, "- just\n- a list\n") == ["m.yaml:1:1: a merchant file must be a YAML mapping"]
