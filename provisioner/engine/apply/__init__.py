"""One merchant applied: `merchant` runs a plan under the merchant's lock (`locking`), hands each change
to its executor (`executors` for the API, `runbook` for steps a person does in AMS, `attest` for what
only a person can confirm) and delivers every created secret to a sink (`sinks`)."""

__all__ = ["attest", "executors", "locking", "merchant", "runbook", "sinks"]
