"""The lock's rules (engine/apply/locking.py), each with a test that fails when the rule is changed: how
long a busy lock is waited for, who is named as its holder (and when a holder file is stale), one lock
and one holder per merchant AND environment, where the locks live, and no link followed. Threads that
hold a lock hand over by events; nothing sleeps to wait for another."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
from filelock import FileLock

from provisioner import files
from provisioner.engine.apply import locking
from provisioner.errors import ProvisionerError

BOUND = 60.0  # seconds a test waits for an event before it fails instead of hanging
LOCKS = Path(".provision/locks")


@pytest.fixture(autouse=True)
def _scratch(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(locking.DIR_ENV, raising=False)
    monkeypatch.delenv(locking.TIMEOUT_ENV, raising=False)


class Spied(FileLock):
    """The real lock, kept alive and watched: each lock taken stays referenced (so one never released stays
    held, instead of being freed by the garbage collector), and each attempt's timeout is recorded."""

    made: ClassVar[list[Spied]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempts: list[float] = []
        Spied.made.append(self)

    def acquire(self, timeout: float | None = None, *args: Any, **kwargs: Any) -> Any:
        self.attempts.append(-1.0 if timeout is None else timeout)
        return super().acquire(timeout, *args, **kwargs)


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Spied]]:
    Spied.made = []
    monkeypatch.setattr(locking, "FileLock", Spied)
    yield Spied
    for lock in Spied.made:
        lock.release(force=True)
    Spied.made = []


@contextmanager
def held_elsewhere(merchant: str = "acme", environment: str = "qa", command: str = "apply") -> Iterator[
        threading.Event]:
    """The lock held by another thread (a lock of its own, as another process would), until the event that
    is yielded is set or the block ends."""
    taken, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        try:
            with locking.hold(merchant, environment, command, wait=0):
                taken.set()
                release.wait(BOUND)
        except BaseException as exc:  # shown by the test, not lost in the thread
            failures.append(exc)
            taken.set()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(BOUND) and not failures, failures
        yield release
    finally:
        release.set()
        thread.join(BOUND)
    assert not thread.is_alive() and not failures, failures


def _named(command: str = "apply") -> str:
    return f"{command} (pid {os.getpid()} on {socket.gethostname()}, user "


# ------------------------------------------------------------------------------------------- the wait


@pytest.mark.parametrize("value", [None, "", "  "])
def test_the_wait_is_120_seconds_unless_set(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is not None:
        monkeypatch.setenv(locking.TIMEOUT_ENV, value)
    assert locking.wait_limit() == 120.0 == locking.DEFAULT_WAIT


@pytest.mark.parametrize(("value", "seconds"), [("0.5", 0.5), (" 7 ", 7.0), ("0", 0.0), ("-3", 0.0), ("1e3", 1000.0)])
def test_the_wait_is_read_from_the_environment_and_never_negative(monkeypatch: pytest.MonkeyPatch, value: str,
                                                                   seconds: float) -> None:
    monkeypatch.setenv(locking.TIMEOUT_ENV, value)
    assert locking.wait_limit() == seconds


def test_a_long_wait_value_is_shown_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISION_LOCK_TIMEOUT", "9" * 10 + "s" * 30)
    with pytest.raises(ProvisionerError) as raised:
        locking.wait_limit()
    assert str(raised.value) == f"PROVISION_LOCK_TIMEOUT must be a number of seconds, not '{'9' * 10 + 's' * 10}…'"


@pytest.mark.parametrize("value", ["soon", "nan", "inf", "-inf", "1e999", "12s"])
def test_a_wait_that_is_not_a_finite_number_is_an_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(locking.TIMEOUT_ENV, value)
    with pytest.raises(ProvisionerError) as raised:
        locking.wait_limit()
    assert str(raised.value) == f"PROVISION_LOCK_TIMEOUT must be a number of seconds, not {value!r}"
    assert not LOCKS.exists()


def test_a_free_lock_is_taken_at_once_without_a_word(spied: type[Spied]) -> None:
    told: list[tuple[float, str]] = []
    with locking.hold("acme", "qa", "apply", wait=0, on_wait=lambda s, why: told.append((s, why))):
        holder = json.loads((LOCKS / "acme.qa.holder").read_text(encoding="utf-8"))
    assert told == [] and [lock.attempts for lock in spied.made] == [[0]]
    assert not spied.made[0].is_locked  # released, not left to the garbage collector
    assert holder["command"] == "apply" and holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    assert isinstance(holder["user"], str) and holder["user"]
    assert abs(holder["since"] - time.time()) < BOUND
    assert not (LOCKS / "acme.qa.holder").exists()  # removed on release
    assert stat.S_IMODE((LOCKS / "acme.qa.lock").stat().st_mode) == 0o600


def test_a_busy_lock_is_tried_at_once_then_waited_for_and_taken_once_released(spied: type[Spied]) -> None:
    told: list[tuple[float, str]] = []
    with held_elsewhere(command="attest") as release:
        def waiting(seconds: float, why: str) -> None:
            told.append((seconds, why))
            release.set()  # the holder finishes while this run waits

        with locking.hold("acme", "qa", "apply", wait=BOUND, on_wait=waiting):
            holder = json.loads((LOCKS / "acme.qa.holder").read_text(encoding="utf-8"))
    assert [(s, why.split(" (pid")[0]) for s, why in told] == [(BOUND, "for acme/qa, locked by attest")]
    assert told[0][1].startswith(f"for acme/qa, locked by {_named('attest')}")
    assert holder["command"] == "apply"
    assert [lock.attempts for lock in spied.made] == [[0], [0, BOUND]]  # the holder's, then this run's


def test_a_lock_still_busy_after_the_wait_fails_naming_its_holder_and_changes_nothing() -> None:
    told: list[tuple[float, str]] = []
    with held_elsewhere(), pytest.raises(ProvisionerError) as raised, \
            locking.hold("acme", "qa", "attest", wait=0, on_wait=lambda s, why: told.append((s, why))):
        pytest.fail("the lock was taken while another held it")
    message = str(raised.value)
    assert raised.value.exit_code == 1
    assert message.startswith(f"acme in qa is locked by {_named()}")
    assert message.endswith("); waited 0 s — try again when it has finished (nothing was changed)")
    assert [s for s, _ in told] == [0]


def test_without_a_wait_given_the_environment_s_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(locking.TIMEOUT_ENV, "0.01")  # the bound of a wait that must run out
    with held_elsewhere(), pytest.raises(ProvisionerError, match=r"; waited 0\.01 s — "), \
            locking.hold("acme", "qa", "apply"):
        pytest.fail("the lock was taken while another held it")


def test_a_run_that_fails_inside_the_lock_releases_it(spied: type[Spied]) -> None:
    with pytest.raises(RuntimeError), locking.hold("acme", "qa", "apply", wait=0):
        raise RuntimeError("the apply failed")
    assert not (LOCKS / "acme.qa.holder").exists() and not spied.made[0].is_locked
    with locking.hold("acme", "qa", "apply", wait=0):
        pass


def test_a_holder_file_removed_by_someone_else_meanwhile_is_no_error(spied: type[Spied]) -> None:
    with locking.hold("acme", "qa", "apply", wait=0):
        (LOCKS / "acme.qa.holder").unlink()
    assert not spied.made[0].is_locked


# ----------------------------------------------------------------------- one per merchant and environment


def test_each_environment_of_a_merchant_has_its_own_lock_and_holder() -> None:
    with locking.hold("acme", "qa", "apply", wait=0), locking.hold("acme", "prod", "attest", wait=0), \
            locking.hold("nordwind", "qa", "rotate", wait=0):
        commands = {p.name: json.loads(p.read_text(encoding="utf-8"))["command"] for p in LOCKS.glob("*.holder")}
        assert commands == {"acme.qa.holder": "apply", "acme.prod.holder": "attest", "nordwind.qa.holder": "rotate"}
        with pytest.raises(ProvisionerError) as raised, locking.hold("acme", "prod", "apply", wait=0):
            pytest.fail("taken twice")
        assert str(raised.value).startswith(f"acme in prod is locked by {_named('attest')}")


def test_the_lock_and_holder_files_are_named_by_merchant_and_environment() -> None:
    assert locking.paths("acme", "qa") == (LOCKS / "acme.qa.lock", LOCKS / "acme.qa.holder")
    assert locking.paths("acme-eu", "prod_2") == (LOCKS / "acme-eu.prod_2.lock", LOCKS / "acme-eu.prod_2.holder")


@pytest.mark.parametrize(("merchant", "environment", "what"), [
    ("acme.qa", "x", "merchant 'acme.qa'"), ("acme", "q.a", "environment 'q.a'"), ("../acme", "qa", "merchant"),
    ("acme", "", "environment ''"), ("Acme", "qa", "merchant 'Acme'"), ("-acme", "qa", "merchant"),
])
def test_a_name_that_could_collide_or_escape_is_refused_before_anything(merchant: str, environment: str,
                                                                         what: str) -> None:
    with pytest.raises(ProvisionerError, match=f"cannot lock {what}"), locking.hold(merchant, environment, "apply"):
        pytest.fail("locked")
    assert not any(LOCKS.glob("*")) if LOCKS.exists() else True


def test_a_bad_name_is_shown_cut_and_explained() -> None:
    with pytest.raises(ProvisionerError) as raised:
        locking.paths("a." + "b" * 60, "qa")
    assert str(raised.value) == (f"cannot lock merchant 'a.{'b' * 38}…': not a name of lower-case letters, digits, "
                                 "'-' and '_'")


# ---------------------------------------------------------------------------------- where the locks live


def test_locks_live_in_the_checkout_unless_a_directory_is_configured(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert locking.lock_dir() == (LOCKS, True)
    monkeypatch.setenv("PROVISION_LOCK_DIR", "")
    assert locking.lock_dir() == (LOCKS, True)
    shared = tmp_path / "shared" / "locks"
    monkeypatch.setenv("PROVISION_LOCK_DIR", str(shared))  # the documented name
    assert locking.lock_dir() == (shared, False)
    with locking.hold("acme", "qa", "apply", wait=0):
        assert sorted(p.name for p in shared.iterdir()) == ["acme.qa.holder", "acme.qa.lock"]
    assert not LOCKS.exists()


def test_a_configured_directory_is_shared_by_runs_started_elsewhere(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process in another directory, naming the same lock directory, finds the lock held."""
    shared = tmp_path / "shared"
    monkeypatch.setenv(locking.DIR_ENV, str(shared))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = ("from provisioner.engine.apply import locking\n"
              "with locking.hold('acme', 'qa', 'apply', wait=0): pass\n")
    with locking.hold("acme", "qa", "apply", wait=0):
        run = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, capture_output=True, text=True,
                             timeout=BOUND, env={**os.environ, "PYTHONPATH": _pythonpath()})
    assert run.returncode == 1 and f"locked by {_named()}" in run.stderr, run.stderr
    assert not (elsewhere / ".provision").exists()
    again = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, capture_output=True, text=True,
                           timeout=BOUND, env={**os.environ, "PYTHONPATH": _pythonpath()})
    assert again.returncode == 0, again.stderr


def _pythonpath() -> str:
    from tests.conftest import REPO

    return os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])


# -------------------------------------------------------------------------------------- who is named


def _holder(path: Path, **fields: object) -> None:
    base: dict[str, object] = {"command": "apply", "pid": os.getpid(), "host": "runner-7", "user": "ci",
                               "since": 0.0}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**base, **fields}), encoding="utf-8")


def _ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(BOUND)
    return process.pid


def test_the_holder_is_named_from_its_file() -> None:
    path = LOCKS / "acme.qa.holder"
    _holder(path)
    since = time.strftime("%H:%M:%S", time.localtime(0.0))
    assert locking.holder_text(path, host="here") == f"apply (pid {os.getpid()} on runner-7, user ci, since {since})"


def test_a_holder_file_naming_an_ended_process_of_this_machine_is_stale() -> None:
    """Its run was killed: the kernel freed the lock, not the file. Whoever holds the lock now has not
    written its own yet, so the file's process is not named as the holder."""
    path = LOCKS / "acme.qa.holder"
    pid = _ended_pid()
    _holder(path, pid=pid, host="here")
    assert locking.holder_text(path, host="here") == (
        f"another run (the holder file names pid {pid} on this machine, which has ended: it was left by a run "
        "that was killed)")
    assert locking.holder_text(path, host="elsewhere").startswith(f"apply (pid {pid} on here, ")  # not ours to judge
    _holder(path, pid=os.getpid(), host="here")
    assert locking.holder_text(path, host="here").startswith(f"apply (pid {os.getpid()} on here, ")  # running


def test_a_stale_holder_file_is_replaced_by_the_run_that_takes_the_lock() -> None:
    path = LOCKS / "acme.qa.holder"
    _holder(path, pid=_ended_pid(), host=socket.gethostname(), command="killed")
    with locking.hold("acme", "qa", "apply", wait=0):
        assert json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid()


@pytest.mark.parametrize("content", [
    None, b"", b"not json", b"[1, 2]", b'{"command": "apply"}',
    json.dumps({"command": "apply", "pid": "x", "host": "h", "user": "u", "since": 0}).encode(),
    json.dumps({"command": "apply", "pid": 1, "host": "h", "user": "u", "since": "noon"}).encode(),
    json.dumps({"command": {"nested": 1}, "pid": 1, "host": "h", "user": "u", "since": 0}).encode(),
    json.dumps({"command": "apply", "pid": 1, "host": "h", "user": "u", "since": 1e300}).encode(),
    json.dumps({"command": "apply", "pid": 1, "host": "h", "user": "u", "since": 0}).ljust(4097).encode(),
], ids=["missing", "empty", "not json", "a list", "fields missing", "pid not a number", "since not a time",
        "nested", "since out of range", "too large"])
def test_an_unreadable_holder_file_is_said_to_be_unreadable(content: bytes | None) -> None:
    path = LOCKS / "acme.qa.holder"
    path.parent.mkdir(parents=True)
    if content is not None:
        path.write_bytes(content)
    assert locking.holder_text(path) == "another run (its details are unreadable)"


def test_a_holder_file_of_4096_bytes_is_read() -> None:
    path = LOCKS / "acme.qa.holder"
    _holder(path)
    path.write_text(path.read_text(encoding="utf-8").ljust(4096), encoding="utf-8")
    assert path.stat().st_size == 4096 and locking.holder_text(path, host="here").startswith("apply (pid ")


def test_a_holder_file_that_is_a_link_or_a_fifo_is_not_followed_or_opened_for_long(tmp_path: Path) -> None:
    path = LOCKS / "acme.qa.holder"
    path.parent.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere.json"
    _holder(elsewhere)
    path.symlink_to(elsewhere)
    assert locking.holder_text(path) == "another run (its details are unreadable)"
    path.unlink()
    os.mkfifo(path)
    assert locking.holder_text(path) == "another run (its details are unreadable)"  # returns: no writer needed


def test_foreign_text_in_a_holder_file_cannot_drive_a_terminal_or_a_ci_log() -> None:
    path = LOCKS / "acme.qa.holder"
    _holder(path, command="apply\x1b[2J\n::error::pwned", user="x" * 200, host="h\r##[group]")
    text = locking.holder_text(path, host="here")
    assert "\x1b" not in text and "\n" not in text and "\r" not in text and "::error::" not in text
    assert "##[" not in text and f"user {'x' * 64}," in text
    assert text.startswith("apply??2J???error??pwned (pid ") and " on h????group?, " in text


# ------------------------------------------------------------------------------------------ no links


def test_a_linked_lock_directory_in_the_checkout_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Path(".provision").mkdir()
    LOCKS.symlink_to(elsewhere)
    with pytest.raises(files.FileError, match="is a symbolic link"), locking.hold("acme", "qa", "apply", wait=0):
        pytest.fail("locked through a link")
    assert list(elsewhere.iterdir()) == []


def test_a_linked_tool_directory_above_the_locks_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Path(".provision").symlink_to(elsewhere)
    with pytest.raises(files.FileError, match=r"^\.provision: is a symbolic link"), \
            locking.hold("acme", "qa", "apply", wait=0):
        pytest.fail("locked through a link")
    assert list(elsewhere.iterdir()) == []


def test_a_configured_lock_directory_may_be_a_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It is the team's own setting (a shared mount reached through a link), not something a checkout carries."""
    target = tmp_path / "mount"
    target.mkdir()
    (tmp_path / "locks").symlink_to(target)
    monkeypatch.setenv(locking.DIR_ENV, str(tmp_path / "locks"))
    with locking.hold("acme", "qa", "apply", wait=0):
        assert (target / "acme.qa.holder").is_file()


@pytest.mark.parametrize("name", ["acme.qa.lock", "acme.qa.holder"])
def test_a_linked_lock_or_holder_file_is_refused_and_its_target_untouched(tmp_path: Path, name: str) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n", encoding="utf-8")
    LOCKS.mkdir(parents=True)
    (LOCKS / name).symlink_to(victim)
    with pytest.raises(files.FileError) as raised, locking.hold("acme", "qa", "apply", wait=0):
        pytest.fail("locked through a link")
    assert str(raised.value) == f"{LOCKS / name}: is a symbolic link; " + (
        "refusing to lock through it (remove it)" if name.endswith(".lock")
        else "refusing to write through it (remove it first)")
    assert victim.read_text(encoding="utf-8") == "keep me\n" and (LOCKS / name).is_symlink()
    (LOCKS / name).unlink()
    with locking.hold("acme", "qa", "apply", wait=0):  # the refusal released what it had taken
        pass


def test_a_refused_holder_file_releases_the_lock_at_once(tmp_path: Path, spied: type[Spied]) -> None:
    LOCKS.mkdir(parents=True)
    (LOCKS / "acme.qa.holder").symlink_to(tmp_path / "victim")
    with pytest.raises(files.FileError), locking.hold("acme", "qa", "apply", wait=0):
        pytest.fail("locked")
    assert [lock.is_locked for lock in spied.made] == [False]


def test_a_lock_file_the_system_cannot_lock_is_one_line() -> None:
    (LOCKS / "acme.qa.lock").mkdir(parents=True)
    with pytest.raises(files.FileError) as raised, locking.hold("acme", "qa", "apply", wait=0):
        pytest.fail("locked")
    assert str(raised.value) == f"{LOCKS / 'acme.qa.lock'}: cannot lock it: Is a directory"
