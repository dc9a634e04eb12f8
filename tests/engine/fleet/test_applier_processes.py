"""A large fleet applied over several processes (as `provision apply` does past a few dozen merchants):
the same outcome as in one, blocks in the document's order, every token stored once and listed once,
and a merchant that fails kept to itself. Runs the CLI as a process of its own: only a process with no
other thread may fork."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisioner.engine.fleet import processes as fleet_processes
from provisioner.errors import ExitCode
from provisioner.sandbox.fixture import FixtureSpec
from provisioner.sandbox.instance import open_sandbox
from provisioner.sandbox.server import make_server
from tests.engine.conftest import env_file_variables
from tests.engine.fleet_fixtures import merchant_yaml

NAMES = ["m0", "m1", "m2", "m3"]


@pytest.fixture
def stores(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, tuple[str, dict[str, str]]]]:
    """One emulator served on 127.0.0.1 per merchant (each its own store), and its merchant file: the
    emulator's URL and the headers its /_sandbox/ surface takes, by merchant."""
    servers = []
    urls: dict[str, str] = {}
    found: dict[str, tuple[str, dict[str, str]]] = {}
    monkeypatch.setenv("FLEET_ORDER_SECRET", "planted-fleet-order-secret-5e1b")
    for number, name in enumerate(NAMES):
        box = open_sandbox(FixtureSpec(name, "GlobalE Store", "Main", ("GB",), products=5), workdir / f"{name}.db")
        server = make_server(box.app, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[name] = f"http://127.0.0.1:{server.server_address[1]}"
        found[name] = (urls[name], box.admin_headers())
        monkeypatch.setenv(f"TOKEN_{name.upper()}", box.admin_token)
        (workdir / "merchants" / f"{name}.yaml").write_text(merchant_yaml(
            name, urls[name], merchant_id=1000 + number, environments={"qa": None}, token=f"TOKEN_{name.upper()}",
            extra="policy:\n  waivers:\n    - rule: global-e.checkout-plugin\n      reason: added from the runbook\n"),
            encoding="utf-8")
    try:
        yield found
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _state(store: tuple[str, dict[str, str]]) -> Any:
    return httpx.get(f"{store[0]}/_sandbox/state", headers=store[1], timeout=10).json()


def test_several_processes_apply_each_merchant_once_and_report_in_order(
        workdir: Path, stores: dict[str, tuple[str, dict[str, str]]]) -> None:
    env_file = workdir / "github_env"
    env = {**os.environ, fleet_processes.PROCESSES_ENV: "2", "GITHUB_ENV": str(env_file)}
    url, headers = stores["m2"]
    httpx.put(f"{url}/_sandbox/faults", json={"fail_mutation": {"nth": 1}}, headers=headers,
              timeout=10).raise_for_status()
    planned = subprocess.run([sys.executable, "-m", "provisioner.cli", "plan", "--all", "--env", "qa", "--out",
                              "fleet.json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert planned.returncode in (0, 2), planned.stderr
    done = subprocess.run([sys.executable, "-m", "provisioner.cli", "apply", "fleet.json", "--yes", "--debug",
                           "--secret-sink", "env:CI_TOKEN"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == ExitCode.PARTIAL_APPLY, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "applying 4 plan(s) in 2 process(es)" in done.stderr
    headings = [line for line in done.stdout.splitlines() if line.startswith("== ")]
    assert headings == [f"== {name}/qa" for name in NAMES]
    assert "applied 3 of 4 plan(s); 1 failed" in done.stdout
    assert "error: m2/qa: m2/qa/api_token/Global-e integration:" in done.stderr
    for name in NAMES:
        tokens = [t for t in _state(stores[name])["tokens"] if t["name"] == "Global-e integration"]
        assert len(tokens) == (0 if name == "m2" else 1), name
    written = env_file_variables(env_file)
    made = [f"CI_TOKEN__{name.upper()}__QA__GLOBAL_E_INTEGRATION" for name in ("m0", "m1", "m3")]
    assert written["CI_TOKEN__VARIABLES"] == " ".join(made)  # listed once, by the run, for every process
    assert sorted(written) == sorted([*made, "CI_TOKEN__VARIABLES"])
    for variable in made:
        assert written[variable] not in done.stdout + done.stderr
