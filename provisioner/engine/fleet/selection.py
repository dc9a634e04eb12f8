"""Which merchants a fleet run covers, and in which of their environments.

Merchants are chosen by name, `--all`, or `--changed-since REF` (their file changed since the fork point
with REF, or a preset they use did). `--env` names an environment or a tier: a merchant's environment of
that name if it has one, else every environment of that tier (the implicit sandbox only by name), so
`--env prod` covers merchants that call production `production` or `live`. A merchant with no match is
skipped, not failed. `--shard I/N` then keeps the merchants whose name hashes to shard I."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from provisioner import config
from provisioner.config import environments as envs
from provisioner.config import resolve
from provisioner.config.yamlnodes import get
from provisioner.engine.plan.document import Skipped
from provisioner.errors import ProvisionerError

TIERS = ("qa", "prod")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as CI matrices count
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ProvisionerError(f"--shard takes I/N, like 1/4 (not {text!r})") from None
        if not 1 <= index <= count:
            raise ProvisionerError(f"--shard {text}: I must be between 1 and N")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @staticmethod
    def check_complete(shards: list[str | None], expected: int) -> None:
        """Every shard 1..expected present exactly once: a report of fewer would look like a whole fleet."""
        present = sorted(s for s in shards if s is not None)
        missing = [f"{i}/{expected}" for i in range(1, expected + 1) if f"{i}/{expected}" not in present]
        foreign = [s for s in present if not s.endswith(f"/{expected}")]
        if missing or foreign or len(present) != len(shards):
            said = ", ".join(missing) or "none"
            raise ProvisionerError(f"the report needs shards 1..{expected}; missing: {said}"
                                   + (f"; unexpected: {', '.join(foreign)}" if foreign else "")
                                   + ("; a document that is not a shard was given" if len(present) != len(shards)
                                      else "")
                                   + " (a plan job failed or was cancelled: see its log); no report was made")

    def holds(self, merchant: str) -> bool:
        # A hash of the name, not its place in a list: adding a merchant moves no other one.
        digest = hashlib.sha256(merchant.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


@dataclass
class Choice:
    """One merchant file against the environment asked for: its environments to plan, or why none."""

    merchant: str
    source: resolve.MerchantSource | None = None  # resolving only reads it, so its environments share it
    environments: list[str] = field(default_factory=list)
    skipped: Skipped | None = None
    broken: ProvisionerError | None = None  # the file does not load
    known: list[str] = field(default_factory=list)  # every environment it has


def named(names: list[str]) -> list[Path]:
    return [config.merchant_path(name) for name in names]


def every() -> list[Path]:
    """Every merchant file. None at all, from a sub-folder of the project, is a mistake, not an empty
    fleet that passes: the run says where the project is."""
    files = config.merchant_files([])
    root = config.project_above() if not files else None
    if root is not None:
        raise ProvisionerError(f"no merchant files in {config.MERCHANTS_DIR}/ here; the project is {root} (run "
                               f"from there, or `provision -C {root} ...`)")
    return files


def git(*args: str) -> str:
    """git's output, or one line saying why not (the commits a run compares live in git)."""
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProvisionerError(f"this needs git: {exc}") from None
    if done.returncode != 0:
        raise ProvisionerError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout


def changed_paths(ref: str) -> set[PurePosixPath]:
    """Files changed since the fork point with REF, including uncommitted and new files, from the
    current directory (paths relative to it)."""
    base = git("merge-base", ref, "HEAD").strip()
    listed = git("diff", "--name-only", "--relative", base, "--") + git("ls-files", "--others", "--exclude-standard")
    return {PurePosixPath(line) for line in listed.splitlines() if line.strip()}


def presets_of(source: resolve.MerchantSource) -> set[str]:
    node = get(source.root, "presets")
    return {str(item.value) for item in node.value if isinstance(item, yaml.ScalarNode)} \
        if isinstance(node, yaml.SequenceNode) else set()


def changed_since(ref: str) -> list[Path]:
    """Merchant files changed since REF, and the files of every merchant using a preset that changed
    (a changed `presets/NAME.yaml` anywhere in the checkout, the tool's own presets included)."""
    changed = changed_paths(ref)
    directory = PurePosixPath(config.MERCHANTS_DIR.as_posix())
    merchants = {p for p in changed if p.parent == directory and p.suffix == ".yaml"}
    presets = {p.stem for p in changed if p.parent.name == "presets" and p.suffix == ".yaml"}
    selected = [Path(p) for p in sorted(merchants) if Path(p).is_file()]
    for path in every():
        if path in selected or not presets:
            continue
        try:
            uses = presets_of(resolve.load(path))
        except ProvisionerError:
            continue  # a broken file that did not change is not this change's doing
        if uses & presets:
            selected.append(path)
    return sorted(selected)


def _declared_tier(source: resolve.MerchantSource, environment: str) -> str | None:
    node = get(get(get(source.root, "environments"), environment), "tier")
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def matching(source: resolve.MerchantSource, wanted: str) -> list[str]:
    names = source.environment_names()
    if wanted in names:
        return [wanted]
    if wanted not in TIERS:
        return []
    return [name for name in names if name != envs.SANDBOX
            and envs.tier_for(name, _declared_tier(source, name)) == wanted]


def in_shard(paths: list[Path], shard: Shard | None) -> list[Path]:
    """The merchant files of this shard, in name order."""
    return [path for path in sorted(set(paths), key=lambda p: p.stem) if shard is None or shard.holds(path.stem)]


def choose(path: Path, wanted: str) -> Choice:
    merchant = path.stem
    try:
        source = resolve.load(path)
    except ProvisionerError as exc:
        return Choice(merchant, broken=exc)
    found = matching(source, wanted)
    choice = Choice(merchant, source, found, known=source.environment_names())
    if not found:
        has = ", ".join(n for n in source.environment_names() if n != envs.SANDBOX) or "only the sandbox"
        choice.skipped = Skipped(merchant=merchant, reason=f"no environment matches '{wanted}' (has: {has})")
    return choice


def check_environment(wanted: str, choices: list[Choice]) -> None:
    """Every merchant lacking the environment, which is no tier either: a typo, not a fleet with gaps."""
    if wanted in TIERS or any(c.environments for c in choices) or not any(c.skipped for c in choices):
        return
    if all(wanted not in c.known for c in choices):
        raise ProvisionerError(f"no selected merchant has an environment '{wanted}' (nor is it a tier: "
                               f"{', '.join(TIERS)})")
