"""How a browser loads a page before capturing it (Chromium only): viewport, waits, media, the
time zone, and what it sends to the page's site (HTTP basic credentials, cookies).

Shared by PDF page set-ups and image set-ups. Field names in `from_dict`/`as_dict` are the API's.
Every field is optional; `as_dict` outputs only the fields that are set, so stored options that
predate these fields compare equal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

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


@dataclass(frozen=True)
class Credentials:
    """HTTP basic credentials, sent to the page's own origin only."""

    username: str
    password: str

    def as_dict(self) -> dict[str, Any]:
        return {"username": self.username, "password": self.password}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        return cls(username=str(data["username"]), password=str(data["password"]))


@dataclass(frozen=True)
class Cookie:
    """A cookie set in the browser before the page loads (Playwright's names). It applies to
    `url`, or to `domain` (a leading dot or not: subdomains too) and `path`."""

    name: str
    value: str
    url: str | None = None
    domain: str | None = None
    path: str | None = None
    expires: int | None = None  # Unix seconds
    http_only: bool | None = None
    secure: bool | None = None
    same_site: str | None = None  # Strict, Lax or None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "value": self.value, "url": self.url, "domain": self.domain}
        data.update(path=self.path, expires=self.expires, httpOnly=self.http_only, secure=self.secure)
        data["sameSite"] = self.same_site
        return {key: value for key, value in data.items() if value is not None}

    def applies_to(self, url: str) -> bool:
        """Whether a browser would send this cookie with a request for `url` (RFC 6265 domain
        and path matching, `secure`, expiry)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if self.url:
            if host != (urlsplit(self.url).hostname or "").lower():
                return False
        else:
            domain = (self.domain or "").lstrip(".").lower()
            if not domain or not (host == domain or host.endswith("." + domain)):
                return False
        path = self.path or "/"
        request_path = parts.path or "/"
        if not (path == "/" or request_path == path or request_path.startswith(path.rstrip("/") + "/")):
            return False
        if self.secure and parts.scheme.lower() != "https":
            return False
        return self.expires is None or self.expires < 0 or self.expires > time.time()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cookie:
        expires = data.get("expires")
        return cls(
            name=str(data["name"]),
            value=str(data["value"]),
            url=data.get("url"),
            domain=data.get("domain"),
            path=data.get("path"),
            expires=None if expires is None else int(expires),
            http_only=data.get("httpOnly"),
            secure=data.get("secure"),
            same_site=data.get("sameSite"),
        )


def cookie_header(cookies: tuple[Cookie, ...] | None, url: str) -> str | None:
    """The `Cookie` header a browser holding `cookies` sends to `url` (None: none apply)."""
    sent = [f"{cookie.name}={cookie.value}" for cookie in cookies or () if cookie.applies_to(url)]
    return "; ".join(sent) or None


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
    "timeZone": "time_zone",
    "authentication": "credentials",
    "cookies": "cookies",
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
    time_zone: str | None = None  # IANA zone id for the page's clocks (Date, Intl); None: UTC
    credentials: Credentials | None = None  # HTTP basic credentials for the page's origin
    cookies: tuple[Cookie, ...] | None = None  # in the browser, and sent where they apply

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for api_name, attribute in LOAD_OPTIONS.items():
            value = getattr(self, attribute)
            if value is None:
                continue
            if isinstance(value, tuple):
                data[api_name] = [item.as_dict() for item in value]
            else:
                data[api_name] = value.as_dict() if isinstance(value, (Viewport, Credentials)) else value
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
        credentials = data.get("authentication")
        cookies = data.get("cookies")
        return cls(
            viewport=Viewport.from_dict(viewport) if viewport else None,
            wait_until=optional("waitUntil", str),
            wait_for_selector=optional("waitForSelector", str),
            delay_ms=optional("delay", int),
            auto_scroll=optional("autoScroll", bool),
            timeout_ms=optional("timeout", int),
            emulate_media_type=optional("emulateMediaType", str),
            time_zone=optional("timeZone", str),
            credentials=Credentials.from_dict(credentials) if credentials else None,
            cookies=tuple(Cookie.from_dict(item) for item in cookies) if cookies else None,
        )
