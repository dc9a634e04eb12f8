"""Reading and writing files the tool does not fully control: a checkout can carry planted symbolic links
(`.provision/secrets -> ~/.ssh`), a path the user names can be a FIFO or a device, a JSON file can be
nested 50,000 deep, and a disk can fill or a run be killed half-way through a write.

- `read_bytes` / `read_json`: only a regular file (a FIFO, device, socket or directory is refused before
  anything is read, so nothing blocks), at most `limit` bytes, JSON at most `depth` levels deep. Tool
  files (journals, ledgers, lock holders) are read with `follow_links=False`.
- `write_atomic`: the whole new content or the old one, never half: a temporary file beside the target,
  flushed to disk, renamed over it. A symbolic link at the target is refused, not followed (nor replaced:
  someone put it there, and should hear about it). The target keeps its mode; a `private` one is 0600
  from its first byte. A temporary file left by a run that was killed is removed by the next write.
- `append_text`: one write at the end of a file others append to as well (`$GITHUB_ENV`); the file keeps
  its mode (the runner's 0644 stays 0644), and one that does not exist yet is created 0600.
- `ensure_dir`: a directory the tool writes into; with `owned`, no component of it may be a link.

Every refusal and every OSError is a `FileError`, a ProvisionerError: one line naming the path and the
reason, exit 1, and in a fleet one merchant's failure only. (Creating a folder the user named is the one
exception: its OSError is the CLI's to show, as any path the user gave.) It imports nothing of the tool
but `errors`, so every room above the leaves may use it."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from provisioner.errors import ProvisionerError

MAX_DEPTH = 64  # a plan document nests about a dozen levels; deeper is not a file this tool wrote
TEMPORARY_SUFFIX = ".tmp"
_PREFIX_LENGTH = 120  # a temporary name stays under NAME_MAX (255) whatever the target is called
_KINDS = ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISLNK, "a symbolic link"))


class FileError(ProvisionerError):
    """A file refused, or a read or write that failed: `path` and the `reason`, on one line."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


class TooDeep(ValueError):
    """JSON nested deeper than allowed (a ValueError, as every other way JSON can be wrong)."""


def kind(mode: int) -> str:
    """What a file of this mode is, for a message: 'a FIFO', 'a directory', ... 'a regular file'."""
    return next((name for test, name in _KINDS if test(mode)), "a file of an unknown kind")


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link; refusing to follow it"
    return exc.strerror or type(exc).__name__


# ---------------------------------------------------------------------------------------------- reading


def read_bytes(path: Path, *, limit: int, follow_links: bool = True) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or FileError. Opened without blocking (a FIFO
    opens at once) and checked on the open descriptor, so what is checked is what is read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileError(path, _reason(exc)) from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise FileError(path, f"is {kind(status.st_mode)}, not a regular file; refusing to read it")
        if status.st_size > limit:
            raise FileError(path, f"is larger than {_size(limit)}")
        chunks, size = [], 0
        while size <= limit:  # a file may grow while it is read, and /proc files report no size
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileError(path, f"is larger than {_size(limit)}")
        return b"".join(chunks)
    except OSError as exc:
        raise FileError(path, _reason(exc)) from None
    finally:
        os.close(fd)


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0 else \
        f"{limit} bytes"


def loads(raw: bytes | str, *, depth: int = MAX_DEPTH) -> Any:
    """JSON, at most `depth` levels of arrays and objects; ValueError (TooDeep, JSONDecodeError,
    UnicodeDecodeError) otherwise — never RecursionError, however deep the text nests."""
    try:
        value = json.loads(raw)
    except RecursionError:
        # The decoder guards its own recursion; past the interpreter's limit it is certainly too deep.
        raise TooDeep(f"nested deeper than {depth} levels") from None
    check_depth(value, depth)
    return value


def check_depth(value: Any, depth: int) -> None:
    """TooDeep when `value` nests more than `depth` arrays and objects (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if level > depth:
            raise TooDeep(f"nested deeper than {depth} levels")
        pending.extend((child, level + 1) for child in children if isinstance(child, dict | list))


def read_json(path: Path, *, limit: int, depth: int = MAX_DEPTH, follow_links: bool = True) -> Any:
    """A JSON file read as `read_bytes` does; what is not JSON of at most `depth` levels is FileError."""
    raw = read_bytes(path, limit=limit, follow_links=follow_links)
    try:
        return loads(raw, depth=depth)
    except ValueError as exc:
        raise FileError(path, f"is not JSON this tool reads ({one_line(str(exc))})") from None


def one_line(text: str, length: int = 200) -> str:
    """A message from a parser, as part of ours: control characters gone, cut to `length`."""
    cleaned = "".join(" " if ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 else c for c in text)
    return cleaned if len(cleaned) <= length else cleaned[:length] + "…"


# ---------------------------------------------------------------------------------------------- writing


def ensure_dir(path: Path, *, owned: bool = False, private: bool = False) -> None:
    """`path` as a directory to write into, created with its missing parents (0700 when `private`).

    `owned`: a directory of the tool's own in the working directory (`.provision/locks`, `state`, `out`):
    every component of it must be a real directory, never a link, as a checkout can carry links its author
    planted; a `private` one is narrowed to 0700; what fails is a FileError. Otherwise the directory is one
    the user named (`--out reports/plan.json`): it is theirs, links and all, and what the system refuses is
    its OSError, which the CLI shows as a path the user gave."""
    if not owned:
        path.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
        return
    check_dir(path)
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
        if private and stat.S_IMODE(os.lstat(path).st_mode) != 0o700:
            os.chmod(path, 0o700, follow_symlinks=False)
    except OSError as exc:
        raise FileError(path, _reason(exc)) from None


def check_dir(path: Path) -> None:
    """What `ensure_dir` checks of a directory of the tool's own, without creating anything: no component
    of a relative `path` that exists is a link, and an existing `path` is a directory."""
    current = Path()
    for part in () if path.is_absolute() else path.parts:
        current = current / part
        _refuse_link(current)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FileError(path, _reason(exc)) from None
    if not stat.S_ISDIR(status.st_mode):
        raise FileError(path, f"is {kind(status.st_mode)}, not a directory; refusing to write into it")


def _refuse_link(path: Path) -> None:
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FileError(path, _reason(exc)) from None
    if stat.S_ISLNK(status.st_mode):
        raise FileError(path, "is a symbolic link; refusing to follow it (remove it, or make it a directory)")


def writable(path: Path) -> os.stat_result | None:
    """What is at `path` now (None: nothing), if the tool may replace it: a regular file. A link, FIFO,
    device or directory there is FileError — checked before a token is created, so it is refused before
    its value exists."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileError(path, _reason(exc)) from None
    if stat.S_ISLNK(status.st_mode):
        raise FileError(path, "is a symbolic link; refusing to write through it (remove it first)")
    if not stat.S_ISREG(status.st_mode):
        raise FileError(path, f"is {kind(status.st_mode)}, not a regular file; refusing to write to it")
    return status


def write_atomic(path: Path, data: str | bytes, *, private: bool = False, clean: bool = True) -> None:
    """Replace `path` with `data` whole, or leave it as it was. `private`: 0600, whatever an older file's
    mode was; otherwise an existing file keeps its mode and a new one gets the umask's default. `clean`:
    remove the leftovers of killed writers first (`remove_leftovers`); a writer that holds the file's lock
    and cleaned on its first write under it has no new ones to look for."""
    with writing_atomic(path, private=private, clean=clean) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextlib.contextmanager
def writing_atomic(path: Path, *, private: bool = False, clean: bool = True) -> Iterator[BinaryIO]:
    """`write_atomic` for content written as it is made (a long CSV, a large plan document), in constant
    memory: the handle writes to the temporary file, which replaces `path` when the block ends without an
    exception, and is removed when it raises. Modes and `clean` as `write_atomic`."""
    existing = writable(path)
    directory = path.parent
    if clean:
        remove_leftovers(path)
    temporary = directory / f".{path.name[:_PREFIX_LENGTH]}.{os.getpid()}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600 if private else 0o666)
    except OSError as exc:
        raise FileError(path, f"cannot write it: {_reason(exc)}") from None
    try:
        try:
            if existing is not None and not private:
                os.fchmod(fd, stat.S_IMODE(existing.st_mode))
            with open(fd, "wb", closefd=False) as handle:
                yield handle
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise FileError(path, f"cannot write it: {_reason(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_directory(directory: Path) -> None:
    """The rename itself on disk; a file system that cannot sync a directory has nothing more to do."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_leftovers(path: Path) -> None:
    """Remove temporary files of `path` that `write_atomic` calls in processes no longer running left
    behind (a run killed between creating one and renaming it). Writers of one target on other machines
    (a shared directory) are serialised by the merchant's lock, so a file named by a process that does
    not exist here is, there too, a leftover."""
    prefix = re.escape(f".{path.name[:_PREFIX_LENGTH]}.")
    name = re.compile(prefix + r"(\d+)\.[0-9a-f]{8}" + re.escape(TEMPORARY_SUFFIX))
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        found = name.fullmatch(entry.name)
        if found is not None and not running(int(found.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def running(pid: int) -> bool:
    """Whether a process `pid` exists on this machine (one of another user's counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def append_text(path: Path, text: str) -> None:
    """Append `text` with one write. The file keeps its mode; a new one is created 0600 (what is appended
    may be a secret). A link, FIFO, device or directory at `path` is refused, never opened for writing."""
    writable(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     0o600)
    except OSError as exc:
        raise FileError(path, f"cannot write it: {_reason(exc)}") from None
    try:
        status = os.fstat(fd)  # what was opened, in case something else took the path's place meanwhile
        if not stat.S_ISREG(status.st_mode):
            raise FileError(path, f"is {kind(status.st_mode)}, not a regular file; refusing to write to it")
        _write_all(fd, text.encode("utf-8"))
        os.fsync(fd)
    except OSError as exc:
        raise FileError(path, f"cannot write it: {_reason(exc)}") from None
    finally:
        os.close(fd)


def open_private(path: Path) -> int:
    """A descriptor of a file only the user can use, opened for reading and writing without following a
    link, created 0600 or narrowed to 0600 (for files another library then opens by name: a database)."""
    writable(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise FileError(path, f"cannot open it: {_reason(exc)}") from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise FileError(path, f"is {kind(status.st_mode)}, not a regular file; refusing to use it")
        if stat.S_IMODE(status.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
    except OSError as exc:
        os.close(fd)
        raise FileError(path, f"cannot open it: {_reason(exc)}") from None
    except BaseException:
        os.close(fd)
        raise
    return fd
