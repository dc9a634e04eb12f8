"""The `provision` console script: hand the command to a warm server when one runs for this copy of the
tool (`provision warm start`), else run it here, cold. Imports nothing but the standard library until
it knows which: a warm command costs the interpreter's start and a few system calls.

`python -m provisioner.launch serve SOCKET IDLE_SECONDS` is the warm server's own process, which
`provision warm start` starts (docs/warm.md).
"""

from __future__ import annotations

import sys


def main() -> None:
    from provisioner.warm import client

    status = client.run(sys.argv[1:])
    if status is not None:
        sys.exit(status)
    from provisioner.cli.main import main as cold

    cold()


def warm_up() -> None:
    """Import everything a command may import: the whole package, and the libraries its functions
    import when first called; build what comes of the package's files alone. Nothing is read from a
    project or the environment: a command's process starts from this state, in its own folder, with its
    own environment."""
    import importlib
    import pkgutil

    import provisioner

    for module in pkgutil.walk_packages(provisioner.__path__, "provisioner."):
        if not module.name.endswith("__main__"):  # `python -m provisioner.cli` would run the CLI
            importlib.import_module(module.name)
    for library in ("graphql", "gql", "deepdiff", "filelock", "multiprocessing.connection", "concurrent.futures"):
        importlib.import_module(library)
    # Built from the package's own files, once per process, by whichever command first needs them: the
    # bundled schema and every operation validated against it (a write, a cold cache), the emulator's
    # schema (the sandbox).
    from provisioner.centra import operations
    from provisioner.sandbox import app

    for name in operations.names():
        operations.load(name)
    app.schema()


def serve(argv: list[str]) -> None:
    import gc

    from provisioner.cli.main import main as cold
    from provisioner.warm import server, wire

    path, idle_seconds = argv[0], float(argv[1])
    if path != wire.socket_path():
        raise SystemExit(f"{path} is not the socket of this interpreter and copy of the tool")
    imported = server.fingerprint()
    warm_up()
    gc.collect()
    gc.freeze()  # what every command inherits, out of its collections, its pages shared with the server
    server.Server(path, idle_seconds, cold, imported=imported).serve()


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"] and len(sys.argv) == 4:
        serve(sys.argv[2:])
    else:
        raise SystemExit("usage: python -m provisioner.launch serve SOCKET IDLE_SECONDS")
