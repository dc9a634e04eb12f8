"""The score per module, and the mutants that survive, each with its place and change: what a test is
missing for (docs/testing.md explains how to read it)."""

from __future__ import annotations

import json
from typing import Any

from scripts.mutation.runner import KILLED, NOT_COVERED, SURVIVED, TIMEOUT, ModuleResult, MutantResult


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def table(modules: list[ModuleResult]) -> str:
    header = ("module", "mutants", "killed", "survived", "not covered", "timeouts", "score", "time")
    rows = [header] + [
        (m.name, str(len(m.results)) + (f"/{m.generated}" if m.generated != len(m.results) else ""),
         str(m.count(KILLED, TIMEOUT)), str(m.count(SURVIVED)), str(m.count(NOT_COVERED)), str(m.count(TIMEOUT)),
         f"{m.score:.1f} %", _duration(m.seconds))
        for m in modules]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                       for column, (cell, width) in enumerate(zip(row, widths, strict=True))) for row in rows]
    return "\n".join(lines)


def _mutant_line(result: MutantResult) -> str:
    tests = f"{result.tests} tests ran it" if result.tests else "no test runs it"
    return (f"  {result.mutant.location}: {result.mutant.change}  [{result.mutant.operator}; {tests}]\n"
            f"      {result.line_text}")


def text(modules: list[ModuleResult]) -> str:
    parts = ["Mutation score per module (each mutant run against the tests that cover its line; "
             "killed includes timeouts):", "", table(modules)]
    for title, status in (("Surviving mutants: tests run the line and still pass", SURVIVED),
                          ("Not covered: no test runs the line", NOT_COVERED)):
        found = [r for m in modules for r in m.results if r.status == status]
        if found:
            parts += ["", f"{title} ({len(found)}):", *(_mutant_line(r) for r in found)]
    timeouts = [r for m in modules for r in m.results if r.status == TIMEOUT]
    if timeouts:
        parts += ["", f"Killed by timeout ({len(timeouts)}): the mutant made the tests hang",
                  *(f"  {r.mutant.location}: {r.mutant.change}" for r in timeouts)]
    late = [r for m in modules for r in m.results if r.whole_suite]
    if late:
        parts += ["", f"Killed only by the whole suite ({len(late)}): the covering tests missed these",
                  *(f"  {r.mutant.location}: {r.mutant.change} (by {r.killed_by})" for r in late)]
    excluded = sorted({test for m in modules for test in m.excluded_tests})
    if excluded:
        parts += ["", f"Tests left out because they fail without any mutant ({len(excluded)}):",
                  *(f"  {test}" for test in excluded)]
    return "\n".join(parts)


def as_json(modules: list[ModuleResult]) -> str:
    def mutant(result: MutantResult) -> dict[str, Any]:
        m = result.mutant
        return {"path": m.path, "line": m.line, "operator": m.operator, "before": m.before, "after": m.after,
                "status": result.status, "tests": result.tests, "seconds": round(result.seconds, 2),
                "killed_by": result.killed_by, "whole_suite": result.whole_suite}

    return json.dumps([{"module": m.name, "path": m.path, "generated": m.generated, "mutants": len(m.results),
                        "killed": m.count(KILLED, TIMEOUT), "survived": m.count(SURVIVED),
                        "not_covered": m.count(NOT_COVERED), "timeouts": m.count(TIMEOUT),
                        "score": round(m.score, 1), "seconds": round(m.seconds, 1),
                        "excluded_tests": m.excluded_tests, "results": [mutant(r) for r in m.results]}
                       for m in modules], indent=2)
