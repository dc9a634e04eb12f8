"""The simulated operator: performs a runbook's manual and attested steps in the sandbox, through
the `/_sandbox/` AMS surface, as a person would in AMS. Sandbox only.

A runbook is input like any other: only steps that validate against their schema are performed, a
secret is taken only through a reference the merchant file itself declares (and a `file:` one only
inside the repository), and the value put into the sandbox is the sandbox's own stand-in, never a real
environment's secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provisioner import runbook_format as fmt
from provisioner.config import secrets
from provisioner.config.environments import SANDBOX
from provisioner.errors import ProvisionerError
from provisioner.sandbox.instance import Sandbox, for_merchant
from provisioner.sandbox.wire import Request


def _call(box: Sandbox, method: str, path: str, body: Any = None, **query: str) -> Any:
    response = box.app.handle(Request(method, path, query=query, headers=box.admin_headers(),
                                      body=json.dumps(body).encode() if body is not None else b""))
    if response.status != 200:
        raise ProvisionerError(f"sandbox operator: {method} {path} failed: {response.payload().get('error')}")
    return response.payload()


def declared_references(merchant: str) -> set[str]:
    """The secret references the merchant's own file declares for its plugins."""
    from provisioner import config
    from provisioner.config import resolve
    from provisioner.resources import plugins

    state = resolve.resolve(resolve.load(config.merchant_path(merchant)), SANDBOX)
    found: set[str] = set()
    for plugin in plugins.KIND.plugins(state).values():
        for key in plugins.SECRET_FIELDS:
            value = getattr(plugin, key, None)
            if isinstance(value, str):
                found.add(value)
    return found


def _secret(merchant: str, ref: str, declared: set[str], root: Path) -> str:
    if ref not in declared:
        raise ProvisionerError(f"sandbox operator: the runbook asks for secret {ref}, which the merchant file "
                               "does not declare; nothing more was done")
    scheme, _, name = ref.partition(":")
    if scheme == "file":
        resolved = (root / Path(name).expanduser()).resolve()
        if not resolved.is_relative_to(root):
            raise ProvisionerError(f"sandbox operator: secret {ref} is outside the repository; refused")
    return secrets.sandbox_value(merchant, ref)


def perform(box: Sandbox, merchant: str, step: fmt.Step, declared: set[str] | None = None) -> str:
    if isinstance(step, fmt.AttributeType):
        _call(box, "PUT", "/_sandbox/attribute-types", {"ATTRIBUTE_TYPES": {step.name: step.config}})
        return f"pasted the configuration of attribute type {step.name}"
    if isinstance(step, fmt.AttributeTypeDelete):
        _call(box, "DELETE", f"/_sandbox/attribute-types/{step.name}")
        return f"removed attribute type {step.name}"
    if isinstance(step, fmt.TaxGroup):
        _call(box, "PUT", "/_sandbox/tax-groups", step.group.model_dump(mode="json"))
        return f"saved tax group {step.group.name} with {len(step.group.rules)} rule(s)"
    if isinstance(step, fmt.TaxGroupDelete):
        _call(box, "DELETE", f"/_sandbox/tax-groups/{step.name}")
        return f"removed tax group {step.name}"
    if isinstance(step, fmt.Plugin):
        known = declared if declared is not None else declared_references(merchant)
        root = Path.cwd().resolve()
        settings = {key: _secret(merchant, value.ref, known, root) if isinstance(value, fmt.SecretRef) else value
                    for key, value in step.settings.items()}
        _call(box, "PUT", "/_sandbox/plugins", {"store": step.store, "name": step.name, "type": step.type,
                                                "uri": step.uri, "status": step.status, "settings": settings})
        return f"saved plugin {step.name} with {len(settings)} setting(s)"
    if isinstance(step, fmt.PluginDelete):
        _call(box, "DELETE", "/_sandbox/plugins", store=step.store, name=step.name)
        return f"removed plugin {step.name}"
    if isinstance(step, fmt.TokenRevoke):
        state = _call(box, "GET", "/_sandbox/state")
        revoked = [t["id"] for t in state["tokens"] if t["name"] == step.name and not t["revoked"]
                   and (step.id is None or t["id"] == step.id)]
        for token_id in revoked:
            _call(box, "PATCH", f"/_sandbox/tokens/{token_id}", {"revoked": True})
        return f"revoked {len(revoked)} token(s) named {step.name}"
    if isinstance(step, fmt.Commerce):
        _call(box, "PUT", "/_sandbox/commerce", step.model_dump(mode="json"))
        return f"{step.action}d {step.kind.replace('_', ' ')} {step.name}"
    raise ProvisionerError(f"sandbox operator cannot perform step {step.op!r} ({getattr(step, 'address', '')})")


def run(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProvisionerError(f"{path}: not a readable runbook ({exc})") from None
    header, steps = fmt.parse(text, str(path))
    if header.environment != SANDBOX:
        raise ProvisionerError(f"{path} is a runbook for '{header.environment}'; the operator only works in the "
                               "sandbox")
    box = for_merchant(header.merchant)
    declared = declared_references(header.merchant)
    return [perform(box, header.merchant, step, declared) for step in steps]
