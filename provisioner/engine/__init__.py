"""The engine: everything between a resolved merchant file and a changed store, in rooms by concern.

- `state/`     what is recorded about a store between runs: attestation ledgers, apply journals.
- `plan/`      one merchant planned: connect, read live, diff, policies, the plan and its JSON document.
- `apply/`     one merchant applied: executors (API, runbook, attestation), locks, secret sinks.
- `fleet/`     many merchants: selection by name, tier and shard; concurrent plans; a document applied.
- `lifecycle/` onboarding and keeping a merchant live: verify, doctor, handover, rotate, export, catalog.

`limits.py` holds the numbers `--help` shows, so a command's help imports it and nothing else here.
Each room's `__all__` names the modules other packages may import; the rest are private to the room
(tests/test_layers.py holds both rules)."""
