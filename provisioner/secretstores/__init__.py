"""Secret stores: where a created token's value is kept for later, beyond the job that created it.

A sink spec names a store (`spec.open_store`): `github:repo` (GitHub Actions repository secrets),
`github:env/ENVIRONMENT` (the secrets of one GitHub Actions environment) or `aws-sm:PREFIX` (AWS Secrets
Manager, each secret named `PREFIX/NAME`). Every store answers in words safe to print, never the value:
`where(name)` says where a name would go (two names with the same answer share a place), `check()`
proves before anything is created that the store is reachable and the credentials can write, and
`put(name, value)` stores the value and says where it went.

A tier of its own beside `centra`: it imports only the leaves (errors, escape) and well-kept libraries
(httpx, PyNaCl, boto3), so the engine's sinks can use it and nothing here reaches back up."""

__all__ = ["base", "github_api", "spec"]
