"""The fake GitHub behaves as GitHub's REST docs say, over real HTTP: what the GitOps workflows' tests
rely on (identity, pull requests, issues, comments, labels, refs, artifacts, secrets, deployments,
pagination, faults)."""

from __future__ import annotations

import base64
import io
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nacl.public import PublicKey, SealedBox

from tests.fakes.github import FakeGitHub

REPO = "/repos/octo-org/merchants"
HEAD, BASE, MERGE = "a" * 40, "b" * 40, "c" * 40


_opened: list[httpx.Client] = []


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub("octo-org/merchants") as fake:
        fake.set_ref("refs/heads/main", BASE)
        try:
            yield fake
        finally:
            while _opened:
                _opened.pop().close()


def client(github: FakeGitHub, token: str | None = None) -> httpx.Client:
    """A client with the token (the bot's by default), closed when the test's fake stops."""
    opened = httpx.Client(base_url=github.url, timeout=10,
                          headers={"Authorization": f"Bearer {token or github.BOT_TOKEN}"})
    _opened.append(opened)
    return opened


def test_tokens_are_identities(github: FakeGitHub) -> None:
    assert client(github, "ghp_unknown").get(f"{REPO}/issues").json()["message"] == "Bad credentials"
    assert httpx.get(f"{github.url}{REPO}/issues").status_code == 404  # a private repository, unauthenticated
    assert client(github).get("/user").status_code == 403  # an installation token has no user
    assert client(github, github.ADMIN_TOKEN).get("/user").json()["login"] == "octo-admin"
    assert client(github).get("/repos/octo-org/other/issues").status_code == 404
    github.add_token("ghp_reader", "reader", permissions={"issues": "read"})
    reader = client(github, "ghp_reader")
    assert reader.get(f"{REPO}/issues").status_code == 200
    refused = reader.post(f"{REPO}/issues", json={"title": "x"})
    assert (refused.status_code, refused.json()["message"]) == (403, "Resource not accessible by integration")


def test_pull_requests_and_the_commits_they_bring_in(github: FakeGitHub) -> None:
    number = github.add_pull(head_sha=HEAD, title="acme: token", labels=["provision:allow-deletes"])
    http = client(github)
    pull = http.get(f"{REPO}/pulls/{number}").json()
    assert (pull["head"]["sha"], pull["base"]["ref"], pull["merged"], pull["merge_commit_sha"]) == (
        HEAD, "main", False, None)
    assert [label["name"] for label in pull["labels"]] == ["provision:allow-deletes"]
    assert [p["number"] for p in http.get(f"{REPO}/commits/{HEAD}/pulls").json()] == [number]
    github.merge_pull(number, merge_commit_sha=MERGE)
    pull = http.get(f"{REPO}/pulls/{number}").json()
    assert (pull["merged"], pull["state"], pull["merge_commit_sha"]) == (True, "closed", MERGE)
    assert [p["number"] for p in http.get(f"{REPO}/commits/{MERGE}/pulls").json()] == [number]
    assert http.get(f"{REPO}/git/ref/heads/main").json()["object"]["sha"] == MERGE
    assert http.get(f"{REPO}/commits/{MERGE}").json()["parents"] == [{"sha": BASE}, {"sha": HEAD}]
    assert http.get(f"{REPO}/pulls/999").status_code == 404


def test_issues_list_filters_and_includes_pull_requests(github: FakeGitHub) -> None:
    pull = github.add_pull(head_sha=HEAD)
    http = client(github)
    created = http.post(f"{REPO}/issues", json={"title": "drift: qa", "body": "<!-- m -->", "labels": ["drift"]})
    assert created.status_code == 201 and created.json()["user"]["type"] == "Bot"
    number = created.json()["number"]
    listed = http.get(f"{REPO}/issues").json()
    assert [(i["number"], "pull_request" in i) for i in listed] == [(number, False), (pull, True)]
    assert [i["number"] for i in http.get(f"{REPO}/issues", params={"labels": "DRIFT"}).json()] == [number]
    closed = http.patch(f"{REPO}/issues/{number}", json={"state": "closed"}).json()
    assert (closed["state"], closed["state_reason"]) == ("closed", "completed")
    assert http.get(f"{REPO}/issues", params={"labels": "drift"}).json() == []
    assert [i["number"] for i in http.get(f"{REPO}/issues", params={"state": "closed"}).json()] == [number]
    assert http.patch(f"{REPO}/issues/{number}", json={"state": "open"}).json()["state"] == "open"
    assert [e["event"] for e in http.get(f"{REPO}/issues/{number}/events").json()] == ["labeled", "closed", "reopened"]
    assert http.patch(f"{REPO}/issues/{number}", json={"state": "shut"}).status_code == 422
    missing = http.post(f"{REPO}/issues", json={"body": "no title"})
    assert (missing.status_code, missing.json()["errors"][0]["code"]) == (422, "missing_field")


def test_comments_page_like_github_and_carry_the_token_s_user(github: FakeGitHub) -> None:
    number = github.add_pull(head_sha=HEAD)
    http = client(github)
    ids = [http.post(f"{REPO}/issues/{number}/comments", json={"body": f"c{i}"}).json()["id"] for i in range(5)]
    first = http.get(f"{REPO}/issues/{number}/comments", params={"per_page": 2})
    assert [c["body"] for c in first.json()] == ["c0", "c1"]
    assert 'rel="next"' in first.headers["link"] and "page=3" in first.headers["link"]
    last = http.get(f"{REPO}/issues/{number}/comments", params={"per_page": 2, "page": 3})
    assert [c["body"] for c in last.json()] == ["c4"] and 'rel="next"' not in last.headers["link"]
    assert first.json()[0]["user"] == {**first.json()[0]["user"], "login": "github-actions[bot]", "type": "Bot"}
    updated = http.patch(f"{REPO}/issues/comments/{ids[0]}", json={"body": "new"}).json()
    assert updated["body"] == "new" and github.comments(number)[0].body == "new"
    too_long = http.post(f"{REPO}/issues/{number}/comments", json={"body": "x" * 65537})
    assert too_long.status_code == 422 and "too long" in too_long.json()["errors"][0]["message"]


def test_pull_request_permission_covers_comments_on_pull_requests_only(github: FakeGitHub) -> None:
    pull, issue = github.add_pull(head_sha=HEAD), github.add_issue("an issue")
    github.add_token("ghp_prs", "pr-bot", permissions={"pull_requests": "write"}, user_type="Bot")
    http = client(github, "ghp_prs")
    assert http.post(f"{REPO}/issues/{pull}/comments", json={"body": "ok"}).status_code == 201
    assert http.post(f"{REPO}/issues/{issue}/comments", json={"body": "no"}).status_code == 403


def test_labels_and_who_added_them(github: FakeGitHub) -> None:
    number = github.add_pull(head_sha=HEAD)
    github.label(number, "allow-deletes", by="octo-admin")
    http = client(github)
    assert [label["name"] for label in http.post(f"{REPO}/issues/{number}/labels", json={"labels": ["qa"]}).json()] \
        == ["allow-deletes", "qa"]
    events = [(e["event"], e["label"]["name"], e["actor"]["login"])
              for e in http.get(f"{REPO}/issues/{number}/events").json()]
    assert events == [("labeled", "allow-deletes", "octo-admin"), ("labeled", "qa", "github-actions[bot]")]
    assert http.delete(f"{REPO}/issues/{number}/labels/allow-deletes").json()[0]["name"] == "qa"
    missing = http.delete(f"{REPO}/issues/{number}/labels/allow-deletes")
    assert (missing.status_code, missing.json()["message"]) == (404, "Label does not exist")


def test_git_refs_as_github_moves_them(github: FakeGitHub) -> None:
    http = client(github)
    github.add_commit(HEAD, [BASE])
    applied = {"ref": "refs/provision/applied/qa", "sha": BASE}
    assert http.post(f"{REPO}/git/refs", json=applied).status_code == 201
    assert http.post(f"{REPO}/git/refs", json=applied).json()["message"] == "Reference already exists"
    assert http.post(f"{REPO}/git/refs", json={"ref": "refs/x", "sha": BASE}).status_code == 422
    assert http.post(f"{REPO}/git/refs", json={"ref": "refs/a/b", "sha": "d" * 40}).json()["message"] == \
        "Object does not exist"
    assert http.get(f"{REPO}/git/ref/provision/applied/qa").json()["object"]["sha"] == BASE
    assert http.get(f"{REPO}/git/ref/provision/applied/prod").status_code == 404
    assert [r["ref"] for r in http.get(f"{REPO}/git/refs/provision/applied").json()] == ["refs/provision/applied/qa"]
    assert http.patch(f"{REPO}/git/refs/provision/applied/qa", json={"sha": HEAD}).status_code == 200
    backwards = http.patch(f"{REPO}/git/refs/provision/applied/qa", json={"sha": BASE})
    assert (backwards.status_code, backwards.json()["message"]) == (422, "Update is not a fast forward")
    assert http.patch(f"{REPO}/git/refs/provision/applied/qa", json={"sha": BASE, "force": True}).status_code == 200
    assert http.patch(f"{REPO}/git/refs/heads/none", json={"sha": BASE}).json()["message"] == \
        "Reference does not exist"


def test_commits_of_a_real_checkout_let_its_refs_move_forward(github: FakeGitHub, tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com",
                               *args], check=True, capture_output=True, text=True, timeout=30).stdout.strip()
    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "first")
    first = git("rev-parse", "HEAD")
    git("commit", "-q", "--allow-empty", "-m", "second")
    second = git("rev-parse", "HEAD")
    assert github.add_commits_from_git(tmp_path) == 2
    http = client(github)
    assert http.post(f"{REPO}/git/refs", json={"ref": "refs/heads/applied", "sha": first}).status_code == 201
    assert http.patch(f"{REPO}/git/refs/heads/applied", json={"sha": second}).json()["object"]["sha"] == second
    assert http.patch(f"{REPO}/git/refs/heads/applied", json={"sha": first}).status_code == 422


def test_artifacts_by_name_and_run_and_their_zip(github: FakeGitHub) -> None:
    old = github.add_artifact("plan-qa", {"qa.json": "{}"}, head_sha=BASE, run_id=7)
    new = github.add_artifact("plan-qa", {"qa.json": '{"v": 2}', "dir/x.txt": b"x"}, head_sha=HEAD, run_id=8)
    github.add_artifact("plan-prod", {"prod.json": "{}"}, head_sha=HEAD, run_id=8)
    http = client(github)
    listed = http.get(f"{REPO}/actions/artifacts", params={"name": "plan-qa"}).json()
    assert listed["total_count"] == 2 and [a["id"] for a in listed["artifacts"]] == [new, old]
    assert listed["artifacts"][0]["workflow_run"]["head_sha"] == HEAD
    assert [a["name"] for a in http.get(f"{REPO}/actions/runs/8/artifacts").json()["artifacts"]] == [
        "plan-prod", "plan-qa"]  # newest first; created in the same second, the later id first
    assert http.get(f"{REPO}/actions/runs/9/artifacts").status_code == 404
    redirect = http.get(f"{REPO}/actions/artifacts/{new}/zip")
    assert redirect.status_code == 302
    download = httpx.get(redirect.headers["location"], timeout=10)  # no token: a pre-signed URL
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert archive.read("qa.json") == b'{"v": 2}' and archive.read("dir/x.txt") == b"x"
    github.repo().artifacts[old].expired = True
    assert http.get(f"{REPO}/actions/artifacts/{old}/zip").status_code == 410


def test_secrets_are_sealed_with_a_key_the_fake_can_open(github: FakeGitHub) -> None:
    github.add_environment("qa")
    http = client(github, github.ADMIN_TOKEN)
    key = http.get(f"{REPO}/environments/qa/secrets/public-key").json()
    sealed = SealedBox(PublicKey(base64.b64decode(key["key"]))).encrypt(b"value-1")
    body = {"encrypted_value": base64.b64encode(sealed).decode(), "key_id": key["key_id"]}
    assert http.put(f"{REPO}/environments/qa/secrets/my_token", json=body).status_code == 201
    assert http.put(f"{REPO}/environments/qa/secrets/MY_TOKEN", json=body).status_code == 204
    assert github.secret("MY_TOKEN", environment="qa") == "value-1"
    listed = http.get(f"{REPO}/environments/qa/secrets").json()
    assert [s["name"] for s in listed["secrets"]] == ["MY_TOKEN"] and "value" not in str(listed)
    assert http.put(f"{REPO}/actions/secrets/X", json=body).status_code == 422  # the repository's key differs
    assert http.put(f"{REPO}/environments/qa/secrets/GITHUB_X", json=body).status_code == 422
    assert http.put(f"{REPO}/environments/qa/secrets/X", json={**body, "key_id": "1"}).status_code == 422
    assert http.get(f"{REPO}/environments/prod/secrets/public-key").status_code == 404
    assert client(github).get(f"{REPO}/actions/secrets/public-key").status_code == 403  # GITHUB_TOKEN: no secrets


def test_deployments_and_their_statuses(github: FakeGitHub) -> None:
    http = client(github)
    created = http.post(f"{REPO}/deployments", json={"ref": "main", "environment": "qa", "task": "provision"}).json()
    assert created["sha"] == BASE and created["creator"]["login"] == "github-actions[bot]"
    assert http.post(f"{REPO}/deployments/{created['id']}/statuses", json={"state": "success"}).status_code == 201
    assert http.post(f"{REPO}/deployments/{created['id']}/statuses", json={"state": "great"}).status_code == 422
    assert [d["id"] for d in http.get(f"{REPO}/deployments", params={"environment": "qa"}).json()] == [created["id"]]
    assert http.get(f"{REPO}/deployments/{created['id']}/statuses").json()[0]["state"] == "success"
    assert http.post(f"{REPO}/deployments", json={"ref": "nowhere"}).status_code == 422


def test_fault_switches(github: FakeGitHub) -> None:
    http = client(github)
    github.secondary_rate_limit(1, retry_after=30)
    limited = http.get(f"{REPO}/issues")
    assert (limited.status_code, limited.headers["retry-after"]) == (403, "30")
    assert "secondary rate limit" in limited.json()["message"]
    assert http.get(f"{REPO}/issues").status_code == 200  # only the next request
    github.primary_rate_limit(1, reset_in=10)
    assert http.get(f"{REPO}/issues").headers["x-ratelimit-remaining"] == "0"
    github.fail(1, status=422, method="POST")
    assert http.post(f"{REPO}/issues", json={"title": "t"}).status_code == 422
    github.object_instead_of_list(2, path_contains="/issues")
    assert isinstance(http.get(f"{REPO}/issues").json(), dict)
    github.add_artifact("a", {"f": "x"}, head_sha=HEAD)
    github.object_instead_of_list(1, path_contains="/actions/artifacts")
    assert isinstance(http.get(f"{REPO}/actions/artifacts").json()["artifacts"], dict)
    assert [r.status for r in github.requests][:2] == [403, 200]
