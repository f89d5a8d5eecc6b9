"""The provincial client retries by the same policy, under the same setting names, as the department APIs."""

from __future__ import annotations

import json
import logging

import pytest

from connectors.rest_client import RetryPolicy
from hub.push.provincial_client import ClientSettings, settings_from_connection


def _platform(monkeypatch: pytest.MonkeyPatch, **extra: float) -> ClientSettings:
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": 1, "login": "app", "password": "secret", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_TOY_PLATFORM", json.dumps(conn))
    return settings_from_connection("toy_platform")


def test_the_connection_extras_make_the_shared_retry_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _platform(monkeypatch).retry == RetryPolicy(max_attempts=8, backoff_base=0.5, backoff_max=30.0)
    settings = _platform(monkeypatch, max_attempts=3, backoff_base=0.1, backoff_max=0.4)
    assert settings.retry == RetryPolicy(max_attempts=3, backoff_base=0.1, backoff_max=0.4)
    assert all(0 <= settings.retry.delay(attempt, None) <= 0.4 for attempt in range(1, 20))


def test_the_old_name_backoff_cap_still_counts_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hub.push.provincial_client"):
        assert _platform(monkeypatch, backoff_cap=2.0).retry.backoff_max == 2.0
    assert "'backoff_cap' is now called 'backoff_max'" in caplog.text
