"""What the apply tests share: acme's sandbox served behind a gate (`gate.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.apply import gate


@pytest.fixture
def gated(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[gate.Served]:
    """acme's sandbox served behind a gate, and acme's environment `served` in the project targeting it."""
    with gate.served_here(tmp_path / "centra.db", monkeypatch) as served:
        yield served
