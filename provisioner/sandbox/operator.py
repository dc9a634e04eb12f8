"""The simulated operator: performs a runbook's manual and attested steps in the sandbox, through
the `/_sandbox/` AMS surface, as a person would in AMS. Sandbox only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provisioner.config import secrets
from provisioner.config.environments import SANDBOX
from provisioner.engine import runbook
from provisioner.errors import ProvisionerError
from provisioner.sandbox.instance import Sandbox, for_merchant
from provisioner.sandbox.wire import Request


def _call(box: Sandbox, method: str, path: str, body: Any = None, **query: str) -> Any:
    response = box.app.handle(Request(method, path, query=query,
                                      body=json.dumps(body).encode() if body is not None else b""))
    if response.status != 200:
        raise ProvisionerError(f"sandbox operator: {method} {path} failed: {response.payload().get('error')}")
    return response.payload()


def perform(box: Sandbox, merchant: str, step: dict[str, Any]) -> str:
    op = step["op"]
    if op == "attribute_type":
        _call(box, "PUT", "/_sandbox/attribute-types", {"ATTRIBUTE_TYPES": {step["name"]: step["config"]}})
        return f"pasted the configuration of attribute type {step['name']}"
    if op == "attribute_type_delete":
        _call(box, "DELETE", f"/_sandbox/attribute-types/{step['name']}")
        return f"removed attribute type {step['name']}"
    if op == "tax_group":
        _call(box, "PUT", "/_sandbox/tax-groups", step["group"])
        return f"saved tax group {step['group']['name']} with {len(step['group']['rules'])} rule(s)"
    if op == "tax_group_delete":
        _call(box, "DELETE", f"/_sandbox/tax-groups/{step['name']}")
        return f"removed tax group {step['name']}"
    if op == "plugin":
        settings = {key: secrets.reveal_for(merchant, value["ref"], sandbox=True) if isinstance(value, dict)
                    and set(value) == {"ref"} else value for key, value in step["settings"].items()}
        _call(box, "PUT", "/_sandbox/plugins", {**{k: step[k] for k in ("store", "name", "type", "uri", "status")},
                                               "settings": settings})
        return f"saved plugin {step['name']} with {len(settings)} setting(s)"
    if op == "plugin_delete":
        _call(box, "DELETE", "/_sandbox/plugins", store=step["store"], name=step["name"])
        return f"removed plugin {step['name']}"
    if op == "token_revoke":
        state = _call(box, "GET", "/_sandbox/state")
        revoked = [t["id"] for t in state["tokens"] if t["name"] == step["name"] and not t["revoked"]]
        for token_id in revoked:
            _call(box, "PATCH", f"/_sandbox/tokens/{token_id}", {"revoked": True})
        return f"revoked {len(revoked)} token(s) named {step['name']}"
    raise ProvisionerError(f"sandbox operator cannot perform step {op!r} ({step.get('address', '')})")


def run(path: Path) -> list[str]:
    header, steps = runbook.parse(path.read_text(encoding="utf-8"))
    if header.get("environment") != SANDBOX:
        raise ProvisionerError(f"{path} is a runbook for '{header.get('environment')}'; the operator only "
                               "works in the sandbox")
    box = for_merchant(str(header["merchant"]))
    return [perform(box, str(header["merchant"]), step) for step in steps]
