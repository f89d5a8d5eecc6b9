"""The console app alone, over a seeded store: each page in headless Chromium loads everything from
127.0.0.1 without a failed request, shows what the store holds, draws its charts, and shows no
personal data; bad requests get a 4xx naming what was wrong."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import psycopg
import pytest

from hub.console.app import PAGES
from hub.ops.freshness import freshness
from quality.report_html import plotly_js
from tests import chromium
from tests.console import browser
from tests.console.conftest import CASE_NO, PERSON_ID, PERSON_NAME, Store

CHARTS = {
    "sources": ["chart-rows"],
    "quality": ["chart-rate", "chart-rules", "chart-findings"],
    "province": ["chart-answers", "chart-reconciliation"],
    "efficiency": ["chart-on_time", "chart-satisfaction", "chart-online"],
    "sharing": [],
}


@pytest.fixture(scope="module")
def pages(console: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[chromium.Page, list[str]]]:
    """Every page rendered once: (what Chromium made of it, its failed requests)."""
    out = {}
    for page in PAGES:
        work = tmp_path_factory.mktemp(page)
        rendered = chromium.render(f"{console}/{page}", work)
        out[page] = (rendered, browser.failed_requests(work / "netlog.json", rendered))
    return out


@pytest.mark.parametrize("page", list(PAGES))
def test_page_loads_offline_with_no_failed_request_and_draws_its_charts(pages: dict, page: str) -> None:
    rendered, failed = pages[page]
    assert failed == []
    assert rendered.remote_requests() == []
    assert any(url.endswith("/static/plotly.min.js") for url in rendered.requested)
    drawn = browser.figures(rendered.dom).charts
    assert {chart: drawn.get(chart, 0) > 0 for chart in CHARTS[page]} == dict.fromkeys(CHARTS[page], True)
    for secret in (PERSON_ID, PERSON_NAME, CASE_NO):
        assert secret not in rendered.dom


def test_sources_page_shows_the_ledger_and_flags_the_late_and_the_failed(pages: dict, store: Store) -> None:
    found = browser.figures(pages["sources"][0].dom)
    with psycopg.connect(store.uri) as conn:
        ledger = conn.execute(
            "SELECT batch_id, extracted, inserted, updated, unchanged, quarantined FROM hub.ledger"
        ).fetchall()
    shown = {r["batch"]: r for r in found.rows["runs"]}
    assert set(shown) == {row[0] for row in ledger}
    for batch_id, *counts in ledger:
        row = shown[batch_id]
        fields = ("extracted", "inserted", "updated", "unchanged", "quarantined")
        assert [browser.number(row[f]) for f in fields] == counts
    late = {f.source for f in freshness(store.uri) if f.late}
    assert late and late == {r["source"] for r in found.rows["freshness"] if r["class"] == "bad"}
    assert [r["batch"] for r in found.rows["runs"] if r["class"] == "bad"] == ["zw_cases:manual__gate"]
    assert "gate max_quarantine_rate failed" in pages["sources"][0].dom


def test_quality_page_counts_match_the_quarantine_and_findings(pages: dict, store: Store) -> None:
    found = browser.figures(pages["quality"][0].dom)
    with psycopg.connect(store.uri) as conn:
        by_rule = dict(conn.execute("SELECT rule, count(*) FROM quarantine.record GROUP BY rule").fetchall())
        findings = dict(
            conn.execute("SELECT rule, count(*) FROM quality.finding WHERE status = 'open' GROUP BY rule").fetchall()
        )
    assert {r["rule"]: browser.number(r["total"]) for r in found.rows["top-rules"]} == by_rule
    assert {r["rule"]: browser.number(r["open"]) for r in found.rows["findings"]} == findings
    assert "校验码错误" in pages["quality"][0].dom  # the rule's reason as an example
    assert "gate max_quarantine_rate failed" in pages["quality"][0].dom


def test_province_page_shows_backlog_parked_codes_and_the_mismatched_day(pages: dict, store: Store) -> None:
    rendered = pages["province"][0]
    found = browser.figures(rendered.dom)
    with psycopg.connect(store.uri) as conn:
        counts = {
            (k, s): n
            for k, s, n in conn.execute("SELECT kind, status, count(*) FROM hub.push_outbox GROUP BY 1, 2").fetchall()
        }
    for row in found.rows["outbox"]:
        for status in ("pending", "delivered", "parked"):
            assert browser.number(row[status]) == counts.get((row["kind"], status), 0)
    assert "hub push retry --kind certificates --code BAD_SIGNATURE" in rendered.dom
    days = {(r["day"], r["kind"]): r for r in found.rows["reconciliation"]}
    mismatched = days[(store.today.isoformat(), "certificates")]
    assert (browser.number(mismatched["platform"]), browser.number(mismatched["hub"])) == (7, 5)
    assert [(r["day"], r["class"]) for r in found.rows["reconciliation"]] == [
        (store.today.isoformat(), "bad"),
        ((store.today - dt.timedelta(days=1)).isoformat(), ""),
    ]


def test_efficiency_page_rates_come_from_the_summed_counts(pages: dict, store: Store) -> None:
    found = browser.figures(pages["efficiency"][0].dom)
    with psycopg.connect(store.uri) as conn:
        on_time, promised, overdue = conn.execute(
            "SELECT sum(completed_on_time), sum(completed_with_promise), sum(overdue_open) "
            "FROM shared.service_efficiency WHERE stat_date = %s",
            (store.today,),
        ).fetchone()
    city = found.rows["city"][0]
    assert city["on_time_rate"] == f"{on_time / promised:.1%}"
    assert browser.number(city["overdue_open"]) == overdue
    assert [(r["dept"], r["item"]) for r in found.rows["items"]] == [("MZ", "MZ001")]
    assert browser.number(found.rows["followups"][0]["open_overdue"]) == 1
    assert "元旦" in pages["efficiency"][0].dom  # the calendar in force


def test_sharing_page_shows_pending_expiring_and_reads_as_counts(pages: dict, store: Store) -> None:
    rendered = pages["sharing"][0]
    found = browser.figures(rendered.dom)
    with psycopg.connect(store.uri) as conn:
        rows, allowed = conn.execute(
            "SELECT sum(row_count), count(*) FILTER (WHERE outcome = 'allowed') FROM access.audit "
            "WHERE dept_code = 'MZ' AND action = 'query'"
        ).fetchone()
    reads = [r for r in found.rows["reads"] if r.get("dept") == "MZ"]
    assert [(browser.number(r["allowed"]), browser.number(r["refused"]), browser.number(r["rows"])) for r in reads] == [
        (allowed, 1, rows)
    ]
    assert [r["class"] for r in found.rows["pending"]] == ["bad"]  # overdue
    assert [r["class"] for r in found.rows["expiring"]] == ["bad"]  # within a week
    assert "婚姻登记核验" not in rendered.dom  # the stated purpose stays in the audit


def test_sharing_page_narrows_the_reads_to_one_provider(console: str) -> None:
    ga = httpx.get(f"{console}/sharing.json", params={"provider": "GA"}).json()
    assert {r["provider"] for r in ga["reads"]} == {"GA"}
    assert httpx.get(f"{console}/sharing.json", params={"provider": "SC"}).json()["reads"] == []


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/sharing?provider=NOPE", 404, "unknown provider department 'NOPE'"),
        ("/quality?provider=GA", 400, "sharing page only"),
        ("/nowhere", 404, "no console page 'nowhere'"),
        ("/static/missing.js", 404, "no console asset"),
        ("/datadocs/..%2F..%2Fetc%2Fpasswd", 404, "Data Docs"),
    ],
)
def test_bad_requests_get_a_4xx_naming_what_was_wrong(console: str, path: str, status: int, says: str) -> None:
    resp = httpx.get(f"{console}{path}")
    assert resp.status_code == status
    assert says in resp.json()["detail"]


def test_the_chart_library_is_the_pinned_plotly_bundle(console: str) -> None:
    served = httpx.get(f"{console}/static/plotly.min.js")
    assert served.status_code == 200
    assert served.content == Path(plotly_js()).read_bytes()


def test_the_index_leads_to_the_sources_page(console: str) -> None:
    resp = httpx.get(f"{console}/", follow_redirects=True)
    assert resp.status_code == 200 and resp.url.path == "/sources"
