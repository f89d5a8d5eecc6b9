"""The data API's Swagger UI and ReDoc render in a real browser with no route off the machine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import chromium


@pytest.fixture
def api_url(store: str) -> Iterator[str]:
    """The real data API served by uvicorn on a free 127.0.0.1 port."""
    from hub.api.server import start_in_thread
    from hub.store.roles import local_api_uri

    server = start_in_thread(local_api_uri(store))
    try:
        yield server.url
    finally:
        server.stop()


def _operation_ids(api_url: str) -> list[str]:
    spec = httpx.get(f"{api_url}/openapi.json", timeout=30).json()
    return [op["operationId"] for item in spec["paths"].values() for op in item.values() if "operationId" in op]


def test_swagger_ui_renders_offline(api_url: str, tmp_path: Path) -> None:
    chromium.require()
    page = chromium.render(f"{api_url}/docs", tmp_path)
    assert page.remote_requests() == []
    assert any(url.startswith(f"{api_url}/static-offline-docs/swagger-ui-bundle.js") for url in page.requested)
    assert f"{api_url}/openapi.json" in page.requested  # the UI's script ran and fetched the spec
    blocks = re.findall(r'class="opblock opblock-(?:get|post|put|delete)', page.dom)
    assert len(blocks) == len(_operation_ids(api_url))  # one rendered block per operation
    assert "ShareHub 政务数据共享接口" in page.dom


def test_redoc_renders_offline(api_url: str, tmp_path: Path) -> None:
    chromium.require()
    page = chromium.render(f"{api_url}/redoc", tmp_path)
    assert page.remote_requests() == []
    assert f"{api_url}/openapi.json" in page.requested
    for operation in _operation_ids(api_url):  # ReDoc's rendered sections, absent when its script did not run
        assert f'data-section-id="operation/{operation}"' in page.dom


def test_docs_pages_name_no_remote_asset(api_url: str) -> None:
    for path in ("/docs", "/redoc"):
        html = httpx.get(f"{api_url}{path}", timeout=30).text
        assert not re.findall(r'(?:src|href)="https?://', html), path
