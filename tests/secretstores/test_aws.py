"""The aws-sm: store against moto's Secrets Manager served on 127.0.0.1: created, then a new version;
AWS's naming rules; credentials refused or lacking permission (moto's IAM enforcement) stopped by the
check before anything is created; a missing region or credentials, an unreachable endpoint; the value in
no output."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator

import boto3
import httpx
import pytest

from provisioner.errors import AuthError, ExitCode, ProvisionerError
from provisioner.secretstores.aws import AwsSecretsManager
from provisioner.secretstores.spec import open_store
from tests.secretstores.conftest import PLANTED

NAME = "PROVISION_TOKEN__ACME__QA__GLOBAL_E_INTEGRATION"
FULL = f"provision/ci/{NAME}"


def stored(name: str) -> str:
    return boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]


def names() -> list[str]:
    return sorted(s["Name"] for s in boto3.client("secretsmanager").list_secrets()["SecretList"])


def test_a_value_is_created_then_given_a_new_version(aws: str) -> None:
    with open_store("aws-sm:provision/ci") as sink:
        assert isinstance(sink, AwsSecretsManager)
        checked = sink.check()
        created = sink.put(NAME, PLANTED)
        updated = sink.put(NAME, PLANTED + "-2")
    where = f"AWS Secrets Manager secret {FULL} (eu-west-1 at {aws})"
    assert (created, updated) == (f"{where} (created)", f"{where} (new version)")
    assert checked.startswith(f"AWS Secrets Manager secrets provision/ci/* (eu-west-1 at {aws}): reachable")
    assert stored(FULL) == PLANTED + "-2"
    assert names() == [FULL]  # the write check created nothing


def test_the_value_is_in_no_output_or_log(aws: str, caplog: pytest.LogCaptureFixture,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """botocore's DEBUG records would carry the request's parameters: the store keeps them from being made."""
    caplog.set_level(logging.DEBUG)
    with open_store("aws-sm:provision/ci") as sink:
        texts = [sink.label, sink.where(NAME), sink.check(), sink.put(NAME, PLANTED), sink.put(NAME, PLANTED)]
    captured = capsys.readouterr()
    assert any(record.name.startswith("botocore") for record in caplog.records)  # the scan sees botocore's log
    for text in [*texts, captured.out, captured.err, caplog.text]:
        assert PLANTED not in text
    assert stored(FULL) == PLANTED


@pytest.mark.parametrize(("name", "rule"), [
    ("", "only letters, digits"),
    ("ACME QA", "only letters, digits"),
    ("ÉCLAIR", "only letters, digits"),
    ("token-abc123", "may not end in a hyphen and six characters"),
    ("X" * 510, "longer than 512 characters"),
])
def test_aws_naming_rules_are_refused_before_any_request(aws: str, name: str, rule: str) -> None:
    with open_store("aws-sm:provision/ci") as sink:
        with pytest.raises(ProvisionerError, match=rule):
            sink.where(name)
        with pytest.raises(ProvisionerError, match=rule):
            sink.put(name, PLANTED)
    assert names() == []


@pytest.mark.parametrize(("value", "why"), [("", "is empty"), ("x" * 65537, "more than the 65536")])
def test_a_value_aws_cannot_keep_is_refused(aws: str, value: str, why: str) -> None:
    with open_store("aws-sm:provision/ci") as sink, pytest.raises(ProvisionerError, match=why):
        sink.put(NAME, value)
    assert names() == []


def test_without_a_region_the_error_says_how_to_set_one(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ProvisionerError, match="needs a region: set AWS_REGION"):
        open_store("aws-sm:provision/ci")


def test_without_credentials_the_check_refuses(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with open_store("aws-sm:provision/ci") as sink:
        with pytest.raises(AuthError, match="found no AWS credentials") as refused:
            sink.check()
        assert refused.value.exit_code == ExitCode.AUTH
        with pytest.raises(AuthError, match="no usable AWS credentials while storing"):
            sink.put(NAME, PLANTED)


@pytest.fixture
def iam_enforced(aws: str) -> Iterator[dict[str, str]]:
    """A user who may only read secrets, then moto's IAM enforcement on (the aws fixture turns it off)."""
    iam = boto3.client("iam")
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    httpx.post(f"{aws}/moto-api/reset-auth", content=b"0", timeout=10)
    yield {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def test_credentials_aws_does_not_know_are_an_auth_error(iam_enforced: dict[str, str]) -> None:
    with open_store("aws-sm:provision/ci") as sink, pytest.raises(AuthError) as refused:
        sink.check()
    assert "AWS did not accept the credentials (InvalidClientTokenId" in str(refused.value)


def test_credentials_that_may_not_write_fail_the_check_before_anything_is_created(
        iam_enforced: dict[str, str], monkeypatch: pytest.MonkeyPatch, aws: str) -> None:
    for name, value in iam_enforced.items():
        monkeypatch.setenv(name, value)
    with open_store("aws-sm:provision/ci") as sink:
        with pytest.raises(AuthError) as refused:
            sink.check()
        with pytest.raises(AuthError, match="not authorized to perform: secretsmanager:CreateSecret"):
            sink.put(NAME, PLANTED)
    message = str(refused.value)
    assert "not authorized to perform: secretsmanager:PutSecretValue" in message
    assert "allow secretsmanager:CreateSecret and secretsmanager:PutSecretValue" in message
    httpx.post(f"{aws}/moto-api/reset-auth", content=b"inf", timeout=10)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert names() == []


def test_an_unreachable_endpoint_is_a_clear_error(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as reserved:
        closed = reserved.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed}")
    with AwsSecretsManager("provision/ci", attempts=1) as sink:
        with pytest.raises(ProvisionerError, match=r"reached while checking .*\(EndpointConnectionError\)"):
            sink.check()
        with pytest.raises(ProvisionerError, match="could not be reached while storing"):
            sink.put(NAME, PLANTED)


@pytest.mark.parametrize("prefix", ["/", "pro vision", "x" * 511])
def test_a_bad_prefix_is_refused(aws: str, prefix: str) -> None:
    with pytest.raises(ProvisionerError, match="aws-sm:PREFIX"):
        AwsSecretsManager(prefix)
