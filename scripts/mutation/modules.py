"""The modules `make mutation` scores: the ones that guard safety (escaping, locking, the journal, the
Centra client, the plan and its diff, secrets, the policies, the PR comment).

A name (what `--modules` takes; a glob such as `centra/*` selects several) and the file, relative to the
repository. When a module is split or moved, edit its entry here: nothing else names these files.
"""

from __future__ import annotations

MODULES: dict[str, str] = {
    "escape": "provisioner/escape.py",
    "apply/locking": "provisioner/engine/apply/locking.py",
    "state/journal": "provisioner/engine/state/journal.py",
    "centra/client": "provisioner/centra/client.py",
    "centra/retries": "provisioner/centra/retries.py",
    "centra/deadlines": "provisioner/centra/deadlines.py",
    "centra/transport": "provisioner/centra/transport.py",
    "plan/model": "provisioner/engine/plan/model.py",
    "plan/diff": "provisioner/engine/plan/diff.py",
    "plan/planning": "provisioner/engine/plan/planning.py",
    "config/secrets": "provisioner/config/secrets.py",
    "policy/global_e": "provisioner/policy/global_e.py",
    "policy/risk": "provisioner/policy/risk.py",
    "render/markdown": "provisioner/render/markdown.py",
    "render/plan_markdown": "provisioner/render/plan_markdown.py",
}
