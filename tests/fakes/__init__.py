"""Fakes of outside services (GitHub REST API) served on 127.0.0.1 for tests."""
