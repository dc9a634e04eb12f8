"""The fake GitHub's git refs and commits, Actions runs and artifacts, and deployments, as in GitHub's
REST docs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tests.fakes.github_http import HttpError, Request, Response, Routes, invalid, not_found, paginate
from tests.fakes.github_state import HTML, Artifact, Deployment, Repo, Run, stamp

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub

ROUTES = Routes()
SHA = re.compile(r"[0-9a-f]{40}")
DEPLOYMENT_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")


def _ref_json(request: Request, repo: Repo, ref: str) -> dict[str, Any]:
    api = f"{request.base_url}/repos/{repo.full_name}/git"
    sha = repo.refs[ref]
    return {"ref": ref, "node_id": f"REF_{ref}", "url": f"{api}/{ref}",
            "object": {"sha": sha, "type": "commit", "url": f"{api}/commits/{sha}"}}


def _known_commit(repo: Repo, sha: object, field_name: str = "sha") -> str:
    if not isinstance(sha, str) or not SHA.fullmatch(sha):
        raise invalid("Reference", field_name, message=f"{field_name} must be a 40-character hex object id")
    if sha not in repo.commits:
        raise HttpError(422, "Object does not exist")
    return sha


@ROUTES.add("GET", "/repos/{owner}/{repo}/git/refs", "contents")
def list_refs(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    page, headers = paginate(request, sorted(repo.refs))
    return Response.json(200, [_ref_json(request, repo, ref) for ref in page], headers)


@ROUTES.add("GET", "/repos/{owner}/{repo}/git/ref/{ref:path}", "contents")
def get_ref(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, ref = fake.repo_of(params), f"refs/{params['ref']}"
    if ref not in repo.refs:
        raise not_found()
    return Response.json(200, _ref_json(request, repo, ref))


@ROUTES.add("GET", "/repos/{owner}/{repo}/git/refs/{ref:path}", "contents")
def get_refs_legacy(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    """The older form: the ref itself when it exists, else a list of the refs it is a prefix of, else 404."""
    repo, ref = fake.repo_of(params), f"refs/{params['ref']}"
    if ref in repo.refs:
        return Response.json(200, _ref_json(request, repo, ref))
    matching = [r for r in sorted(repo.refs) if r.startswith(ref.rstrip("/") + "/")]
    if not matching:
        raise not_found()
    return Response.json(200, [_ref_json(request, repo, r) for r in matching])


@ROUTES.add("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref:path}", "contents")
def matching_refs(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, prefix = fake.repo_of(params), f"refs/{params['ref']}"
    return Response.json(200, [_ref_json(request, repo, r) for r in sorted(repo.refs) if r.startswith(prefix)])


@ROUTES.add("POST", "/repos/{owner}/{repo}/git/refs", "contents")
def create_ref(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, data = fake.repo_of(params), request.object()
    ref = data.get("ref")
    if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
        raise HttpError(422, "Reference name must start with 'refs/' and have at least two slashes.")
    sha = _known_commit(repo, data.get("sha"))
    if ref in repo.refs:
        raise HttpError(422, "Reference already exists")
    repo.refs[ref] = sha
    return Response.json(201, _ref_json(request, repo, ref))


@ROUTES.add("PATCH", "/repos/{owner}/{repo}/git/refs/{ref:path}", "contents")
def update_ref(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    """Moves the ref; without `force` only forward (the old commit an ancestor of the new one)."""
    repo, data, ref = fake.repo_of(params), request.object(), f"refs/{params['ref']}"
    sha = _known_commit(repo, data.get("sha"))
    if ref not in repo.refs:
        raise HttpError(422, "Reference does not exist")
    if data.get("force") is not True and repo.refs[ref] not in repo.ancestors(sha):
        raise HttpError(422, "Update is not a fast forward")
    repo.refs[ref] = sha
    return Response.json(200, _ref_json(request, repo, ref))


@ROUTES.add("DELETE", "/repos/{owner}/{repo}/git/refs/{ref:path}", "contents")
def delete_ref(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, ref = fake.repo_of(params), f"refs/{params['ref']}"
    if repo.refs.pop(ref, None) is None:
        raise HttpError(422, "Reference does not exist")
    return Response(204)


@ROUTES.add("GET", "/repos/{owner}/{repo}/commits/{sha}", "contents")
def get_commit(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, sha = fake.repo_of(params), params["sha"]
    if sha not in repo.commits:
        raise HttpError(422, f"No commit found for SHA: {sha}")
    return Response.json(200, {"sha": sha, "node_id": f"C_{sha}", "html_url": f"{HTML}/{repo.full_name}/commit/{sha}",
                               "parents": [{"sha": parent} for parent in repo.commits[sha]]})


def _run_json(request: Request, repo: Repo, run: Run) -> dict[str, Any]:
    return {"id": run.id, "name": run.name, "head_sha": run.head_sha, "head_branch": run.head_branch,
            "event": run.event, "status": run.status, "conclusion": run.conclusion,
            "created_at": stamp(run.created_at), "updated_at": stamp(run.created_at),
            "html_url": f"{HTML}/{repo.full_name}/actions/runs/{run.id}",
            "url": f"{request.base_url}/repos/{repo.full_name}/actions/runs/{run.id}"}


def _run(repo: Repo, params: dict[str, str]) -> Run:
    try:
        return repo.runs[int(params["run_id"])]
    except (KeyError, ValueError):
        raise not_found() from None


@ROUTES.add("GET", "/repos/{owner}/{repo}/actions/runs", "actions")
def list_runs(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, query = fake.repo_of(params), request.query
    runs = sorted((r for r in repo.runs.values() if query.get("head_sha", r.head_sha) == r.head_sha
                   and query.get("event", r.event) == r.event and query.get("branch", r.head_branch) == r.head_branch
                   and query.get("status") in (None, r.status, r.conclusion)), key=lambda r: r.id, reverse=True)
    page, headers = paginate(request, runs)
    return Response.json(200, {"total_count": len(runs), "workflow_runs": [_run_json(request, repo, r) for r in page]},
                         headers)


@ROUTES.add("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}", "actions")
def get_run(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    return Response.json(200, _run_json(request, repo, _run(repo, params)))


def artifact_json(request: Request, repo: Repo, artifact: Artifact) -> dict[str, Any]:
    api = f"{request.base_url}/repos/{repo.full_name}/actions/artifacts/{artifact.id}"
    return {"id": artifact.id, "node_id": f"A_{artifact.id}", "name": artifact.name,
            "size_in_bytes": sum(len(content) for content in artifact.files.values()), "url": api,
            "archive_download_url": f"{api}/zip", "expired": artifact.expired,
            "created_at": stamp(artifact.created_at), "updated_at": stamp(artifact.created_at),
            "expires_at": stamp(artifact.created_at + timedelta(days=90)),
            "workflow_run": {"id": artifact.run_id, "repository_id": repo.id, "head_repository_id": repo.id,
                             "head_branch": artifact.head_branch, "head_sha": artifact.head_sha}}


def _artifacts_answer(request: Request, repo: Repo, artifacts: list[Artifact]) -> Response:
    name = request.query.get("name")
    found = sorted((a for a in artifacts if name in (None, a.name)), key=lambda a: (a.created_at, a.id), reverse=True)
    page, headers = paginate(request, found)
    return Response.json(200, {"total_count": len(found), "artifacts": [artifact_json(request, repo, a) for a in page]},
                         headers)


@ROUTES.add("GET", "/repos/{owner}/{repo}/actions/artifacts", "actions")
def list_artifacts(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    return _artifacts_answer(request, repo, list(repo.artifacts.values()))


@ROUTES.add("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", "actions")
def list_run_artifacts(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    run = _run(repo, params)
    return _artifacts_answer(request, repo, [a for a in repo.artifacts.values() if a.run_id == run.id])


def _artifact(repo: Repo, params: dict[str, str]) -> Artifact:
    try:
        return repo.artifacts[int(params["artifact_id"])]
    except (KeyError, ValueError):
        raise not_found() from None


@ROUTES.add("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}", "actions")
def get_artifact(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    return Response.json(200, artifact_json(request, repo, _artifact(repo, params)))


@ROUTES.add("DELETE", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}", "actions")
def delete_artifact(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    del repo.artifacts[_artifact(repo, params).id]
    return Response(204)


@ROUTES.add("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}", "actions")
def download_artifact(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    """302 to a short-lived URL that needs no token (GitHub's blob storage; here the fake itself)."""
    repo = fake.repo_of(params)
    artifact = _artifact(repo, params)
    if params["archive_format"] != "zip":
        raise not_found()
    if artifact.expired:
        raise HttpError(410, "Artifact has expired")
    return Response(302, headers={"location": f"{request.base_url}/_fake/downloads/{artifact.download}"})


def serve_download(fake: FakeGitHub, request: Request, key: str) -> Response:
    for repo in fake.repos.values():
        for artifact in repo.artifacts.values():
            if artifact.download == key and not artifact.expired:
                return Response(200, artifact.zip(), {"content-type": "application/zip"})
    return Response(404, b"BlobNotFound", {"content-type": "text/plain"})


def _deployment_json(request: Request, repo: Repo, deployment: Deployment) -> dict[str, Any]:
    api = f"{request.base_url}/repos/{repo.full_name}/deployments/{deployment.id}"
    return {"id": deployment.id, "node_id": f"DE_{deployment.id}", "sha": deployment.sha, "ref": deployment.ref,
            "task": deployment.task, "environment": deployment.environment, "description": deployment.description,
            "payload": deployment.payload, "creator": deployment.creator.json(), "url": api,
            "statuses_url": f"{api}/statuses", "created_at": stamp(deployment.created_at),
            "updated_at": stamp(deployment.created_at)}


def _deployment(repo: Repo, params: dict[str, str]) -> Deployment:
    try:
        return repo.deployments[int(params["deployment_id"])]
    except (KeyError, ValueError):
        raise not_found() from None


@ROUTES.add("POST", "/repos/{owner}/{repo}/deployments", "deployments")
def create_deployment(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, data = fake.repo_of(params), request.object()
    ref = data.get("ref")
    if not isinstance(ref, str) or not ref:
        raise invalid("Deployment", "ref", "missing_field")
    sha = next((repo.refs[f"refs/{kind}/{ref}"] for kind in ("heads", "tags") if f"refs/{kind}/{ref}" in repo.refs),
               ref if ref in repo.commits else None)
    if sha is None:
        raise HttpError(422, f"No ref found for: {ref}")
    deployment = Deployment(fake.next_id(), ref, sha, str(data.get("environment") or "production"),
                            str(data.get("task") or "deploy"), data.get("description"), data.get("payload") or {},
                            fake.users[request.login or ""], fake.now())
    repo.deployments[deployment.id] = deployment
    return Response.json(201, _deployment_json(request, repo, deployment))


@ROUTES.add("GET", "/repos/{owner}/{repo}/deployments", "deployments")
def list_deployments(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, query = fake.repo_of(params), request.query
    found = sorted((d for d in repo.deployments.values() if all(
        query.get(key, getattr(d, key)) == getattr(d, key) for key in ("sha", "ref", "task", "environment"))),
        key=lambda d: d.id, reverse=True)
    page, headers = paginate(request, found)
    return Response.json(200, [_deployment_json(request, repo, d) for d in page], headers)


@ROUTES.add("GET", "/repos/{owner}/{repo}/deployments/{deployment_id}", "deployments")
def get_deployment(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    return Response.json(200, _deployment_json(request, repo, _deployment(repo, params)))


@ROUTES.add("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "deployments")
def create_deployment_status(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo, data = fake.repo_of(params), request.object()
    deployment = _deployment(repo, params)
    if data.get("state") not in DEPLOYMENT_STATES:
        raise invalid("DeploymentStatus", "state")
    status = {"id": fake.next_id(), "state": data["state"], "description": data.get("description") or "",
              "environment": deployment.environment, "log_url": data.get("log_url") or "",
              "environment_url": data.get("environment_url") or "", "creator": fake.users[request.login or ""].json(),
              "created_at": stamp(fake.now()), "deployment_url": f"{request.base_url}/repos/{repo.full_name}/"
              f"deployments/{deployment.id}"}
    deployment.statuses.append(status)
    return Response.json(201, status)


@ROUTES.add("GET", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "deployments")
def list_deployment_statuses(fake: FakeGitHub, request: Request, params: dict[str, str]) -> Response:
    repo = fake.repo_of(params)
    page, headers = paginate(request, list(reversed(_deployment(repo, params).statuses)))
    return Response.json(200, page, headers)
