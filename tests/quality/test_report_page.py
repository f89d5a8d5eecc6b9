"""The quality report page (``hub quality report --html``): its charts render in a real browser from disk and
from a 127.0.0.1 server, it loads nothing from anywhere else, and its figures are the store's (checked
against SQL); no personal data reaches it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import http.server
import json
import re
from pathlib import Path

import psycopg
import pytest

from hub import registry
from hub.pipeline import run_ingest
from quality import gates, report, report_html, report_series
from simulators.ga import population
from tests import chromium
from tests.http_server import serving
from tests.hub.hubcli import run_hub, store_env

SPEC = registry.get("ga_population")
TODAY = dt.date(2026, 11, 23)
CHARTS = ("chart-rates", "chart-rules", "chart-findings", "chart-gates")


@pytest.fixture
def page(store: str, ga_source, tmp_path: Path) -> Path:
    """A load, a batch the quarantine gate stopped, the same batch loaded once the gate allows it, two findings
    (one resolved); then the page as ``hub quality report --html`` writes it into ``$HUB_HOME``."""
    source_uri, _ = ga_source
    run_ingest(SPEC, "run-1", store=store, today=TODAY)
    population.apply_day(source_uri, 1, seed=7)
    strict = dataclasses.replace(SPEC, gates=gates.GateConfig(max_quarantine_rate=0.001, min_rows=1))
    with pytest.raises(gates.GateFailed):
        run_ingest(strict, "run-2", store=store, today=TODAY)
    run_ingest(SPEC, "run-3", store=store, today=TODAY)
    with psycopg.connect(store) as conn:
        conn.execute(
            "INSERT INTO quality.finding (source, rule, record_key, message, check_run_id, status, resolved_at) "
            "VALUES ('shared.population', 'person.deceased_but_active', 'k1', 'example', 'r1', 'open', NULL), "
            "('shared.population', 'person.deceased_but_active', 'k2', 'example', 'r1', 'resolved', now())"
        )
    home = tmp_path / "home"
    done = run_hub(["quality", "report", "--html"], store_env(store, HUB_HOME=str(home)))
    assert done.returncode == 0, done.stderr
    written = Path(done.stdout.strip())
    assert written.is_file() and written.parent == home / "quality" / "gx" / "uncommitted" / "data_docs" / "local_site"
    return written


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _chart_dom(dom: str, chart_id: str) -> str:
    """The DOM of one chart's div, up to its figure's script."""
    start = dom.index(f'id="{chart_id}"')
    return dom[start : dom.index(f'id="{chart_id}-figure"', start)]


def _figure(dom: str, chart_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{chart_id}-figure">(.*?)</script>', dom, re.S)
    assert match, chart_id
    return json.loads(match.group(1).replace("<\\/", "</"))


def _check_rendered(rendered: chromium.Page, store: str) -> None:
    assert rendered.remote_requests() == []
    dom = rendered.dom
    for chart_id in CHARTS:  # plotly drew each figure: its svg is in the DOM
        assert 'class="main-svg"' in _chart_dom(dom, chart_id), chart_id
    with psycopg.connect(store) as conn:
        extracted, quarantined, runs = conn.execute(
            "SELECT sum(extracted), sum(quarantined), count(*) FROM hub.ledger "
            "WHERE started_at > now() - interval '14 days'"
        ).fetchone()
        ((top_rule, top_total),) = conn.execute(
            "SELECT rule, count(*) FROM quarantine.record GROUP BY rule ORDER BY 2 DESC, 1 LIMIT 1"
        ).fetchall()
        gate_batches = [
            r[0]
            for r in conn.execute("SELECT batch_id FROM hub.ledger WHERE error LIKE 'GateFailed:%' ORDER BY started_at")
        ]
        rate = conn.execute(
            "SELECT sum((rule_counts ->> %s)::bigint)::float / sum(extracted) FROM hub.ledger "
            "WHERE status = 'succeeded'",
            (top_rule,),
        ).fetchone()[0]
        rule_traces = conn.execute(
            "SELECT count(DISTINCT (source, r)) FROM hub.ledger, jsonb_object_keys(rule_counts) r "
            "WHERE status = 'succeeded'"
        ).fetchone()[0]
    assert gate_batches == [f"{SPEC.name}:run-2"]
    tiles = dict(re.findall(r'data-tile="([^"]+)">([^<]+)<', dom))
    assert (tiles["runs"], tiles["extracted"], tiles["quarantined"]) == (
        f"{runs:,}",
        f"{extracted:,}",
        f"{quarantined:,}",
    )
    assert tiles["rate"] == f"{quarantined / extracted:.2%}"
    assert (tiles["gates"], tiles["findings"]) == ("1", "1")
    first_rule_row = re.search(r"<tbody><tr[^>]*><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td>", dom)
    assert first_rule_row and (first_rule_row[1], first_rule_row[3]) == (top_rule, f"{top_total:,}")
    assert f"{SPEC.name}:run-2" in dom and "max_quarantine_rate" in dom
    rates = _figure(dom, "chart-rates")
    assert len(rates["data"]) == rule_traces  # one line per source and rule
    assert _chart_dom(dom, "chart-rates").count('class="trace scatter') == rule_traces
    (top,) = [t for t in rates["data"] if t["name"] == f"{SPEC.name} · {top_rule}"]
    assert top["y"] == [pytest.approx(rate, abs=1e-6)]
    (gate_bars,) = _figure(dom, "chart-gates")["data"]
    assert gate_bars["y"] == [1]


def test_report_page_renders_its_charts_offline_with_the_store_figures(page: Path, store: str, tmp_path: Path) -> None:
    chromium.require()
    assets = page.parent / report_html.ASSETS
    assert (assets / "plotly.min.js").read_bytes() == report_html.plotly_js().read_bytes()
    rendered = chromium.render(page.as_uri(), tmp_path / "disk")  # file:// loads are not in the net log
    _check_rendered(rendered, store)  # charts drawn: plotly.min.js came from beside the page

    with serving(functools.partial(_Quiet, directory=str(page.parent))) as url:
        served = chromium.render(f"{url}/{page.name}", tmp_path / "served")
    assert set(served.requested) == {
        f"{url}/{page.name}",
        f"{url}/{report_html.ASSETS}/report.css",
        f"{url}/{report_html.ASSETS}/plotly.min.js",
    }
    _check_rendered(served, store)


def test_report_page_carries_no_personal_data(page: Path, store: str) -> None:
    text = page.read_text(encoding="utf-8")
    with psycopg.connect(store) as conn:
        raws = [r[0] for r in conn.execute("SELECT raw FROM quarantine.record")]
    values = {str(v) for raw in raws for v in raw.values() if v is not None}
    identifiers = {v for v in values if re.fullmatch(r"[0-9Xx]{11,18}", v)}
    names = {v for v in values if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", v)}
    assert identifiers and names  # the quarantine holds some: the check below can fail
    leaked = sorted(v for v in identifiers | names if v in text)
    assert leaked == []


def test_scrub_masks_identifier_like_tokens_and_keeps_the_reason() -> None:
    assert report_series.scrub("id_number 11010519491231002X fails its check") == "id_number … fails its check"
    assert report_series.scrub("line 12: 3 fields where the header has 5") == "line 12: 3 fields where the header has 5"
    assert report_series.scrub("phone 13912345678 malformed") == "phone … malformed"


def test_report_json_and_text_carry_the_chart_series(page: Path, store: str) -> None:
    data = report.build(store)
    assert {g["batch_id"] for g in data["gates"]} == {f"{SPEC.name}:run-2"}
    assert [
        (p["rule"], p["open"])
        for p in data["findings_trend"]
        if p["day"] == max(q["day"] for q in data["findings_trend"])
    ] == [("person.deceased_but_active", 1)]
    assert all(r["examples"] for r in data["top_rules"])
    text = report.render_text(data)
    assert f"{SPEC.name}:run-2: source {SPEC.name}: gate max_quarantine_rate failed" in text
    assert f"  {data['top_rules'][0]['rule']} total={data['top_rules'][0]['total']:,}" in text
