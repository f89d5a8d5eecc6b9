"""Client of the provincial platform's receiving interface (HMAC-SM3 signed HTTP, JSON bodies).

The connection ``provincial_platform`` gives host and port, ``login`` = app id, ``password`` =
app secret; extras: ``scheme`` (``https``; ``http`` for the loopback simulator), ``timeout``
(read timeout, s, default 30), ``rate_limit`` (requests a second, default 20, the city's quota),
``concurrency`` (batches in flight at once, default 4; the token bucket still caps the rate),
``max_attempts`` (default 8), ``backoff_base`` / ``backoff_max`` (s, default 0.5 / 30; the retry policy of
:class:`connectors.rest_client.RetryPolicy`, the same names as for department APIs) and
``max_retry_after`` (s, default 120).

Every request is signed afresh (new timestamp and nonce). The client paces requests with a
token bucket, sleeps for ``Retry-After`` on ``429``, backs off with full jitter on ``5xx``,
timeouts and dropped connections, and stops at once on ``401``. Resending a batch is safe
because the caller always resends the same ``batch_id`` with the same records.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.rest_client import RetryPolicy

from connectors.connections import require_connection
from hub.push.gm import request_signature

PLATFORM_CONN_ID = "provincial_platform"
BATCH_PATHS = {"certificates": "/api/v1/certificates/batch", "cases": "/api/v1/cases/batch"}
log = logging.getLogger(__name__)


class PlatformError(RuntimeError):
    """Base of the errors the platform client raises."""


class AuthFailedError(PlatformError):
    """``401 AUTH_FAILED``: wrong app id or secret, or clock skew. Not retryable until fixed."""


class BatchRefusedError(PlatformError):
    """``400 BAD_BATCH`` or ``413``: the whole batch was refused and nothing in it was stored."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"platform refused the batch: HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class OutcomeUnknownError(PlatformError):
    """Retries ran out after timeouts, dropped connections or 5xx: the batch may or may not be stored."""


@dataclass(frozen=True)
class ClientSettings:
    """Where the platform is and how hard to try."""

    base_url: str
    app_id: str
    app_secret: str
    timeout: float = 30.0
    rate_limit: float = 20.0
    concurrency: int = 4
    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0

    @property
    def retry(self) -> RetryPolicy:
        """The backoff between failed attempts, as every HTTP client of the hub computes it."""
        from connectors.rest_client import RetryPolicy  # here: rest_client imports requests, kept out of DAG parsing

        return RetryPolicy(self.max_attempts, self.backoff_base, self.backoff_max)


class TokenBucket:
    """Client-side limiter: at most ``rate`` acquisitions a second, spaced evenly (burst of one).

    A burst of one keeps every one-second window at or under ``rate``; the spacing carries a
    ``margin`` (5 %) so that network jitter cannot bunch arrivals over the quota at the platform.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic, margin: float = 0.05) -> None:
        self.interval = (1.0 + margin) / rate if rate > 0 else 0.0
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may go; return how long it waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return wait


class ProvincialClient:
    """Signed requests to the platform with quota pacing, retries and backoff.

    Safe to share between threads: each thread gets its own HTTP session, and all of them draw
    from the one token bucket, so concurrent senders together stay under the quota.
    """

    def __init__(self, settings: ClientSettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.limiter = TokenBucket(settings.rate_limit)
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[Any] = []
        self._sleep = sleep

    @property
    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = self._local.session = requests.Session()
            with self._stats_lock:
                self._sessions.append(session)
        return session

    def _count(self, what: str) -> None:
        with self._stats_lock:
            self.stats[what] += 1

    def close(self) -> None:
        """Close the HTTP sessions of every thread that used the client."""
        with self._stats_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def send_batch(self, kind: str, batch_id: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST one batch; return the per-record results, in order.

        Raises:
            AuthFailedError: on 401.
            BatchRefusedError: on 400 or 413.
            OutcomeUnknownError: when retries ran out.
        """
        return self.send_encoded(
            kind, batch_id, [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
        )

    def send_encoded(self, kind: str, batch_id: str, records: list[str]) -> list[dict[str, Any]]:
        """``send_batch`` of records already encoded as JSON objects (the outbox's text, not decoded again).

        Raises:
            AuthFailedError: on 401.
            BatchRefusedError: on 400 or 413.
            OutcomeUnknownError: when retries ran out.
        """
        body = f'{{"batch_id":{json.dumps(batch_id)},"records":[{",".join(records)}]}}'
        reply = self._request("POST", BATCH_PATHS[kind], {}, body.encode("utf-8"))
        results = reply.get("results")
        if reply.get("batch_id") != batch_id or not isinstance(results, list) or len(results) != len(records):
            raise OutcomeUnknownError(f"platform reply to batch {batch_id} does not match the batch")
        return results

    def reconciliation(self, kind: str, day: str) -> dict[str, Any]:
        """GET the platform's count and digest of ``kind`` accepted on ``day`` (``YYYY-MM-DD``)."""
        return self._request("GET", "/api/v1/reconciliation", {"kind": kind, "date": day}, b"")

    def _headers(self, method: str, path: str, query: dict[str, str], body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        nonce = secrets.token_hex(16)
        signature = request_signature(self.settings.app_secret, method, path, query, timestamp, nonce, body)
        return {
            "X-App-Id": self.settings.app_id,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": signature,
            "Content-Type": "application/json; charset=utf-8",
        }

    def _request(self, method: str, path: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        import requests

        s = self.settings
        failures = throttles = 0
        last = ""
        while failures < s.max_attempts and throttles < 4 * s.max_attempts:
            self.limiter.acquire()
            self._count("requests")
            try:
                resp = self._session.request(
                    method,
                    s.base_url.rstrip("/") + path,
                    params=query or None,
                    data=body if method == "POST" else None,
                    headers=self._headers(method, path, query, body),
                    timeout=(min(10.0, s.timeout), s.timeout),
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures += 1
                self._count("unknown_outcome")
                last = type(exc).__name__
                self._backoff(failures, f"{path}: {last}")
                continue
            if resp.status_code == 200:
                return resp.json()
            if resp.status_code == 401:
                self._count("auth_failed")
                raise AuthFailedError(
                    f"provincial platform refused authentication ({_message(resp)}): check the app id and "
                    f"secret of connection {PLATFORM_CONN_ID!r} and the host clock; not retrying"
                )
            if resp.status_code == 429:
                throttles += 1
                self._count("throttled")
                wait = min(_retry_after(resp.headers.get("Retry-After")), s.max_retry_after)
                log.info("platform quota exceeded on %s: waiting %.1f s (Retry-After)", path, wait)
                self._sleep(wait)
                continue
            if resp.status_code in (400, 413):
                payload = _json(resp)
                raise BatchRefusedError(resp.status_code, payload.get("code", str(resp.status_code)), _message(resp))
            self._count(f"http_{resp.status_code}")
            if resp.status_code < 500:
                raise PlatformError(f"{method} {path}: unexpected HTTP {resp.status_code}: {_message(resp)}")
            failures += 1
            last = f"HTTP {resp.status_code}"
            self._backoff(failures, f"{path}: {last}")
        raise OutcomeUnknownError(
            f"{method} {path}: gave up after {failures} failures and {throttles} throttles ({last})"
        )

    def _backoff(self, failures: int, what: str) -> None:
        s = self.settings
        if failures >= s.max_attempts:
            return  # giving up: no point in waiting
        wait = s.retry.delay(failures, None)
        self._count("retries")
        log.info("platform request failed (%s), attempt %d: retrying in %.2f s", what, failures, wait)
        self._sleep(wait)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0


def _json(resp: Any) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _message(resp: Any) -> str:
    return str(_json(resp).get("message", resp.reason))


def settings_from_connection(conn_id: str = PLATFORM_CONN_ID) -> ClientSettings:
    """Client settings from the Airflow connection ``conn_id``.

    Raises:
        ConnectionNotDefinedError: if the connection is not defined or has no app id/secret.
    """
    conn = require_connection(
        conn_id, "host, port, login = app id, password = app secret", fields=("host", "login", "password")
    )
    extra = conn.extra_dejson
    scheme = extra.get("scheme", "https")
    base = f"{scheme}://{conn.host}" + (f":{conn.port}" if conn.port else "")
    numeric = {
        k: float(extra[k])
        for k in ("timeout", "rate_limit", "backoff_base", "backoff_max", "max_retry_after")
        if k in extra
    }
    if "backoff_cap" in extra:  # the name this setting had before the retry policy was shared
        log.warning("connection %r: extra 'backoff_cap' is now called 'backoff_max'; using it as such", conn_id)
        numeric.setdefault("backoff_max", float(extra["backoff_cap"]))
    counts = {k: int(extra[k]) for k in ("max_attempts", "concurrency") if k in extra}
    return ClientSettings(base, conn.login, conn.password, **numeric, **counts)
