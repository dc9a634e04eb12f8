"""AMS's own words: the mapping names only real fields and values, and the runbook shows them."""

from __future__ import annotations

import inspect
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from provisioner.config import models
from provisioner.resources import labels


def _literals(annotation: Any) -> set[str]:
    if get_origin(annotation) is Literal:
        return {str(v) for v in get_args(annotation)}
    return set().union(*(_literals(a) for a in get_args(annotation))) if get_args(annotation) else set()


def _model_values() -> dict[str, set[str]]:
    values: dict[str, set[str]] = {}
    for _, cls in inspect.getmembers(models, inspect.isclass):
        if issubclass(cls, BaseModel):
            for name, info in cls.model_fields.items():
                values.setdefault(name, set()).update(_literals(info.annotation))
    return values


def test_every_label_names_a_field_and_value_of_the_merchant_model() -> None:
    values = _model_values()
    mapping = labels._labels()
    for field, by_value in mapping["fields"].items():
        assert field in values, field
        assert set(by_value) <= values[field], (field, set(by_value) - values[field])
    assert labels.ams_label("markets", "all") == "Select all"
    assert labels.ams_label("endpoints", "all") == "Select ALL"
    assert labels.ams_label("stock_updates", "no such value") is None
