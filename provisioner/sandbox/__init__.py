"""The sandbox: a Centra emulator built from `centra/schema.graphql`, backed by SQLite.

Faithful, not generous: the GraphQL surface can do exactly what Centra's public Integration API can.
What a person does in AMS lives behind `/_sandbox/` (see `ams.py`), which the real-Centra code path
never uses.
"""
