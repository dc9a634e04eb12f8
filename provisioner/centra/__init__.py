"""The Centra Integration API: what other packages use of it. The client's transport (`transport`,
`retries`, `deadlines`), its reply checks (`replies`) and errors (`failures`) are its own; `client`
re-exports the names callers need, `prepared` is an operation in plain form (what a warm plan sends
without graphql-core), and `wire` gives a fleet run's shared pool the client's limits."""

__all__ = ["capabilities", "client", "introspection", "operations", "pacing", "prepared", "wire"]
