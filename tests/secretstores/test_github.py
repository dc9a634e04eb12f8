"""The github: stores against the fake GitHub over HTTP: values sealed with the key GitHub gives and
readable with its private key, GitHub's naming rules, each documented refusal explained, rate limits
waited on an injected clock within a bounded budget, and the value in no output."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

import pytest

from provisioner.errors import AuthError, ExitCode, ProvisionerError
from provisioner.secretstores.github import PROBE_NAME, GitHubSecrets, secret_name
from provisioner.secretstores.spec import open_store
from tests.fakes.github import FakeGitHub
from tests.secretstores.conftest import PLANTED, FakeClocks, github_environ

NAME = "PROVISION_TOKEN__ACME__QA__GLOBAL_E_INTEGRATION"


def store(github: FakeGitHub, clock: FakeClocks, spec: str = "github:env/qa", token: str | None = None,
          deadline: float = 300.0) -> GitHubSecrets:
    opened = open_store(spec, environ=github_environ(github, token), clocks=clock.clocks(), deadline=deadline)
    assert isinstance(opened, GitHubSecrets)
    return opened


def secret_requests(github: FakeGitHub) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in github.requests if "/secrets" in r.path]


def test_a_value_put_in_an_environment_opens_with_the_fake_s_private_key(github: FakeGitHub,
                                                                         clock: FakeClocks) -> None:
    with store(github, clock) as sink:
        checked = sink.check()
        created = sink.put(NAME, PLANTED)
        updated = sink.put(NAME.lower(), PLANTED + "-2")  # GitHub ignores case: the same secret
    assert github.secret(NAME, environment="qa") == PLANTED + "-2"
    assert github.secret_names(environment="qa") == [NAME]  # the write check's secret is gone
    assert github.secret_names() == []  # nothing in the repository's own secrets
    assert checked.startswith("GitHub Actions secrets of environment qa in octo-org/merchants: reachable")
    assert PROBE_NAME in checked
    assert created == f"GitHub Actions secret {NAME} of environment qa in octo-org/merchants (created)"
    assert updated.endswith("(updated)")
    assert clock.slept == []


def test_repository_secrets_go_to_the_repository_s_own_key(github: FakeGitHub, clock: FakeClocks) -> None:
    with store(github, clock, "github:repo") as sink:
        sink.check()
        answer = sink.put("acme_token", PLANTED)
    assert answer == "GitHub Actions repository secret ACME_TOKEN of octo-org/merchants (created)"
    assert github.secret("ACME_TOKEN") == PLANTED
    assert github.secret_names(environment="qa") == []


def test_the_value_is_in_no_output_log_or_request(github: FakeGitHub, clock: FakeClocks,
                                                  caplog: pytest.LogCaptureFixture,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore trace every request at this level
    texts = []
    with store(github, clock) as sink:
        texts += [sink.label, sink.where(NAME), sink.check(), sink.put(NAME, PLANTED)]
        github.fail(2, status=422, message="Validation Failed", method="PUT")
        with pytest.raises(ProvisionerError) as refused:
            sink.put(NAME, PLANTED)
        texts.append(str(refused.value))
    captured = capsys.readouterr()
    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    assert "HTTP Request: PUT" in caplog.text  # the scan sees the requests' own log lines
    requests = " ".join(f"{r.path}?{r.query}" for r in github.requests)
    for text in [*texts, captured.out, captured.err, logged, requests]:
        assert PLANTED not in text
    assert github.secret(NAME, environment="qa") == PLANTED


@pytest.mark.parametrize(("name", "rule"), [
    ("", "empty"),
    ("ACME-QA", "only letters A-Z, digits and underscores"),
    ("ACME QA", "only letters A-Z, digits and underscores"),
    ("ÉCLAIR", "only letters A-Z, digits and underscores"),
    ("1ACME", "may not start with a digit"),
    ("github_token", "names starting GITHUB_ are GitHub's own"),
    (PROBE_NAME.lower(), "reserved"),
])
def test_github_s_naming_rules_are_refused_before_any_request(github: FakeGitHub, clock: FakeClocks, name: str,
                                                              rule: str) -> None:
    with store(github, clock) as sink:
        with pytest.raises(ProvisionerError, match=rule):
            sink.where(name)
        with pytest.raises(ProvisionerError, match=rule):
            sink.put(name, PLANTED)
    assert list(github.requests) == []


def test_names_differing_only_in_case_share_one_place(github: FakeGitHub, clock: FakeClocks) -> None:
    with store(github, clock) as sink:
        assert sink.where("Acme__Qa") == sink.where("ACME__QA")
    assert secret_name("acme_1") == "ACME_1"


@pytest.mark.parametrize(("value", "why"), [("", "is empty"), ("x" * (48 * 1024 + 1), "more than the 49152")])
def test_a_value_github_cannot_keep_is_refused_before_any_request(github: FakeGitHub, clock: FakeClocks,
                                                                  value: str, why: str) -> None:
    with store(github, clock) as sink, pytest.raises(ProvisionerError, match=why) as refused:
        sink.put(NAME, value)
    assert value[:100] not in str(refused.value) or not value
    assert list(github.requests) == []


def test_without_a_token_that_may_write_secrets_the_error_says_which_variable(github: FakeGitHub) -> None:
    environ = github.env()  # GITHUB_TOKEN only, as in a job that passed no other token
    with pytest.raises(ProvisionerError) as missing:
        open_store("github:env/qa", environ=environ)
    assert "PROVISION_SECRETS_TOKEN" in str(missing.value)
    assert "GITHUB_TOKEN cannot write secrets" in str(missing.value)
    assert github.BOT_TOKEN not in str(missing.value)


@pytest.mark.parametrize("token", [f"{PLANTED} trailing", f"{PLANTED}\nsecond-line", f"{PLANTED}é"])
def test_a_token_that_cannot_be_a_header_is_refused_without_showing_it(github: FakeGitHub, token: str) -> None:
    with pytest.raises(ProvisionerError, match="holds characters no GitHub token has") as refused:
        open_store("github:repo", environ={**github_environ(github), "PROVISION_SECRETS_TOKEN": token})
    assert PLANTED not in str(refused.value)


def test_a_moved_repository_says_to_use_its_new_name(github: FakeGitHub, clock: FakeClocks) -> None:
    github.fail(1, status=301, message="Moved Permanently")
    with store(github, clock) as sink, pytest.raises(ProvisionerError, match="renamed or moved; set GITHUB_REPO"):
        sink.put(NAME, PLANTED)


def test_repository_and_api_url_are_checked(github: FakeGitHub) -> None:
    environ = github_environ(github)
    with pytest.raises(ProvisionerError, match="needs GITHUB_REPOSITORY"):
        open_store("github:repo", environ={**environ, "GITHUB_REPOSITORY": ""})
    with pytest.raises(ProvisionerError, match="is not owner/name"):
        open_store("github:repo", environ={**environ, "GITHUB_REPOSITORY": "octo-org/merchants/extra"})
    with pytest.raises(ProvisionerError, match="must be an https:// URL"):
        open_store("github:repo", environ={**environ, "GITHUB_API_URL": "http://api.example.com"})
    assert list(github.requests) == []


def test_an_unknown_token_is_a_401_auth_error_and_nothing_is_stored(github: FakeGitHub, clock: FakeClocks) -> None:
    with store(github, clock, token="ghp_revoked") as sink, pytest.raises(AuthError) as refused:
        sink.check()
    assert refused.value.exit_code == ExitCode.AUTH
    assert "did not accept the token in PROVISION_SECRETS_TOKEN (HTTP 401 (GitHub: Bad credentials))" in \
        str(refused.value)
    assert github.secret_names(environment="qa") == []


def test_the_job_s_github_token_is_a_403_that_names_the_permission(github: FakeGitHub, clock: FakeClocks) -> None:
    with store(github, clock, token=github.BOT_TOKEN) as sink, pytest.raises(AuthError) as refused:
        sink.check()
    message = str(refused.value)
    assert "HTTP 403" in message and "'Secrets' (and, for an environment's secrets, 'Environments')" in message
    assert "GITHUB_TOKEN can never write secrets" in message
    assert secret_requests(github) == [("GET", "/repos/octo-org/merchants/environments/qa/secrets/public-key", 403)]


def test_a_token_that_may_only_read_secrets_fails_the_check_before_anything_is_created(
        github: FakeGitHub, clock: FakeClocks) -> None:
    github.add_token("ghp_reader", "octo-reader", permissions={"secrets": "read"})
    with store(github, clock, token="ghp_reader") as sink, pytest.raises(AuthError, match="HTTP 403"):
        sink.check()
    assert [r[0] for r in secret_requests(github)] == ["GET", "PUT"]
    assert github.secret_names(environment="qa") == []


def test_a_missing_environment_or_repository_is_a_404_that_says_which(github: FakeGitHub, clock: FakeClocks) -> None:
    with store(github, clock, "github:env/production") as sink, pytest.raises(ProvisionerError) as missing:
        sink.check()
    assert "404 Not Found" in str(missing.value)
    assert "the environment production of octo-org/merchants (create it under Settings → Environments)" in \
        str(missing.value)
    environ = {**github_environ(github), "GITHUB_REPOSITORY": "octo-org/gone"}
    with open_store("github:repo", environ=environ, clocks=clock.clocks()) as sink, \
            pytest.raises(ProvisionerError, match="the repository octo-org/gone or the token"):
        sink.put(NAME, PLANTED)


def test_a_422_is_retried_once_with_a_fresh_key_then_explained(github: FakeGitHub, clock: FakeClocks) -> None:
    github.fail(2, status=422, message="Validation Failed", method="PUT")
    with store(github, clock) as sink, pytest.raises(ProvisionerError) as refused:
        sink.put(NAME, PLANTED)
    assert f"GitHub refused {NAME} as invalid (HTTP 422: Validation Failed)" in str(refused.value)
    assert "twice, with a fresh public key" in str(refused.value)
    assert [r[0] for r in secret_requests(github)] == ["GET", "PUT", "GET", "PUT"]
    assert github.secret_names(environment="qa") == []


def test_a_key_rotated_after_the_check_is_fetched_again(github: FakeGitHub, clock: FakeClocks) -> None:
    with store(github, clock) as sink:
        sink.check()  # keeps the key it fetched
        github.rotate_secret_key(environment="qa")
        assert sink.put(NAME, PLANTED).endswith("(created)")
    assert [(m, s) for m, _, s in secret_requests(github)][-3:] == [("PUT", 422), ("GET", 200), ("PUT", 201)]
    assert github.secret(NAME, environment="qa") == PLANTED


def test_a_secondary_rate_limit_is_waited_as_retry_after_says(github: FakeGitHub, clock: FakeClocks) -> None:
    github.secondary_rate_limit(2, retry_after=30)
    with store(github, clock) as sink:
        assert sink.put(NAME, PLANTED).endswith("(created)")
    assert clock.slept == [30.0, 30.0]
    assert github.secret(NAME, environment="qa") == PLANTED


def test_a_429_without_retry_after_waits_a_minute_then_doubles(github: FakeGitHub, clock: FakeClocks) -> None:
    github.secondary_rate_limit(2, retry_after=None, status=429)
    with store(github, clock) as sink:
        sink.put(NAME, PLANTED)
    assert clock.slept == [60.0, 120.0]


def test_an_exhausted_primary_limit_waits_until_its_reset(github: FakeGitHub, clock: FakeClocks) -> None:
    github.primary_rate_limit(1, reset_in=100)
    with store(github, clock) as sink:
        sink.put(NAME, PLANTED)
    assert clock.slept == [101.0]  # until x-ratelimit-reset, and the second it names


def test_rate_limit_waits_are_bounded_in_number(github: FakeGitHub, clock: FakeClocks) -> None:
    github.secondary_rate_limit(50, retry_after=1)
    with store(github, clock) as sink, pytest.raises(ProvisionerError) as refused:
        sink.put(NAME, PLANTED)
    assert "secondary rate limit was still in force after 5 waits" in str(refused.value)
    assert clock.slept == [1.0] * 5
    assert github.secret_names(environment="qa") == []


def test_a_wait_past_the_deadline_is_not_started(github: FakeGitHub, clock: FakeClocks) -> None:
    github.secondary_rate_limit(1, retry_after=3600)
    with store(github, clock, deadline=300) as sink, pytest.raises(ProvisionerError) as refused:
        sink.put(NAME, PLANTED)
    assert "asks to wait 3600s" in str(refused.value) and "past the deadline of 300s" in str(refused.value)
    assert clock.slept == []


def test_a_passing_server_error_is_retried_a_bounded_number_of_times(github: FakeGitHub, clock: FakeClocks) -> None:
    github.fail(1, status=502, message="Bad Gateway", method="PUT")
    with store(github, clock) as sink:
        assert sink.put(NAME, PLANTED).endswith("(created)")
    assert clock.slept == [1.0]
    github.fail(10, status=503, message="Unavailable", method="PUT")
    with store(github, clock) as sink, pytest.raises(ProvisionerError, match=r"HTTP 503 while storing .*, 3 times"):
        sink.put(NAME, PLANTED + "-2")
    assert github.secret(NAME, environment="qa") == PLANTED


def test_an_answer_that_is_not_a_public_key_is_refused(github: FakeGitHub, clock: FakeClocks) -> None:
    github.fail(1, status=200, message="a proxy's page", path_contains="public-key")
    with store(github, clock) as sink, pytest.raises(ProvisionerError, match="was not a public key"):
        sink.put(NAME, PLANTED)
    assert github.secret_names(environment="qa") == []


def test_foreign_text_in_an_error_can_start_no_workflow_command(github: FakeGitHub, clock: FakeClocks) -> None:
    github.fail(1, status=403, message="denied\n::error::forged ##[group]fold\x1b[2J")
    with store(github, clock) as sink, pytest.raises(AuthError) as refused:
        sink.put(NAME, PLANTED)
    message = str(refused.value)
    assert "\n" not in message and "\x1b" not in message and "##[" not in message
    assert "denied\\n::error::forged #\\x23[group]fold\\x1b[2J" in message


def test_an_environment_name_with_control_characters_is_refused() -> None:
    with pytest.raises(ProvisionerError, match="no control characters"):
        GitHubSecrets("octo-org/merchants", "qa\nx", api=None)  # type: ignore[arg-type]


def test_a_server_that_never_answers_fails_within_the_deadline(github: FakeGitHub) -> None:
    """Real time here: a listener that accepts and never answers, against a deadline of 0.3 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():  # bounded by the test's end
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    environ = {**github_environ(github), "GITHUB_API_URL": f"http://127.0.0.1:{listener.getsockname()[1]}"}
    started = time.monotonic()
    try:
        with open_store("github:env/qa", environ=environ, deadline=0.3) as sink, \
                pytest.raises(ProvisionerError) as late:
            sink.put(NAME, PLANTED)
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        listener.close()
    assert time.monotonic() - started < 5
    assert "ReadTimeout" in str(late.value) and "deadline of 0.3s leaves no time to try again" in str(late.value)
