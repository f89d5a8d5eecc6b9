"""``hub status`` drawn for the terminal it runs in: a full table where it fits, a block per source where not.

The full layout gives every figure its own column (one line per source, easy to scan and to grep).
On a narrower terminal the table would have to cut or squeeze source names, so each source gets a
block instead: its name on a line of its own, then one labelled line per figure. Nothing is ever
ellipsised; a value too long for the line wraps.

The width is the terminal's; ``COLUMNS`` overrides it; when stdout is not a terminal (a pipe, a
file, cron) and ``COLUMNS`` is unset it is :data:`STABLE_WIDTH`, so saved output does not depend
on where it was produced. Colour marks only what needs attention (late, failed, rejected, differs).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

STABLE_WIDTH = 200
"""Width when stdout is not a terminal and ``COLUMNS`` is unset (wide enough for the full table)."""

_FIGURES = ("extracted", "inserted", "updated", "unchanged", "quarantined")


def console_width(environ: dict[str, str] | None = None, *, is_terminal: bool | None = None) -> int | None:
    """The width to draw at: ``COLUMNS`` if set, else ``None`` (the terminal's own) or :data:`STABLE_WIDTH`.

    Args:
        environ: The environment (``os.environ`` when omitted).
        is_terminal: Whether stdout is a terminal (asked of ``sys.stdout`` when omitted).
    """
    env = os.environ if environ is None else environ
    columns = env.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if is_terminal is None:
        is_terminal = sys.stdout.isatty()
    return None if is_terminal else STABLE_WIDTH


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _when(iso: str) -> str:
    return iso[:19].replace("T", " ")


def _freshness(source: dict[str, Any]) -> Text:
    f = source["freshness"]
    text = f"{_age(f['age_seconds'])} / {_age(f['allowed_seconds'])}"
    return Text(f"LATE {text}", style="red") if f["late"] else Text(text)


def _status(run: dict[str, Any] | None) -> Text:
    if run is None:
        return Text("never run")
    return Text(run["status"], style="red" if run["status"] == "failed" else "")


def _attention(value: int, style: str = "red") -> Text:
    """A count, coloured only when it is not zero."""
    return Text(_n(value), style=style if value else "")


def full_table(report: dict[str, Any]) -> Table:
    """Every source on one line, every figure in its own column (names never wrap)."""
    table = Table(title="ShareHub sources", title_justify="left")
    table.add_column("source", no_wrap=True)
    table.add_column("last run", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for figure in _FIGURES:
        table.add_column(figure, justify="right", no_wrap=True)
    table.add_column("batches\n(failed)", justify="right", no_wrap=True)
    table.add_column("freshness\nage / allowed", no_wrap=True)
    table.add_column("quarantine\npending", justify="right", no_wrap=True)
    table.add_column("findings\nopen", justify="right", no_wrap=True)
    table.add_column("rejected\nfiles", justify="right", no_wrap=True)
    for s in report["sources"]:
        run = s["last_run"]
        ledger = s["ledger"]
        batches = Text(f"{_n(ledger['batches'])} (")
        batches.append(_attention(ledger["failed"]))
        batches.append(")")
        table.add_row(
            s["source"],
            "—" if run is None else _when(run["finished_at"]),
            _status(run),
            *(("—",) * len(_FIGURES) if run is None else (_n(run[k]) for k in _FIGURES)),
            batches,
            _freshness(s),
            _n(s["quarantine_pending"]),
            _n(s["findings"]),
            _attention(len(s["rejected_files"]), "yellow"),
        )
    return table


def source_block(source: dict[str, Any]) -> Group:
    """One source as a heading and one labelled line per figure (for terminals too narrow for the table)."""
    run = source["last_run"]
    ledger = source["ledger"]
    heading = Text(source["source"], style="bold", overflow="fold")
    heading.append(f"  {source['department']} · {source['table']}", style="dim")
    lines = Table.grid(padding=(0, 2))
    lines.add_column(no_wrap=True)
    lines.add_column(overflow="fold")
    if run is None:
        lines.add_row("last run", "never run")
    else:
        last = Text(f"{_when(run['finished_at'])} ")
        last.append(_status(run))
        lines.add_row("last run", last)
        lines.add_row("rows", " · ".join(f"{k} {_n(run[k])}" for k in _FIGURES))
    batches = Text(f"{_n(ledger['batches'])} (")
    batches.append(_attention(ledger["failed"]))
    batches.append(" failed)")
    lines.add_row("batches", batches)
    lines.add_row("freshness", _freshness(source))
    lines.add_row("quarantine", f"{_n(source['quarantine_pending'])} pending")
    lines.add_row("findings", f"{_n(source['findings'])} open")
    rejected = len(source["rejected_files"])
    lines.add_row("rejected", _attention(rejected, "yellow").append(" file" if rejected == 1 else " files"))
    return Group(heading, lines, Text(""))


def _rejected_lines(report: dict[str, Any]) -> list[Text]:
    lines = []
    for s in report["sources"]:
        for f in s["rejected_files"]:
            line = Text("REJECTED FILE ", style="yellow", overflow="fold")
            line.append(f"{s['source']} {f['file']} ({f['rule']}, {_when(f['at'])}): {f['reason']}", style="")
            lines.append(line)
    return lines


def _footer(report: dict[str, Any]) -> list[Text]:
    push = report["push_backlog"]
    rec = report["last_reconciliation"]
    lines = [
        Text(
            "push backlog: "
            + (
                ", ".join(f"{k} {_n(v['pending'])} pending, {_n(v['parked'])} parked" for k, v in push.items())
                or "none"
            ),
            overflow="fold",
        )
    ]
    reconciliation = Text("last reconciliation: ", overflow="fold")
    for i, (kind, v) in enumerate(rec.items()):
        reconciliation.append(", " if i else "")
        reconciliation.append(f"{kind} {v['day']} ")
        reconciliation.append("matched" if v["matched"] else "DIFFERS", style="" if v["matched"] else "red")
    lines.append(reconciliation if rec else Text("last reconciliation: never"))
    for alert in report.get("reconciliation_alerts", []):
        line = Text("RECONCILIATION ALERT ", style="red", overflow="fold")
        line.append(f"{alert['message']} (since {_when(alert['raised_at'])})", style="")
        lines.append(line)
    return lines


def render(report: dict[str, Any], console: Console | None = None) -> None:
    """Print ``report`` (from :func:`hub.ops.status.collect`) as wide as the terminal allows.

    Args:
        report: What ``hub status`` collected.
        console: Where to draw; a console on stdout at :func:`console_width` when omitted.
    """
    if console is None:
        console = Console(width=console_width(), soft_wrap=False)
    table = full_table(report)
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum  # unclamped
    if natural <= console.width:
        console.print(table)
    else:
        console.print(Text("ShareHub sources", style="italic"))
        console.print(Text(""))
        for source in report["sources"]:
            console.print(source_block(source))
    for line in [*_rejected_lines(report), *_footer(report)]:
        console.print(line)
