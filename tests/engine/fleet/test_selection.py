"""Choosing a fleet's merchants: `--changed-since` in a scratch git repository, shards."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from provisioner.engine.fleet import selection as fleet_select
from provisioner.engine.fleet.selection import Shard
from provisioner.errors import ProvisionerError
from tests.engine.conftest import Outputs
from tests.engine.fleet_fixtures import Served, merchant_yaml, served_centra

__all__ = ["served_centra"]


def git(*args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args],
                          capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def data_platform_merchant(name: str, url: str) -> str:
    return (f"merchant: {name}\npresets: [data-platform]\nstore: Data Store\napi_tokens:\n"
            f"  - description: Data platform\n    email: data@{name}.example\nenvironments:\n"
            f"  qa:\n    centra_url: {url}\n    token: env:FLEET_TOKEN\n")


@pytest.fixture
def repository(workdir: Path, served_centra: Served) -> Path:
    """merchants/ (three Global-e merchants, one data-platform merchant) and presets/, committed."""
    for number, name in enumerate(["alpha", "bravo", "charlie"]):
        (workdir / "merchants" / f"{name}.yaml").write_text(
            merchant_yaml(name, served_centra.url, merchant_id=900 + number, environments={"qa": None}))
    (workdir / "merchants" / "dataline.yaml").write_text(data_platform_merchant("dataline", served_centra.url))
    (workdir / "presets").mkdir()
    for preset in ("global-e", "data-platform"):
        source = Path(fleet_select.__file__).parents[2] / "presets" / f"{preset}.yaml"
        (workdir / "presets" / f"{preset}.yaml").write_text(source.read_text())
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "fleet")
    git("checkout", "-q", "-b", "change")
    return workdir


def planned(outputs: Outputs, *args: str) -> list[str]:
    result = outputs.run("plan", "--changed-since", "main", "--env", "qa", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return [p["merchant"] for p in json.loads(result.stdout)["plans"]]


def test_changed_since_selects_changed_merchant_files(repository: Path, outputs: Outputs) -> None:
    assert planned(outputs) == []
    path = repository / "merchants" / "bravo.yaml"
    path.write_text(path.read_text().replace("integrations@", "ops@"))
    assert planned(outputs) == ["bravo"]  # uncommitted changes count
    git("commit", "-q", "-am", "bravo")
    (repository / "merchants" / "delta.yaml").write_text(data_platform_merchant("delta", "http://127.0.0.1:9"))
    assert fleet_select.changed_since("main") == [Path("merchants/bravo.yaml"), Path("merchants/delta.yaml")]


def test_a_preset_change_selects_every_merchant_using_it(repository: Path, outputs: Outputs) -> None:
    preset = repository / "presets" / "data-platform.yaml"
    preset.write_text(preset.read_text() + "\n# reviewed\n")
    git("commit", "-q", "-am", "preset")
    assert planned(outputs) == ["dataline"]
    preset = repository / "presets" / "global-e.yaml"
    preset.write_text(preset.read_text() + "\n# reviewed\n")
    assert planned(outputs) == ["alpha", "bravo", "charlie", "dataline"]


def test_changed_since_an_unknown_ref_is_a_clear_error(repository: Path, outputs: Outputs) -> None:
    result = outputs.run("plan", "--changed-since", "no-such-ref", "--env", "qa")
    assert result.exit_code == 1 and "no-such-ref" in result.stderr and "Traceback" not in result.stderr


def test_shards_are_stable_in_the_name_not_the_list() -> None:
    names = [f"merchant-{n}" for n in range(200)]
    shards = [Shard(i, 4) for i in (1, 2, 3, 4)]
    owners = {name: [s.index for s in shards if s.holds(name)] for name in names}
    assert all(len(found) == 1 for found in owners.values())
    assert all(30 <= sum(1 for found in owners.values() if found == [s.index]) <= 70 for s in shards)
    assert {name: [s.index for s in shards if s.holds(name)] for name in reversed(names)} == owners
    # Pinned: every runner of a CI matrix, whatever its Python process, puts a merchant in the same shard
    # (a salted hash() would not).
    pinned = {"acme": [1], "nordwind": [3], "dataline": [1], "merchant-7": [2]}
    assert {name: [s.index for s in shards if s.holds(name)] for name in pinned} == pinned


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ProvisionerError, match="--shard"):
        Shard.parse(text)
