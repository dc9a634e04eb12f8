"""Foreign text cannot run a workflow command in a CI log. Every vector — a description in a merchant file,
a token, store or plugin name in the live store, a Centra error message, `userErrors`, the version Centra
reports, what GitHub answers, the reasons in a saved plan document — is run through the real CLI with
GITHUB_ACTIONS=true. Each case asserts its exact exit code, that the foreign text did reach the output
(escaped), and that no line of stdout or stderr begins a workflow command, carries `##[` or a terminal
control sequence, except the tool's own `::add-mask::` lines for the tokens it created."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result

from provisioner.errors import ExitCode
from provisioner.escape import TEXT_LIMIT
from provisioner.render import markdown
from provisioner.sandbox.instance import for_merchant
from provisioner.sandbox.server import make_server
from provisioner.sandbox.wire import Request, Response
from tests.engine.conftest import PLANTED, Outputs, env_file_variables, sandbox_call, tokens_named

# Every way a line can end (for the runner: LF, CR, CRLF; for other readers: NEL, LS, PS), each followed by
# a command in one of its forms and with the blanks the runner trims first; `##[` mid-line; and the
# sequences a terminal acts on (ESC, CSI, OSC, C1 CSI).
INJECTED = ("Evil\n::error::injected\r::add-mask::stolen\r\n  ::stop-commands::pwned\x85::warning::nel"
            "\u2028\u3000::notice::ls\u2029\t::debug::ps ##[group]grouped \x1b[2J\x1b]0;title\x07\x9b31m end")
FORGED_MARKER = markdown.marker("sandbox")
# How the tail of INJECTED looks once escaped, wherever it is quoted: it reached the output, inert.
SHOWN = "#\\x23[group]grouped \\x1b[2J\\x1b]0;title\\x07\\x9b31m end"
# A control character the tool never writes itself (colour is off: the output is not a terminal).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(autouse=True)
def in_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")


@pytest.fixture
def env_file(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.mktemp("runner") / "github_env"
    monkeypatch.setenv("GITHUB_ENV", str(path))
    return path


def own_masks(env_file: Path | None) -> set[str]:
    """The `::add-mask::` lines the tool writes itself: one per created token's value."""
    if env_file is None or not env_file.exists():
        return set()
    return {f"::add-mask::{value}" for name, value in env_file_variables(env_file).items()
            if not name.endswith("__VARIABLES")}


def assert_clean(result: Result, code: int, *, env_file: Path | None = None) -> None:
    """The exact exit code, no traceback, and no line a runner or a terminal would act on."""
    assert result.exit_code == code, result.output + result.stderr
    assert "Traceback" not in result.stderr
    allowed = own_masks(env_file)
    for stream in (result.stdout, result.stderr):
        assert not CONTROL.search(stream), repr(CONTROL.search(stream))
        # str.splitlines breaks at every line end the runner knows and more (NEL, LS, PS, VT, FF)
        for line in stream.splitlines():
            if line in allowed:
                continue
            assert not line.lstrip().startswith("::"), line
            assert "##[" not in line, line


def _add_token(description: str) -> None:
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text(encoding="utf-8").replace(
        "environments:\n", f"  - description: {json.dumps(description)}\n    organization: Other\n"
                           "    email: other@acme.example\n    integration: other\n    store_types: all\n"
                           "    permissions: {read: [Order:read]}\nenvironments:\n", 1), encoding="utf-8")


def _exclusive_tokens() -> None:
    merchant = Path("merchants/acme.yaml")
    text = merchant.read_text(encoding="utf-8")
    merchant.write_text(text.replace("api_tokens:\n", "api_tokens:\n  mode: exclusive\n  items:\n"), encoding="utf-8")


def test_a_description_in_a_merchant_file(project: Path, outputs: Outputs, env_file: Path) -> None:
    _add_token(INJECTED)
    assert_clean(outputs.run("validate"), ExitCode.OK)
    resolved = outputs.run("resolve", "acme", "--env", "sandbox")
    assert_clean(resolved, ExitCode.OK)
    as_json = outputs.run("resolve", "acme", "--env", "sandbox", "--format", "json")
    assert_clean(as_json, ExitCode.OK)
    # escaped for the log, and still exactly the same data for whoever reads it
    described = [t["description"] for t in yaml.safe_load(resolved.stdout)["api_tokens"]["items"]]
    assert INJECTED in described
    assert json.loads(as_json.stdout) == yaml.safe_load(resolved.stdout)
    for fmt in ("text", "markdown", "json"):
        planned = outputs.run("plan", "acme", "--env", "sandbox", "--format", fmt)
        assert_clean(planned, ExitCode.OK)
        assert "Evil" in planned.stdout
    assert_clean(outputs.run("plan", "acme", "--env", "sandbox", "--detailed-exitcode"), ExitCode.CHANGES)
    document = outputs.run("plan", "acme", "--env", "sandbox", "--out", "-")
    assert_clean(document, ExitCode.OK)
    names = [c["name"] for c in json.loads(document.stdout)["plans"][0]["changes"]]
    assert INJECTED in names
    applied = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--secret-sink", "env:CI_TOKEN")
    assert_clean(applied, ExitCode.OK, env_file=env_file)
    assert len(own_masks(env_file)) == 2 and sum(line.startswith("::add-mask::")
                                                 for line in applied.stderr.splitlines()) == 2
    assert "done: created API token Evil\\n\\x3a:error::injected" not in applied.stdout  # escaped once, inline
    assert "done: created API token Evil\\n::error::injected\\r::add-mask::stolen" in applied.stdout
    assert [t["revoked"] for t in tokens_named("acme", INJECTED)] == [False]


def test_a_token_name_in_the_store(project: Path, outputs: Outputs) -> None:
    sandbox_call("acme", "POST", "/_sandbox/tokens", {"name": INJECTED, "permissions": ["Order:read"]})
    _exclusive_tokens()
    for fmt in ("text", "markdown", "json"):
        planned = outputs.run("plan", "acme", "--env", "sandbox", "--format", fmt)
        assert_clean(planned, ExitCode.OK)
        assert "Evil" in planned.stdout
    refused = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert_clean(refused, ExitCode.POLICY)
    assert "pass --allow-deletes" in refused.stderr and SHOWN in refused.stderr
    applied = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve", "--allow-deletes")
    assert_clean(applied, ExitCode.OK)
    assert "revoked API token Evil\\n::error::injected" in applied.stdout
    assert [t["revoked"] for t in tokens_named("acme", INJECTED)] == [True]


def test_a_store_name(project: Path, outputs: Outputs) -> None:
    merchant = Path("merchants/acme.yaml")
    merchant.write_text(merchant.read_text(encoding="utf-8").replace(
        "store: GlobalE Store", f"store: {json.dumps(INJECTED)}"), encoding="utf-8")
    for fmt in ("text", "markdown"):
        assert_clean(outputs.run("plan", "acme", "--env", "sandbox", "--format", fmt), ExitCode.OK)
    applied = outputs.run("apply", "acme", "--env", "sandbox", "--auto-approve")
    assert_clean(applied, ExitCode.OK)
    assert_clean(outputs.run("sandbox", "operator", "out/acme.sandbox.runbook.md"), ExitCode.OK)
    assert_clean(outputs.run("verify", "acme", "--env", "sandbox"), ExitCode.OK)
    exported = outputs.run("export", "acme", "--env", "sandbox")  # the store's name as the store has it
    assert_clean(exported, ExitCode.OK)
    assert yaml.safe_load(exported.stdout)["store"] == INJECTED


def test_a_plugin_name_in_the_store(project: Path, outputs: Outputs) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/plugins", {"store": "GlobalE Store", "name": INJECTED,
                                                      "type": "order_api", "uri": "evil"})
    assert_clean(outputs.run("plan", "acme", "--env", "sandbox"), ExitCode.OK)
    exported = outputs.run("export", "acme", "--env", "sandbox")
    assert_clean(exported, ExitCode.OK)
    assert "Evil" in exported.stdout
    assert_clean(outputs.run("verify", "acme", "--env", "sandbox"), ExitCode.ERROR)


def test_the_version_centra_reports(project: Path, outputs: Outputs) -> None:
    sandbox_call("acme", "PUT", "/_sandbox/schema", {"app_version": INJECTED})
    doctor = outputs.run("doctor", "acme", "--env", "sandbox")
    assert_clean(doctor, ExitCode.OK)
    assert doctor.stdout.startswith("Centra Evil\\n::error::injected\\r::add-mask::stolen")
    assert "\\x1b[2J\\x1b]0;title\\x07\\x9b31m end" in doctor.stdout.splitlines()[0]


Rewrite = Callable[[Request, Response], Response]


@pytest.fixture
def hostile_centra(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Rewrite], None]]:
    """acme's sandbox behind a server on 127.0.0.1 that rewrites its answers, as environment `served`."""
    servers: list[ThreadingHTTPServer] = []

    def serve(rewrite: Rewrite) -> None:
        box = for_merchant("acme")

        class Hostile:
            def handle(self, request: Request) -> Response:
                return rewrite(request, box.app.handle(request))

        server = make_server(Hostile(), 0)  # type: ignore[arg-type]  # an app is what answers `handle`
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        merchant = Path("merchants/acme.yaml")
        merchant.write_text(merchant.read_text(encoding="utf-8") + (
            f"  served:\n    centra_url: http://127.0.0.1:{server.server_address[1]}\n"
            "    token: env:SERVED_ADMIN_TOKEN\n    tier: qa\n"), encoding="utf-8")
        monkeypatch.setenv("SERVED_ADMIN_TOKEN", box.admin_token)

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _query(request: Request) -> str:
    body = request.json() if request.body else {}
    return str(body.get("query", "")) if isinstance(body, dict) else ""


def _reads(request: Request) -> bool:
    query = _query(request)
    return bool(query) and "__schema" not in query and not query.lstrip().startswith("mutation")


def test_a_centra_error_message(hostile_centra: Callable[[Rewrite], None], outputs: Outputs) -> None:
    hostile_centra(lambda request, response: Response.json(200, {"errors": [{"message": INJECTED}]})
                   if _reads(request) else response)
    planned = outputs.run("plan", "acme", "--env", "served")
    assert_clean(planned, ExitCode.ERROR)
    assert "reading the live store: Evil" in planned.stderr and SHOWN in planned.stderr
    assert_clean(outputs.run("doctor", "acme", "--env", "served"), ExitCode.ERROR)
    assert_clean(outputs.run("plan", "acme", "--env", "served", "--format", "markdown"), ExitCode.ERROR)


HUGE = "::error::huge\n##[group]x " * 100_000  # 2.3 MB


def test_a_huge_error_message_is_cut_and_says_so(hostile_centra: Callable[[Rewrite], None],
                                                 outputs: Outputs) -> None:
    hostile_centra(lambda request, response: Response.json(200, {"errors": [{"message": HUGE}]})
                   if _reads(request) else response)
    planned = outputs.run("plan", "acme", "--env", "served")
    assert_clean(planned, ExitCode.ERROR)
    assert len(planned.stderr) < 2 * TEXT_LIMIT
    # cut where it enters (the client keeps 1,000 characters of a server's message) and saying so
    assert planned.stderr.endswith(f"… (cut: 1000 of {len(HUGE):,} characters shown)\n".replace(",", ""))


def test_a_huge_body_that_is_not_json(hostile_centra: Callable[[Rewrite], None], outputs: Outputs) -> None:
    hostile_centra(lambda request, response: Response(400, HUGE.encode(), {"content-type": "text/plain"})
                   if _reads(request) else response)
    planned = outputs.run("plan", "acme", "--env", "served")
    assert_clean(planned, ExitCode.ERROR)
    assert "answered HTTP 400" in planned.stderr and len(planned.stderr) < 2 * TEXT_LIMIT


def test_user_errors(hostile_centra: Callable[[Rewrite], None], outputs: Outputs) -> None:
    rejected = {"accessToken": None, "userErrors": [{"message": INJECTED, "path": ["input", INJECTED]}],
                "userWarnings": []}
    def reject(request: Request, response: Response) -> Response:
        if not ("createAccessToken" in _query(request) and _query(request).lstrip().startswith("mutation")):
            return response
        # The token's create refused; a change sent with it (acme's warehouse) answered as Centra did.
        return Response.json(200, {"data": {**response.payload().get("data", {}), "createAccessToken": rejected}})

    hostile_centra(reject)
    applied = outputs.run("apply", "acme", "--env", "served", "--auto-approve")
    # the runbook was written and the token was not made: the run is partial (exit 5), said once per line
    assert_clean(applied, ExitCode.PARTIAL_APPLY)
    assert "createAccessToken was rejected by Centra: input.Evil" in applied.stderr and SHOWN in applied.stderr


def _hostile_document(outputs: Outputs) -> dict[str, Any]:
    """A real plan document, then every free text in it replaced by what an attacker would write."""
    assert outputs.run("plan", "acme", "--env", "sandbox", "--out", "plan.json").exit_code == 0
    document: dict[str, Any] = json.loads(Path("plan.json").read_text(encoding="utf-8"))
    hostile = f"{INJECTED} {FORGED_MARKER}"
    plan = document["plans"][0]
    for change in plan["changes"]:
        change.update(kind=hostile, name=hostile, reasons=[hostile])
        for field in change["fields"]:
            field.update(path=hostile, after=hostile)
    plan["warnings"] = [hostile]
    for finding in plan.get("findings", []):
        finding.update(rule=hostile, message=hostile, fix=hostile, waived=hostile)
    document["shard"] = hostile
    document["errors"] = [{"merchant": hostile, "environment": hostile, "exit_code": 4, "reason": hostile},
                          {"merchant": "other", "environment": None, "exit_code": 1, "reason": hostile}]
    document["skipped"] = [{"merchant": hostile + "2", "reason": hostile}]
    return document


def test_reasons_in_a_saved_plan_document(project: Path, outputs: Outputs) -> None:
    Path("shard.json").write_text(json.dumps(_hostile_document(outputs)), encoding="utf-8")
    for fmt in ("markdown", "text", "json"):
        reported = outputs.run("report", "shard.json", "--format", fmt)
        assert_clean(reported, ExitCode.INVALID_CONFIG)
        assert "Evil" in reported.stdout and "Evil" in reported.stderr
    comment = outputs.run("report", "shard.json").stdout
    # the only marker in the comment is its own, on its first line: no name in it can forge one
    assert comment.count("<!--") == 1 and comment.startswith(FORGED_MARKER + "\n")
    assert_clean(outputs.run("report", "shard.json", "--out", "-"), ExitCode.INVALID_CONFIG)
    # two shards naming one merchant: the refusal quotes both shards' names
    Path("again.json").write_text(json.dumps({**_hostile_document(outputs), "shard": "2/2"}), encoding="utf-8")
    refused = outputs.run("report", "shard.json", "again.json")
    assert_clean(refused, ExitCode.ERROR)
    assert "were the shards made with the same --shard N?" in refused.stderr and SHOWN in refused.stderr


def test_what_github_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outputs: Outputs) -> None:
    class GitHub(BaseHTTPRequestHandler):
        def _answer(self, payload: object) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer([])

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self._answer({"id": INJECTED, "number": INJECTED})

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), GitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("GITHUB_REPOSITORY", "shop/fleet")
        monkeypatch.setenv("GITHUB_TOKEN", "planted-github-token-0c7d")
        body = tmp_path / "comment.md"
        body.write_text(markdown.marker("qa") + "\nbody\n", encoding="utf-8")
        plan = tmp_path / "drift.json"
        plan.write_text(json.dumps({"environment": "qa", "plans": [], "errors": [
            {"merchant": "m", "exit_code": 1, "reason": "r"}]}), encoding="utf-8")
        commented = outputs.run("github", "comment", str(body), "--pr", "7")
        assert_clean(commented, ExitCode.OK)
        assert commented.stdout.startswith("added comment Evil\\n::error::injected")
        opened = outputs.run("github", "issue", str(body), "--plan", str(plan), "--title", "Drift")
        assert_clean(opened, ExitCode.OK)
        assert opened.stdout.startswith("opened issue #Evil\\n::error::injected")
    finally:
        server.shutdown()
        server.server_close()


def test_no_planted_secret_reached_any_output(project: Path, outputs: Outputs) -> None:
    """The escaping keeps what the tool printed before: values from secret references stay out of it."""
    _add_token(INJECTED)
    for args in (("plan", "acme", "--env", "sandbox"), ("resolve", "acme", "--env", "sandbox")):
        assert_clean(outputs.run(*args), ExitCode.OK)
    assert not any(value in text for value in PLANTED.values() for text in outputs.texts)
