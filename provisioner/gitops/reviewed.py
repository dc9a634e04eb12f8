"""The plans reviewers saw: for each pull request merged in a range of commits, the plan artifact its
plan workflow made for the pull request's final head commit. A pull request with no such artifact (never
planned, or planned only for an older head) has no reviewed plan, and nothing of it is applied."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from provisioner.engine.plan import document as documents
from provisioner.engine.plan.document import PlanDocument
from provisioner.errors import ProvisionerError
from provisioner.files import ensure_dir, write_atomic
from provisioner.gitops.rest import REQUEST_DEADLINE, GitHubError, Session, quoted

DELETE_LABEL = "provision:allow-deletes"  # set by a maintainer on a PR whose deletions may be applied
MAX_COMMITS = 200  # a longer range is looked up for its newest commits only (a new repository's history)
MAX_ARTIFACT = 64 * 1024 * 1024


@dataclass
class Pull:
    number: int
    head_sha: str
    merge_sha: str
    labels: set[str] = field(default_factory=set)
    document: PlanDocument | None = None
    plan_path: Path | None = None
    why_none: str = ""

    def covers(self, merchant: str) -> bool:
        return self.document is not None and merchant in self.document.merchants


def merged_pulls(github: Session, commits: list[str]) -> list[Pull]:
    """Pull requests merged as one of `commits`, in the order of the commits (oldest first)."""
    pulls: list[Pull] = []
    seen: set[int] = set()
    for sha in commits[-MAX_COMMITS:]:
        for item in github.items(f"{github.prefix}/commits/{sha}/pulls"):
            number = item.get("number")
            if not isinstance(number, int) or number in seen or item.get("merge_commit_sha") != sha:
                continue
            if not item.get("merged_at"):
                continue
            head = item.get("head")
            head_sha = head.get("sha") if isinstance(head, dict) else None
            if not isinstance(head_sha, str):
                raise GitHubError(f"GitHub answered pull request #{number} without its head commit")
            seen.add(number)
            pulls.append(Pull(number, head_sha, sha, _labels(item)))
    return pulls


def _labels(item: dict[str, Any]) -> set[str]:
    labels = item.get("labels")
    if not isinstance(labels, list):
        return set()
    return {str(label.get("name")) for label in labels if isinstance(label, dict)}


def labels_now(github: Session, number: int) -> set[str]:
    """The pull request's labels as they are now (an opt-in is re-read at apply time, not trusted from review)."""
    return _labels(github.object("GET", f"{github.prefix}/pulls/{number}"))


def artifacts(github: Session, artifact_name: str) -> list[dict[str, Any]]:
    """The repository's unexpired artifacts of that name, listed once for every pull request of a run."""
    return [a for a in github.items(f"{github.prefix}/actions/artifacts", {"name": artifact_name}, key="artifacts")
            if a.get("name") == artifact_name and not a.get("expired") and isinstance(a.get("workflow_run"), dict)]


def fetch_plan(github: Session, pull: Pull, listed: list[dict[str, Any]], artifact_name: str,
               workdir: Path) -> None:
    """Fill `pull.document` with the reviewed plan of its head commit (among `listed`, from `artifacts`),
    or say why there is none."""
    candidates = [a for a in listed if a["workflow_run"].get("head_sha") == pull.head_sha]
    if not candidates:
        pull.why_none = (f"pull request #{pull.number} has no {artifact_name} plan for its head commit "
                         f"{pull.head_sha[:12]} (was it planned after its last push?)")
        return
    newest = max(candidates, key=lambda a: str(a.get("created_at") or ""))
    files = _download(github, int(newest["id"]))
    wanted = f"{artifact_name}.json"
    if wanted not in files:
        pull.why_none = f"the {artifact_name} artifact of pull request #{pull.number} holds no {wanted}"
        return
    path = workdir / f"pr-{pull.number}-{wanted}"
    ensure_dir(path.parent)
    write_atomic(path, files[wanted])
    pull.document, pull.plan_path = documents.read(path), path


def _download(github: Session, artifact_id: int) -> dict[str, bytes]:
    """The artifact's files. GitHub answers 302 with a short-lived URL elsewhere, fetched without our token."""
    response = github.send("GET", f"{github.prefix}/actions/artifacts/{artifact_id}/zip")
    location = response.headers.get("location")
    if response.status_code != 302 or not location:
        raise GitHubError(f"GitHub did not redirect to artifact {artifact_id}'s archive")
    try:
        with httpx.Client(timeout=REQUEST_DEADLINE, follow_redirects=False) as plain, \
                plain.stream("GET", location) as archive:
            archive.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in archive.iter_bytes():
                size += len(chunk)
                if size > MAX_ARTIFACT:
                    raise GitHubError(f"artifact {artifact_id} is larger than {MAX_ARTIFACT // 2**20} MiB")
                chunks.append(chunk)
            data = b"".join(chunks)
    except httpx.HTTPError as exc:
        raise GitHubError(f"could not download artifact {artifact_id} ({quoted(type(exc).__name__)})") from None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir() and "/" not in m.filename.strip("/")]
            if sum(m.file_size for m in members) > MAX_ARTIFACT:
                raise GitHubError(f"artifact {artifact_id} unpacks to more than {MAX_ARTIFACT // 2**20} MiB")
            return {m.filename: bundle.read(m) for m in members}
    except zipfile.BadZipFile:
        raise ProvisionerError(f"artifact {artifact_id} is not a zip archive") from None
