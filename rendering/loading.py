"""How a browser loads a page before capturing it (Chromium only): viewport, waits, media.

Shared by PDF page set-ups and image set-ups. Field names in `from_dict`/`as_dict` are the API's.
Every field is optional; `as_dict` outputs only the fields that are set, so stored options that
predate these fields compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Puppeteer's names. networkidle0: no request in flight for 500 ms; networkidle2: at most two.
WAIT_UNTIL = ("load", "domcontentloaded", "networkidle0", "networkidle2")
MEDIA_TYPES = ("print", "screen")


@dataclass(frozen=True)
class Viewport:
    """The browser window in CSS pixels; device_scale_factor multiplies image pixels."""

    width: int
    height: int
    device_scale_factor: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "deviceScaleFactor": self.device_scale_factor}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Viewport:
        """Missing sizes take DEFAULT_VIEWPORT's (a request may set only the width)."""
        return cls(
            width=int(data.get("width") or DEFAULT_WIDTH),
            height=int(data.get("height") or DEFAULT_HEIGHT),
            device_scale_factor=float(data.get("deviceScaleFactor") or 1),
        )


DEFAULT_WIDTH, DEFAULT_HEIGHT = 1280, 720
DEFAULT_VIEWPORT = Viewport(width=DEFAULT_WIDTH, height=DEFAULT_HEIGHT)

# API name → PageLoad attribute, in output order.
LOAD_OPTIONS = {
    "viewport": "viewport",
    "waitUntil": "wait_until",
    "waitForSelector": "wait_for_selector",
    "delay": "delay_ms",
    "autoScroll": "auto_scroll",
    "timeout": "timeout_ms",
    "emulateMediaType": "emulate_media_type",
}


@dataclass(frozen=True)
class PageLoad:
    viewport: Viewport | None = None
    wait_until: str | None = None  # one of WAIT_UNTIL; None means "load"
    wait_for_selector: str | None = None  # waits until an element matches (Puppeteer's default state)
    delay_ms: int | None = None  # after the waits above
    auto_scroll: bool | None = None  # scroll to the bottom and back, for lazy-loaded content
    timeout_ms: int | None = None  # the whole render, capped by the server's limits
    emulate_media_type: str | None = None  # one of MEDIA_TYPES; PDFs print, images show the screen

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for api_name, attribute in LOAD_OPTIONS.items():
            value = getattr(self, attribute)
            if value is None:
                continue
            data[api_name] = value.as_dict() if isinstance(value, Viewport) else value
        return data

    def options_set(self) -> list[str]:
        """The API names of the fields that are set."""
        return [api_name for api_name, attribute in LOAD_OPTIONS.items() if getattr(self, attribute) is not None]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageLoad:
        def optional(key: str, kind: type) -> Any:
            value = data.get(key)
            return None if value is None else kind(value)

        viewport = data.get("viewport")
        return cls(
            viewport=Viewport.from_dict(viewport) if viewport else None,
            wait_until=optional("waitUntil", str),
            wait_for_selector=optional("waitForSelector", str),
            delay_ms=optional("delay", int),
            auto_scroll=optional("autoScroll", bool),
            timeout_ms=optional("timeout", int),
            emulate_media_type=optional("emulateMediaType", str),
        )
