"""What the console tests read from a page Chromium rendered: failed requests in its network log, the
figures in its tables, its drawn charts; and a screenshot of a page.

Shared by the fast tests (the console app alone) and the stack test (the console inside Airflow).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from tests import chromium


def failed_requests(netlog: Path, page: chromium.Page) -> list[str]:
    """The page's requests that failed, from a Chromium NetLog: a network error or an HTTP status of 400 or more.

    The browser's own housekeeping (update checks, network time) fails by design on a machine
    where no host but 127.0.0.1 resolves; it is told apart as :func:`tests.chromium.render` does.
    """
    text = netlog.read_text(encoding="utf-8").rstrip().rstrip(",")
    if not text.endswith("}"):
        text += "]}"
    log = json.loads(text)
    types = log["constants"]["logEventTypes"]
    start, headers = types["URL_REQUEST_START_JOB"], types["HTTP_TRANSACTION_READ_RESPONSE_HEADERS"]
    urls: dict[int, str] = {}
    failed: list[str] = []
    for event in log.get("events", []):
        source = event.get("source", {}).get("id")
        params = event.get("params") or {}
        if event.get("type") == start and params.get("url") in page.requested:
            urls[source] = params["url"]
        elif event.get("type") == headers and source in urls:
            status = re.match(r"HTTP/\S+ (\d{3})", (params.get("headers") or [""])[0])
            if status and int(status.group(1)) >= 400:
                failed.append(f"{urls[source]}: HTTP {status.group(1)}")
        elif isinstance(params.get("net_error"), int) and params["net_error"] < 0 and source in urls:
            # ERR_ABORTED (-3) is a request the page itself no longer needed, not a failure.
            if params["net_error"] != -3:
                failed.append(f"{urls[source]}: net error {params['net_error']}")
    return failed


@dataclass
class Figures:
    """Texts of the elements carrying ``data-field``, keyed by the row (or block) they are in."""

    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    """Table (or block) id -> its rows: the row's ``data-*`` attributes, its ``class``, and ``field -> text``."""

    charts: dict[str, int] = field(default_factory=dict)
    """Chart element id -> number of plotly ``svg.main-svg`` drawn in it."""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.out = Figures()
        self.block: list[str] = []
        self.depth: list[str] = []
        self.row: dict[str, str] | None = None
        self.field: str | None = None
        self.chart: str | None = None
        self.chart_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.depth.append(tag)
        if tag in {"table", "div", "p"} and "id" in a and self.chart is None:
            if a["id"].startswith("chart-"):
                self.chart, self.chart_depth = a["id"], len(self.depth)
                self.out.charts[a["id"]] = 0
            else:
                self.block.append(a["id"])
                self.out.rows.setdefault(a["id"], [])
        if self.chart and tag == "svg" and "main-svg" in a.get("class", ""):
            self.out.charts[self.chart] += 1
        block_div = tag == "div" and self.block and a.get("id") == self.block[-1]
        if tag == "tr" or block_div:
            self.row = {k[5:]: v for k, v in a.items() if k.startswith("data-") and k != "data-field"}
            if self.block and (self.row or block_div):  # a table's header row carries no data-* attribute
                self.out.rows[self.block[-1]].append(self.row)
            self.row["class"] = a.get("class", "")
        if "data-field" in a and self.row is not None:
            self.field = a["data-field"]
            self.row[self.field] = ""

    def handle_endtag(self, tag: str) -> None:
        if self.chart and len(self.depth) == self.chart_depth and tag == self.depth[-1]:
            self.chart = None
        if tag in {"td", "div"}:
            self.field = None
        while self.depth and self.depth.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self.field is not None and self.row is not None:
            self.row[self.field] += data.strip()


def figures(dom: str) -> Figures:
    """The figures and charts of a rendered console page."""
    reader = _Reader()
    reader.feed(dom)
    return reader.out


def number(text: str) -> int:
    """``12,345`` -> 12345."""
    return int(text.replace(",", ""))


def screenshot(url: str, path: Path, workdir: Path, size: tuple[int, int] = (1280, 900)) -> Path:
    """A PNG of ``url`` as headless Chromium draws it, offline like :func:`tests.chromium.render`."""
    argv = [
        *chromium.offline_argv(workdir / "shot-profile"),
        "--hide-scrollbars",
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={path}",
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and path.is_file(), done.stderr[-2000:]
    return path
