"""A large fleet applied over several processes (as `provision apply` does past a few dozen merchants):
the same outcome as in one, blocks in the document's order, every token stored once and listed once,
and a merchant that fails kept to itself. Runs the CLI as a process of its own: only a process with no
other thread may fork."""

from __future__ import annotations

import os
import signal
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
from tests.engine.apply.gate import BOUND, GatedApp
from tests.engine.conftest import env_file_variables
from tests.engine.fleet_fixtures import merchant_yaml

NAMES = ["m0", "m1", "m2", "m3"]
apps: dict[str, GatedApp] = {}  # the gate of each merchant's emulator, for the test under way


@pytest.fixture
def stores(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, tuple[str, dict[str, str]]]]:
    """One emulator served on 127.0.0.1 per merchant (each its own store), and its merchant file: the
    emulator's URL and the headers its /_sandbox/ surface takes, by merchant."""
    servers = []
    apps.clear()
    urls: dict[str, str] = {}
    found: dict[str, tuple[str, dict[str, str]]] = {}
    monkeypatch.setenv("FLEET_ORDER_SECRET", "planted-fleet-order-secret-5e1b")
    for number, name in enumerate(NAMES):
        box = open_sandbox(FixtureSpec(name, "GlobalE Store", "Main", ("GB",), products=5), workdir / f"{name}.db")
        app = GatedApp(box)
        apps[name] = app
        server = make_server(app, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[name] = f"http://127.0.0.1:{server.server_address[1]}"
        found[name] = (urls[name], box.admin_headers())
        monkeypatch.setenv(f"TOKEN_{name.upper()}", box.admin_token)
        (workdir / "merchants" / f"{name}.yaml").write_text(merchant_yaml(
            name, urls[name], merchant_id=1000 + number, environments={"qa": None}, token=f"TOKEN_{name.upper()}",
            extra="policy:\n  waivers:\n    - rule: global-e.checkout-plugin\n      reason: added from the runbook\n"
                  "event_listeners:\n  - object_type: Order\n    change_types: [CREATED, UPDATED]\n"),
            encoding="utf-8")
    try:
        yield found
    finally:
        for app in apps.values():
            app.before.clear()
            app.notify()
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


def test_ctrl_c_stops_every_process_between_changes_and_each_merchant_says_what_it_did(
        workdir: Path, stores: dict[str, tuple[str, dict[str, str]]]) -> None:
    env = {**os.environ, fleet_processes.PROCESSES_ENV: "2"}
    planned = subprocess.run([sys.executable, "-m", "provisioner.cli", "plan", "--all", "--env", "qa", "--out",
                              "fleet.json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert planned.returncode in (0, 2), planned.stderr
    released = threading.Event()
    for app in apps.values():  # every merchant's create is held until the interrupt has reached every process
        app.before["CreateAccessToken"] = lambda app, number: released.is_set()
    process = subprocess.Popen([sys.executable, "-m", "provisioner.cli", "apply", "fleet.json", "--yes", "--debug"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # its own process group: Ctrl-C reaches all of it
    errors: list[str] = []
    heard = threading.Condition()

    def read_errors() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            with heard:
                errors.append(line)
                heard.notify_all()

    reader = threading.Thread(target=read_errors, daemon=True)
    reader.start()
    try:
        for app in apps.values():
            assert app.wait_until(lambda app: app.count("CreateAccessToken") == 1), "a create never arrived"
        os.killpg(process.pid, signal.SIGINT)
        with heard:  # both processes' and the parent's word that they stop
            assert heard.wait_for(lambda: sum("interrupted:" in line for line in errors) >= 3, timeout=BOUND), errors
    finally:
        released.set()
        for app in apps.values():
            app.notify()
    assert process.stdout is not None and process.stderr is not None
    with process.stdout, process.stderr:
        try:
            out = process.stdout.read()  # stderr is the reader's alone: communicate() would take lines from it
            process.wait(BOUND)
        finally:
            if process.poll() is None:  # a test that failed leaves no process behind
                process.kill()
                process.wait(BOUND)
        reader.join(BOUND)
    stderr = "".join(errors)
    assert process.returncode == 130, out + stderr
    assert "Traceback" not in stderr
    assert [line for line in out.splitlines() if line.startswith("== ")] == [f"== {name}/qa" for name in NAMES]
    for name in NAMES:
        assert f"error: {name}/qa: interrupted" in stderr, out + stderr
        said = stderr[stderr.index(f"error: {name}/qa: interrupted"):]
        assert f"token value stored in .provision/secrets/{name}.qa.global-e-integration.token" in said
        assert f"not done: {name}/qa/event_listener/Order" in said
        state = _state(stores[name])
        assert len([t for t in state["tokens"] if t["name"] == "Global-e integration"]) == 1
        assert state["event_listeners"] == []
    assert "interrupted: each merchant above says what it did" in stderr
    again = subprocess.run([sys.executable, "-m", "provisioner.cli", "apply", "m1", "--env", "qa", "--yes"], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "continuing after an interrupted run: m1/qa/api_token/Global-e integration (done:" in again.stdout
    assert len([t for t in _state(stores["m1"])["tokens"] if t["name"] == "Global-e integration"]) == 1
