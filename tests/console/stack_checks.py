"""The console inside ``hub up``'s Airflow, after the DAGs ran: called by tests/ops/test_stack.py on its stack.

Airflow lists the plugin and its menu entries; each page, served by the api-server, loads in headless
Chromium with no failed request and nothing but 127.0.0.1, shows the figures the store holds (checked
against SQL) and draws its charts; the UI's plugin route frames the console. Screenshots go to
``$HUB_HOME/console/`` of the stack, and also to ``$HUB_CONSOLE_SCREENSHOTS`` when set (the stack's
home is removed after the test).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import psycopg
import requests

from hub.console.app import PAGES, URL_PREFIX
from tests import chromium
from tests.console import browser

# Charts the data of one stack run always fills (others may honestly say "no data yet").
DRAWN = {
    "sources": ["chart-rows"],
    "quality": ["chart-rate"],
    "province": ["chart-answers"],
    "efficiency": ["chart-on_time", "chart-satisfaction", "chart-online"],
    "sharing": [],
}


def check_console(airflow_url: str, store_uri: str, home: Path) -> None:
    """Run every console check against the stack at ``airflow_url`` (see the module docs)."""
    plugins = requests.get(f"{airflow_url}/api/v2/plugins", timeout=60).json()["plugins"]
    console = next(p for p in plugins if p["name"] == "sharehub_console")
    assert [v["href"] for v in console["external_views"]] == [f"{URL_PREFIX}/{page}" for page in PAGES]
    assert [a["url_prefix"] for a in console["fastapi_apps"]] == [URL_PREFIX]

    shots = home / "console"
    shots.mkdir(parents=True, exist_ok=True)
    doms: dict[str, str] = {}
    for page in PAGES:
        url = f"{airflow_url}{URL_PREFIX}/{page}"
        work = shots / f"work-{page}"
        work.mkdir()
        rendered = chromium.render(url, work)
        assert browser.failed_requests(work / "netlog.json", rendered) == [], page
        assert rendered.remote_requests() == [], page
        drawn = browser.figures(rendered.dom).charts
        assert all(drawn.get(chart, 0) > 0 for chart in DRAWN[page]), (page, drawn)
        doms[page] = rendered.dom
        browser.screenshot(url, shots / f"{page}.png", work, (1280, 960))
        shutil.rmtree(work)
    _shown_inside_the_airflow_ui(airflow_url, shots)
    keep = os.environ.get("HUB_CONSOLE_SCREENSHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
    print(f"console screenshots: {sorted(str(p) for p in shots.glob('*.png'))}", file=sys.stderr)
    _figures_match_the_store(doms, store_uri)


def _shown_inside_the_airflow_ui(airflow_url: str, shots: Path) -> None:
    """The UI's plugin route frames the console page (what an engineer sees from the ShareHub menu)."""
    url = f"{airflow_url}/plugin/sharehub-sources"
    work = shots / "work-ui"
    work.mkdir()
    rendered = chromium.render(url, work)
    assert re.search(rf'<iframe[^>]* src="{URL_PREFIX}/sources"', rendered.dom), rendered.dom[-2000:]
    assert browser.failed_requests(work / "netlog.json", rendered) == []
    assert rendered.remote_requests() == []
    browser.screenshot(url, shots / "airflow-ui.png", work, (1280, 900))
    shutil.rmtree(work)


def _figures_match_the_store(doms: dict[str, str], uri: str) -> None:
    found = {page: browser.figures(dom) for page, dom in doms.items()}
    fields = ("extracted", "inserted", "updated", "unchanged", "quarantined")
    with psycopg.connect(uri) as conn:
        ledger = {r[0]: list(r[1:]) for r in conn.execute(f"SELECT batch_id, {', '.join(fields)} FROM hub.ledger")}
        outbox = {
            (k, s): n for k, s, n in conn.execute("SELECT kind, status, count(*) FROM hub.push_outbox GROUP BY 1, 2")
        }
        rules = dict(conn.execute("SELECT rule, count(*) FROM quarantine.record GROUP BY rule"))
        stat_date = conn.execute("SELECT as_of FROM hub.efficiency_state").fetchone()[0]
        on_time, promised, received = conn.execute(
            "SELECT sum(completed_on_time), sum(completed_with_promise), sum(received) FROM shared.service_efficiency "
            "WHERE stat_date = %s",
            (stat_date,),
        ).fetchone()
        population = conn.execute("SELECT count(*) FROM shared.population").fetchone()[0]

    runs = found["sources"].rows["runs"]
    assert runs
    for row in runs:
        assert [browser.number(row[f]) for f in fields] == ledger[row["batch"]], row["batch"]
    for row in found["province"].rows["outbox"]:
        for status in ("pending", "delivered", "parked"):
            assert browser.number(row[status]) == outbox.get((row["kind"], status), 0)
    for row in found["quality"].rows["top-rules"]:
        assert browser.number(row["total"]) == rules[row["rule"]]
    city = found["efficiency"].rows["city"][0]
    assert browser.number(city["received"]) == received
    assert city["on_time_rate"] == (f"{on_time / promised:.1%}" if promised else "—")
    catalogue = {r["table"]: r for r in found["sharing"].rows["catalogue"]}
    assert browser.number(catalogue["shared.population"]["rows"]) == population
