"""An HTTP client for token-protected department APIs: bearer token, refresh on 401, bounded retries.

The token comes from ``POST {base}{token_path}`` with ``{"app_id", "app_secret"}`` and is
reused until shortly before its ``expires_in``; a ``401`` on a data request gets one fresh token
and a retry. ``429``, ``502``, ``503``, ``504``, timeouts and refused connections are retried with
exponential backoff and full jitter, never sooner than the server's ``Retry-After``, up to
``max_attempts`` in all; then a :class:`connectors.base.SourceError` names the source, the page
and the last problem. Other statuses fail at once. Messages never carry response bodies (they
may hold personal data), only statuses and the server's error code.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from connectors.base import SourceError

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 600.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure.

    Attributes:
        max_attempts: Attempts per request in all (the first one included).
        backoff_base: Seconds of the first backoff ceiling; it doubles per attempt.
        backoff_max: Largest backoff ceiling (a longer ``Retry-After`` is still honoured).
    """

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): full jitter, at least Retry-After."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return max(random.uniform(0, ceiling), min(retry_after or 0.0, MAX_RETRY_AFTER))


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (delta-seconds or an HTTP date) in seconds; ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class TokenApiClient:
    """A ``requests.Session`` against one API, holding its bearer token.

    Attributes:
        source: Source name, for messages.
        base_url: ``scheme://host:port[/prefix]`` without a trailing slash.
        app_id: Application id for the token request.
        app_secret: Application secret for the token request.
        token_path: Path of the token endpoint.
        timeout: Read timeout in seconds (a slow page past it is retried).
        connect_timeout: Connect timeout in seconds.
        retry: The retry policy.
        verify: TLS verification (``requests``' ``verify``).
        sleep: Waiting function (tests may record the waits).
    """

    source: str
    base_url: str
    app_id: str
    app_secret: str = field(repr=False)
    token_path: str = "/api/v1/token"
    timeout: float = 60.0
    connect_timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify: bool | str = True
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    _token: str | None = field(default=None, repr=False)
    _token_expires: float = 0.0
    stats: dict[str, int] = field(default_factory=lambda: {"tokens": 0, "retries": 0, "refreshes": 0})

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()

    def get_json(self, path: str, params: dict[str, Any], where: str) -> Any:
        """``GET`` a JSON document with the bearer token, refreshing it once on ``401``.

        Args:
            path: Path under the base URL.
            params: Query parameters (``None`` values are left out).
            where: What is being read, e.g. ``insured-persons page 12``, for messages.

        Raises:
            SourceError: when the request cannot succeed; names the source and ``where``.
        """
        refreshed = False
        while True:
            token = self._bearer(where)
            response = self._send(
                "GET",
                path,
                where,
                params={k: v for k, v in params.items() if v is not None},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
            if response.status_code == 401 and not refreshed:
                self._token, refreshed = None, True
                self.stats["refreshes"] += 1
                continue
            if response.status_code != 200:
                raise SourceError(f"source {self.source}: {where}: {_describe(response)}")
            try:
                # bytes that are not UTF-8 stay visible (as lone surrogates) for the row they are in,
                # instead of requests' silent replacement or a whole page refused
                return json.loads(response.content.decode("utf-8", "surrogateescape"))
            except ValueError as err:
                raise SourceError(f"source {self.source}: {where}: reply is not JSON") from err

    def _bearer(self, where: str) -> str:
        if self._token is None or time.monotonic() >= self._token_expires:
            response = self._send(
                "POST",
                self.token_path,
                f"token request before {where}",
                json={"app_id": self.app_id, "app_secret": self.app_secret},
            )
            if response.status_code != 200:
                raise SourceError(f"source {self.source}: token request before {where}: {_describe(response)}")
            try:
                body = response.json()
                token = str(body.get("access_token") or body["token"])
                ttl = float(body.get("expires_in", 1800))
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise SourceError(f"source {self.source}: token reply has no access_token") from err
            self._token = token
            # renew a little early: a token must not expire between check and use
            self._token_expires = time.monotonic() + max(ttl - min(60.0, ttl * 0.1), 0.0)
            self.stats["tokens"] += 1
        return self._token

    def _send(self, method: str, path: str, where: str, **kwargs: Any) -> requests.Response:
        """Send a request, retrying transient failures; return the first non-transient response."""
        url = self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                response = self.session.request(
                    method, url, timeout=(self.connect_timeout, self.timeout), verify=self.verify, **kwargs
                )
            except requests.Timeout:
                problem = f"no reply within {self.timeout:g} s"
            except requests.ConnectionError as err:
                problem = f"connection failed ({type(err).__name__})"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem = _describe(response)
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                response.close()
            if attempt >= self.retry.max_attempts:
                raise SourceError(f"source {self.source}: {where} failed after {attempt} attempts; last: {problem}")
            self.stats["retries"] += 1
            self.sleep(self.retry.delay(attempt, retry_after))


def _describe(response: requests.Response) -> str:
    """Status and the server's error code, never the body's data."""
    code = ""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            code = f" ({body['error'][:60]})"
    except ValueError:
        pass
    return f"HTTP {response.status_code}{code}"
