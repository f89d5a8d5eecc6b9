"""Self-contained GX Data Docs: every page's JS/CSS/fonts/images from the site itself, none from a CDN.

GX 1.x's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome, Vega and more
from public CDNs (and the logo from GX's S3 bucket), so the Data Docs render blank on a network
without internet. :func:`make_offline` copies the vendored copies (``quality/datadocs_assets``,
byte-identical to the npm packages named in its ``SOURCES.md``) into the site's
``static/vendor/`` and points every page at them with a relative path, so the site works when
opened from disk (``file://``) as when served. Subresource-integrity and CORS attributes go
with the CDN URLs: a file:// page cannot load a CORS script (the vendored bytes are checked
against GX's integrity hashes by the tests instead).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS = Path(__file__).parent / "datadocs_assets"
VENDOR = Path("static") / "vendor"
"""Where the assets land inside the site."""

CDN_COPIES: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1/bootstrap.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js-1.12.9/popper.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark-1.1.0/bootstrap-prefers-dark.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome-free-6.6.0/css/all.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
}
"""Each CDN URL GX's templates write and the vendored file (under :data:`ASSETS`) that replaces it."""

_GX_IMAGES = re.compile(r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/([\w.-]+)(?:\?[^\"']*)?")
"""GX's logo on S3; the same images are in the site's own ``static/images`` (GX copies them there)."""
_SITE_STATIC = re.compile(r"(<(?:script|link|img)\b[^>]*?\b(?:src|href)=\")(?:\./|(?:\.\./)+)static/")
"""A page's reference to the site's ``static/`` directory (GX gets the depth wrong for some favicons)."""
_CDN_ATTRIBUTES = re.compile(r"\s+(?:integrity=\"sha\d+-[^\"]*\"|crossorigin=\"anonymous\")")
_REMOTE_RESOURCE = re.compile(r"<(?:script|link|img)\b[^>]*?\b(?:src|href)=\"(https?://[^\"]+)\"")


def remote_resources(html: str) -> list[str]:
    """The http(s) URLs a page loads scripts, stylesheets or images from (links to follow do not count)."""
    return _REMOTE_RESOURCE.findall(html)


def rewrite(html: str, to_site_root: str) -> str:
    """Point a page's CDN assets at the site's vendored copies, and its ``static/`` references at the site's.

    Args:
        html: The page.
        to_site_root: Relative path from the page's directory to the site root (``""`` or ``"../../"``).
    """
    for url, copy in CDN_COPIES.items():
        html = html.replace(f'"{url}"', f'"{to_site_root}{(VENDOR / copy).as_posix()}"')
    html = _GX_IMAGES.sub(lambda m: f"{to_site_root}static/images/{m.group(1)}", html)
    html = _SITE_STATIC.sub(lambda m: f"{m.group(1)}{to_site_root}static/", html)
    return _CDN_ATTRIBUTES.sub("", html)


def make_offline(site: Path, since: float | None = None) -> list[str]:
    """Vendor the assets into a built Data Docs site and rewrite its pages to use them.

    Idempotent: pages already rewritten are left as they are.

    Args:
        site: The Data Docs site.
        since: Only pages written at or after this time (``time.time()``) are looked at: a run that
            rebuilt a few pages need not read every page of a site that grows with each run.

    Returns:
        Remote resources still named by some page (``page: url``), each also logged as a warning:
        a GX upgrade that loads something new from a CDN shows up here.
    """
    shutil.copytree(ASSETS, site / VENDOR, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md"))
    left: list[str] = []
    for page in sorted(site.rglob("*.html")):
        if since is not None and page.stat().st_mtime < since:
            continue
        html = page.read_text(encoding="utf-8")
        depth = os.path.relpath(site, page.parent)
        offline = rewrite(html, "" if depth == "." else f"{Path(depth).as_posix()}/")
        if offline != html:
            page.write_text(offline, encoding="utf-8")
        left += [f"{page.relative_to(site)}: {url}" for url in remote_resources(offline)]
    for item in left:
        log.warning("Data Docs page still loads a remote resource: %s", item)
    return left
