"""The WeasyPrint engine: the only module that imports WeasyPrint.

WeasyPrint is imported lazily (inside functions) because Celery's prefork pool forks after the
module graph is loaded, and WeasyPrint's native libraries must be initialised in the child
(WeasyPrint #684, Celery #3398). `warm_up()` is called from `worker_process_init`.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from fileloom import outbound
from rendering.engines import RenderError, resource_failed
from rendering.pages import PageSetup, page_css, running_elements_html

logger = logging.getLogger("fileloom.renderer")

_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_warm_lock = threading.Lock()
_warm = False


def _fetcher_class() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class GuardedURLFetcher(URLFetcher):
        """Fetches only data: URIs and http(s) URLs whose addresses pass fileloom.netpolicy.

        A refused or failed resource is left out of the document (and logged); the document
        still renders, as a browser would.
        """

        def fetch(self, url: str, headers: dict | None = None) -> Any:
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme not in ("http", "https"):
                logger.warning("renderer refused resource %s: scheme %r is not allowed", url[:200], scheme)
                resource_failed(url, f"scheme {scheme!r} is not allowed")
                raise ValueError(f"scheme {scheme!r} is not allowed")
            try:
                response = outbound.request(
                    "GET",
                    url,
                    headers={"User-Agent": "Fileloom renderer"},
                    connect_timeout=settings.RESOURCE_FETCH_TIMEOUT_SECONDS,
                    read_timeout=settings.RESOURCE_FETCH_TIMEOUT_SECONDS,
                    max_bytes=settings.RESOURCE_MAX_BYTES,
                    follow_redirects=True,  # every hop is checked again at connect time
                    allowed_networks=settings.RENDERER_ALLOWED_NETWORKS,
                )
            except outbound.OutboundError as exc:
                logger.warning("renderer left out resource %s: %s", url[:200], exc)
                resource_failed(url, str(exc))
                raise ValueError(str(exc)) from None
            if response.status >= 400:
                logger.warning("renderer left out resource %s: HTTP %s", url[:200], response.status)
                resource_failed(url, f"HTTP {response.status}")
                raise ValueError(f"HTTP {response.status}")
            headers_out = {k: v for k, v in response.headers.items() if k.lower() == "content-type"}
            return URLFetcherResponse(response.url, body=response.body, headers=headers_out, status=response.status)

    return GuardedURLFetcher


def _assemble_html(html: str, setup: PageSetup) -> str:
    """Insert running header/footer elements at the start of <body>."""
    running = running_elements_html(
        setup.header.content if setup.header.enabled and setup.header.height_mm else "",
        setup.footer.content if setup.footer.enabled and setup.footer.height_mm else "",
    )
    if not running:
        return html
    match = _BODY_OPEN.search(html)
    if match:
        return html[: match.end()] + running + html[match.end() :]
    # No <body> tag: the parser opens one at the first content, so the running elements must
    # come after any <head> content.
    head_close = re.search(r"</head\s*>", html, re.IGNORECASE)
    if head_close:
        return html[: head_close.end()] + running + html[head_close.end() :]
    return running + html


def render_pdf(html: str, setup: PageSetup, *, base_url: str | None = None) -> bytes:
    """Render one HTML document to PDF bytes. Raises RenderError."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fetcher = _fetcher_class()(timeout=settings.RESOURCE_FETCH_TIMEOUT_SECONDS, allow_redirects=False)
    font_config = FontConfiguration()
    try:
        document = HTML(string=_assemble_html(html, setup), base_url=base_url, url_fetcher=fetcher)
        page_sheet = CSS(string=page_css(setup), font_config=font_config, url_fetcher=fetcher)
        pdf = document.write_pdf(stylesheets=[page_sheet], font_config=font_config)
    except RecursionError:
        raise RenderError("document is nested too deeply") from None
    except MemoryError:
        raise RenderError("document needs too much memory") from None
    except Exception as exc:  # WeasyPrint raises many types; the message is what users need.
        from celery.exceptions import SoftTimeLimitExceeded

        if isinstance(exc, SoftTimeLimitExceeded):
            raise
        logger.exception("WeasyPrint failed")
        raise RenderError(f"{exc.__class__.__name__}: {exc}"[:500]) from None
    assert isinstance(pdf, bytes)
    return pdf


def warm_up() -> None:
    """Load fonts, default stylesheets and the layout code so the first real request is fast."""
    global _warm
    with _warm_lock:
        if _warm:
            return
        setup = PageSetup.from_dict(
            {"header": {"enabled": True, "height": 8, "content": '<span class="pageNumber"></span>'}}
        )
        render_pdf(
            "<html><head><style>table{border-collapse:collapse}</style></head><body>"
            "<h1>Warm</h1><p>Fonts <b>bold</b> <i>italic</i> 0123456789</p>"
            "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"
            "</body></html>",
            setup,
        )
        _warm = True


class WeasyPrintEngine:
    """CSS paged media (running headers, counters, @page rules); no JavaScript."""

    name = "weasyprint"

    def render_pdf(self, html: str, setup: PageSetup, base_url: str | None = None, *, url: str | None = None) -> bytes:
        if url is not None:
            raise RenderError("URL input needs the chromium engine")
        return render_pdf(html, setup, base_url=base_url)

    def warm_up(self) -> None:
        warm_up()


ENGINE = WeasyPrintEngine()
