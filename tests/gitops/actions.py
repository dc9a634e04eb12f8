"""A small GitHub Actions runner for end-to-end tests: it reads `.github/workflows/*.yml` (the files the
repository ships, never a copy), orders the jobs by `needs`, expands matrices, evaluates `if:` and the
`${{ }}` expressions the workflows use, and runs every `run:` step with bash as GitHub does
(`bash -e -o pipefail`, GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STEP_SUMMARY files). The few actions the
workflows use are done here by their documented effect: checkout clones the test's origin repository,
upload/download-artifact go through the fake GitHub's artifact store, setup-python is a no-op, and
`python -m pip install` is skipped because the tool under test is already installed in this interpreter.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
STEP_TIMEOUT = 240  # seconds; a step that takes longer is a hung test
CANCEL_POLL = 0.05  # seconds between looks at `Runner.cancel` while a step runs


@dataclass
class StepResult:
    job: str
    name: str
    code: int
    stdout: str
    stderr: str


@dataclass
class Artifacts:
    """What upload-artifact stored, by name: its files and the run it belongs to (the fake GitHub serves
    them, zipped, as GitHub does)."""

    register: Callable[[str, int, str, dict[str, bytes]], None]  # name, run id, head sha, files
    fetch: Callable[[int], dict[str, dict[str, bytes]]]  # run id -> {artifact name: files} of that run


@dataclass
class Run:
    workflow: str
    run_id: int
    steps: list[StepResult] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)  # job (with matrix) -> success / failure / skipped
    summaries: dict[str, str] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return "\n".join(s.stdout + s.stderr for s in self.steps)

    def ok(self) -> bool:
        return all(result not in ("failure", "cancelled") for result in self.jobs.values())


@dataclass
class Runner:
    origin: Path  # the repository the workflows run for (a bare git repository)
    root: Path  # scratch space for the jobs' workspaces
    github_api: str
    repository: str  # owner/name
    secrets: dict[str, str]
    variables: dict[str, str]
    artifacts: Artifacts
    extra_env: dict[str, str] = field(default_factory=dict)
    runs: int = 0
    # Set by a test to cancel the run as GitHub does: SIGINT to the running step's processes, then the
    # job is "cancelled" (steps run only under `always()`/`cancelled()`) and no later job starts.
    cancel: threading.Event = field(default_factory=threading.Event)
    cancel_delivered: bool = False  # GitHub signals once: the `always()` steps after a cancel run in peace

    def run(self, workflow: str, event_name: str, event: dict[str, Any], sha: str, *,
            ref: str = "refs/heads/main", inputs: dict[str, Any] | None = None) -> Run:
        document = yaml.safe_load((WORKFLOWS / workflow).read_text(encoding="utf-8"))
        self.runs += 1
        self.cancel_delivered = False
        run = Run(workflow, 1000 + self.runs)
        github = {"event_name": event_name, "event": event, "sha": sha, "ref": ref, "repository": self.repository,
                  "server_url": "https://github.test", "run_id": str(run.run_id), "token": self.secrets["GITHUB_TOKEN"],
                  "base_ref": (event.get("pull_request") or {}).get("base", {}).get("ref", ""),
                  "head_ref": (event.get("pull_request") or {}).get("head", {}).get("ref", "")}
        jobs: dict[str, Any] = document["jobs"]
        order = TopologicalSorter({name: set(_list(job.get("needs"))) for name, job in jobs.items()}).static_order()
        needs: dict[str, dict[str, Any]] = {}
        for name in order:
            job = jobs[name]
            if self.cancel.is_set():
                run.jobs[name] = "skipped"
                needs[name] = {"result": "skipped", "outputs": {}}
                continue
            results: list[str] = []
            outputs: dict[str, str] = {}
            for matrix in _matrix(job.get("strategy", {}).get("matrix")):
                context = {"github": github, "matrix": matrix, "secrets": self.secrets, "vars": self.variables,
                           "inputs": inputs or {}, "needs": {n: needs[n] for n in _list(job.get("needs"))},
                           "env": {}, "steps": {}}
                label = name + (json.dumps(matrix, sort_keys=True) if matrix else "")
                result = self._job(run, label, job, context, outputs)
                run.jobs[label] = result
                results.append(result)
            needs[name] = {"result": "failure" if "failure" in results else "cancelled" if "cancelled" in results else
                           ("skipped" if all(r == "skipped" for r in results) else "success"), "outputs": outputs}
        return run

    def _job(self, run: Run, label: str, job: dict[str, Any], context: dict[str, Any],
             outputs: dict[str, str]) -> str:
        needed = context["needs"]
        status = "failure" if any(n["result"] == "failure" for n in needed.values()) else "success"
        condition = job.get("if")
        if condition is None and status == "failure":
            return "skipped"
        if condition is not None and not evaluate(condition, context, status):
            return "skipped"
        workspace = self.root / f"run-{run.run_id}" / re.sub(r"[^\w.-]+", "_", label)
        workspace.mkdir(parents=True)
        files = {k: workspace.parent / f"{workspace.name}.{k}" for k in ("env", "output", "summary")}
        for path in files.values():
            path.touch()
        for step in job.get("steps", []):
            condition = step.get("if")
            run_it = evaluate(condition, context, status) if condition is not None else status == "success"
            if not run_it:
                continue
            code = self._step(run, label, step, context, workspace, files)
            if self.cancel.is_set():
                status = "cancelled"
            elif code != 0 and not step.get("continue-on-error"):
                status = "failure"
            step_id = step.get("id")
            if step_id:
                context["steps"][step_id] = {"outputs": _key_values(files["output"])}
            files["output"].write_text("")
        for key, expression in (job.get("outputs") or {}).items():
            outputs[key] = str(substitute(expression, context, status))
        run.summaries[label] = files["summary"].read_text(encoding="utf-8")
        return status

    def _step(self, run: Run, label: str, step: dict[str, Any], context: dict[str, Any], workspace: Path,
              files: dict[str, Path]) -> int:
        given = {k: substitute(v, context, "success") for k, v in (step.get("with") or {}).items()}
        uses = str(step.get("uses", "")).split("@")[0]
        name = step.get("name") or uses or step.get("run", "")[:40]
        if uses == "actions/checkout":
            target = workspace / str(given.get("path", "") or "")
            ref = str(given.get("ref") or context["github"]["sha"])
            _git("clone", "--quiet", str(self.origin), str(target))
            _git("-C", str(target), "fetch", "--quiet", "origin", "+refs/pull/*:refs/remotes/origin/pr/*")
            _git("-C", str(target), "checkout", "--quiet", "--detach", ref)
            return 0
        if uses == "actions/setup-python":
            return 0
        if uses == "actions/upload-artifact":
            return self._upload(run, given, workspace, context)
        if uses == "actions/download-artifact":
            return self._download(run, given, workspace)
        if uses:
            raise AssertionError(f"the test runner does not know {uses}")
        script = str(step["run"])
        if re.fullmatch(r"python -m pip install \S+\s*", script):
            return 0  # the tool under test is installed in this interpreter already
        env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "HOME": str(workspace),
               "PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "CI": "true", "GITHUB_ACTIONS": "true",
               "GITHUB_WORKSPACE": str(workspace), "GITHUB_REPOSITORY": self.repository,
               "GITHUB_API_URL": self.github_api, "GITHUB_SERVER_URL": "https://github.test",
               "GITHUB_RUN_ID": str(run.run_id), "GITHUB_SHA": context["github"]["sha"],
               "GITHUB_ENV": str(files["env"]), "GITHUB_OUTPUT": str(files["output"]),
               "GITHUB_STEP_SUMMARY": str(files["summary"]), **self.extra_env, **_key_values(files["env"])}
        env.update({k: _text(substitute(v, context, "success")) for k, v in (step.get("env") or {}).items()})
        code, stdout, stderr = self._shell(script, workspace, env)
        run.steps.append(StepResult(label, str(name), code, stdout, stderr))
        return code

    def _shell(self, script: str, workspace: Path, env: dict[str, str]) -> tuple[int, str, str]:
        """The step's bash, in a process group of its own so that a cancel reaches every process of it."""
        process = subprocess.Popen(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
                                   cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        for _ in range(int(STEP_TIMEOUT / CANCEL_POLL)):
            try:
                stdout, stderr = process.communicate(timeout=CANCEL_POLL)
                return process.returncode, stdout, stderr
            except subprocess.TimeoutExpired:
                if self.cancel.is_set() and not self.cancel_delivered:
                    os.killpg(process.pid, signal.SIGINT)
                    self.cancel_delivered = True
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"a step ran past {STEP_TIMEOUT} s: {script}\n{stdout}\n{stderr}")

    def _upload(self, run: Run, given: dict[str, Any], workspace: Path, context: dict[str, Any]) -> int:
        patterns = [p.strip() for p in str(given["path"]).splitlines() if p.strip()]
        found: dict[str, bytes] = {}
        for pattern in patterns:
            if pattern.endswith("/"):
                base = workspace / pattern
                found.update({p.name: p.read_bytes() for p in sorted(base.glob("*")) if p.is_file()} if base.is_dir()
                             else {})
            else:
                found.update({p.name: p.read_bytes() for p in sorted(workspace.glob(pattern)) if p.is_file()})
        if not found:
            return 0  # if-no-files-found: ignore (the workflows say so)
        event = context["github"]["event"]
        head = (event.get("pull_request") or {}).get("head", {}).get("sha") or context["github"]["sha"]
        self.artifacts.register(str(given["name"]), run.run_id, head, found)
        return 0

    def _download(self, run: Run, given: dict[str, Any], workspace: Path) -> int:
        target = workspace / str(given.get("path") or "")
        target.mkdir(parents=True, exist_ok=True)
        pattern = str(given.get("pattern") or given.get("name"))
        matched = {n: z for n, z in self.artifacts.fetch(run.run_id).items() if fnmatch.fnmatchcase(n, pattern)}
        if not matched:
            return 1  # download-artifact fails when nothing matches
        for artifact, files in matched.items():
            # merge-multiple (or one artifact by name): files straight into path; else a folder per artifact
            into = target if given.get("merge-multiple") or given.get("name") else target / artifact
            into.mkdir(parents=True, exist_ok=True)
            for member, data in files.items():
                (into / member).write_bytes(data)
        return 0


def _git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True, timeout=60)


def _list(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _matrix(spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not spec:
        return [{}]
    keys = [k for k in spec if k not in ("include", "exclude")]
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(spec[k] for k in keys))]


def _key_values(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV lines: NAME=value, or NAME<<DELIMITER ... DELIMITER."""
    found: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            found[name] = "\n".join(itertools.takewhile(delimiter.__ne__, lines))
        elif "=" in line:
            name, value = line.split("=", 1)
            found[name] = value
    return found


# --- expressions: the subset the workflows use ------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<op>\|\||&&|==|!=|!|\(|\))|(?P<word>[A-Za-z_][\w.-]*))")


def substitute(value: Any, context: dict[str, Any], status: str) -> Any:
    if not isinstance(value, str) or "${{" not in value:
        return value
    whole = re.fullmatch(r"\$\{\{(.*?)\}\}", value.strip(), re.S)
    if whole and value.count("${{") == 1:
        return evaluate(whole.group(1), context, status)
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _text(evaluate(m.group(1), context, status)), value)


def _text(value: Any) -> str:
    return "" if value is None else ("true" if value is True else "false" if value is False else str(value))


def evaluate(expression: str, context: dict[str, Any], status: str) -> Any:
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise AssertionError(f"the test runner cannot read {expression!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    parser = _Parser(tokens, context, status)
    value = parser.disjunction()
    assert parser.index == len(tokens), f"the test runner cannot read {expression!r}"
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], context: dict[str, Any], status: str) -> None:
        self.tokens, self.context, self.status, self.index = tokens, context, status, 0

    def _peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def disjunction(self) -> Any:
        value = self.conjunction()
        while self._peek() == "||":
            self.index += 1
            other = self.conjunction()
            value = value or other
        return value

    def conjunction(self) -> Any:
        value = self.comparison()
        while self._peek() == "&&":
            self.index += 1
            other = self.comparison()
            value = value and other
        return value

    def comparison(self) -> Any:
        value = self.unary()
        if self._peek() in ("==", "!="):
            op = self.tokens[self.index][1]
            self.index += 1
            other = self.unary()
            return (_text(value) == _text(other)) == (op == "==")
        return value

    def unary(self) -> Any:
        if self._peek() == "!":
            self.index += 1
            return not self.unary()
        if self._peek() == "(":
            self.index += 1
            value = self.disjunction()
            assert self._peek() == ")"
            self.index += 1
            return value
        kind, word = self.tokens[self.index]
        self.index += 1
        if kind == "string":
            return word[1:-1].replace("''", "'")
        if word in ("true", "false"):
            return word == "true"
        if self._peek() == "(":
            assert self.tokens[self.index + 1][1] == ")", "only functions without arguments"
            self.index += 2
            return {"success": self.status == "success", "failure": self.status == "failure",
                    "always": True, "cancelled": self.status == "cancelled"}[word]
        value: Any = self.context
        for part in word.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value
