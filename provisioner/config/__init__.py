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
    raise ProvisionerError(f"no merchant '{merchant}' in {directory}/{hint}")


def merchant_files(paths: list[Path], directory: Path = MERCHANTS_DIR) -> list[Path]:
    if not paths:
        return sorted(directory.glob("*.yaml"))
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return files
