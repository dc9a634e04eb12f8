"""Hostile files and unlucky disks: links planted in a checkout, FIFOs and devices given as paths, JSON
nested 50,000 deep, modes to keep, a full disk, a run killed in the middle of a write. Nothing is
followed, nothing hangs, nothing is half-written, no traceback; first the helpers (provisioner/files.py),
then each case end to end through the CLI, asserting its exit code and that nothing changed."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner import files
from provisioner.cli.main import cli
from provisioner.engine.apply import sinks
from provisioner.engine.state import ledger as ledgers
from provisioner.errors import ExitCode
from tests.conftest import REPO
from tests.engine.conftest import Outputs, box, converge, env_file_variables, tokens_named

BOUND = 60.0  # seconds a run may take before the test calls it hung
TOKEN = "Global-e integration"
SINK = Path(".provision/secrets/acme.sandbox.global-e-integration.token")
RUNBOOK = Path("out/acme.sandbox.runbook.md")
LEDGER = Path(".provision/state/acme.sandbox.json")
DEEP = b"[" * 50_000 + b"]" * 50_000


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _bounded(run: Callable[[], Result]) -> Result:
    """`run` in a thread: a read that blocks (a FIFO opened for reading) fails the test instead of hanging it."""
    results: list[Result] = []
    thread = threading.Thread(target=lambda: results.append(run()), daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive() and results, "the command hung"
    return results[0]


# ======================================================================================= the helpers


def test_read_bytes_reads_a_regular_file_up_to_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert files.read_bytes(path, limit=10) == b"x" * 10
    with pytest.raises(files.FileError) as raised:
        files.read_bytes(path, limit=9)
    assert str(raised.value) == f"{path}: is larger than 9 bytes" and raised.value.path == path
    assert raised.value.reason == "is larger than 9 bytes"


def test_read_bytes_bounds_a_file_that_reports_no_size() -> None:
    """/proc files say they are empty and are not: the read itself is bounded."""
    assert len(files.read_bytes(Path("/proc/self/status"), limit=1 << 20)) > 0
    with pytest.raises(files.FileError, match="is larger than 16 bytes"):
        files.read_bytes(Path("/proc/self/status"), limit=16)


@pytest.mark.parametrize(("make", "kind"), [
    (lambda p: os.mkfifo(p), "a FIFO"), (lambda p: p.mkdir(), "a directory"),
    (lambda p: p.symlink_to("/dev/null"), "a character device"),
])
def test_read_bytes_refuses_what_is_not_a_regular_file_before_reading(tmp_path: Path, make: Callable[[Path], None],
                                                                      kind: str) -> None:
    path = tmp_path / "thing"
    make(path)
    with pytest.raises(files.FileError) as raised:
        files.read_bytes(path, limit=100)
    assert raised.value.reason == f"is {kind}, not a regular file; refusing to read it"


def test_read_bytes_follows_a_link_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"{}")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert files.read_bytes(tmp_path / "link", limit=2) == b"{}"
    with pytest.raises(files.FileError) as raised:
        files.read_bytes(tmp_path / "link", limit=2, follow_links=False)
    assert raised.value.reason == "is a symbolic link; refusing to follow it"
    with pytest.raises(files.FileError) as missing:
        files.read_bytes(tmp_path / "missing", limit=2)
    assert missing.value.reason == "No such file or directory"


@pytest.mark.parametrize(("text", "depth", "ok"), [
    ("1", 0, True), ("[]", 1, True), ("[]", 0, False), ('{"a": [1, {"b": 2}]}', 3, True),
    ('{"a": [1, {"b": 2}]}', 2, False), ('[[], [[]], []]', 3, True), ('[[], [[]], []]', 2, False),
    ('"[[[[[[[["', 1, True),  # brackets in a string nest nothing
])
def test_loads_counts_nesting_of_arrays_and_objects(text: str, depth: int, ok: bool) -> None:
    if ok:
        assert files.loads(text, depth=depth) == json.loads(text)
    else:
        with pytest.raises(files.TooDeep, match=f"^nested deeper than {depth} levels$"):
            files.loads(text, depth=depth)


def test_loads_of_json_nested_50000_deep_is_an_error_not_a_recursion_error() -> None:
    with pytest.raises(files.TooDeep, match=r"^nested deeper than 64 levels$"):
        files.loads(DEEP)
    with pytest.raises(files.TooDeep):
        files.loads(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, depth=10_000)  # past the parser's own limit
    assert files.loads(b"[" * 64 + b"]" * 64) is not None  # the default is 64 levels
    with pytest.raises(ValueError):
        files.loads(b"\xff")  # not UTF-8: a ValueError too


def test_read_json_names_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b'{"a": \x01}')
    with pytest.raises(files.FileError) as raised:
        files.read_json(path, limit=100)
    assert raised.value.reason.startswith("is not JSON this tool reads (Expecting value: ")
    path.write_bytes(b"[[[1]]]")
    assert files.read_json(path, limit=100, depth=3) == [[[1]]]
    with pytest.raises(files.FileError, match=r"is not JSON this tool reads \(nested deeper than 2 levels\)"):
        files.read_json(path, limit=100, depth=2)


def test_one_line_drops_control_characters_and_cuts() -> None:
    assert files.one_line("a\nb\x1b[2J\x7fc\x9fd") == "a b [2J c d"
    assert files.one_line("x" * 10, 4) == "xxxx…" and files.one_line("x" * 4, 4) == "xxxx"


def test_write_atomic_writes_whole_keeps_modes_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    files.write_atomic(path, "first\n")
    assert path.read_text() == "first\n" and _mode(path) == 0o666 & ~_umask()
    path.chmod(0o640)
    files.write_atomic(path, b"second\n")
    assert path.read_bytes() == b"second\n" and _mode(path) == 0o640  # kept
    files.write_atomic(path, "secret\n", private=True)
    assert _mode(path) == 0o600  # a private file is 0600 whatever it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def _value() -> str:
    """The value of acme's one valid token named TOKEN, as the store keeps it."""
    with box("acme").store.transaction() as db:
        [row] = db.execute("SELECT value FROM tokens WHERE name = ? AND revoked = 0", (TOKEN,)).fetchall()
    return str(row["value"])


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_a_private_file_is_never_readable_by_others_not_even_while_written(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "token"
    path.write_text("old\n")
    path.chmod(0o644)
    seen: list[int] = []
    real = os.replace

    def replace(source: str | Path, target: str | Path) -> None:
        seen.append(_mode(Path(source)))
        real(source, target)

    monkeypatch.setattr(os, "replace", replace)
    files.write_atomic(path, "new\n", private=True)
    assert seen == [0o600] and _mode(path) == 0o600 and path.read_text() == "new\n"


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p, t: p.symlink_to(t), "is a symbolic link; refusing to write through it (remove it first)"),
    (lambda p, t: os.mkfifo(p), "is a FIFO, not a regular file; refusing to write to it"),
    (lambda p, t: p.mkdir(), "is a directory, not a regular file; refusing to write to it"),
], ids=["link", "fifo", "directory"])
def test_write_atomic_and_append_text_refuse_what_is_not_a_regular_file(tmp_path: Path,
                                                                        make: Callable[[Path, Path], None],
                                                                        reason: str) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    path = tmp_path / "target"
    make(path, victim)
    for write in (lambda: files.write_atomic(path, "x"), lambda: files.append_text(path, "x")):
        with pytest.raises(files.FileError) as raised:
            write()
        assert raised.value.reason == reason
    assert victim.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target", "victim"]


def test_append_text_keeps_the_mode_of_an_existing_file_and_creates_a_new_one_0600(tmp_path: Path) -> None:
    existing = tmp_path / "github_env"
    existing.write_text("A=1\n")
    existing.chmod(0o644)
    files.append_text(existing, "B=2\n")
    assert existing.read_text() == "A=1\nB=2\n" and _mode(existing) == 0o644
    new = tmp_path / "env_file"
    files.append_text(new, "C=3\n")
    assert new.read_text() == "C=3\n" and _mode(new) == 0o600


def test_ensure_dir_refuses_links_in_a_tool_directory_but_not_in_one_the_user_names(workdir: Path,
                                                                                    tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Path(".provision").symlink_to(elsewhere)
    with pytest.raises(files.FileError) as raised:
        files.ensure_dir(Path(".provision/secrets"), owned=True, private=True)
    assert str(raised.value) == ".provision: is a symbolic link; refusing to follow it (remove it, or make it a " \
                                "directory)"
    files.ensure_dir(Path(".provision/mine"))  # the user's own path: theirs, links and all
    assert (elsewhere / "mine").is_dir()
    Path("state").write_text("a file\n")
    with pytest.raises(files.FileError, match=r"^state: is a regular file, not a directory; refusing to write"):
        files.ensure_dir(Path("state"), owned=True)
    with pytest.raises(FileExistsError):  # the user's path: the system's own error, shown by the CLI
        files.ensure_dir(Path("state"))


def test_ensure_dir_makes_a_private_tool_directory_0700(workdir: Path) -> None:
    Path(".provision/secrets").mkdir(parents=True, mode=0o755)
    Path(".provision/secrets").chmod(0o755)
    files.ensure_dir(Path(".provision/secrets"), owned=True, private=True)
    assert _mode(Path(".provision/secrets")) == 0o700
    files.ensure_dir(Path("out"), owned=True)
    assert _mode(Path("out")) == 0o777 & ~_umask()


def test_a_secret_file_the_user_names_keeps_its_folder_as_it_is(workdir: Path) -> None:
    """A `file:` secret's folder is the user's (their home, a mount): not narrowed, links and all; only the
    tool's own .provision/secrets is made 0700. The file itself is 0600 either way."""
    Path("mine").mkdir()
    Path("mine").chmod(0o755)
    sinks.write_private(Path("mine/order-secret"), "value\n")
    assert _mode(Path("mine")) == 0o755 and _mode(Path("mine/order-secret")) == 0o600
    sinks.write_private(Path("new/order-secret"), "value\n")
    assert _mode(Path("new")) == 0o700 & ~_umask()


def test_a_sandbox_database_the_user_names_leaves_its_folder_as_it_is(project: Path, outputs: Outputs) -> None:
    Path(".").chmod(0o755)
    assert outputs.run("sandbox", "reset", "acme", "--db", "mine.db").exit_code == 0
    assert _mode(Path(".")) == 0o755 and _mode(Path("mine.db")) == 0o600


def test_open_private_makes_and_narrows_a_file_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "db"
    path.write_text("")
    path.chmod(0o644)
    os.close(files.open_private(path))
    assert _mode(path) == 0o600
    (tmp_path / "link").symlink_to(path)
    with pytest.raises(files.FileError, match="is a symbolic link"):
        files.open_private(tmp_path / "link")


def test_a_temporary_file_of_a_process_that_ended_is_removed_by_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(BOUND)
    leftover = tmp_path / f".ledger.json.{ended.pid}.0badcafe.tmp"
    running = tmp_path / f".ledger.json.{os.getpid()}.0badcafe.tmp"  # a write in progress here
    other = tmp_path / f".other.json.{ended.pid}.0badcafe.tmp"  # another file's: not this write's business
    longer = tmp_path / f".ledger.json.1.{ended.pid}.0badcafe.tmp"  # of "ledger.json.1", not of "ledger.json"
    for name in (leftover, running, other, longer):
        name.write_text("half")
    files.write_atomic(path, "{}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ledger.json", running.name, other.name,
                                                                 longer.name])
    assert files.running(os.getpid()) is True and files.running(1) is True  # this process, and init
    assert files.running(ended.pid) is False and files.running(0) is False and files.running(-1) is False


def test_the_temporary_file_of_a_long_name_is_found_by_the_same_cut_name(tmp_path: Path) -> None:
    path = tmp_path / ("n" * 200)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(BOUND)
    (tmp_path / f".{'n' * 120}.{ended.pid}.0badcafe.tmp").write_text("half")
    files.write_atomic(path, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_write_into_a_missing_folder_or_interrupted_leaves_nothing(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(files.FileError) as raised:
        files.write_atomic(tmp_path / "missing" / "f", "x")
    assert str(raised.value) == f"{tmp_path / 'missing' / 'f'}: cannot write it: No such file or directory"

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(tmp_path / "f", "x")
    assert list(tmp_path.iterdir()) == []


def test_sizes_and_cut_text_are_said_exactly(tmp_path: Path) -> None:
    path = tmp_path / "big"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024 * 1024)
    for limit, said in ((1024 * 1024 + 1, "1048577 bytes"), (2 * 1024 * 1024, "2 MiB"), (1024, "1024 bytes")):
        with pytest.raises(files.FileError) as raised:
            files.read_bytes(path, limit=limit)
        assert raised.value.reason == f"is larger than {said}"
    assert files.one_line("x" * 300) == "x" * 200 + "…"
    assert files.one_line("\x1f \x7e\x7f\x9f\xa0") == "  ~  \xa0"


def test_new_folders_and_files_get_the_modes_asked_for(workdir: Path) -> None:
    files.ensure_dir(Path("tool/private"), owned=True, private=True)
    files.ensure_dir(Path("tool/shared"), owned=True)
    files.ensure_dir(Path("user/private"), private=True)
    files.ensure_dir(Path("user/shared"))
    assert [_mode(Path(p)) for p in ("tool/private", "tool/shared", "user/private", "user/shared")] == [
        0o700, 0o777 & ~_umask(), 0o700, 0o777 & ~_umask()]
    os.close(files.open_private(Path("new.db")))
    assert _mode(Path("new.db")) == 0o600


def test_kind_names_each_kind_of_file(tmp_path: Path) -> None:
    assert files.kind(os.lstat("/dev/null").st_mode) == "a character device"
    assert files.kind(stat.S_IFBLK) == "a block device" and files.kind(stat.S_IFSOCK) == "a socket"
    assert files.kind(stat.S_IFLNK) == "a symbolic link" and files.kind(stat.S_IFREG) == "a regular file"


# ========================================================================================= plan paths


def _apply(path: str) -> Result:
    return _bounded(lambda: CliRunner().invoke(cli, ["apply", path, "--auto-approve"], catch_exceptions=False))


def _refused_plan(result: Result, path: str, reason: str) -> None:
    assert result.exit_code == ExitCode.ERROR, result.output + result.stderr
    assert result.stderr == f"error: {path}: not a plan file ({reason})\n"
    assert tokens_named("acme", TOKEN) == [] and not RUNBOOK.exists()


def test_a_fifo_as_a_plan_path_is_refused_at_once(project: Path) -> None:
    os.mkfifo("plan.json")  # nobody writes to it: reading it would wait forever
    _refused_plan(_apply("plan.json"), "plan.json", "is a FIFO, not a regular file; refusing to read it")


def test_a_device_or_a_directory_as_a_plan_path_is_refused(project: Path) -> None:
    Path("zero.json").symlink_to("/dev/zero")  # a path the user gave: followed, then refused for what it is
    _refused_plan(_apply("zero.json"), "zero.json", "is a character device, not a regular file; refusing to read it")
    Path("dir.json").mkdir()
    _refused_plan(_apply("dir.json"), "dir.json", "is a directory, not a regular file; refusing to read it")


def test_a_plan_nested_50000_deep_is_refused_without_a_recursion_error(project: Path) -> None:
    Path("plan.json").write_bytes(DEEP)
    _refused_plan(_apply("plan.json"), "plan.json", "nested deeper than 32 levels")
    Path("deep.json").write_bytes(b'{"plans": ' + DEEP + b"}")
    result = _bounded(lambda: CliRunner().invoke(cli, ["report", "deep.json"], catch_exceptions=False))
    assert result.exit_code == ExitCode.ERROR and result.stderr == \
        "error: deep.json: not a plan file (nested deeper than 32 levels)\n"


def test_a_plan_larger_than_64_mib_is_refused_before_it_is_read(project: Path) -> None:
    with open("plan.json", "wb") as handle:
        handle.truncate(64 * 1024 * 1024 + 1)  # sparse: the test writes nothing
    _refused_plan(_apply("plan.json"), "plan.json", "is larger than 64 MiB")


def test_plan_out_keeps_the_mode_of_the_file_it_replaces_and_refuses_a_link(project: Path, outputs: Outputs,
                                                                            tmp_path: Path) -> None:
    Path("plan.json").write_text("old\n")
    Path("plan.json").chmod(0o640)
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    assert _mode(Path("plan.json")) == 0o640 and json.loads(Path("plan.json").read_text())["plans"]
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    Path("linked.json").symlink_to(victim)
    result = outputs.run("plan", "acme", "--env", "sandbox", "--out", "linked.json")
    assert result.exit_code == ExitCode.ERROR and victim.read_text() == "keep me\n"
    assert "error: linked.json: is a symbolic link; refusing to write through it (remove it first)\n" in result.stderr


# ============================================================================ links planted in a checkout


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    return victim


def _refused_before_anything(result: Result, message: str) -> None:
    assert result.exit_code == ExitCode.ERROR, result.output + result.stderr
    assert result.stderr.endswith(f"error: {message}\n"), result.stderr
    assert "Traceback" not in result.stderr
    assert tokens_named("acme", TOKEN) == [], "a token was created before the refusal"


def test_a_linked_runbook_is_refused_before_any_change(project: Path, outputs: Outputs, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    RUNBOOK.parent.mkdir()
    RUNBOOK.symlink_to(victim)
    _refused_before_anything(outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve"),
                             f"{RUNBOOK}: is a symbolic link; refusing to write through it (remove it first)")
    assert victim.read_text() == "keep me\n"
    own = Path("mine.md")
    own.symlink_to(victim)  # a --runbook-out the user names is refused the same way
    _refused_before_anything(outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--runbook-out",
                                         "mine.md"),
                             "mine.md: is a symbolic link; refusing to write through it (remove it first)")


def test_a_linked_out_directory_is_refused_before_any_change(project: Path, outputs: Outputs, tmp_path: Path) -> None:
    Path("out").symlink_to(tmp_path)
    _refused_before_anything(outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve"),
                             "out: is a symbolic link; refusing to follow it (remove it, or make it a directory)")
    assert not (tmp_path / "acme.sandbox.runbook.md").exists()


def test_a_linked_secrets_directory_is_refused_before_the_token_is_created(project: Path, outputs: Outputs,
                                                                           tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Path(".provision").mkdir(exist_ok=True)
    Path(".provision/secrets").symlink_to(elsewhere)
    _refused_before_anything(outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve"),
                             "cannot store a created token in .provision/secrets: is a symbolic link; refusing to "
                             "follow it (remove it, or make it a directory); nothing was changed")
    assert list(elsewhere.iterdir()) == []


def test_a_linked_token_file_is_refused_before_the_token_is_created(project: Path, outputs: Outputs,
                                                                    tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    SINK.parent.mkdir(parents=True)
    SINK.symlink_to(victim)
    _refused_before_anything(outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve"),
                             f"cannot store a created token in {SINK}: is a symbolic link; refusing to write "
                             "through it (remove it first); nothing was changed")
    assert victim.read_text() == "keep me\n"


def test_a_token_file_of_another_mode_becomes_0600(project: Path, outputs: Outputs) -> None:
    SINK.parent.mkdir(parents=True)
    SINK.write_text("an old value\n")
    SINK.chmod(0o644)
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    assert SINK.read_text().strip() == _value() and _mode(SINK) == 0o600
    assert _mode(SINK.parent) == 0o700


def test_a_linked_lock_holder_is_refused_and_nothing_changes(project: Path, outputs: Outputs,
                                                             tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    holder = Path(".provision/locks/acme.sandbox.holder")
    holder.parent.mkdir(parents=True)
    holder.symlink_to(victim)
    _refused_before_anything(outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve"),
                             f"{holder}: is a symbolic link; refusing to write through it (remove it first)")
    assert victim.read_text() == "keep me\n"


def test_a_linked_journal_is_refused_before_the_token_is_created(project: Path, outputs: Outputs,
                                                                 tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    journal = Path(".provision/journal/acme.sandbox.json")
    journal.parent.mkdir(parents=True)
    journal.symlink_to(victim)
    _refused_before_anything(outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve"),
                             f"{journal}: is a symbolic link; refusing to write through it (remove it first)")
    assert victim.read_text() == "keep me\n"


def test_a_fifo_as_the_journal_neither_hangs_nor_is_written(project: Path) -> None:
    journal = Path(".provision/journal/acme.sandbox.json")
    journal.parent.mkdir(parents=True)
    os.mkfifo(journal)
    result = _bounded(lambda: CliRunner().invoke(cli, ["apply", "acme", "--env", "sandbox", "--auto-approve"]))
    _refused_before_anything(result, f"{journal}: is a FIFO, not a regular file; refusing to write to it")


def test_a_linked_state_file_is_neither_read_nor_written(project: Path, outputs: Outputs, tmp_path: Path) -> None:
    converge(outputs, "acme")
    elsewhere = tmp_path / "ledger.json"
    elsewhere.write_text(LEDGER.read_text())  # even a valid ledger: a link is not the tool's file
    LEDGER.unlink()
    LEDGER.symlink_to(elsewhere)
    for command in (["plan", "acme", "--env", "sandbox"], ["attest", "acme", "--env", "sandbox", "--yes"]):
        result = outputs.run(*command)
        assert result.exit_code == ExitCode.ERROR, result.output + result.stderr
        assert f"error: {LEDGER}: not a readable ledger (is a symbolic link; refusing to follow it)" in result.stderr
    assert elsewhere.read_text() == json.dumps(json.loads(elsewhere.read_text()), indent=2) + "\n"
    LEDGER.unlink()
    os.mkfifo(LEDGER)
    result = _bounded(lambda: CliRunner().invoke(cli, ["plan", "acme", "--env", "sandbox"]))
    assert result.exit_code == ExitCode.ERROR and \
        f"{LEDGER}: not a readable ledger (is a FIFO, not a regular file; refusing to read it)" in result.stderr


def test_a_ledger_nested_too_deep_or_of_another_shape_is_one_line(project: Path, outputs: Outputs) -> None:
    LEDGER.parent.mkdir(parents=True)
    LEDGER.write_bytes(DEEP)
    result = outputs.run("plan", "acme", "--env", "sandbox")
    assert result.exit_code == ExitCode.ERROR and result.stderr.endswith(
        f"error: {LEDGER}: not a readable ledger (is not JSON this tool reads (nested deeper than 4 levels))\n")
    LEDGER.write_text(json.dumps({"format_version": 2, "items": {"a": ["not", "settings"]}}))
    result = outputs.run("plan", "acme", "--env", "sandbox")
    assert result.stderr.endswith(
        f"error: {LEDGER}: not a readable ledger (its items are not settings and their hashes)\n")
    LEDGER.write_text(json.dumps({"format_version": "2\x1b[2J", "items": {}}))
    result = outputs.run("plan", "acme", "--env", "sandbox")
    assert result.stderr.endswith(f"error: {LEDGER}: ledger format '2\\x1b[2J' is not supported\n")


def test_a_ledger_keeps_its_mode_and_is_written_whole(project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    document = json.loads(LEDGER.read_text())
    LEDGER.write_text(json.dumps({**document, "items": {}}))  # so the next attest records everything again
    LEDGER.chmod(0o640)
    assert outputs.run("attest", "acme", "--env", "sandbox", "--yes").exit_code == 0
    assert json.loads(LEDGER.read_text())["items"].keys() == document["items"].keys()
    assert _mode(LEDGER) == 0o640 and sorted(p.name for p in LEDGER.parent.iterdir()) == [LEDGER.name]


# ================================================================================ the CI environment file


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "runner" / "github_env"
    path.parent.mkdir()
    monkeypatch.setenv("GITHUB_ENV", str(path))
    return path


def test_an_existing_0644_env_file_stays_0644(project: Path, outputs: Outputs, env_file: Path) -> None:
    env_file.write_text("")
    env_file.chmod(0o644)  # as the runner makes it: the runner reads it, whoever runs the step
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--secret-sink", "env:CI")
    assert result.exit_code == 0, result.output + result.stderr
    assert _mode(env_file) == 0o644
    assert env_file_variables(env_file)["CI__ACME__SANDBOX__GLOBAL_E_INTEGRATION"] == _value()


def test_a_new_env_file_is_created_0600(project: Path, outputs: Outputs, env_file: Path) -> None:
    result = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--secret-sink", "env:CI")
    assert result.exit_code == 0, result.output + result.stderr
    assert _mode(env_file) == 0o600


@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_an_env_file_that_is_a_link_or_a_fifo_is_refused_before_the_token_is_created(
        project: Path, env_file: Path, tmp_path: Path, kind: str) -> None:
    victim = _victim(tmp_path)
    if kind == "link":
        env_file.symlink_to(victim)
        reason = "is a symbolic link; refusing to write through it (remove it first)"
    else:
        os.mkfifo(env_file)  # nobody reads it: opening it to write would wait forever
        reason = "is a FIFO, not a regular file; refusing to write to it"
    result = _bounded(lambda: CliRunner().invoke(cli, ["apply", "acme", "--env", "sandbox", "--auto-approve",
                                                       "--secret-sink", "env:CI"]))
    _refused_before_anything(result, f"cannot store a created token in {env_file}: {reason}; nothing was changed")
    assert victim.read_text() == "keep me\n"


# ======================================================================== the runbook keeps its mode


def test_a_runbook_keeps_its_mode(project: Path, outputs: Outputs) -> None:
    RUNBOOK.parent.mkdir()
    RUNBOOK.write_text("old\n")
    RUNBOOK.chmod(0o640)
    assert outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve").exit_code == 0
    assert _mode(RUNBOOK) == 0o640 and RUNBOOK.read_text().startswith("# Runbook: acme in sandbox")


# ================================================================== the sandbox database and a full disk


def test_a_sandbox_database_that_is_not_one_is_one_line(project: Path, outputs: Outputs) -> None:
    database = Path(".provision/sandbox/acme.db")
    database.parent.mkdir(parents=True)
    database.write_bytes(b"not a database, just bytes " * 200)
    result = outputs.run("plan", "acme", "--env", "sandbox")
    assert result.exit_code == ExitCode.ERROR and "Traceback" not in result.stderr
    assert result.stderr == f"error: {database}: file is not a database (the sandbox database)\n"


def test_a_linked_sandbox_database_or_directory_is_refused(project: Path, outputs: Outputs, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    database = Path(".provision/sandbox/acme.db")
    database.parent.mkdir(parents=True)
    database.symlink_to(victim)
    result = outputs.run("plan", "acme", "--env", "sandbox")
    assert result.stderr == f"error: {database}: is a symbolic link; refusing to write through it (remove it " \
                            "first) (the sandbox database)\n"
    database.unlink()
    database.parent.rmdir()
    database.parent.symlink_to(tmp_path)
    result = outputs.run("plan", "acme", "--env", "sandbox")
    assert result.exit_code == ExitCode.ERROR and result.stderr.startswith(
        "error: .provision/sandbox: is a symbolic link; refusing to follow it")
    assert victim.read_text() == "keep me\n" and not (tmp_path / "acme.db").exists()


def _with_a_full_disk(script: str, cwd: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """`script` in a process that may write files of at most `limit` bytes: a write past it fails (EFBIG),
    as on a full disk, instead of killing the process (SIGXFSZ ignored)."""
    launcher = ("import resource, signal, sys\n"
                "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
                f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
                "exec(compile(sys.argv[1], '<script>', 'exec'))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", launcher, script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=BOUND)


def test_a_full_disk_under_the_sandbox_is_one_line_not_a_sqlite_traceback(project: Path) -> None:
    run = _with_a_full_disk("from provisioner.cli.main import main\n"
                            "sys.argv = ['provision', 'plan', 'acme', '--env', 'sandbox']\nmain()\n",
                            project, 16 * 1024)
    assert run.returncode == ExitCode.ERROR, run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) == 1, run.stderr
    assert run.stderr.startswith("error: .provision/sandbox/acme.db: ") and run.stderr.endswith(
        " (the sandbox database)\n")


def test_a_full_disk_leaves_the_old_file_whole_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "ledger.json"
    target.write_text('{"old": true}\n')
    run = _with_a_full_disk("from pathlib import Path\nfrom provisioner import files\n"
                            "try:\n    files.write_atomic(Path('ledger.json'), 'x' * 100_000)\n"
                            "except files.FileError as exc:\n    print(exc)\n", tmp_path, 4096)
    assert run.stdout == "ledger.json: cannot write it: File too large\n", run.stdout + run.stderr
    assert target.read_text() == '{"old": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.json"]


def test_a_ledger_write_killed_half_way_leaves_the_old_ledger_and_the_next_write_cleans_up(
        project: Path, outputs: Outputs) -> None:
    converge(outputs, "acme")
    before = LEDGER.read_text()
    script = ("import os, sys\nfrom pathlib import Path\nfrom provisioner.engine.state import ledger\n"
              "def frozen(source, target):\n    print('written', flush=True)\n    sys.stdin.read()\n"
              "os.replace = frozen  # the moment between the temporary file and the rename\n"
              f"ledger.Ledger(Path({str(LEDGER)!r}), 'acme', 'sandbox', {{}}).save()\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", script], env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "written\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=BOUND)
    leftovers = [p.name for p in LEDGER.parent.iterdir() if p.name != LEDGER.name]
    assert leftovers == [f".{LEDGER.name}.{child.pid}.{leftovers[0].split('.')[-2]}.tmp"], leftovers
    assert LEDGER.read_text() == before  # the old ledger, whole
    LEDGER.unlink()  # so the next attest records (and writes) everything again
    assert outputs.run("attest", "acme", "--env", "sandbox", "--yes").exit_code == 0
    assert sorted(p.name for p in LEDGER.parent.iterdir()) == [LEDGER.name]
    assert ledgers.load("acme", "sandbox").items.keys() == json.loads(before)["items"].keys()


# ============================================================================ other files the tool writes


def test_the_sandbox_token_file_is_written_whole_0600_and_never_through_a_link(tmp_path: Path) -> None:
    from provisioner.sandbox.fixture import FixtureSpec
    from provisioner.sandbox.instance import open_sandbox

    box = open_sandbox(FixtureSpec("acme", "GlobalE Store", products=1), tmp_path / "acme.db")
    box.token_file.write_text("old\n")
    box.token_file.chmod(0o644)
    assert box.write_token_file() == box.token_file
    assert box.token_file.read_text() == box.admin_token + "\n" and _mode(box.token_file) == 0o600
    victim = _victim(tmp_path)
    box.token_file.unlink()
    box.token_file.symlink_to(victim)
    with pytest.raises(files.FileError, match="is a symbolic link; refusing to write through it"):
        box.write_token_file()
    assert victim.read_text() == "keep me\n"


def test_export_out_keeps_the_file_s_mode_and_refuses_a_link(project: Path, outputs: Outputs, tmp_path: Path) -> None:
    Path("exported.yaml").write_text("old\n")
    Path("exported.yaml").chmod(0o640)
    result = outputs.run("export", "acme", "--env", "sandbox", "--out", "exported.yaml", "--force")
    assert result.exit_code == 0, result.output + result.stderr
    assert _mode(Path("exported.yaml")) == 0o640 and "merchant: acme" in Path("exported.yaml").read_text()
    victim = _victim(tmp_path)
    Path("linked.yaml").symlink_to(victim)
    result = outputs.run("export", "acme", "--env", "sandbox", "--out", "linked.yaml", "--force")
    assert result.exit_code == ExitCode.ERROR and victim.read_text() == "keep me\n"
    assert result.stderr.endswith("error: linked.yaml: is a symbolic link; refusing to write through it "
                                  "(remove it first)\n") and "Traceback" not in result.stderr
