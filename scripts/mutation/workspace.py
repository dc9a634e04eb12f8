"""Copies of the project where mutants run, so the working tree is never edited and runs in parallel do
not see each other's mutant.

What is copied is what the repository holds (tracked files and new ones git does not ignore), as they
are in the working tree; outside a git repository, every file but virtualenvs and caches.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

_NOT_COPIED = {".git", ".venv", "venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".provision",
               "node_modules", "build", "out"}


def project_files(root: Path) -> list[Path]:
    """The project's files, relative to `root`, sorted."""
    if (root / ".git").exists():
        command = ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        listed = subprocess.run(command, capture_output=True, check=True).stdout.decode("utf-8")
        return sorted({Path(name) for name in listed.split("\0") if name and (root / name).is_file()})
    found: list[Path] = []
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in _NOT_COPIED and not f.endswith(".egg-info"))
        found.extend((Path(directory) / name).relative_to(root) for name in files if not name.endswith(".pyc"))
    return sorted(found)


def copy_project(root: Path, files: list[Path], destination: Path) -> Path:
    destination.mkdir(parents=True)
    for relative in files:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target)
    return destination


def digest(root: Path, files: list[Path], *extra: str) -> str:
    """Changes when any project file (or an `extra` input) changes: the key of cached coverage."""
    hashed = hashlib.sha256()
    for part in extra:
        hashed.update(part.encode("utf-8") + b"\0")
    for relative in files:
        hashed.update(str(relative).encode("utf-8") + b"\0" + (root / relative).read_bytes() + b"\0")
    return hashed.hexdigest()


def forget_compiled(module: Path) -> None:
    """Remove the cached bytecode of `module`, so the next import compiles the text now in the file (a mutant
    and the original may have the same size and modification second, which is all Python checks)."""
    for compiled in (module.parent / "__pycache__").glob(f"{module.stem}.*.pyc"):
        compiled.unlink(missing_ok=True)
