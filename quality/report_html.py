"""The quality report as a web page beside the Data Docs: charts, then the tables, all offline.

The charts are plotly figures drawn by the ``plotly.min.js`` bundled in the pinned ``plotly`` wheel;
:func:`write` copies it and the page's own stylesheet (``report_assets/report.css``) next to the
page, so the page loads nothing from anywhere else (from disk or from any web server). Numbers are
grouped by thousands and rates shown as percentages; colour is kept for what needs attention (a
failed run, a gate that fired): the series of a chart are told apart by shades of one hue.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import shutil
from collections.abc import Callable, Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

PAGE = "quality_report.html"
ASSETS = "quality_report_assets"
"""The directory beside the page holding ``plotly.min.js`` and ``report.css``."""

_INK = "#1f2933"
_MUTED = "#7b8794"
_GRID = "#e4e7eb"
_ALERT = "#c62828"
_SERIES = ["#1f4e79", "#2e75b6", "#5b9bd5", "#9dc3e6", "#41719c", "#203864", "#8faadc", "#b4c7e7"]
"""Blues: series are told apart, none of them reads as a warning."""


def plotly_js() -> Path:
    """The ``plotly.min.js`` bundled with the installed plotly package."""
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


def _stylesheet() -> Path:
    return Path(str(files("quality") / "report_assets" / "report.css"))


def write(report: dict[str, Any], directory: Path, *, generated: dt.datetime | None = None) -> Path:
    """Write the page, ``plotly.min.js`` and the stylesheet into ``directory``; the page's path.

    Args:
        report: From :func:`quality.report.build`.
        directory: Where the page goes (the Data Docs site).
        generated: The time printed on the page (now when omitted).
    """
    assets = directory / ASSETS
    assets.mkdir(parents=True, exist_ok=True)
    for source in (plotly_js(), _stylesheet()):
        target = assets / source.name
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            shutil.copyfile(source, target)
    page = directory / PAGE
    page.write_text(render(report, generated=generated), encoding="utf-8")
    return page


def _n(value: Any) -> str:
    return "—" if value is None else f"{value:,}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _e(value: Any) -> str:
    return html.escape(str(value))


def _layout(title_y: str, *, percent: bool = False, top: float = 0, height: int = 340, **extra: Any) -> dict[str, Any]:
    """A chart's layout: quiet axes, numbers grouped or as percentages, whole counts on a count axis."""
    counts = {} if percent or top > 10 else {"dtick": 1}  # no 0.5 of a run on a small count axis
    return {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": _INK},
        "colorway": _SERIES,
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {"gridcolor": _GRID, "linecolor": _MUTED, "type": "category"},
        "yaxis": {
            "title": {"text": title_y},
            "gridcolor": _GRID,
            "zerolinecolor": _MUTED,
            "rangemode": "tozero",
            "tickformat": ".2~%" if percent else ",d",
            **counts,
        },
        **extra,
    }


def _chart(chart_id: str, data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    """A chart's placeholder and its figure as JSON (drawn by the page's one script)."""
    figure = json.dumps({"data": data, "layout": layout}, ensure_ascii=False).replace("</", "<\\/")
    return (
        f'<div class="chart" id="{chart_id}" data-chart="{chart_id}"></div>'
        f'<script type="application/json" id="{chart_id}-figure">{figure}</script>'
    )


def _none(what: str) -> str:
    return f'<p class="none">{_e(what)}</p>'


def rates_chart(report: dict[str, Any]) -> str:
    """Quarantine rate per source and rule, per day."""
    series: dict[str, list[dict[str, Any]]] = {}
    for p in report["rule_rates"]:
        series.setdefault(f"{p['source']} · {p['rule']}", []).append(p)
    if not series:
        return _none("No succeeded run in the period. 期间内无成功批次。")
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": [p["day"] for p in points],
            "y": [p["rate"] for p in points],
            "customdata": [[p["quarantined"], p["extracted"]] for p in points],
            "hovertemplate": "%{x}<br>%{y:.2%} (%{customdata[0]:,d} of %{customdata[1]:,d})<extra>"
            + html.escape(name)
            + "</extra>",
        }
        for name, points in series.items()
    ]
    return _chart("chart-rates", data, _layout("quarantine rate 隔离率", percent=True))


def top_rules_chart(report: dict[str, Any]) -> str:
    """Rows quarantined per rule, the top rules, largest on top."""
    rules = list(reversed(report["top_rules"]))
    if not rules:
        return _none("Nothing quarantined. 无隔离记录。")
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "rows quarantined",
            "y": [r["rule"] for r in rules],
            "x": [r["total"] for r in rules],
            "marker": {"color": _SERIES[1]},
            "hovertemplate": "%{y}: %{x:,d} rows<extra></extra>",
        }
    ]
    layout = _layout("", height=max(200, 40 + 28 * len(rules)), showlegend=False)
    layout["margin"]["l"] = 220
    layout["xaxis"] = {"gridcolor": _GRID, "tickformat": ",d", "rangemode": "tozero", "title": {"text": "rows 条"}}
    if max(r["total"] for r in rules) <= 10:
        layout["xaxis"]["dtick"] = 1
    layout["yaxis"] = {"type": "category", "automargin": True}
    return _chart("chart-rules", data, layout)


def findings_chart(report: dict[str, Any]) -> str:
    """Open cross-department findings per kind at the end of each day."""
    series: dict[str, list[dict[str, Any]]] = {}
    for p in report["findings_trend"]:
        series.setdefault(p["rule"], []).append(p)
    if not series:
        return _none("No open findings in the period. 期间内无未结跨部门问题。")
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": rule,
            "x": [p["day"] for p in points],
            "y": [p["open"] for p in points],
            "hovertemplate": "%{x}: %{y:,d} open<extra>" + html.escape(rule) + "</extra>",
        }
        for rule, points in series.items()
    ]
    top = max(p["open"] for p in report["findings_trend"])
    return _chart("chart-findings", data, _layout("open findings 未结问题", top=top))


def gates_chart(report: dict[str, Any]) -> str:
    """Batch gates fired per day and source (red: each is a run that loaded nothing)."""
    counts: dict[str, dict[str, int]] = {}
    for g in report["gates"]:
        per_day = counts.setdefault(g["source"], {})
        per_day[g["day"]] = per_day.get(g["day"], 0) + 1
    if not counts:
        return _none("No batch gate fired in the period. 期间内无批次闸门触发。")
    shades = [_ALERT, "#e57373", "#8e0000", "#ef9a9a"]
    data = [
        {
            "type": "bar",
            "name": source,
            "x": sorted(days),
            "y": [days[d] for d in sorted(days)],
            "marker": {"color": shades[i % len(shades)]},
            "width": 0.4,
            "hovertemplate": "%{x}: %{y:,d} stopped<extra>" + html.escape(source) + "</extra>",
        }
        for i, (source, days) in enumerate(sorted(counts.items()))
    ]
    top = max(sum(days.values()) for days in counts.values())
    return _chart("chart-gates", data, _layout("runs stopped 拦截批次", top=top, barmode="stack"))


def _table(
    rows: Iterable[dict[str, Any]],
    columns: list[tuple[str, str, Callable[[dict[str, Any]], str]]],
    *,
    row_class: Callable[[dict[str, Any]], str] = lambda r: "",
) -> str:
    """An HTML table; ``columns`` are (header, css class, cell text)."""
    head = "".join(f'<th class="{cls}">{_e(title)}</th>' for title, cls, _ in columns)
    body = []
    for r in rows:
        cells = "".join(f'<td class="{cls}">{_e(cell(r))}</td>' for _, cls, cell in columns)
        body.append(f'<tr class="{row_class(r)}">{cells}</tr>')
    if not body:
        return _none("None. 无。")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _tiles(report: dict[str, Any]) -> str:
    extracted = sum(d["extracted"] for d in report["daily"])
    quarantined = sum(d["quarantined"] for d in report["daily"])
    open_findings = sum(f["open"] for f in report["findings"])
    tiles = [
        ("runs", "runs 批次", _n(sum(d["runs"] for d in report["daily"])), ""),
        ("extracted", "rows extracted 抽取", _n(extracted), ""),
        ("quarantined", "rows quarantined 隔离", _n(quarantined), ""),
        ("rate", "quarantine rate 隔离率", _pct(quarantined / extracted if extracted else 0.0), ""),
        ("gates", "gates fired 闸门触发", _n(len(report["gates"])), "alert" if report["gates"] else ""),
        ("findings", "open findings 未结问题", _n(open_findings), ""),
    ]
    cells = "".join(
        f'<div class="tile {cls}"><div class="value" data-tile="{key}">{value}</div>'
        f'<div class="label">{_e(label)}</div></div>'
        for key, label, value, cls in tiles
    )
    return f'<div class="tiles">{cells}</div>'


def _examples(rule: dict[str, Any]) -> str:
    return " / ".join(f"{e['reason']} ({e['count']:,})" for e in rule["examples"])


_DRAW = """
document.querySelectorAll("[data-chart]").forEach(function (el) {
  var figure = JSON.parse(document.getElementById(el.id + "-figure").textContent);
  Plotly.newPlot(el, figure.data, figure.layout, {displaylogo: false, responsive: true});
});
"""


def render(report: dict[str, Any], *, generated: dt.datetime | None = None) -> str:
    """The page (it expects :data:`ASSETS` beside it, as :func:`write` puts it)."""
    generated = generated or dt.datetime.now(dt.UTC)
    failed = lambda r: "failed" if r.get("status") == "failed" else ""  # noqa: E731
    sections = [
        ("Quarantine rate per source and rule 各来源各规则隔离率", rates_chart(report)),
        (
            "Top rules 主要规则",
            top_rules_chart(report)
            + _table(
                report["top_rules"],
                [
                    ("rule 规则", "", lambda r: r["rule"]),
                    ("sources 来源", "", lambda r: ", ".join(r["sources"])),
                    ("rows 条数", "num", lambda r: _n(r["total"])),
                    ("pending 待处理", "num", lambda r: _n(r["pending"])),
                    ("reasons (examples) 原因示例", "reason", _examples),
                ],
            ),
        ),
        (
            "Cross-department findings 跨部门问题",
            findings_chart(report)
            + _table(
                report["findings"],
                [
                    ("table 表", "", lambda r: r["source"]),
                    ("kind 类型", "", lambda r: r["rule"]),
                    ("open 未结", "num", lambda r: _n(r["open"])),
                    ("resolved 已结", "num", lambda r: _n(r["resolved"])),
                ],
            ),
        ),
        (
            "Batch gates fired 批次闸门",
            gates_chart(report)
            + _table(
                report["gates"],
                [
                    ("started 开始", "", lambda r: r["started_at"][:19].replace("T", " ")),
                    ("source 来源", "", lambda r: r["source"]),
                    ("batch 批次", "", lambda r: r["batch_id"]),
                    ("gate 闸门", "reason", lambda r: r["gate"]),
                ],
                row_class=lambda r: "failed",
            ),
        ),
        (
            "Recent runs 最近批次",
            _table(
                report["runs"],
                [
                    ("started 开始", "", lambda r: r["started_at"][:19].replace("T", " ")),
                    ("batch 批次", "", lambda r: r["batch_id"]),
                    ("status 状态", "status", lambda r: r["status"]),
                    ("extracted 抽取", "num", lambda r: _n(r["extracted"])),
                    ("quarantined 隔离", "num", lambda r: _n(r["quarantined"])),
                    ("rate 隔离率", "num", lambda r: _pct(r["quarantine_rate"])),
                ],
                row_class=failed,
            ),
        ),
        (
            "Per day 按日",
            _table(
                report["daily"],
                [
                    ("day 日期", "", lambda r: r["day"]),
                    ("source 来源", "", lambda r: r["source"]),
                    ("runs 批次", "num", lambda r: _n(r["runs"])),
                    ("failed 失败", "num", lambda r: _n(r["failed"])),
                    ("extracted 抽取", "num", lambda r: _n(r["extracted"])),
                    ("quarantined 隔离", "num", lambda r: _n(r["quarantined"])),
                    ("rate 隔离率", "num", lambda r: _pct(r["quarantine_rate"])),
                ],
                row_class=lambda r: "failed" if r["failed"] else "",
            ),
        ),
        (
            "Quarantine by source, rule and field (all time) 按来源、规则、字段",
            _table(
                report["by_rule"],
                [
                    ("source 来源", "", lambda r: r["source"]),
                    ("rule 规则", "", lambda r: r["rule"]),
                    ("field 字段", "", lambda r: r["field"]),
                    ("total 合计", "num", lambda r: _n(r["total"])),
                    ("pending 待处理", "num", lambda r: _n(r["pending"])),
                    ("released 已放行", "num", lambda r: _n(r["released"])),
                    ("superseded 已取代", "num", lambda r: _n(r["superseded"])),
                ],
            ),
        ),
    ]
    body = "".join(f"<section><h2>{_e(title)}</h2>{content}</section>" for title, content in sections)
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>ShareHub quality report 质量报告</title><link rel='icon' href='data:,'>"
        f'<link rel="stylesheet" href="{ASSETS}/report.css">'
        f'<script src="{ASSETS}/plotly.min.js"></script></head><body>'
        '<header><h1>ShareHub quality report <span class="zh">质量报告</span></h1>'
        f'<p class="meta">Generated {generated:%Y-%m-%d %H:%M} UTC · days are China Standard Time (UTC+8) · '
        '<a href="index.html">Data Docs (expectation suites) 数据文档</a></p></header>'
        f"<main>{_tiles(report)}{body}</main>"
        f"<script>{_DRAW}</script></body></html>"
    )
