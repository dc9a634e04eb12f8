"""The comments and issues the workflows keep on GitHub, each found again by two things a stranger cannot
forge: it was written by the workflow's own identity (`Repository.login`), and its body starts with our
hidden marker. A marker elsewhere in a body (quoted, or inside a name) finds nothing; the label on an
issue is for people and finds nothing either, so removing it never yields a duplicate."""

from __future__ import annotations

import re
from typing import Any

from provisioner.errors import ProvisionerError
from provisioner.gitops.rest import Repository, Session, using

__all__ = ["DRIFT_LABEL", "Repository", "find_issue", "keep_issue", "marker_of", "notice", "upsert_comment",
           "upsert_issue"]

DRIFT_LABEL = "provision-drift"
_MARKER = re.compile(r"<!-- provision:[a-z-]+(?: [a-z_]+=[A-Za-z0-9_.:/-]+)* -->")


def marker_of(body: str) -> str:
    """The marker a body starts with (our renderers write it first; foreign text never can)."""
    found = _MARKER.match(body)
    if found is None:
        raise ProvisionerError("the body does not start with a provision marker (<!-- provision:… -->); write "
                               "it with `provision plan --format markdown` or `provision report`")
    return found.group(0)


def notice(marker: str, text: str) -> str:
    """A body that replaces a report when the run that should have written it failed."""
    if _MARKER.fullmatch(marker) is None:
        raise ProvisionerError(f"not a provision marker: {marker[:80]!r}")
    return f"{marker}\n{text}\n"


def _ours(item: dict[str, Any], repository: Repository, marker: str) -> bool:
    user = item.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    body = item.get("body")
    return login == repository.login and isinstance(body, str) and body.startswith(marker)


def upsert_comment(repository: Repository, number: int, body: str, *, session: Session | None = None) -> str:
    """Update the pull request's comment of ours that starts with the body's marker, or add one."""
    marker = marker_of(body)
    with using(repository, session) as github:
        path = f"{github.prefix}/issues/{number}/comments"
        existing = next((c for c in github.items(path) if _ours(c, repository, marker)), None)
        if existing is not None:
            github.object("PATCH", f"{github.prefix}/issues/comments/{int(existing['id'])}", json={"body": body})
            return f"updated comment {int(existing['id'])} on #{number}"
        created = github.object("POST", path, json={"body": body})
        return f"added comment {created.get('id')} on #{number}"


def find_issue(github: Session, marker: str) -> dict[str, Any] | None:
    """Our issue for `marker`, open or closed (an open one first, else the newest)."""
    found = [i for i in github.items(f"{github.prefix}/issues", {"state": "all", "creator": github.repository.login})
             if "pull_request" not in i and _ours(i, github.repository, marker)]
    found.sort(key=lambda i: (i.get("state") == "open", int(i.get("number") or 0)), reverse=True)
    return found[0] if found else None


def keep_issue(repository: Repository, title: str, body: str, *, open_: bool, label: str | None = None,
               session: Session | None = None) -> str:
    """One issue per marker: opened (or reopened) and updated while `open_`, closed once it is not."""
    marker = marker_of(body)
    with using(repository, session) as github:
        existing = find_issue(github, marker)
        if existing is None:
            if not open_:
                return "nothing to report, no issue open"
            fields: dict[str, Any] = {"title": title, "body": body}
            if label:
                fields["labels"] = [label]
            created = github.object("POST", f"{github.prefix}/issues", json=fields)
            return f"opened issue #{created.get('number')}"
        number = int(existing["number"])
        was_open = existing.get("state") == "open"
        if not open_ and not was_open:
            return f"nothing to report; issue #{number} stays closed"
        update: dict[str, Any] = {"title": title, "body": body, "state": "open" if open_ else "closed"}
        github.object("PATCH", f"{github.prefix}/issues/{number}", json=update)
        if open_:
            return f"{'updated' if was_open else 'reopened'} issue #{number}"
        return f"closed issue #{number}"


def upsert_issue(repository: Repository, title: str, body: str, *, drifted: bool) -> str:
    """The drift issue: open while stores drift (or merchants fail to plan), closed once they match."""
    return keep_issue(repository, title, body, open_=drifted, label=DRIFT_LABEL)
