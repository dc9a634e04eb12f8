"""The GitOps flow of one pull request touching 300 merchants, each with its own Centra emulator served on
127.0.0.1 (in another process, as in bench_fleet.py) with injected latency: the PR's plan over the
4-shard matrix, the shards merged into the comment a reviewer reads, then the merge applying that exact
document, and the job summary written. Prints each stage's wall time and the sizes GitHub limits: the
comment must stay within 65,536 characters and the job summary within 1 MiB, the riskiest changes first.

    python bench/bench_gitops.py [--merchants 300] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_fleet import MERCHANT  # noqa: E402 - after the path is set for a plain `python bench/...`

from bench.emulators import served  # noqa: E402
from provisioner.engine.apply import merchant as applying  # noqa: E402
from provisioner.engine.fleet import applier  # noqa: E402
from provisioner.engine.fleet import planner as fleet  # noqa: E402
from provisioner.engine.fleet.selection import Shard  # noqa: E402
from provisioner.engine.plan import document as documents  # noqa: E402
from provisioner.gitops import report  # noqa: E402
from provisioner.gitops.outcomes import Outcome, Run  # noqa: E402
from provisioner.render import job_summary, markdown  # noqa: E402

COMMENT_LIMIT = 65_536  # characters: GitHub refuses a longer comment
SUMMARY_LIMIT = 1024 * 1024  # bytes: GitHub refuses a longer step summary
SHARDS = 4
# The emulators' stores have no checkout plugin (bench_fleet plans, it does not apply): waived, so the
# merge can apply every merchant.
WAIVER = "policy: {waivers: [{rule: global-e.checkout-plugin, reason: the bench's stores sell offline}]}\n"


def flow(directory: Path, endpoints: list[dict[str, object]]) -> None:
    project = directory / "project"
    (project / "merchants").mkdir(parents=True)
    for number, endpoint in enumerate(endpoints):
        name = f"m{number:03d}"
        (project / "merchants" / f"{name}.yaml").write_text(
            MERCHANT.format(name=name, merchant_id=1000 + number, port=endpoint["port"], number=number) + WAIVER)
        os.environ[f"BENCH_TOKEN_{number}"] = str(endpoint["token"])
    os.environ["BENCH_ORDER_SECRET"] = "bench-order-secret"
    os.chdir(project)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    shards = [fleet.plan_fleet(fleet.FleetRequest(environment="qa", every=True, shard=Shard(i, SHARDS)))
              for i in range(1, SHARDS + 1)]
    timings["plan (4 shards, one after another)"] = time.perf_counter() - started

    started = time.perf_counter()
    Shard.check_complete([s.shard for s in shards], SHARDS)
    merged = documents.merge(shards)
    merged.write(project / "plan-qa.json")
    comment = markdown.render(merged, plan_at="the artifact plan-qa of this run")
    timings["report and comment"] = time.perf_counter() - started

    started = time.perf_counter()
    reviewed = documents.read(project / "plan-qa.json")
    applied = applier.apply_document(reviewed, project / "plan-qa.json", applying.Options(auto_approve=True))
    timings["apply the reviewed document"] = time.perf_counter() - started

    started = time.perf_counter()
    run = Run("qa", "0" * 40, None)
    for result in applied.results:
        if result.error is not None:
            run.outcomes.append(Outcome(result.merchant, "failed", result.error.reason,
                                        exit_code=result.error.exit_code))
        elif result.report is not None:
            run.outcomes.append(Outcome(result.merchant, "applied", done=list(result.report.done),
                                        secrets=list(result.report.secrets)))
    summary = report.summary(run) + job_summary.render(sorted(Path("out").glob("*.runbook.md")))
    timings["job summary"] = time.perf_counter() - started

    failed = sum(1 for o in run.outcomes if o.status == "failed")
    print(f"{len(endpoints)} merchants, {len(merged.plans)} plans, {failed} failed to apply")
    for stage, seconds in timings.items():
        print(f"  {stage:<40}{seconds:>8.2f} s")
    print(f"  {'whole flow':<40}{sum(timings.values()):>8.2f} s")
    first = next((line for line in comment.splitlines()[1:] if line.strip()), "")
    print(f"comment: {len(comment):,} characters (limit {COMMENT_LIMIT:,}) "
          f"{'OK' if len(comment) <= COMMENT_LIMIT else 'OVER THE LIMIT'}; it opens with: {first[:100]}")
    size = len(summary.encode("utf-8"))
    verdict = "OK" if size <= SUMMARY_LIMIT else "OVER THE LIMIT"
    print(f"job summary: {size:,} bytes (limit {SUMMARY_LIMIT:,}) {verdict}")
    if len(comment) > COMMENT_LIMIT or size > SUMMARY_LIMIT or failed:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--merchants", type=int, default=300)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, \
            served(ROOT / "bench" / "bench_fleet.py", args.merchants, scratch, args.latency_ms) as server:
        assert server.stdout is not None
        endpoints = json.loads(server.stdout.readline())
        print(f"{args.merchants} emulators served, {args.latency_ms} ms latency each")
        flow(Path(scratch), endpoints)


if __name__ == "__main__":
    main()
