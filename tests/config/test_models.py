"""The merchant-file models are built lazily, except those the tool validates or instantiates by themselves:
those are built at import, so no two threads of a fleet plan ever build one at once."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from provisioner.config import commerce_items, fields, models, section_items
from tests.conftest import REPO

BUILT_AT_IMPORT = {"MerchantFile", "Policy", "TokenPermissions"}
MODULES = ("provisioner.config.models", "provisioner.config.section_items", "provisioner.config.commerce_items",
           "provisioner.config.fields")


def _model_names() -> set[str]:
    return {name for module in (models, section_items, commerce_items, fields) for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, fields.Model) and value.__module__.startswith(MODULES)}


def test_only_the_models_used_by_themselves_are_built_at_import() -> None:
    probe = ("import json, sys; from provisioner.config import models; from provisioner.config.fields import Model\n"
             "def every(cls):\n    for sub in cls.__subclasses__():\n        yield sub\n        yield from every(sub)\n"
             "print(json.dumps(sorted({c.__name__ for c in every(Model) if c.__pydantic_complete__})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    # and the generic Section itself, which pydantic builds as it is declared (its parametrized forms wait)
    assert set(json.loads(done.stdout)) == {*BUILT_AT_IMPORT, "Section"}


def test_the_tool_validates_or_instantiates_no_other_model_by_itself() -> None:
    """Every call of a merchant-file model (or its model_validate*) outside the models' own modules names one
    of BUILT_AT_IMPORT: a lazily built model validated by itself in a fleet plan's threads could be built
    by two at once."""
    names = _model_names()
    used: set[str] = set()
    for path in (REPO / "provisioner").rglob("*.py"):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        if module in MODULES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and node.module in MODULES for alias in node.names if alias.name in names}
        modules = {alias.asname or alias.name.rpartition(".")[2] for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and node.module == "provisioner.config"
                   for alias in node.names if f"provisioner.config.{alias.name}" in MODULES}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            target = node.func
            if isinstance(target, ast.Attribute) and target.attr.startswith("model_validate"):
                target = target.value
            if isinstance(target, ast.Name) and target.id in imported:
                used.add(target.id)
            elif (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                  and target.value.id in modules and target.attr in names):
                used.add(target.attr)
    assert used <= BUILT_AT_IMPORT and "MerchantFile" in used and "TokenPermissions" in used
    assert names >= BUILT_AT_IMPORT
