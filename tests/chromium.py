"""A real browser for web-page tests: headless Chromium from the distribution, cut off from every host
but 127.0.0.1, with a network log of every request it made.

Tests call :func:`render` and get the DOM after the page's scripts ran plus every URL the browser
requested; :func:`require` skips a test, with the reason, only when no Chromium is installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

_NAMES = ("chromium", "chromium-browser", "google-chrome")
LOCAL_HOSTS = frozenset({"127.0.0.1"})


def find() -> str | None:
    """The Chromium executable on PATH, if any."""
    return next((path for name in _NAMES if (path := shutil.which(name))), None)


def require() -> str:
    """The Chromium executable, or skip the test saying how to get one."""
    path = find()
    if path is None:
        pytest.skip("headless Chromium not found on PATH (Debian: apt-get install -y chromium; `make test` does this)")
    return path


@dataclass(frozen=True)
class Page:
    """What the browser made of a URL: the DOM after scripts ran, and every URL it requested."""

    dom: str
    requested: list[str]
    """URLs the page requested (itself included)."""

    def remote_requests(self) -> list[str]:
        """Requested http(s)/ws(s) URLs whose host is not 127.0.0.1."""
        return [
            url
            for url in self.requested
            if urlsplit(url).scheme in {"http", "https", "ws", "wss"} and urlsplit(url).hostname not in LOCAL_HOSTS
        ]


def _page_requests(netlog: Path, target: str) -> list[str]:
    """URLs the page asked for, from a Chromium NetLog (``--log-net-log``).

    A request the page made carries the page's origin as initiator (``"null"`` for a file:// page);
    the navigation to ``target`` and the browser's own housekeeping (update checks, network time)
    carry none and are told apart by URL. Housekeeping cannot leave the machine either: no host
    but 127.0.0.1 resolves (see :func:`render`).
    """
    text = netlog.read_text(encoding="utf-8").rstrip().rstrip(",")
    if not text.endswith("}"):  # the log of a browser that did not close it lacks its closing brackets
        text += "]}"
    log = json.loads(text)
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls: list[str] = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start_job or "url" not in params:
            continue
        if (params.get("initiator") != "not an origin" or params["url"] == target) and params["url"] not in urls:
            urls.append(params["url"])
    return urls


def offline_argv(profile: Path, budget_ms: int = 20000) -> list[str]:
    """Headless Chromium with a fresh profile and no route to any host but 127.0.0.1 (no action yet)."""
    return [
        require(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        # as on an offline network: no other host resolves
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}",
    ]


def render(url: str, workdir: Path, *, budget_ms: int = 20000) -> Page:
    """Load ``url`` in headless Chromium with no route to any host but 127.0.0.1.

    Args:
        url: An http://127.0.0.1 or file:// URL.
        workdir: A scratch directory (profile and network log).
        budget_ms: Virtual time the page's scripts get before the DOM is dumped.
    """
    netlog = workdir / "netlog.json"
    argv = [
        *offline_argv(workdir / "profile", budget_ms),
        "--allow-file-access-from-files",
        f"--log-net-log={netlog}",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    return Page(dom=done.stdout, requested=_page_requests(netlog, url))
