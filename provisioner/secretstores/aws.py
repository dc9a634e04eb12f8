"""AWS Secrets Manager as a store: each value a secret named `PREFIX/NAME`, created the first time and
given a new version after that.

boto3 finds everything the usual way: credentials (environment, profile, web identity, instance role),
the region (AWS_REGION or AWS_DEFAULT_REGION, or the profile's), and an endpoint of its own when
AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_SECRETS_MANAGER) is set. The permissions a run needs on
`arn:aws:secretsmanager:REGION:ACCOUNT:secret:PREFIX/*`: secretsmanager:CreateSecret and
secretsmanager:PutSecretValue."""

from __future__ import annotations

import logging
import re
import secrets
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from provisioner.errors import AuthError, ProvisionerError
from provisioner.secretstores.base import SecretStore, checked_value, foreign

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

MAX_VALUE_BYTES = 65536  # SecretString's documented maximum
MAX_NAME = 512
DESCRIPTION = "Written by provision (a Centra Integration API token); rotate it with provision rotate"
_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]+")  # the characters a secret's name may hold
_ARN_LIKE_END = re.compile(r"-[A-Za-z0-9]{6}\Z")  # AWS: such an ending confuses lookups by partial ARN
_REFUSED_CREDENTIALS = {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
                        "ExpiredTokenException", "ExpiredToken", "SignatureDoesNotMatch",
                        "IncompleteSignature", "MissingAuthenticationToken"}
_XML_CODE = re.compile(r"<Code>([A-Za-z.]{1,100})</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]{0,500})</Message>")


def _quiet_botocore() -> None:
    """botocore's DEBUG records carry each request's parameters, a secret's value among them; whatever
    level the application logs at, they are never created."""
    logger = logging.getLogger("botocore")
    if logger.level < logging.INFO:  # NOTSET included: it would follow the root logger down to DEBUG
        logger.setLevel(logging.INFO)


def _checked_name(name: str) -> str:
    shown = foreign(name, 80)
    if not name or not _NAME.fullmatch(name):
        raise ProvisionerError(f"AWS secret name part {shown!r}: only letters, digits and / _ + = . @ - are allowed")
    return name


class AwsSecretsManager(SecretStore):
    """Secrets named `prefix/NAME` in the region (and endpoint) boto3 finds."""

    def __init__(self, prefix: str, *, attempts: int = 3) -> None:
        """`attempts` bounds the tries of one request (botocore's standard retries: throttling, 5xx and
        broken connections), each within its connect and read timeouts."""
        prefix = prefix.strip("/")
        if not prefix or not _NAME.fullmatch(prefix) or len(prefix) > MAX_NAME - 2:
            raise ProvisionerError(f"aws-sm:PREFIX {foreign(prefix, 80)!r}: the prefix needs letters, digits or "
                                   "/ _ + = . @ - (for example aws-sm:provision/ci)")
        _quiet_botocore()
        self.prefix = prefix
        self._session = boto3.session.Session()
        try:
            self._client: SecretsManagerClient = self._session.client("secretsmanager", config=Config(
                connect_timeout=10, read_timeout=30, retries={"mode": "standard", "total_max_attempts": attempts}))
        except NoRegionError:
            raise ProvisionerError("the aws-sm: secret sink needs a region: set AWS_REGION (or AWS_DEFAULT_REGION, "
                                   "or a region in the AWS profile)") from None
        except BotoCoreError as exc:
            raise ProvisionerError(f"cannot open AWS Secrets Manager ({type(exc).__name__})") from None
        self.region = self._client.meta.region_name
        endpoint = self._client.meta.endpoint_url
        self._at = f"{self.region}" if endpoint.endswith(".amazonaws.com") else f"{self.region} at {foreign(endpoint)}"

    @property
    def label(self) -> str:
        return f"AWS Secrets Manager secrets {self.prefix}/* ({self._at})"

    def where(self, name: str) -> str:
        return f"AWS Secrets Manager secret {self._full_name(name)} ({self._at})"

    def check(self) -> str:
        """Credentials present and accepted, the endpoint reachable, and PutSecretValue allowed under the
        prefix: a value is put to a name that does not exist, which AWS authorises before it looks the
        name up, so the answer "not found" proves the permission and writes nothing."""
        if self._session.get_credentials() is None:
            raise AuthError("the aws-sm: secret sink found no AWS credentials (environment, profile, web identity "
                            "or instance role)")
        probe = f"{self.prefix}/provision-sink-check-{secrets.token_hex(8)}"
        what = f"checking that the credentials may write {self.label}"
        try:
            self._client.put_secret_value(SecretId=probe, SecretString=secrets.token_urlsafe(16))
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise _explained(exc, what) from None
        except BotoCoreError as exc:
            raise _explained(exc, what) from None
        else:  # a name of 16 random hex digits existed: remove nothing of someone else's, but say so
            raise ProvisionerError(f"the write check found {probe} already in AWS Secrets Manager; run again")
        return (f"{self.label}: reachable, credentials accepted, and secretsmanager:PutSecretValue allowed "
                f"under {self.prefix}/ (CreateSecret is proven only by the first create)")

    def put(self, name: str, value: str) -> str:
        full = self._full_name(name)
        where = self.where(name)
        checked_value(value, limit_bytes=MAX_VALUE_BYTES, store=where)
        try:
            try:
                self._client.create_secret(Name=full, SecretString=value, Description=DESCRIPTION)
                return f"{where} (created)"
            except ClientError as exc:
                if _code(exc) != "ResourceExistsException":
                    raise
            self._client.put_secret_value(SecretId=full, SecretString=value)
            return f"{where} (new version)"
        except (ClientError, BotoCoreError) as exc:
            raise _explained(exc, f"storing {where}") from None

    def close(self) -> None:
        self._client.close()

    def _full_name(self, name: str) -> str:
        full = f"{self.prefix}/{_checked_name(name)}"
        if len(full) > MAX_NAME:
            raise ProvisionerError(f"AWS secret name {foreign(full, 80)!r}: longer than {MAX_NAME} characters")
        if _ARN_LIKE_END.search(full):
            raise ProvisionerError(f"AWS secret name {foreign(full, 80)!r}: may not end in a hyphen and six "
                                   "characters (AWS reads that as part of an ARN)")
        return full


def _code(exc: ClientError) -> str:
    return _error_of(exc)[0]


def _error_of(exc: ClientError) -> tuple[str, str, int]:
    """AWS's error code, its message and the HTTP status. An answer in the Query protocol's XML (as some
    proxies and emulators give for a refused signature) reaches botocore's JSON parser as the status for
    a code and the whole body for a message: the code and message are read out of it."""
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    in_xml = _XML_CODE.search(message)
    if in_xml is not None and not code.isalpha():
        code = in_xml.group(1)
        said = _XML_MESSAGE.search(message)
        message = said.group(1) if said else ""
    return code, message, status


def _explained(exc: ClientError | BotoCoreError, what: str) -> ProvisionerError:
    """One line saying what AWS refused and what to do; never a request's parameters."""
    if isinstance(exc, ClientError):
        code, message, status = _error_of(exc)
        said = foreign(message, 200)
        code = foreign(code, 60)
        if code in _REFUSED_CREDENTIALS:
            return AuthError(f"AWS did not accept the credentials ({code}: {said}) while {what}")
        if code in ("AccessDeniedException", "AccessDenied") or status == 403:
            return AuthError(f"the AWS credentials may not do this ({code}: {said}) while {what}: allow "
                             "secretsmanager:CreateSecret and secretsmanager:PutSecretValue on the prefix's secrets")
        if code == "InvalidRequestException":
            return ProvisionerError(f"AWS Secrets Manager refused the request ({said}) while {what}; a secret "
                                    "scheduled for deletion must be restored (or the prefix changed) first")
        return ProvisionerError(f"AWS Secrets Manager answered {code} ({said}) while {what}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AuthError(f"no usable AWS credentials while {what}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                         "a profile, or a role")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError):
        return ProvisionerError(f"AWS Secrets Manager could not be reached while {what} ({type(exc).__name__})")
    # Only the class: botocore's own messages may quote a parameter, and a parameter may be the value.
    return ProvisionerError(f"AWS Secrets Manager failed while {what} ({type(exc).__name__})")
