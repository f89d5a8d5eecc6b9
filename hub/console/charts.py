"""Plotly figures (``{"data": [...], "layout": {...}}``) of the console's pages, drawn by plotly.min.js.

Series are told apart by sober greys and blues; red is kept for what is wrong (failed, rejected,
late, a 对账 difference), so a glance finds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

NEUTRAL = ("#1f4e79", "#5b8db8", "#8fb3d9", "#4d4d4d", "#8c8c8c", "#b3b3b3", "#2e6f6f", "#7aa6a6")
BAD = "#c0392b"
MUTED = "#b3b3b3"
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, WenQuanYi Micro Hei, sans-serif"

Figure = dict[str, Any]


def _layout(
    title: str,
    y_title: str,
    *,
    percent: bool = False,
    stacked: bool = False,
    xs: Iterable[str] = (),
    step_days: int = 1,
) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}},
        "font": {"family": FONT, "size": 12, "color": "#222"},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
        "height": 300,
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "xaxis": {"type": "date", "gridcolor": "#eee", "tickformat": "%m-%d"},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#eee", "rangemode": "tozero", "separatethousands": True},
        "legend": {"orientation": "h", "y": -0.2},
    }
    dates = sorted(set(xs))
    if dates and len(dates) <= 10:  # few dates: one tick per date, not plotly's hours under a day's label
        layout["xaxis"].update(dtick=step_days * 86_400_000, tick0=dates[0])
    if percent:
        layout["yaxis"].update(tickformat=".0%", range=[0, 1.05])
    if stacked:
        layout["barmode"] = "stack"
    return layout


def _series(rows: Iterable[dict[str, Any]], group: str, x: str, y: str) -> dict[str, tuple[list, list]]:
    out: dict[str, tuple[list, list]] = {}
    for r in rows:
        if r[y] is None:
            continue
        xs, ys = out.setdefault(str(r[group]), ([], []))
        xs.append(str(r[x]))
        ys.append(r[y])
    return out


def lines(
    rows: Iterable[dict[str, Any]],
    group: str,
    x: str,
    y: str,
    title: str,
    y_title: str,
    *,
    percent: bool = False,
    step_days: int = 1,
) -> Figure:
    """One line per value of ``group``: ``y`` over ``x`` (a date, ``step_days`` apart)."""
    fmt = "%{y:.1%}" if percent else "%{y:,}"
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": xs,
            "y": ys,
            "line": {"color": NEUTRAL[i % len(NEUTRAL)], "width": 2},
            "hovertemplate": f"{name} %{{x}}: {fmt}<extra></extra>",
        }
        for i, (name, (xs, ys)) in enumerate(sorted(_series(rows, group, x, y).items()))
    ]
    xs = [x for trace in data for x in trace["x"]]
    return {"data": data, "layout": _layout(title, y_title, percent=percent, xs=xs, step_days=step_days)}


def stacked_bars(rows: Iterable[dict[str, Any]], group: str, x: str, y: str, title: str, y_title: str) -> Figure:
    """Bars of ``y`` per ``x`` (a date), stacked by ``group``."""
    data = [
        {"type": "bar", "name": name, "x": xs, "y": ys, "marker": {"color": NEUTRAL[i % len(NEUTRAL)]}}
        for i, (name, (xs, ys)) in enumerate(sorted(_series(rows, group, x, y).items()))
    ]
    xs = [x for trace in data for x in trace["x"]]
    return {"data": data, "layout": _layout(title, y_title, stacked=True, xs=xs)}


def answers(rows: list[dict[str, Any]], title: str) -> Figure:
    """Delivered (accepted), duplicate and rejected records per day; rejected in red."""
    days: dict[str, dict[str, int]] = {}
    for r in rows:
        d = days.setdefault(str(r["day"]), {"accepted": 0, "duplicate": 0, "rejected": 0})
        for k in d:
            d[k] += int(r[k])
    xs = sorted(days)
    colours = {"accepted": NEUTRAL[0], "duplicate": MUTED, "rejected": BAD}
    labels = {"accepted": "接收 accepted", "duplicate": "重复 duplicate", "rejected": "拒收 rejected"}
    data = [
        {"type": "bar", "name": labels[k], "x": xs, "y": [days[x][k] for x in xs], "marker": {"color": colours[k]}}
        for k in ("accepted", "duplicate", "rejected")
    ]
    return {"data": data, "layout": _layout(title, "记录 records", stacked=True, xs=xs)}


def differences(rows: list[dict[str, Any]], title: str) -> Figure:
    """对账 difference (platform minus hub) per day and kind: grey when matched, red when not."""
    data = []
    for kind in sorted({r["kind"] for r in rows}):
        mine = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["day"])
        data.append(
            {
                "type": "bar",
                "name": kind,
                "x": [str(r["day"]) for r in mine],
                "y": [r["difference"] for r in mine],
                "marker": {"color": [MUTED if r["matched"] else BAD for r in mine]},
                "hovertemplate": f"{kind} %{{x}}: %{{y:,}}<extra></extra>",
            }
        )
    layout = _layout(title, "平台 − 本地 platform − hub", xs=[x for trace in data for x in trace["x"]])
    layout["yaxis"]["rangemode"] = "normal"
    return {"data": data, "layout": layout}
