"""The fake GitHub's Actions secrets (a repository's and an environment's, each box with a real key pair)
and environments, as in GitHub's REST docs."""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

from nacl.exceptions import CryptoError
from nacl.public import SealedBox

from tests.fakes.github_http import HttpError, Request, Response, Routes, invalid, not_found, paginate
from tests.fakes.github_state import Environment, Secret, SecretBox, stamp

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub

ROUTES = Routes()
SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_SECRET_BYTES = 48 * 1024


def _box(fake: FakeGitHub, params: dict[str, str]) -> SecretBox:
    repo = fake.repo_of(params)
    if "environment" not in params:
        return repo.box
    environment = repo.environments.get(params["environment"].lower())
    if environment is None:
        raise not_found()
    return environment.box


def _secret_json(secret: Secret) -> dict[str, Any]:
    return {"name": secret.name, "created_at": stamp(secret.created_at), "updated_at": stamp(secret.updated_at)}


def _public_key(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    return Response.json(200, _box(fake, params).public_json())


def _list_secrets(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    box = _box(fake, params)
    found = sorted(box.secrets.values(), key=lambda secret: secret.name)
    page, headers = paginate(request, found)
    return Response.json(200, {"total_count": len(found), "secrets": [_secret_json(s) for s in page]}, headers)


def _get_secret(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    secret = _box(fake, params).secrets.get(params["name"].upper())
    if secret is None:
        raise not_found()
    return Response.json(200, _secret_json(secret))


def _put_secret(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    """201 created or 204 updated; 422 for a name against GitHub's rules, a stale key_id, or a value that
    the box's private key cannot open or that is over 48 KB."""
    box, data, name = _box(fake, params), request.object(), params["name"]
    if not SECRET_NAME.fullmatch(name) or name.upper().startswith("GITHUB_"):
        raise invalid("Secret", "name", "custom", "Secret names can only contain alphanumeric characters or "
                      "underscores, must not start with a number, and must not start with GITHUB_")
    sealed, key_id = data.get("encrypted_value"), data.get("key_id")
    if not isinstance(sealed, str) or not isinstance(key_id, str):
        raise invalid("Secret", "encrypted_value" if not isinstance(sealed, str) else "key_id", "missing_field")
    if key_id != box.key_id:
        raise HttpError(422, "Bad request - key_id does not match the current public key")
    try:
        raw = base64.b64decode(sealed, validate=True)
        value = SealedBox(box.private_key).decrypt(raw)
    except (binascii.Error, CryptoError, ValueError):
        raise HttpError(422, "Bad request - encrypted_value could not be decrypted with the public key") from None
    if len(value) > MAX_SECRET_BYTES:
        raise HttpError(422, "Secret value is too large (maximum is 48 KB)")
    now, key = fake.now(), name.upper()
    existing = box.secrets.get(key)
    box.secrets[key] = Secret(key, raw, existing.created_at if existing else now, now)
    return Response(204 if existing else 201)


def _delete_secret(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    if _box(fake, params).secrets.pop(params["name"].upper(), None) is None:
        raise not_found()
    return Response(204)


for _base in ("/repos/{owner}/{repo}/actions/secrets", "/repos/{owner}/{repo}/environments/{environment}/secrets"):
    ROUTES.add("GET", f"{_base}/public-key", "secrets")(_public_key)  # before {name}: public-key is no secret
    ROUTES.add("GET", _base, "secrets")(_list_secrets)
    ROUTES.add("GET", f"{_base}/{{name}}", "secrets")(_get_secret)
    ROUTES.add("PUT", f"{_base}/{{name}}", "secrets")(_put_secret)
    ROUTES.add("DELETE", f"{_base}/{{name}}", "secrets")(_delete_secret)


@ROUTES.add("GET", "/repos/{owner}/{repo}/environments", "metadata")
def list_environments(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    found = sorted(repo.environments.values(), key=lambda e: e.name.lower())
    page, headers = paginate(request, found)
    return Response.json(200, {"total_count": len(found), "environments": [e.json(repo.full_name) for e in page]},
                         headers)


@ROUTES.add("GET", "/repos/{owner}/{repo}/environments/{environment}", "metadata")
def get_environment(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    environment = repo.environments.get(params["environment"].lower())
    if environment is None:
        raise not_found()
    return Response.json(200, environment.json(repo.full_name))


@ROUTES.add("PUT", "/repos/{owner}/{repo}/environments/{environment}", "administration")
def put_environment(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    environment = repo.environments.setdefault(params["environment"].lower(),
                                               Environment(params["environment"], fake.now()))
    return Response.json(200, environment.json(repo.full_name))
