"""Fixtures of the secret stores' tests: the fake GitHub with an injected clock, and moto's AWS server on
127.0.0.1 with dummy credentials (boto3 never reaches AWS: the endpoint is set and instance metadata off)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer

from provisioner.secretstores.github_api import Clocks
from tests.fakes.github import FakeGitHub

PLANTED = "cntr_PLANTED-token-value-4f1d9c"  # recognisable, to be found in no output


@dataclass
class FakeClocks:
    """Time that moves only when the code under test sleeps: waits are recorded, never spent."""

    monotonic_now: float = 1000.0
    epoch_now: float = 1_800_000_000.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.monotonic_now

    def epoch(self) -> float:
        return self.epoch_now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.monotonic_now += seconds
        self.epoch_now += seconds

    def clocks(self) -> Clocks:
        return Clocks(self.monotonic, self.sleep, self.epoch)


@pytest.fixture
def clock() -> FakeClocks:
    return FakeClocks()


@pytest.fixture
def github(clock: FakeClocks) -> Iterator[FakeGitHub]:
    """The fake GitHub on the same clock as the store, with an environment `qa`."""
    with FakeGitHub("octo-org/merchants", now=lambda: datetime.fromtimestamp(clock.epoch_now, UTC)) as fake:
        fake.add_environment("qa")
        yield fake


def github_environ(fake: FakeGitHub, token: str | None = None) -> dict[str, str]:
    """What a job that may write secrets has: the fake's API and repository, the maintainer's token."""
    return {**fake.env(), "PROVISION_SECRETS_TOKEN": token or fake.ADMIN_TOKEN}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Dummy credentials and moto's endpoint in the environment, no AWS profile or config file, instance
    metadata off; moto's state (and its IAM enforcement) reset after each test."""
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    try:
        yield moto_url
    finally:
        httpx.post(f"{moto_url}/moto-api/reset-auth", content=b"inf", timeout=10)
        httpx.post(f"{moto_url}/moto-api/reset", timeout=10)
