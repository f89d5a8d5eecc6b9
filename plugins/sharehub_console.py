"""Airflow plugin: the ShareHub console (:mod:`hub.console`) inside the Airflow 3 UI.

Airflow's api-server mounts the console's FastAPI app under ``/sharehub``; each page is an external
view of the UI's menu (category "ShareHub"), shown inside the UI. ``hub up`` and the compose file
point ``AIRFLOW__CORE__PLUGINS_FOLDER`` at this folder.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from hub.console.app import PAGES, URL_PREFIX, create_app


class ShareHubConsole(AirflowPlugin):
    """Registers the console's app and one menu entry per page."""

    name = "sharehub_console"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "ShareHub console"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": f"{zh} {en}",
            "href": f"{URL_PREFIX}/{slug}",
            "destination": "nav",
            "category": "ShareHub",
            "url_route": f"sharehub-{slug}",
        }
        for slug, (zh, en) in PAGES.items()
    ]
