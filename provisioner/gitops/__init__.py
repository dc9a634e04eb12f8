"""The pull request as the record, for the workflows in .github/workflows/: GitHub's REST API (`rest`),
our comments and issues found by author and marker (`github`), the merge applying exactly the reviewed
plans (`merge`, with `reviewed` finding them and `record` keeping the last commit applied per
environment), the merchants waiting for a person (`tracking`) and their reviewed way forward (`settle`).
It sits above the engine and the renderers and is used only by the CLI."""

__all__ = ["github", "merge", "outcomes", "report", "rest", "settle", "tracking"]
