"""Onboarding and keeping a merchant live, each command over the plan and apply rooms: `verify` and
`doctor` (live checks), `handover` (what Global-e needs), `rotate` and `lifetime` (tokens),
`secret_new`, `export` (a store as a merchant file), `catalog` (the catalog CSV for Global-e) and
`sandbox_reset`."""

__all__ = ["catalog", "doctor", "export", "handover", "lifetime", "rotate", "sandbox_reset", "secret_new",
           "verify"]
