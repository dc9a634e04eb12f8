"""The pull request as the record: GitHub's REST API (comments, issues, job summaries) for the workflows
in .github/workflows/. It sits above the engine and the renderers and is used only by the CLI."""

__all__ = ["github"]
