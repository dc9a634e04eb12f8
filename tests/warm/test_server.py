"""The warm server end to end: a command run through it prints, writes and exits as the same command run
cold; signals reach it; a changed tool, another user's folder or an idle hour make commands start cold.
Each test runs the real launcher and the real server in their own processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from provisioner.warm.server import changed, fingerprint
from tests.conftest import REPO
from tests.warm.conftest import WAIT_SECONDS, Warm

PLANTED = "planted-warm-secret-7f3a"


def _same(warm: Warm, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    ran = warm.commands_run()
    hot = warm.run(*args, cwd=cwd)
    assert warm.commands_run() == ran + 1, "the command did not go through the server"
    cold = warm.run(*args, cwd=cwd, PROVISION_WARM="0")
    assert warm.commands_run() == ran + 1, "PROVISION_WARM=0 went through the server"
    assert (hot.returncode, hot.stdout, hot.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    return hot


def test_a_warm_command_prints_writes_and_exits_as_a_cold_one(warm: Warm, examples: Path) -> None:
    assert warm.control("start", "--idle", "120").returncode == 0
    planned = _same(warm, examples, "plan", "acme", "--env", "sandbox", "--detailed-exitcode")
    assert planned.returncode == 2 and "acme" in planned.stdout
    failed = _same(warm, examples, "plan", "nosuch", "--env", "sandbox")
    assert failed.returncode == 1 and "no merchant 'nosuch'" in failed.stderr and "Traceback" not in failed.stderr
    # The command's folder, environment and umask are the client's.
    written = warm.run("plan", "acme", "--env", "sandbox", "--out", "acme.json", "--debug", cwd=examples)
    assert written.returncode == 0 and " DEBUG " in written.stderr
    assert (examples / "acme.json").is_file()
    assert warm.commands_run() == 3
    usage = _same(warm, examples, "plan", "--no-such-option")
    assert usage.returncode == 1


def test_ctrl_c_and_sigterm_reach_the_command_and_its_exit_comes_back(warm: Warm, examples: Path) -> None:
    assert warm.control("start", "--idle", "120").returncode == 0
    codes = {}
    for name, number in (("warm", signal.SIGINT), ("cold", signal.SIGINT), ("warm-term", signal.SIGTERM)):
        extra = {"PROVISION_WARM": "0"} if name == "cold" else {}
        process = warm.popen("sandbox", "serve", "acme", "--port", "0", cwd=examples, **extra)
        assert process.stdout is not None
        assert "Centra sandbox for acme" in process.stdout.readline()  # serving: the command is under way
        process.send_signal(number)
        process.wait(timeout=WAIT_SECONDS)
        codes[name] = process.returncode
        process.stdout.close()
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
        process.stderr.close()
    assert codes["warm"] == codes["cold"] == 130
    assert codes["warm-term"] == -signal.SIGTERM  # ended by the signal, as the shell would see it


def test_a_client_that_goes_away_hangs_up_its_command(warm: Warm, examples: Path) -> None:
    assert warm.control("start", "--idle", "120").returncode == 0
    process = warm.popen("sandbox", "serve", "acme", "--port", "0", cwd=examples)
    assert process.stdout is not None and process.stderr is not None
    assert "Centra sandbox for acme" in process.stdout.readline()
    process.kill()
    process.wait(timeout=WAIT_SECONDS)
    process.stdout.close()
    process.stderr.close()
    deadline = time.monotonic() + WAIT_SECONDS
    while "signal 1" not in warm.log() and time.monotonic() < deadline:  # bounded by the deadline
        time.sleep(0.05)
    assert f"signal {int(signal.SIGHUP)}" in warm.log()


def test_commands_at_once_each_get_their_own(warm: Warm, examples: Path) -> None:
    assert warm.control("start", "--idle", "120").returncode == 0
    processes = [warm.popen("plan", name, "--env", "sandbox", cwd=examples) for name in ("acme", "nordwind", "acme")]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    assert outputs[0] == outputs[2]
    assert "nordwind" in outputs[1][0]
    assert warm.commands_run() == 3


def test_the_server_keeps_no_token_and_logs_no_command(warm: Warm, examples: Path) -> None:
    assert warm.control("start", "--idle", "120", PROVISION_TOKENS=f"T={PLANTED}", ACME_TOKEN=PLANTED).returncode == 0
    ran = warm.run("plan", "acme", "--env", "sandbox", PLANTED, cwd=examples, ACME_TOKEN=PLANTED)
    assert ran.returncode == 1  # the planted argument is no merchant
    pid = int(warm.control("status").stdout.split()[2])
    assert PLANTED.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
    assert PLANTED not in warm.log() and "acme" not in warm.log()
    assert warm.commands_run() == 1


def test_a_changed_tool_makes_the_server_exit_and_the_command_start_cold(warm: Warm, examples: Path,
                                                                         tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(REPO / "provisioner", copy / "provisioner", ignore=shutil.ignore_patterns("__pycache__"))
    warm.env["PYTHONPATH"] = str(copy)
    assert warm.control("start", "--idle", "120").returncode == 0
    assert warm.run("plan", "acme", "--env", "sandbox", cwd=examples).returncode == 0
    assert warm.commands_run() == 1
    touched = copy / "provisioner" / "escape.py"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    after = warm.run("plan", "acme", "--env", "sandbox", cwd=examples)
    assert after.returncode == 0 and "acme" in after.stdout  # run cold, in the client
    assert warm.commands_run() == 1
    warm.wait_until_gone()
    assert f"stale: {touched} changed" in warm.log()
    assert warm.control("status").returncode == 1


def test_a_folder_others_may_enter_is_neither_listened_in_nor_used(warm: Warm, examples: Path) -> None:
    assert warm.control("start", "--idle", "120").returncode == 0
    os.chmod(warm.folder(), 0o755)
    assert warm.run("plan", "acme", "--env", "sandbox", cwd=examples).returncode == 0
    assert warm.commands_run() == 0  # ran cold: the socket's folder is not private any more
    refused = warm.control("start")
    assert refused.returncode == 1 and "nobody else may enter" in refused.stderr and "Traceback" not in refused.stderr
    os.chmod(warm.folder(), 0o700)


def test_an_idle_server_exits_and_status_and_stop_say_so(warm: Warm) -> None:
    assert warm.control("status").returncode == 1
    assert "no warm server was running" in warm.control("stop").stdout
    started = warm.control("start", "--idle", "1")
    assert started.returncode == 0 and "exits after 1 s" in started.stdout
    assert warm.control("status").returncode in (0, 1)  # it may already be gone
    warm.wait_until_gone()
    assert "no command for 1 s" in warm.log()
    assert warm.control("start", "--idle", "120").returncode == 0
    again = warm.control("start", "--idle", "120")
    assert again.returncode == 0 and warm.log().count("serving") == 2  # the one running, not a second
    assert "stopped" in warm.control("stop").stdout
    warm.wait_until_gone()


@pytest.mark.parametrize("idle", ["0", "-5", "nan"])
def test_a_bad_idle_limit_is_refused(warm: Warm, idle: str) -> None:
    refused = warm.control("start", "--idle", idle)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert not warm.sockets()


def test_a_fingerprint_changes_with_a_file_of_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = fingerprint()
    assert changed(before, fingerprint()) is None
    moved = dict(before)
    first = next(iter(sorted(moved)))
    moved[first] = (0, 0)
    assert changed(before, moved) == first
    assert changed(before, {**before, str(tmp_path / "new.py"): (1, 1)}) == str(tmp_path / "new.py")


def test_a_stranger_on_the_socket_does_not_stop_the_server(warm: Warm, examples: Path) -> None:
    import socket
    import struct

    assert warm.control("start", "--idle", "120").returncode == 0
    for sent in (b"GET / HTTP/1.1\r\n\r\n", struct.pack(">I", 2**31), struct.pack(">I", 2) + b"{}", b""):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stranger:
            stranger.settimeout(WAIT_SECONDS)
            stranger.connect(str(warm.sockets()[0]))
            stranger.sendall(sent)
            stranger.shutdown(socket.SHUT_WR)
            with contextlib.suppress(ConnectionResetError):  # closed with the stranger's bytes unread
                stranger.recv(65536)  # an answer ("refused") or the end: either way the server goes on
    assert warm.run("plan", "acme", "--env", "sandbox", cwd=examples).returncode == 0
    assert warm.commands_run() == 1


BUGGY_SERVER = """
import os, sys
from provisioner.warm import server, wire

def bug():
    if sys.argv[1:] == ["os-error"]:
        raise OSError("an OSError nobody caught")
    if sys.argv[1:] == ["exit-text"]:
        raise SystemExit("a SystemExit with text")
    raise ValueError("a bug nobody caught")

os.makedirs(os.path.dirname(wire.socket_path()), mode=0o700, exist_ok=True)
server.Server(wire.socket_path(), 60, bug).serve()
"""


@pytest.mark.parametrize(("argv", "code", "said"), [
    ("value-error", 1, "ValueError: a bug nobody caught"),
    ("os-error", 1, "OSError: an OSError nobody caught"),
    ("exit-text", 1, "a SystemExit with text"),
])
def test_a_command_that_raises_ends_as_a_cold_one_and_the_server_goes_on(warm: Warm, argv: str, code: int,
                                                                         said: str) -> None:
    import sys

    server = subprocess.Popen([sys.executable, "-c", BUGGY_SERVER], env=warm.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not warm.sockets() and time.monotonic() < deadline:  # bounded by the deadline
            time.sleep(0.05)
        first = warm.run(argv)
        assert (first.returncode, said in first.stderr) == (code, True), first.stderr
        again = warm.run(argv)  # the server still answers: the command's process did not go on as one
        assert again.returncode == code and said in again.stderr
    finally:
        server.terminate()
        _, log = server.communicate(timeout=WAIT_SECONDS)
    assert log.count("serving") == 1 and log.count("command process") == 2 and log.count("stopped") == 1, log


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_server_removes_its_socket_and_says_so(warm: Warm, number: signal.Signals) -> None:
    assert warm.control("start", "--idle", "120").returncode == 0
    pid = int(warm.control("status").stdout.split()[2])
    os.kill(pid, number)
    warm.wait_until_gone()
    assert warm.log().rstrip().endswith("stopped") and "Traceback" not in warm.log()
    assert warm.control("status").returncode == 1
