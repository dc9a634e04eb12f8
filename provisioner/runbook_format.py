"""The machine-readable part of a runbook, shared by the writer (`engine/apply/runbook.py`) and the simulated
operator (`sandbox/operator.py`), so neither imports the other.

A runbook carries one header line and one line per step, each an HTML comment holding JSON on a single
line: `<!-- provision-step: {...} -->`. The JSON is ASCII with `<`, `>` and `&` escaped, so no value can
end the comment or begin another; the header counts the steps and carries a digest of them, so a step
line that appears anywhere else (imitated by a name, or pasted in) makes the whole runbook refused.
Every step validates against its schema before anything is performed."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from provisioner.errors import ProvisionerError

FORMAT_VERSION = 1
HEADER_MARK = "provision-runbook:"
STEP_MARK = "provision-step:"

Name = Annotated[str, Field(min_length=1, max_length=200)]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
SecretReference = Annotated[str, Field(pattern=r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:[^\x00-\x1f\x7f]{1,500})$")]
Plain = bool | int | float | str | list[str] | list[int] | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    ref: SecretReference


class AttributeType(_Strict):
    op: Literal["attribute_type"]
    name: Name
    config: dict[str, Any]


class AttributeTypeDelete(_Strict):
    op: Literal["attribute_type_delete"]
    name: Name


class TaxRule(_Strict):
    name: Name
    display_name: str
    code: str
    rate: float
    apply_tax_type: str
    apply_to_shipping: bool
    apply_to_handling: bool
    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]]
    include_tax_in_prices: bool
    include_shipping_in_order_total: bool


class TaxGroupBody(_Strict):
    name: Name
    status: str
    default_in_stores: list[Name]
    rules: list[TaxRule]


class TaxGroup(_Strict):
    op: Literal["tax_group"]
    group: TaxGroupBody


class TaxGroupDelete(_Strict):
    op: Literal["tax_group_delete"]
    name: Name


class Plugin(_Strict):
    op: Literal["plugin"]
    store: Name
    name: Name
    type: Literal["order_api", "centra_webhook", "checkout_api", "storefront_api"]
    uri: str
    status: str
    settings: dict[Annotated[str, Field(pattern=r"^[a-z_]{1,64}$")], SecretRef | Plain | dict[str, Plain]]


class PluginDelete(_Strict):
    op: Literal["plugin_delete"]
    store: str
    name: Name


class TokenRevoke(_Strict):
    op: Literal["token_revoke"]
    name: Name
    id: int | None = None  # one token (a rotation's lost one); without it, every token of that name


class Commerce(_Strict):
    """A market, pricelist, warehouse or shipping option made, changed or removed by hand in AMS."""

    op: Literal["commerce"]
    kind: Literal["market", "pricelist", "warehouse", "shipping_option"]
    action: Literal["create", "update", "delete"]
    name: Name
    object: dict[Annotated[str, Field(pattern=r"^[a-z_]{1,64}$")], Plain] = Field(default_factory=dict)


class Unsupported(_Strict):
    op: Literal["unsupported"]
    address: str


Step = Annotated[AttributeType | AttributeTypeDelete | TaxGroup | TaxGroupDelete | Plugin | PluginDelete
                 | TokenRevoke | Commerce | Unsupported, Field(discriminator="op")]
_STEP: TypeAdapter[Step] = TypeAdapter(Step)


class Header(_Strict):
    format_version: Literal[1] = 1
    merchant: Identifier
    environment: Identifier
    steps: int
    digest: str


def _json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    # JSON already escapes every control character; these three would let a value end the comment.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _digest(step_texts: list[str]) -> str:
    return "sha256:" + hashlib.sha256("\n".join(step_texts).encode()).hexdigest()


def step_line(payload: dict[str, Any]) -> str:
    _STEP.validate_python(payload)  # the writer never emits a step the operator would refuse
    return f"<!-- {STEP_MARK} {_json(payload)} -->"


def header_line(merchant: str, environment: str, payloads: list[dict[str, Any]]) -> str:
    texts = [_json(p) for p in payloads]
    header = Header(merchant=merchant, environment=environment, steps=len(texts), digest=_digest(texts))
    return f"<!-- {HEADER_MARK} {_json(header.model_dump())} -->"


def _body(line: str, mark: str) -> str | None:
    prefix, suffix = f"<!-- {mark} ", " -->"
    if line.startswith(prefix) and line.endswith(suffix):
        return line[len(prefix):-len(suffix)]
    return None


def parse(text: str, source: str = "runbook") -> tuple[Header, list[Step]]:
    """The header and the validated steps, or one error naming the line that is wrong."""
    header: Header | None = None
    texts: list[str] = []
    steps: list[Step] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        # Only a line that begins as a marker is one; the same words inside text (a name) are just text.
        if not line.lstrip().startswith(("<!-- " + HEADER_MARK, "<!-- " + STEP_MARK, "<!--" + HEADER_MARK,
                                         "<!--" + STEP_MARK)):
            continue
        try:
            if (body := _body(line, HEADER_MARK)) is not None:
                if header is not None:
                    raise ValueError("a second header")
                header = Header.model_validate_json(body)
            elif (body := _body(line, STEP_MARK)) is not None:
                steps.append(_STEP.validate_json(body))
                texts.append(_json(json.loads(body)))
            else:
                raise ValueError("a marker line that is not exactly one comment")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ProvisionerError(f"{source}:{number}: not a valid step ({where}: {first['msg']})") from None
        except ValueError as exc:
            raise ProvisionerError(f"{source}:{number}: not a valid runbook line ({exc})") from None
    if header is None:
        raise ProvisionerError(f"{source}: not a runbook (no {HEADER_MARK} header)")
    if header.steps != len(steps) or header.digest != _digest(texts):
        raise ProvisionerError(f"{source}: its steps do not match its header ({len(steps)} found, "
                               f"{header.steps} written); it was edited or a step was forged — nothing was done")
    return header, steps
