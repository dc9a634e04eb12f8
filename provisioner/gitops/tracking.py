"""One issue per environment listing the merchants whose merged changes were not applied and wait for a
person: their reviewed plan no longer held (the store or the file moved), there was none, or a deletion
needs the opt-in label. The list is kept in the issue itself (ours, found by marker and author), so the
record of applied commits can move on without losing them; the reviewed re-plan workflow takes them from
here, and the issue closes once the list is empty."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from provisioner.escape import md_code, md_text
from provisioner.gitops import github
from provisioner.gitops.rest import Repository, Session

_DATA = re.compile(r"^<!-- provision:waiting-data (\{.*?\}) -->$", re.M)
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")


def marker(environment: str) -> str:
    return f"<!-- provision:waiting environment={re.sub(r'[^A-Za-z0-9_.-]', '_', environment)} -->"


@dataclass(frozen=True)
class Waiting:
    merchant: str
    reason: str
    pull: int | None = None


def read(github_session: Session, environment: str) -> dict[str, Waiting]:
    issue = github.find_issue(github_session, marker(environment))
    if issue is None or issue.get("state") != "open":
        return {}
    found = _DATA.search(str(issue.get("body") or ""))
    if found is None:
        return {}
    try:
        data = json.loads(found.group(1))
    except ValueError:
        return {}
    waiting: dict[str, Waiting] = {}
    for name, entry in data.items() if isinstance(data, dict) else []:
        if _NAME.fullmatch(str(name)) and isinstance(entry, dict):
            pull = entry.get("pull")
            waiting[name] = Waiting(name, str(entry.get("reason") or ""), pull if isinstance(pull, int) else None)
    return waiting


def body(environment: str, waiting: dict[str, Waiting], run_url: str | None) -> str:
    data = json.dumps({w.merchant: {"reason": w.reason[:500], "pull": w.pull} for w in waiting.values()},
                      sort_keys=True, ensure_ascii=True).replace("-", "\\u002d")  # nothing can close the comment
    lines = [marker(environment), f"<!-- provision:waiting-data {data} -->",
             f"## Merged changes waiting for a person · {md_text(environment)}", ""]
    if not waiting:
        lines.append("Nothing is waiting: every merged change was applied.")
    else:
        lines += ["These merchants' merged changes were **not applied**. For each, run the *reviewed apply* "
                  "workflow: it plans afresh, shows the plan in its summary, and applies exactly that plan once "
                  "the environment's reviewers approve.", "",
                  "| merchant | pull request | why |", "|---|---|---|"]
        lines += [f"| {md_code(w.merchant, in_table=True)} | {f'#{w.pull}' if w.pull else '—'} | "
                  f"{md_text(w.reason).replace('|', '&#124;')} |" for w in sorted(waiting.values(),
                                                                                  key=lambda w: w.merchant)]
    if run_url:
        lines += ["", f"Last updated by {md_text(run_url)}."]
    return "\n".join(lines) + "\n"


def update(repository: Repository, environment: str, waiting: dict[str, Waiting], *, run_url: str | None = None,
           session: Session | None = None) -> str:
    return github.keep_issue(repository, f"provision: merged changes waiting in {environment}",
                             body(environment, waiting, run_url), open_=bool(waiting), session=session)
