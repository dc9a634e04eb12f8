"""What is recorded about a store between runs: the attestation ledger (keyed hashes of confirmed
settings, committed under state/) and the apply journal (what a run did, so the next one never creates
anything twice). Read by planning, written by apply and attest; imports nothing else of the engine."""

__all__ = ["journal", "ledger"]
