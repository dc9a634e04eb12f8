from __future__ import annotations

from collections.abc import Iterable, Iterator

import jsonschema
import yaml

from provisioner.config import schema
from provisioner.config.yamlnodes import StrictLoader
from tests.conftest import REPO


def test_shipped_merchants_validate_against_the_schema_and_carry_the_modeline() -> None:
    validator = jsonschema.Draft202012Validator(schema.merchant_schema())
    for path in sorted((REPO / "merchants").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server: $schema=../schemas/merchant.schema.json"), path
        errors = [e.message for e in validator.iter_errors(yaml.load(text, Loader=StrictLoader))]
        assert errors == [], (path, errors)


def test_schema_rejects_a_yes_boolean_like_the_runtime() -> None:
    validator = jsonschema.Draft202012Validator(schema.merchant_schema())
    doc = yaml.load("merchant: m\nplugins:\n  - {name: p, type: order_api, debug_logging: yes}\n",
                    Loader=StrictLoader)
    def messages(errors: Iterable[jsonschema.ValidationError]) -> Iterator[str]:
        for error in errors:
            yield error.message
            yield from messages(error.context or [])

    assert "'yes' is not of type 'boolean'" in set(messages(validator.iter_errors(doc)))
