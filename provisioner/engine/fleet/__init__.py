"""Many merchants at once: `selection` chooses merchants and their environments (names, tiers,
`--changed-since`, shards); `planner` plans them concurrently under per-host and run-wide caps (through
the private `hosts` gates and, for a large fleet, `processes`); `applier` applies a plan document
merchant by merchant; `at_once` runs merchants at once for a caller with outcomes of its own (a GitOps
apply)."""

__all__ = ["applier", "at_once", "planner", "selection"]
