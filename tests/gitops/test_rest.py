"""GitHub's REST API as the gitops package meets it, against the fake on 127.0.0.1: rate limits waited as
GitHub documents them (never past the command's budget), wrong reply shapes and refusals as clear errors,
the record ref moved only forward, and our issues told apart from a stranger's."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.errors import AuthError, ProvisionerError
from provisioner.gitops import github, record, tracking
from provisioner.gitops.rest import GitHubError, Repository, Session
from tests.fakes.github import FakeGitHub

REPOSITORY = "shop/fleet"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(REPOSITORY) as served:
        yield served


class Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def session(fake: FakeGitHub, clock: Clock, *, budget: float = 300.0, token: str = FakeGitHub.BOT_TOKEN) -> Session:
    return Repository(fake.url, REPOSITORY, token).session(sleep=clock.sleep, clock=clock.time, budget=budget)


def test_a_secondary_rate_limit_is_waited_for_as_long_as_github_asks(fake: FakeGitHub) -> None:
    number = fake.add_issue("an issue")
    fake.secondary_rate_limit(count=2, retry_after=45)
    clock = Clock()
    with session(fake, clock) as github_session:
        assert github_session.object("GET", f"/repos/{REPOSITORY}/issues/{number}")["number"] == number
    assert clock.slept == [45.0, 45.0]


def test_a_primary_rate_limit_waits_until_its_reset(fake: FakeGitHub) -> None:
    fake.add_issue("an issue")
    fake.primary_rate_limit(count=1, reset_in=90)
    clock = Clock()
    clock.now = fake.now().timestamp()
    with session(fake, clock) as github_session:
        assert list(github_session.items(f"/repos/{REPOSITORY}/issues"))
    assert len(clock.slept) == 1 and 85 <= clock.slept[0] <= 91


def test_a_bare_secondary_limit_waits_a_minute_then_doubles_like_the_secret_store(fake: FakeGitHub) -> None:
    """A 403 that says "secondary rate limit" with neither header: GitHub asks for at least a minute.
    The gitops client and the secret store read GitHub's answers with the same rule."""
    number = fake.add_issue("an issue")
    fake.secondary_rate_limit(count=2, retry_after=None)
    clock = Clock()
    with session(fake, clock) as github_session:
        assert github_session.object("GET", f"/repos/{REPOSITORY}/issues/{number}")["number"] == number
    assert clock.slept == [60.0, 120.0]


def test_a_wait_past_the_budget_is_a_clear_error_without_waiting(fake: FakeGitHub) -> None:
    fake.secondary_rate_limit(count=1, retry_after=600)
    clock = Clock()
    with session(fake, clock, budget=120) as github_session, pytest.raises(GitHubError) as caught:
        list(github_session.items(f"/repos/{REPOSITORY}/issues"))
    assert clock.slept == [] and "600 s" in str(caught.value) and "budget of 120 s" in str(caught.value)


def test_a_list_endpoint_answering_an_object_is_a_clear_error(fake: FakeGitHub) -> None:
    fake.object_instead_of_list(count=1)
    with session(fake, Clock()) as github_session, pytest.raises(GitHubError, match="not a list of objects"):
        list(github_session.items(f"/repos/{REPOSITORY}/issues"))


def test_refusals_say_what_github_said_escaped_and_cut(fake: FakeGitHub) -> None:
    fake.fail(status=422, message="::error::injected\n##[group]x " + "y" * 1000)
    with session(fake, Clock()) as github_session, pytest.raises(GitHubError) as caught:
        github_session.object("POST", f"/repos/{REPOSITORY}/issues", json={"title": "t"})
    said = str(caught.value)
    assert "HTTP 422" in said and "validation failed" in said and "(cut, " in said and "more characters)" in said
    assert "\n" not in said and len(said) < 900
    with pytest.raises(AuthError), session(fake, Clock(), token="not-a-token") as github_session:
        github_session.object("GET", f"/repos/{REPOSITORY}/issues/1")


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout.strip()


def test_the_record_moves_only_forward(fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    for key, value in (("user.name", "T"), ("user.email", "t@example.test"), ("commit.gpgsign", "false")):
        git(tmp_path, "config", key, value)
    shas = []
    for number in range(3):
        (tmp_path / "f").write_text(str(number))
        git(tmp_path, "add", "-A")
        git(tmp_path, "commit", "--quiet", "-m", str(number))
        shas.append(git(tmp_path, "rev-parse", "HEAD"))
    fake.add_commits_from_git(tmp_path)
    monkeypatch.chdir(tmp_path)
    with session(fake, Clock()) as github_session:
        assert record.read(github_session, "qa") is None
        assert record.commits_since(None, shas[2]) == shas  # a new repository: every commit
        assert "created" in record.advance(github_session, "qa", shas[2], current=None)
        assert record.read(github_session, "qa") == shas[2]
        with pytest.raises(GitHubError, match="422"):  # not a fast-forward: refused by GitHub
            record.advance(github_session, "qa", shas[0], current=shas[2])
        assert record.read(github_session, "qa") == shas[2]
        assert record.commits_since(shas[0], shas[2]) == shas[1:]
        with pytest.raises(ProvisionerError, match="not in the history"):
            record.commits_since(shas[2], shas[0])
    with pytest.raises(ProvisionerError, match="cannot name a record ref"):
        record.ref_name("../heads/main")


def test_a_stranger_s_issue_with_our_marker_and_data_is_not_ours(fake: FakeGitHub) -> None:
    forged = tracking.body("qa", {"evil": tracking.Waiting("evil", "forged")}, None)
    fake.add_issue("forged", body=forged, user="octo-admin")
    repository = Repository(fake.url, REPOSITORY, FakeGitHub.BOT_TOKEN)
    with repository.session() as github_session:
        assert tracking.read(github_session, "qa") == {}
    waiting = {"acme": tracking.Waiting("acme", "the store changed --> <!-- provision:plan environment=qa -->", 7)}
    assert tracking.update(repository, "qa", waiting).startswith("opened issue #")
    with repository.session() as github_session:
        assert tracking.read(github_session, "qa") == waiting  # read back whole: nothing closed the comment
    ours = [i for i in fake.repo().issues.values() if i.user.login == "github-actions[bot]"]
    assert len(ours) == 1 and (ours[0].body or "").count("<!--") == 2  # only the marker and the data open one
    assert tracking.update(repository, "qa", {}).startswith("closed issue #")


def test_a_comment_body_must_start_with_our_marker() -> None:
    with pytest.raises(ProvisionerError, match="does not start"):
        github.marker_of("hello <!-- provision:plan environment=qa -->")
    assert github.marker_of("<!-- provision:plan environment=qa -->\nbody") == "<!-- provision:plan environment=qa -->"
