"""Sink specs parsed into stores, refused with the accepted forms, and never echoing a pasted value; the
escaping every store applies to text from a server."""

from __future__ import annotations

import pytest

from provisioner.errors import ProvisionerError
from provisioner.secretstores.base import foreign
from provisioner.secretstores.github import GitHubSecrets
from provisioner.secretstores.spec import SPECS, StoreSpec, is_store_spec, open_store, parse
from tests.fakes.github import FakeGitHub
from tests.secretstores.conftest import PLANTED, github_environ


@pytest.mark.parametrize(("spec", "parsed"), [
    ("github:repo", StoreSpec("github")),
    ("github:env/qa", StoreSpec("github", environment="qa")),
    ("github:env/prod eu", StoreSpec("github", environment="prod eu")),
    ("aws-sm:provision/ci", StoreSpec("aws-sm", prefix="provision/ci")),
])
def test_specs_parse(spec: str, parsed: StoreSpec) -> None:
    assert parse(spec) == parsed
    assert is_store_spec(spec)


@pytest.mark.parametrize(("spec", "says"), [
    ("github:", "write github:repo (repository secrets) or github:env/ENVIRONMENT"),
    ("github:env/", "write github:repo"),
    ("github:repository", "write github:repo"),
    ("aws-sm:", "needs a prefix"),
    ("aws-sm:///", "needs a prefix"),
    ("vault:kv/x", f"secret sink vault:…: must be {SPECS}"),
])
def test_bad_specs_name_the_accepted_forms(spec: str, says: str) -> None:
    with pytest.raises(ProvisionerError) as refused:
        parse(spec)
    assert says in str(refused.value)


@pytest.mark.parametrize("pasted", [PLANTED, f"{PLANTED}:x", f"Bearer:{PLANTED}"])
def test_a_value_pasted_for_a_spec_is_not_shown(pasted: str) -> None:
    with pytest.raises(ProvisionerError) as refused:
        parse(pasted)
    assert PLANTED not in str(refused.value)
    assert not is_store_spec(pasted)


def test_env_sinks_are_left_to_the_engine() -> None:
    assert not is_store_spec("env:PROVISION_CREATED_TOKEN")


def test_open_store_reads_the_github_environment_it_is_given() -> None:
    with FakeGitHub() as github, open_store("github:env/qa", environ=github_environ(github)) as sink:
        assert isinstance(sink, GitHubSecrets)
        assert sink.label == "GitHub Actions secrets of environment qa in octo-org/merchants"
        assert sink.api.api_url == github.url
    assert list(github.requests) == []  # opening a store sends nothing


@pytest.mark.parametrize(("text", "shown"), [
    ("::error::forged", "\\x3a:error::forged"),
    ("  ::warning::x", "  \\x3a:warning::x"),
    ("arn:aws:iam::123456789012:user/x", "arn:aws:iam::123456789012:user/x"),  # `::` further in is inert
    ("a ##[group]b", "a #\\x23[group]b"),
    ("line\n::error::x", "line\\n::error::x"),
    ("\x1b[2J\u202e", "\\x1b[2J\\u202e"),
])
def test_foreign_text_cannot_be_a_workflow_command_or_move_the_cursor(text: str, shown: str) -> None:
    assert foreign(text) == shown


def test_foreign_text_is_cut() -> None:
    assert foreign("x" * 500, 10) == "x" * 10 + "… (cut, 490 more characters)"
