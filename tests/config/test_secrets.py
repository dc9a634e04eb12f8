"""`env:NAME` secrets read from the environment or from `PROVISION_TOKENS` lines, as data only."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.config import secrets


def test_a_reference_reads_its_line_of_provision_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_QA_TOKEN", raising=False)
    monkeypatch.setenv("PROVISION_TOKENS", "# qa tokens\n\nACME_QA_TOKEN=qa-value-1\n"
                                           "export ACME_PROD_TOKEN='prod value 2'\r\nOTHER=\"x=y\"\n")
    assert secrets.reveal("env:ACME_QA_TOKEN") == "qa-value-1"
    assert secrets.reveal("env:ACME_PROD_TOKEN") == "prod value 2"
    assert secrets.reveal("env:OTHER") == "x=y"


def test_the_environment_wins_over_provision_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_QA_TOKEN", "from-env")
    monkeypatch.setenv("PROVISION_TOKENS", "ACME_QA_TOKEN=from-list")
    assert secrets.reveal("env:ACME_QA_TOKEN") == "from-env"


def test_shell_in_a_line_is_a_value_never_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    monkeypatch.delenv("ACME_QA_TOKEN", raising=False)
    monkeypatch.setenv("PROVISION_TOKENS", f"ACME_QA_TOKEN=$(touch {pwned})`touch {pwned}`;touch {pwned}\n")
    assert secrets.reveal("env:ACME_QA_TOKEN") == f"$(touch {pwned})`touch {pwned}`;touch {pwned}"
    assert not pwned.exists()
    assert "ACME_QA_TOKEN" not in __import__("os").environ  # read, never exported


@pytest.mark.parametrize("line", ["touch /tmp/x", "A B=1", "1NAME=x", "$(id)=x", "=s3cr3t"])
def test_a_malformed_line_is_named_by_number_never_shown(monkeypatch: pytest.MonkeyPatch, line: str) -> None:
    monkeypatch.delenv("ACME_QA_TOKEN", raising=False)
    monkeypatch.setenv("PROVISION_TOKENS", f"ACME_QA_TOKEN=ok\n{line}\n")
    with pytest.raises(secrets.SecretUnavailable) as caught:
        secrets.reveal("env:ACME_QA_TOKEN")
    assert "PROVISION_TOKENS line 2 is not NAME=value" in str(caught.value)
    assert line not in str(caught.value)


def test_a_missing_reference_names_both_places(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_QA_TOKEN", raising=False)
    monkeypatch.setenv("PROVISION_TOKENS", "OTHER=1")
    with pytest.raises(secrets.SecretUnavailable, match="PROVISION_TOKENS has no line ACME_QA_TOKEN="):
        secrets.reveal("env:ACME_QA_TOKEN")


# ---------------------------------------------------------------- reveal_for: a real environment, the sandbox

VALUE = "s3cr3t-planted-value-9d1e"
REF = "env:ACME_ORDER_API_SECRET"


def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_ORDER_API_SECRET", raising=False)
    monkeypatch.delenv("PROVISION_TOKENS", raising=False)


def test_a_real_environment_gets_the_value_itself_from_each_source(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    _unset(monkeypatch)
    monkeypatch.setenv("ACME_ORDER_API_SECRET", VALUE)
    assert secrets.reveal_for("acme", REF, sandbox=False) == VALUE
    _unset(monkeypatch)
    monkeypatch.setenv("PROVISION_TOKENS", f"ACME_ORDER_API_SECRET={VALUE}\n")
    assert secrets.reveal_for("acme", REF, sandbox=False) == VALUE
    held = tmp_path / "order-api-secret"
    held.write_text(VALUE + "\n", encoding="utf-8")
    assert secrets.reveal_for("acme", f"file:{held}", sandbox=False) == VALUE


def test_a_real_environment_without_its_secret_is_an_error_naming_the_reference(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _unset(monkeypatch)
    with pytest.raises(secrets.SecretUnavailable, match=f"secret {REF} is not set"):
        secrets.reveal_for("acme", REF, sandbox=False)
    missing = tmp_path / "nowhere"
    with pytest.raises(secrets.SecretUnavailable, match=f"secret file:{missing} cannot be read"):
        secrets.reveal_for("acme", f"file:{missing}", sandbox=False)


def test_the_sandbox_gets_a_stand_in_never_the_real_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_ORDER_API_SECRET", VALUE)
    stand_in = secrets.reveal_for("acme", REF, sandbox=True)
    assert VALUE not in stand_in and stand_in.startswith("sandbox-")
    _unset(monkeypatch)  # and the sandbox needs no secret at all
    assert secrets.reveal_for("acme", REF, sandbox=True) == stand_in  # stable across runs
    assert secrets.reveal_for("nordwind", REF, sandbox=True) != stand_in  # one per merchant
    assert secrets.reveal_for("acme", "env:OTHER_SECRET", sandbox=True) != stand_in  # and per reference


# ---------------------------------------------------------------- what a value may hold

@pytest.mark.parametrize(("written", "read"), [
    ("'abc", "'abc"), ("abc'", "abc'"), ('"abc', '"abc'), ("'abc\"", "'abc\""), ("a'b\"c", "a'b\"c"), ("'", "'"),
    ("\"ab'c\"", "ab'c"), ("'ab\"c'", 'ab"c'), ("' spaced out '", " spaced out "), ("''''", "''"),
])
def test_quotes_come_off_a_provision_tokens_value_only_as_one_pair(monkeypatch: pytest.MonkeyPatch, written: str,
                                                                  read: str) -> None:
    _unset(monkeypatch)
    monkeypatch.setenv("PROVISION_TOKENS", f"ACME_ORDER_API_SECRET={written}\n")
    assert secrets.reveal(REF) == read


INVISIBLE = {"tab": "\t", "ESC": "\x1b", "DEL": "\x7f", "carriage return": "\r", "NEL": "\x85",
             "line separator": "\u2028", "file separator": "\x1c", "zero-width space": "\u200b",
             "right-to-left override": "\u202e"}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_provision_tokens_value_with_an_invisible_character_is_refused_by_line(
        monkeypatch: pytest.MonkeyPatch, char: str) -> None:
    _unset(monkeypatch)
    monkeypatch.setenv("PROVISION_TOKENS", f"OTHER=fine\nACME_ORDER_API_SECRET=abc{char}OTHER_TOO=def\n")
    with pytest.raises(secrets.SecretUnavailable) as caught:
        secrets.reveal(REF)  # never "abc", as if the line ended at the character
    assert str(caught.value).startswith("PROVISION_TOKENS line 2 is not NAME=value")
    assert "abc" not in str(caught.value) and "def" not in str(caught.value) and char not in str(caught.value)


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_an_environment_variable_with_an_invisible_character_is_refused_by_reference(
        monkeypatch: pytest.MonkeyPatch, char: str) -> None:
    _unset(monkeypatch)
    monkeypatch.setenv("ACME_ORDER_API_SECRET", f"{VALUE}{char}{VALUE}")
    with pytest.raises(secrets.SecretUnavailable) as caught:
        secrets.reveal_for("acme", REF, sandbox=False)
    assert str(caught.value).startswith(f"secret {REF} is not one line of text")
    assert VALUE not in str(caught.value) and char not in str(caught.value)


@pytest.mark.parametrize("around", ["\n", "\r\n", " ", "\t", "  \n\n"])
def test_surrounding_whitespace_is_dropped_from_every_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             around: str) -> None:
    """A CI secret set with `echo` ends in a newline; sent as is, httpx refuses the header and quotes it."""
    _unset(monkeypatch)
    monkeypatch.setenv("ACME_ORDER_API_SECRET", f"{around}{VALUE}{around}")
    assert secrets.reveal(REF) == VALUE
    _unset(monkeypatch)
    monkeypatch.setenv("PROVISION_TOKENS", f"ACME_ORDER_API_SECRET={VALUE}{around.rstrip(chr(10))}\n")
    assert secrets.reveal(REF) == VALUE
    held = tmp_path / "secret"
    held.write_text(f"{around}{VALUE}{around}", encoding="utf-8")
    assert secrets.reveal(f"file:{held}") == VALUE


def test_a_value_of_whitespace_only_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    _unset(monkeypatch)
    monkeypatch.setenv("ACME_ORDER_API_SECRET", " \n")
    with pytest.raises(secrets.SecretUnavailable, match=f"secret {REF} is not set"):
        secrets.reveal(REF)


# ---------------------------------------------------------------- file: secrets at the size limit

@pytest.mark.parametrize("content", [
    "x" * secrets.MAX_FILE_BYTES,
    "x" * (secrets.MAX_FILE_BYTES - 1) + "\n",
    "é" * (secrets.MAX_FILE_BYTES // 2),  # two bytes each: the limit counts bytes
], ids=["exactly the limit", "the limit with its newline", "the limit in two-byte characters"])
def test_a_secret_file_of_exactly_the_limit_is_read_whole(tmp_path: Path, content: str) -> None:
    held = tmp_path / "secret"
    held.write_text(content, encoding="utf-8")
    assert held.stat().st_size == secrets.MAX_FILE_BYTES
    assert secrets.reveal_for("acme", f"file:{held}", sandbox=False) == content.strip()


@pytest.mark.parametrize("content", ["x" * (secrets.MAX_FILE_BYTES + 1), "x" * secrets.MAX_FILE_BYTES + "\n"],
                         ids=["one byte over", "the limit and a newline"])
def test_a_secret_file_one_byte_over_the_limit_is_refused_by_reference(tmp_path: Path, content: str) -> None:
    held = tmp_path / "secret"
    held.write_text(content, encoding="utf-8")
    with pytest.raises(secrets.SecretUnavailable) as caught:
        secrets.reveal_for("acme", f"file:{held}", sandbox=False)
    assert str(caught.value) == (f"secret file:{held} is larger than {secrets.MAX_FILE_BYTES} bytes; a secret file "
                                 "holds one value")


def test_a_secret_file_with_a_line_break_inside_is_refused_by_reference(tmp_path: Path) -> None:
    held = tmp_path / "secret"
    held.write_text(f"{VALUE}\n{VALUE}\n", encoding="utf-8")
    with pytest.raises(secrets.SecretUnavailable) as caught:
        secrets.reveal(f"file:{held}")
    assert str(caught.value) == f"secret file:{held} is not text (it holds control characters or line breaks)"


@pytest.mark.parametrize("content", ["", "\n", "  \n\t\n"], ids=["empty", "a newline", "whitespace"])
def test_an_empty_secret_file_is_refused_by_reference(tmp_path: Path, content: str) -> None:
    held = tmp_path / "secret"
    held.write_text(content, encoding="utf-8")
    with pytest.raises(secrets.SecretUnavailable, match=f"^secret file:{held} is an empty file$"):
        secrets.reveal_for("acme", f"file:{held}", sandbox=False)
