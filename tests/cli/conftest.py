"""The engine tests' fixtures (example merchants with planted secrets, recorded outputs), for CLI tests."""

from tests.engine.conftest import outputs, project  # noqa: F401 - fixtures
