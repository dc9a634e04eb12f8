"""Desired state: merchant files, presets, environments."""

from __future__ import annotations

import difflib
from pathlib import Path

from provisioner.errors import ProvisionerError

MERCHANTS_DIR = Path("merchants")


def merchant_path(merchant: str, directory: Path = MERCHANTS_DIR) -> Path:
    """A merchant by name (merchants/<name>.yaml) or by the path of its file."""
    as_path = Path(merchant)
    if as_path.suffix in (".yaml", ".yml") and as_path.is_file():
        return as_path
    candidate = directory / f"{merchant}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in directory.glob("*.yaml"))
    close = difflib.get_close_matches(merchant, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else (f" (known: {', '.join(known)})" if known else "")
    root = project_above(directory)
    if not known and root is not None:
        hint = f"; the project is {root} (run from there, or `provision -C {root} ...`)"
    raise ProvisionerError(f"no merchant '{merchant}' in {directory}/{hint}")


def project_above(directory: Path = MERCHANTS_DIR) -> Path | None:
    """Run from a sub-folder of the repository (`docs/`, `merchants/` itself): the nearest folder above
    the working directory that holds `directory`, as a relative path to type, or None. Paths on the
    command line stay relative to where the user is, so the tool says where to run rather than moving."""
    if directory.is_absolute() or directory.is_dir():
        return None
    here = Path.cwd()
    for depth, parent in enumerate(here.parents, start=1):
        if (parent / directory).is_dir():
            return Path(*[".."] * depth)
        if (parent / ".git").exists():
            return None  # the repository's top: the project is not above it
    return None


def merchant_files(paths: list[Path], directory: Path = MERCHANTS_DIR) -> list[Path]:
    if not paths:
        return sorted(directory.glob("*.yaml"))
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return files
