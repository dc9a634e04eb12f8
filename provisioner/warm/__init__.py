"""A warm server: one process per user and installation that has imported the tool once, and forks a
fresh copy of itself for each command, so that a command run all day (`provision plan acme --env qa`)
pays for its work, not for the interpreter's imports. Opt-in: `provision warm start`.

- wire.py: where the server listens and how a client and it talk (stdlib only: the launcher imports it
  before anything else);
- client.py: the launcher's side: hand the command, its terminal and its environment to the server,
  pass signals on, exit as the command did; or say that the command must start cold;
- server.py: the server: accept, check that the tool on disk is still the one imported, fork;
- control.py: start, stop and ask after the server (`provision warm ...`).

How it works and what it guarantees: docs/warm.md.
"""
