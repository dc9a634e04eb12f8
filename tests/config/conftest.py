"""Fixtures shared with other suites: a store served over HTTP on 127.0.0.1 for a real (non-sandbox)
environment of acme, and the planted secrets to scan outputs for (tests/config/test_secrets_served.py)."""

from tests.adversarial.conftest import served_acme  # noqa: F401 - fixtures
from tests.engine.conftest import outputs, project  # noqa: F401
