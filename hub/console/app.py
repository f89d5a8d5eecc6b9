"""The console's FastAPI app: five pages, their figures as JSON, and the assets they need, all offline.

Airflow mounts it under :data:`URL_PREFIX` (``plugins/sharehub_console.py``); it runs just as well on
its own (the tests serve it with uvicorn). The chart library is the ``plotly.min.js`` of the pinned
``plotly`` package, the styles are ``static/console.css``: nothing is fetched from another host.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from hub.console import charts, data
from hub.settings import hub_home
from hub.store.connection import store_uri
from quality.report_html import plotly_js

URL_PREFIX = "/sharehub"
STATIC = Path(__file__).parent / "static"
SHANGHAI = ZoneInfo("Asia/Shanghai")

PAGES: dict[str, tuple[str, str]] = {
    "sources": ("数据来源", "Sources"),
    "quality": ("数据质量", "Quality"),
    "province": ("省级推送", "Province"),
    "efficiency": ("效能监管", "Service efficiency"),
    "sharing": ("共享使用", "Sharing"),
}
"""Page slug -> (Chinese, English) title, in menu order."""


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_json(value: Any) -> str:
    """JSON of page data (dates as ISO text, times in Asia/Shanghai)."""
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def number(value: float | int | None) -> str:
    """``12,345`` (``—`` for no value)."""
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def percent(value: float | None) -> str:
    """``97.5%`` (``—`` when there is nothing to divide by)."""
    return "—" if value is None else f"{value:.1%}"


def when(value: dt.datetime | str | None) -> str:
    """A time as ``2026-11-29 14:05`` in Asia/Shanghai."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def duration(seconds: float | None) -> str:
    """``2 d 3 h``, ``3 h 20 min``, ``12 min`` (``—`` when never)."""
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


@cache
def _templates() -> Environment:
    env = Environment(loader=PackageLoader("hub.console", "templates"), autoescape=select_autoescape(["html"]))
    env.filters.update(number=number, percent=percent, when=when, duration=duration)
    env.policies["json.dumps_function"] = lambda value, **_: to_json(value)
    env.globals["pages"] = PAGES
    return env


def data_docs_site() -> Path:
    """Where the GX Data Docs are built (``$HUB_HOME/quality/gx/uncommitted/data_docs/local_site``)."""
    return hub_home() / "quality" / "gx" / "uncommitted" / "data_docs" / "local_site"


def _figures(page: str, d: dict[str, Any]) -> dict[str, charts.Figure]:
    """The charts of ``page``, by element id."""
    if page == "sources":
        return {"rows": charts.lines(d["daily"], "source", "day", "extracted", "每日抽取行数 Rows a day", "行 rows")}
    if page == "quality":
        return {
            "rate": charts.lines(
                d["daily"], "source", "day", "quarantine_rate", "隔离率 Quarantine rate", "隔离率 rate", percent=True
            ),
            "rules": charts.stacked_bars(
                d["daily_by_rule"], "rule", "day", "n", "每日隔离行数（按规则）Quarantined per rule", "行 rows"
            ),
            "findings": charts.stacked_bars(
                d["findings_trend"], "rule", "day", "opened", "新发现问题 Findings opened", "问题 findings"
            ),
        }
    if page == "province":
        return {
            "answers": charts.answers(d["answers"], "每日推送结果 Answers a day"),
            "reconciliation": charts.differences(d["reconciliation"], "每日对账差异 对账 difference a day"),
        }
    if page == "efficiency":
        return {
            "on_time": charts.lines(
                d["weekly"],
                "dept_name",
                "week",
                "on_time_rate",
                "按时办结率 On-time rate (weekly)",
                "率",
                percent=True,
                step_days=7,
            ),
            "satisfaction": charts.lines(
                d["weekly"],
                "dept_name",
                "week",
                "satisfaction_rate",
                "满意率 Satisfaction (weekly)",
                "率",
                percent=True,
                step_days=7,
            ),
            "online": charts.lines(
                d["weekly"],
                "dept_name",
                "week",
                "online_rate",
                "全程网办率 Fully online (weekly)",
                "率",
                percent=True,
                step_days=7,
            ),
        }
    return {}


def create_app(uri: str | Callable[[], str] | None = None) -> FastAPI:
    """The console app.

    Args:
        uri: The shared store, or a function returning it (called once, at the first request);
            the configured store (``hub_store`` connection, else the embedded one) when omitted.
    """
    app = FastAPI(title="ShareHub console", docs_url=None, redoc_url=None, openapi_url=None)

    @cache
    def store() -> str:
        if uri is None:
            return store_uri()
        return uri() if callable(uri) else uri

    def page_data(page: str, provider: str | None) -> dict[str, Any]:
        if page not in PAGES:
            raise HTTPException(404, f"no console page {page!r}; pages: {', '.join(PAGES)}")
        if page == "sharing":
            d = data.sharing(store(), provider)
            if provider is not None and provider not in d["providers"]:
                raise HTTPException(
                    404, f"unknown provider department {provider!r}; known: {', '.join(d['providers'])}"
                )
            return d
        if provider is not None:
            raise HTTPException(400, "the provider parameter belongs to the sharing page only")
        return getattr(data, page)(store())

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/sources")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def get_plotly() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/static/{name}", include_in_schema=False)
    def get_static(name: str) -> FileResponse:
        path = STATIC / name
        if "/" in name or not path.is_file():
            raise HTTPException(404, f"no console asset {name!r}")
        return FileResponse(path)

    @app.get("/datadocs/{path:path}", include_in_schema=False)
    def get_data_docs(path: str) -> FileResponse:
        site = data_docs_site().resolve()
        target = (site / (path or "index.html")).resolve()
        if not target.is_relative_to(site) or not target.is_file():
            raise HTTPException(404, f"no Data Docs page {path!r} (they are built by the quality checks)")
        return FileResponse(target)

    @app.get("/{page}.json", summary="A page's figures as JSON")
    def get_page_json(page: str, provider: str | None = None) -> Response:
        return Response(to_json(page_data(page, provider)), media_type="application/json")

    @app.get("/{page}", include_in_schema=False)
    def get_page(page: str, provider: str | None = None) -> HTMLResponse:
        d = page_data(page, provider)
        html = (
            _templates()
            .get_template(f"{page}.html")
            .render(
                page=page,
                d=d,
                figures=_figures(page, d),
                data_docs=(data_docs_site() / "index.html").is_file(),
                airflow=os.environ.get("AIRFLOW__API__BASE_URL", "").rstrip("/"),
            )
        )
        return HTMLResponse(html)

    @app.exception_handler(HTTPException)
    def http_error(_: Any, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    return app
