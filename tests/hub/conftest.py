"""Fixtures of the ``hub`` package tests."""

from __future__ import annotations

import pytest

from hub.store.migrate import migrate
from tests.conftest import fresh_database


@pytest.fixture(scope="module")
def module_store() -> str:
    """A freshly migrated store shared by a test module (e.g. by its ``hub`` processes)."""
    uri = fresh_database("cli")
    migrate(uri)
    return uri
