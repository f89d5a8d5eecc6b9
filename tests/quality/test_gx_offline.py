"""Self-contained Data Docs: vendored assets are the upstream bytes, every page loads only local files,
and a real browser renders the site offline."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import http.server
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest

from hub import registry
from hub.pipeline import run_ingest
from hub.settings import hub_home
from quality import gx_offline, gx_suites
from schemas.tables import TABLES
from tests import chromium
from tests.conftest import connection_env, fresh_database
from tests.http_server import serving

TODAY = dt.date(2026, 11, 23)
GX_TEMPLATES = files("great_expectations") / "render" / "view" / "templates"


def test_vendored_assets_are_the_upstream_bytes() -> None:
    sources = (gx_offline.ASSETS / "SOURCES.md").read_text(encoding="utf-8")
    listed = dict(reversed(line.split("  ", 1)) for line in re.findall(r"^[0-9a-f]{64}  \S+$", sources, re.M))
    on_disk = {
        p.relative_to(gx_offline.ASSETS).as_posix()
        for p in gx_offline.ASSETS.rglob("*")
        if p.is_file() and p.suffix != ".md" and not p.name.startswith("LICENSE")
    }
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((gx_offline.ASSETS / name).read_bytes()).hexdigest() == digest, name
    assert set(gx_offline.CDN_COPIES.values()) <= on_disk
    # where GX pins a CDN file by its subresource-integrity hash, the vendored copy has that very hash
    imports = (GX_TEMPLATES / "js_script_imports.j2").read_text(encoding="utf-8")
    pinned = re.findall(r'src="([^"]+)" integrity="sha384-([^"]+)"', imports)
    assert pinned
    for url, sri in pinned:
        data = (gx_offline.ASSETS / gx_offline.CDN_COPIES[url]).read_bytes()
        assert base64.b64encode(hashlib.sha384(data).digest()).decode() == sri, url


def test_every_asset_gx_templates_load_from_a_cdn_has_a_vendored_copy() -> None:
    named = set()
    for template in GX_TEMPLATES.iterdir():
        if template.name.endswith(".j2"):
            named |= set(gx_offline.remote_resources(template.read_text(encoding="utf-8")))
    assert named  # GX 1.x does load from CDNs; an upgrade that adds one fails here
    assert named <= set(gx_offline.CDN_COPIES)


def test_rewrite_points_a_nested_page_at_the_site_root() -> None:
    html = (
        '<link rel="shortcut icon" href="../../../static/images/favicon.ico" type="image/x-icon"/>'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" '
        'integrity="sha384-abc" crossorigin="anonymous"></script>'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1234">'
        '<a href="https://greatexpectations.io/">GX</a>'
    )
    assert gx_offline.rewrite(html, "../../") == (
        '<link rel="shortcut icon" href="../../static/images/favicon.ico" type="image/x-icon"/>'
        '<script src="../../static/vendor/jquery-3.7.1/jquery.min.js"></script>'
        '<script src="../../static/vendor/bootstrap-4.3.1/bootstrap.min.js"></script>'
        '<img src="../../static/images/logo-long.png">'
        '<a href="https://greatexpectations.io/">GX</a>'
    )


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    """Data Docs built by a real checkpoint run over a real ingest of 公安 population; the site directory."""
    from hub.store.migrate import migrate
    from simulators.ga import population

    with pytest.MonkeyPatch.context() as mp:
        store = fresh_database("docs")
        migrate(store)
        source = fresh_database("sim_ga")
        population.create(source, 500, seed=3)
        mp.setenv("AIRFLOW_CONN_GA_POPULATION", connection_env(source))
        mp.setenv("AIRFLOW_CONN_HUB_STORE", connection_env(store))
        run_ingest(registry.get("ga_population"), "run-1", store=store, today=TODAY)
        result = gx_suites.run(store, [TABLES["shared.population"]], today=TODAY, home=hub_home())
        yield result.docs_index.parent


def _local_references(page: Path) -> list[str]:
    html = page.read_text(encoding="utf-8")
    return re.findall(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="(?!https?:|data:|#)([^"?]+)', html)


@pytest.fixture
def served(site: Path) -> Iterator[str]:
    """The Data Docs site served over HTTP on a free 127.0.0.1 port (as a web server would)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    with serving(handler) as url:
        yield url


def _rendered_index(dom: str) -> None:
    for name in TABLES:  # the index table is drawn by bootstrap-table's script from data in the page
        assert f">{name}<" in dom or f"{name}</" in dom, name
    assert 'data-index="0"' in dom  # a row bootstrap-table rendered
    assert "ShareHub quality report" in dom


def test_built_data_docs_load_only_their_own_files(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > len(TABLES)  # index, a page per suite, validation pages, the quality report
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert gx_offline.remote_resources(html) == [], page
        for ref in _local_references(page):
            assert (page.parent / ref).resolve().is_file(), f"{page.relative_to(site)}: {ref}"


def test_data_docs_render_offline_from_disk(site: Path, tmp_path: Path) -> None:
    chromium.require()
    page = chromium.render((site / "index.html").as_uri(), tmp_path)
    assert page.remote_requests() == []
    _rendered_index(page.dom)


def test_data_docs_render_offline_when_served(served: str, site: Path, tmp_path: Path) -> None:
    chromium.require()
    validation = next((site / "validations" / "shared" / "population").rglob("*.html")).relative_to(site).as_posix()
    index = chromium.render(f"{served}/index.html", tmp_path / "index")
    assert index.remote_requests() == []
    assert f"{served}/static/vendor/bootstrap-table-1.19.1/bootstrap-table.min.js" in index.requested
    assert f"{served}/static/vendor/fontawesome-free-6.6.0/webfonts/fa-solid-900.woff2" in index.requested
    _rendered_index(index.dom)
    page = chromium.render(f"{served}/{validation}", tmp_path / "validation")
    assert page.remote_requests() == []
    assert "shared.population" in page.dom
    assert 'data-index="0"' in page.dom  # its results table, drawn by bootstrap-table


def test_only_pages_written_since_the_run_began_are_rewritten(tmp_path: Path) -> None:
    import os
    import time

    url = next(iter(gx_offline.CDN_COPIES))
    page = f'<html><head><script src="{url}"></script></head><body></body></html>'
    old, new = tmp_path / "old.html", tmp_path / "validations" / "new.html"
    new.parent.mkdir()
    for p in (old, new):
        p.write_text(page, encoding="utf-8")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    gx_offline.make_offline(tmp_path, since=time.time() - 60)
    assert url in old.read_text(encoding="utf-8")  # left for the daily full rebuild
    assert url not in new.read_text(encoding="utf-8") and "../" in new.read_text(encoding="utf-8")
    gx_offline.make_offline(tmp_path)
    assert url not in old.read_text(encoding="utf-8")
