"""Field types shared by the merchant-file models: secret references, country codes, selections."""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, WithJsonSchema
from pydantic_core import PydanticCustomError

from provisioner.reference import catalogue


class Model(BaseModel):
    """Strict: no type coercion, unknown keys rejected, immutable once validated.

    Built lazily (`defer_build`): a model's own validator is built only when it is validated or
    instantiated by itself. The merchant file's (MerchantFile) holds every section and item, so building
    each of them too, at import, only cost every command ~12 ms. A model the tool validates or
    instantiates directly sets `defer_build=False`, so it is built at import, never by two threads at
    once in a fleet plan (pydantic's lazy build is not thread-safe): MerchantFile, Policy, TokenPermissions
    (tests/config/test_models.py checks the list)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)


SECRET_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:\S.*)$")


def _secret_ref(value: str) -> str:
    if not SECRET_REF.match(value):
        # Never echo the value: it may be the secret itself, pasted by mistake.
        raise PydanticCustomError(
            "secret_literal",
            "must be a secret reference (env:NAME or file:PATH), not a literal value (value not shown)",
        )
    return value


SecretRef = Annotated[
    str,
    AfterValidator(_secret_ref),
    WithJsonSchema({"type": "string", "pattern": SECRET_REF.pattern,
                    "description": "A reference to a secret: env:NAME or file:PATH. Never the value."}),
]


def _country(value: str) -> str:
    if value not in catalogue.countries():
        raise PydanticCustomError("country_code", "'{code}' is not an ISO 3166-1 alpha-2 country code",
                                  {"code": value})
    return value


CountryCode = Annotated[
    str,
    AfterValidator(_country),
    WithJsonSchema({"type": "string", "enum": sorted(catalogue.countries())}),
]


def _permission(value: str) -> str:
    catalogue_ = catalogue.permissions()
    known = catalogue_.every
    if value in catalogue_.deprecated:
        raise PydanticCustomError("deprecated_permission", "permission '{name}' is deprecated by Centra; use {use}",
                                  {"name": value, "use": catalogue_.deprecated[value]})
    if value not in known:
        close = difflib.get_close_matches(value, sorted(known), n=1)
        hint = (f"; did you mean '{close[0]}'?" if close
                else " (add it to provisioner/reference/permissions.yaml if Centra has introduced it)")
        raise PydanticCustomError("unknown_permission", "unknown permission '{name}'{hint}",
                                  {"name": value, "hint": hint})
    return value


Permission = Annotated[str, AfterValidator(_permission)]

Name = Annotated[str, Field(min_length=1)]
Status = Literal["active", "inactive"]


class AllExcept(Model):
    """`{all_except: [...]}`: everything the catalogue (or Centra) knows, minus these."""

    all_except: list[str] = Field(default_factory=list)


class AllCountriesExcept(Model):
    all_except: list[CountryCode] = Field(default_factory=list)


class AllPermissionsExcept(Model):
    all_except: list[Permission] = Field(default_factory=list)


def _list_or_all_except(value: Any) -> str:
    return "list" if isinstance(value, list) else "all_except"


# Tagged so an error names the one shape the user wrote, not every member of the union.
CountrySelection = Annotated[Annotated[list[CountryCode], Tag("list")]
                             | Annotated[AllCountriesExcept, Tag("all_except")], Discriminator(_list_or_all_except)]
PermissionSelection = Annotated[Annotated[list[Permission], Tag("list")]
                                | Annotated[AllPermissionsExcept, Tag("all_except")],
                                Discriminator(_list_or_all_except)]


def tombstone_tag(value: Any) -> str:
    """Union discriminator: `absent: true` items need only their identity. Called with the raw dict
    when validating and with the model instance when serializing."""
    absent = value.get("absent") if isinstance(value, dict) else getattr(value, "absent", None)
    return "absent" if absent is True else "present"
