"""Fixtures for the push: a simulated provincial platform with its connections set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.province.faults import FaultConfig
from simulators.province.provision import Provisioned, provision
from tests.conftest import ADMIN_URI

FAST_CLIENT = {"timeout": 2.0, "backoff_base": 0.05, "backoff_max": 0.5, "max_attempts": 12, "max_retry_after": 2}


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Provisioned]:
    """A simulated platform served from a thread (quota 20 req/s, no faults), connections set."""
    import uuid

    running = provision(
        ADMIN_URI, f"sim_province_{uuid.uuid4().hex[:8]}", FaultConfig(), client=FAST_CLIENT, in_thread=True
    )
    for key, value in running.env.items():
        monkeypatch.setenv(key, value)
    yield running
    running.stop()
