"""What a command imports is what it uses (issue #24): a one-merchant plan whose target's schema is
cached imports no library it does not need. Timings are bench/bench_startup.py's; this checks the cause."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.engine.conftest import PLANTED
from tests.engine.fleet_fixtures import Served, served_centra, write_fleet

__all__ = ["served_centra"]  # the fixture, imported for pytest

REPO = Path(__file__).resolve().parents[2]
# Imported only where they are used: DeepDiff when two objects differ, filelock when the schema cache's
# index is written, the Markdown renderer for --format markdown, multiprocessing for a fleet planned in
# processes; pandas and numpy never (DeepDiff looks for them when it is imported).
NOT_ON_A_WARM_PLAN = ("deepdiff", "filelock", "pandas", "numpy", "multiprocessing", "provisioner.render.markdown")
# Against a real Centra (not the in-process emulator, which is built on graphql-core): the read is put
# together from the facts cached with the target's schema, so neither graphql-core nor gql (nor the
# asyncio gql brings) is imported; they are when the schema is not cached, or a write is sent.
NOT_ON_A_WARM_REMOTE_PLAN = ("graphql", "gql", "asyncio")

PROBE = """
import json, sys
from provisioner.cli.main import cli
try:
    cli(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {names!r} or m in {names!r})))
"""


def _imported(args: list[str], cwd: Path, names: tuple[str, ...] = NOT_ON_A_WARM_PLAN) -> list[str]:
    environment = {**os.environ, **PLANTED, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", PROBE.format(names=names), *args], cwd=cwd,
                          capture_output=True, text=True, env=environment, timeout=120)
    assert done.stdout.strip(), done.stderr
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_a_warm_one_merchant_plan_imports_only_what_it_uses(examples: Path) -> None:
    first = subprocess.run([sys.executable, "-m", "provisioner.cli", "plan", "acme", "--env", "sandbox"],
                           cwd=examples, capture_output=True, text=True, timeout=120,
                           env={**os.environ, **PLANTED, "PYTHONPATH": str(REPO)})
    assert first.returncode in (0, 2), first.stderr  # seeds the sandbox and caches its schema
    assert _imported(["plan", "acme", "--env", "sandbox"], examples) == []


def test_markdown_is_imported_when_asked_for(examples: Path) -> None:
    imported = _imported(["plan", "acme", "--env", "sandbox", "--format", "markdown"], examples)
    assert "provisioner.render.markdown" in imported


def test_a_warm_plan_of_a_served_centra_imports_neither_graphql_core_nor_gql(workdir: Path,
                                                                            served_centra: Served) -> None:
    write_fleet(workdir, served_centra.url, ["m000"])
    names = (*NOT_ON_A_WARM_PLAN, *NOT_ON_A_WARM_REMOTE_PLAN)
    cold = _imported(["plan", "m000", "--env", "qa"], workdir, names)  # introspects, keeps schema and facts
    assert {"graphql", "gql"} <= set(cold)  # introspected through gql, the read checked against the schema
    assert _imported(["plan", "m000", "--env", "qa"], workdir, names) == []
    for facts in (workdir / ".provision" / "cache").glob("facts-*.json"):
        facts.unlink()
    assert "graphql" in _imported(["plan", "m000", "--env", "qa"], workdir, names)  # worked out again
    assert _imported(["plan", "m000", "--env", "qa"], workdir, names) == []
