from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def not_in_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that need GitHub Actions' behaviour (`::add-mask::`) set it themselves."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A scratch project directory (merchants/, schemas/, state/) as the current directory."""
    (tmp_path / "merchants").mkdir()
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(previous)


@pytest.fixture
def write_merchant(workdir: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = workdir / "merchants" / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def examples(workdir: Path) -> Path:
    """The shipped example merchants, copied into the scratch project."""
    for source in (REPO / "merchants").glob("*.yaml"):
        (workdir / "merchants" / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return workdir


@pytest.fixture(autouse=True)
def fresh_schema_cache() -> Iterator[None]:
    """The in-memory introspection cache lives as long as the process; each test starts without it."""
    from provisioner.centra.introspection import CACHE

    CACHE.forget()
    yield
    CACHE.forget()
