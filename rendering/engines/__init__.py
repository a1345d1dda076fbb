"""The engine interface: every engine turns HTML (or a URL) plus a set-up into PDF or image bytes.

An engine module is the only importer of its native library (WeasyPrint, Playwright), and it is
loaded lazily: Celery's prefork pool forks after Django has imported the project, and native
libraries must be initialised in the child (WeasyPrint #684, Celery #3398).
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from rendering.images import ImageSetup
from rendering.pages import PageSetup


class RenderError(Exception):
    """The engine could not produce a document from this input (the message is for users)."""


class RenderTimedOut(RenderError):
    """The engine gave up at its own deadline (the render time limit): a timeout, not a fault."""


class Engine(Protocol):
    name: str

    def render_pdf(self, html: str, setup: PageSetup, base_url: str | None = None, *, url: str | None = None) -> bytes:
        """Render one HTML document (or the page at `url`, then `html` is ignored) to PDF bytes.

        Raises RenderError.
        """
        ...

    def render_image(
        self, html: str, image: ImageSetup, base_url: str | None = None, *, url: str | None = None
    ) -> bytes:
        """Render one HTML document (or the page at `url`) to image bytes. Raises RenderError."""
        ...

    def warm_up(self) -> None:
        """Load what the first real render would (fonts, code, a browser) in this process."""
        ...

    def shutdown(self) -> None:
        """Stop what warm_up or a render started in this process (a browser); renders restart it."""
        ...


@dataclass(frozen=True)
class ResourceFailure:
    """A resource the document referenced that was left out (refused or failed to load)."""

    url: str
    reason: str


_log = threading.local()


@contextlib.contextmanager
def resource_failures() -> Iterator[list[ResourceFailure]]:
    """Collect the resources that engines report as left out while this block renders.

    Thread-local, not a context variable: a browser engine's request handlers run in greenlets
    of the rendering thread, which do not share the caller's contextvars.
    """
    collected: list[ResourceFailure] = []
    previous = getattr(_log, "failures", None)
    _log.failures = collected
    try:
        yield collected
    finally:
        _log.failures = previous


def resource_failed(url: str, reason: str) -> None:
    """An engine left a resource out; recorded when a render is collecting (see above)."""
    failures = getattr(_log, "failures", None)
    if failures is not None and len(failures) < 100:
        failures.append(ResourceFailure(url=url[:500], reason=reason[:300]))


# Engine name → module that defines `ENGINE`. Imported on first use (see the module docstring).
ENGINE_MODULES: dict[str, str] = {
    "weasyprint": "rendering.engines.weasyprint",
    "chromium": "rendering.engines.chromium",
}
ENGINE_NAMES = tuple(ENGINE_MODULES)


def get_engine(name: str) -> Engine:
    """The engine called `name`. Raises KeyError for an unknown name (validated before this)."""
    module = importlib.import_module(ENGINE_MODULES[name])
    engine: Engine = module.ENGINE
    return engine


def refuse_browser_options(engine: str, names: list[str]) -> None:
    """RenderError naming the options `engine` cannot honour, if any."""
    if names:
        raise RenderError(f"{', '.join(names)}: supported by the chromium engine only, not by {engine}")
