"""The wire between launcher and server: private folders, framed messages, descriptors passed along."""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

import pytest

from provisioner.warm import wire


def test_the_socket_is_named_by_interpreter_and_copy_in_the_users_runtime_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    path = wire.socket_path()
    assert Path(path).parent == tmp_path / "provision-warm"
    assert path == wire.socket_path()
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert Path(wire.socket_path()).parent == tmp_path / f"provision-warm-{os.getuid()}"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/dir")  # not absolute: not a runtime folder
    assert Path(wire.socket_path()).parent == tmp_path / f"provision-warm-{os.getuid()}"


def test_only_a_folder_nobody_else_may_enter_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    assert wire.private(str(folder))
    os.chmod(folder, 0o750)
    assert not wire.private(str(folder))
    os.chmod(folder, 0o707)
    assert not wire.private(str(folder))
    link = tmp_path / "link"
    os.chmod(folder, 0o700)
    link.symlink_to(folder)
    assert not wire.private(str(link))
    assert not wire.private(str(tmp_path / "missing"))
    (tmp_path / "file").write_text("x")
    os.chmod(tmp_path / "file", 0o600)
    assert not wire.private(str(tmp_path / "file"))


def test_a_message_and_its_descriptors_arrive_whole(tmp_path: Path) -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    (tmp_path / "seen").write_text("the client's stdout")
    opened = os.open(tmp_path / "seen", os.O_RDONLY)
    with left, right:
        message = {"op": "run", "env": {"BIG": "x" * 50_000}}
        wire.send(left, message, fds=[opened])
        received, fds = wire.receive(right, fds=wire.STREAMS)
        assert received == message
        assert len(fds) == 1 and os.read(fds[0], 100) == b"the client's stdout"
        os.close(fds[0])
        assert wire.peer_uid(right) == os.getuid()
    os.close(opened)


@pytest.mark.parametrize("sent", [
    struct.pack(">I", wire.MAX_MESSAGE + 1),  # too big to be ours
    struct.pack(">I", 5) + b"[1,2]",  # not an object
    struct.pack(">I", 4) + b"{no}",  # not JSON
    struct.pack(">I", 10) + b"{}",  # cut short
    b"\x00\x00",  # a header cut short
    b"",  # nothing at all
])
def test_what_is_not_a_message_is_refused_and_its_descriptors_closed(sent: bytes, tmp_path: Path) -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        left.sendall(sent)
        left.shutdown(socket.SHUT_WR)
        with pytest.raises(wire.WireError):
            wire.receive(right, fds=wire.STREAMS)
