"""One merchant planned: connect to its target (`target`), read every managed section in one query
(`live`), compare with the desired state (`diff`), collect the changes, fingerprints and bindings
(`model`), check the policies (`policies`); `planning` runs these in order, and `document` is the JSON
form of one plan or a fleet's. Nothing here writes to a store."""

__all__ = ["diff", "document", "live", "model", "planning", "policies", "target"]
