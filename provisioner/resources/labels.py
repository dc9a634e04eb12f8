"""AMS's words for the values of a merchant file (ams_labels.yaml beside this module)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from provisioner.config.yamlnodes import StrictLoader


@cache
def _labels() -> dict[str, Any]:
    text = resources.files("provisioner.resources").joinpath("ams_labels.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.load(text, Loader=StrictLoader)
    return data


def ams_label(field: str | None, value: str) -> str | None:
    """How AMS shows `value` of `field`, or None when the mapping has no word for it."""
    labels = _labels()
    by_field: dict[str, str] = labels["fields"].get(field or "", {})
    found = by_field.get(value, labels["any_field"].get(value))
    return None if found is None else str(found)
