"""cloudlayer request parameters: read, validated and translated into Fileloom's terms.

cloudlayer's names and units (docs/cloudlayer.md): lowercase paper formats, margins and sizes as
numbers (pixels) or strings with `px`/`in`/`cm`/`mm`, Puppeteer's browser options, base64 HTML
and templates, `async`/`storage` defaults that differ between v1 and v2. Every problem in a
request is reported at once, each naming its field (cloudlayer.errors.InvalidParameter).

The result is a `Conversion`: the job's type, where its input comes from, the Fileloom page
`options` (millimetres, rendering.options names) and the cloudlayer parameters to show on the
job (secrets replaced by "...").
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from cloudlayer.errors import BadRequest, InvalidParameter, Problem
from fileloom.errors import ValidationFailed
from rendering.engines import ENGINE_NAMES
from rendering.page_images import PreviewSpec
from webhooks.services import webhook_url_check

MM_PER_UNIT = {"px": 25.4 / 96, "in": 25.4, "cm": 10.0, "mm": 1.0}
_DIMENSION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(px|in|cm|mm)?\s*$", re.IGNORECASE)

# cloudlayer's lowercase paper formats → Fileloom's (rendering.pages.PAPER_SIZES_MM).
FORMATS = {
    "letter": "Letter",
    "legal": "Legal",
    "tabloid": "Tabloid",
    "ledger": "Ledger",
    **{f"a{n}": f"A{n}" for n in range(7)},
}
WAIT_UNTIL = ("load", "domcontentloaded", "networkidle0", "networkidle2")
IMAGE_TYPES = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}

# cloudlayer's default page margins (Puppeteer's, as cloudlayer documents them); templates: 0.
DEFAULT_MARGIN = {"top": "0.4in", "right": "0.39in", "bottom": "0.39in", "left": "0.4in"}
ZERO_MARGIN = {"top": 0, "right": 0, "bottom": 0, "left": 0}
MAX_BATCH_URLS = 20
# Options this server recognises but does not implement: refused by name rather than ignored,
# so a document never silently comes out different from what the caller asked for.
UNSUPPORTED_OPTIONS = (
    "waitForFrame",
    "waitForFrameAttachment",
    "waitForFrameNavigation",
    "waitForFrameImages",
    "waitForFrameSelector",
)
# Fields whose content stays out of the job's `params` (cloudlayer's privacy rule).
SECRET_FIELDS = ("html", "template", "authentication", "cookies", "data")

# Parameters only a browser engine can honour: cloudlayer name → Fileloom option name.
BROWSER_OPTIONS = {
    "waitUntil": "waitUntil",
    "waitForSelector": "waitForSelector",
    "autoScroll": "autoScroll",
    "delay": "delay",
    "viewPort": "viewport",
    "scale": "scale",
    "pageRanges": "pageRanges",
    "preferCSSPageSize": "preferCSSPageSize",
    "emulateMediaType": "emulateMediaType",
    "timeZone": "timeZone",
}


@dataclass
class Conversion:
    """One validated conversion request."""

    job_type: str  # cloudlayer's: html-pdf, url-image, merge-pdf, docx-html, …
    version: str  # "v1" | "v2"
    is_async: bool
    storage: bool  # keep the result as an asset
    storage_id: str | None  # deliver to this storage connection (storage: {"id": …})
    webhook: str | None
    name: str
    project_id: str
    filename: str | None
    inline: bool
    timeout_ms: int | None
    options: dict[str, Any] = field(default_factory=dict)  # Fileloom page options
    image_type: str = ""  # png, jpeg or webp for image output
    html: str | None = None
    template_id: str | None = None
    template: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    urls: list[str] = field(default_factory=list)
    authentication: dict[str, str] | None = None
    cookies: list[dict[str, Any]] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # what the job shows

    @property
    def output(self) -> str:
        return self.job_type.rsplit("-", 1)[1]

    @property
    def engine(self) -> str:
        return str(self.options.get("engine") or settings.DEFAULT_ENGINE)


# --- Reading typed values ----------------------------------------------------------------


class Reader:
    """Reads fields of a JSON object, collecting one Problem per bad field."""

    def __init__(self, data: dict[str, Any], prefix: str = "", problems: list[Problem] | None = None) -> None:
        self.data = data
        self.prefix = prefix
        self.problems: list[Problem] = [] if problems is None else problems

    def path(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def problem(self, name: str, reason: str, message: str) -> None:
        self.problems.append(Problem(self.path(name), reason, f"'{self.path(name)}' {message}"))

    def nested(self, name: str) -> Reader | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(name, "type", "must be an object")
            return None
        return Reader(value, self.path(name), self.problems)

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def string(self, name: str, *, required: bool = False, max_length: int = 10_000) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.problem(name, "missing", "is required")
            return None
        if not isinstance(value, str):
            self.problem(name, "type", "must be a string")
            return None
        if required and not value.strip():
            self.problem(name, "missing", "may not be empty")
            return None
        if len(value) > max_length:
            self.problem(name, "invalid", f"must be at most {max_length} characters")
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.problem(name, "type", "must be true or false")
            return None
        return value

    def number(
        self, name: str, *, minimum: float | None = None, maximum: float | None = None, integer: bool = False
    ) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and int(value) != value):
            self.problem(name, "type", "must be a whole number" if integer else "must be a number")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"between {minimum:g} and {maximum:g}" if minimum is not None and maximum is not None else ""
            bounds = bounds or (f"at least {minimum:g}" if minimum is not None else f"at most {maximum:g}")
            self.problem(name, "out_of_range", f"must be {bounds}")
            return None
        return int(value) if integer else value

    def choice(self, name: str, choices: dict[str, str] | tuple[str, ...]) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(name, "type", "must be a string")
            return None
        table = choices if isinstance(choices, dict) else {c.lower(): c for c in choices}
        found = table.get(value.lower())
        if found is None:
            self.problem(name, "unknown_value", f"must be one of {', '.join(table)}")
        return found

    def dimension(self, name: str) -> float | None:
        """A length in millimetres from a number (pixels) or a string with px, in, cm or mm."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.problem(name, "type", "must be a number (pixels) or a string such as '10mm', '0.5in', '20px'")
            return None
        if isinstance(value, str):
            match = _DIMENSION.match(value)
            if match is None:
                self.problem(name, "invalid", "must be a length such as '10mm', '1.5cm', '0.5in' or '20px'")
                return None
            amount, unit = float(match.group(1)), (match.group(2) or "px").lower()
        else:
            amount, unit = float(value), "px"
        if amount < 0:
            self.problem(name, "out_of_range", "may not be negative")
            return None
        return round(amount * MM_PER_UNIT[unit], 3)

    def url(self, name: str, *, required: bool = False, https_only: bool = False) -> str | None:
        value = self.string(name, required=required, max_length=4096)
        if value is None:
            return None
        return self.check_url(name, value, https_only=https_only)

    def check_url(self, name: str, value: str, *, https_only: bool = False) -> str | None:
        try:
            parts = urlsplit(value.strip())
        except ValueError:
            parts = None
        schemes = ("https",) if https_only else ("http", "https")
        if parts is None or parts.scheme.lower() not in schemes or not parts.hostname:
            what = "an https:// URL" if https_only else "an absolute http(s) URL"
            self.problem(name, "invalid", f"must be {what}")
            return None
        return value.strip()

    def base64_text(self, name: str, *, required: bool) -> str | None:
        """Base64 of UTF-8 text (cloudlayer's `html` and `template`)."""
        value = self.string(name, required=required, max_length=2**31)
        if value is None:
            return None
        try:
            raw = base64.b64decode("".join(value.split()), validate=True)
            return raw.decode("utf-8")
        except (binascii.Error, ValueError):
            self.problem(name, "base64", "must be base64-encoded UTF-8 text")
            return None


# --- Request bodies ----------------------------------------------------------------------

# Multipart form fields are strings: these are turned back into their JSON types.
_FORM_BOOLEANS = {"async", "inline", "landscape", "printBackground", "preferCSSPageSize", "autoScroll", "trim",
                  "transparent", "waitForFrame", "waitForFrameAttachment", "waitForFrameImages"}  # fmt: skip
_FORM_NUMBERS = {"timeout", "delay", "scale", "quality"}
_FORM_JSON = {"storage", "viewPort", "margin", "headerTemplate", "footerTemplate", "waitForSelector", "batch",
              "authentication", "cookies", "data", "generatePreview", "waitForFrameSelector"}  # fmt: skip


def _form_value(name: str, value: str) -> Any:
    if name in _FORM_BOOLEANS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if name in _FORM_NUMBERS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name in _FORM_JSON:
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack
            raise InvalidParameter([Problem(name, "json", f"'{name}' must be JSON in a form field")]) from None
    return value


def _json_part(name: str, raw: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidParameter([Problem(name, "json", f"'{name}' must be a JSON object")]) from None
    if not isinstance(value, dict):
        raise InvalidParameter([Problem(name, "type", f"'{name}' must be a JSON object")])
    return value


def form_body(form: Any, files: Any) -> tuple[dict[str, Any], list[UploadedFile]]:
    """A multipart body as the JSON body it stands for, and its uploaded documents.

    Accepted shapes: every option in its own form field (the current SDKs: strings as they are,
    booleans as "true"/"false", objects JSON-encoded); one `options` or `json` field holding all
    of them as JSON (cloudlayer's template upload, the older .NET SDK); for templates, the
    template as a file part `template` (raw, not base64) and the data as a JSON part `data`.
    Documents come in `file` parts (several for a merge).
    """
    body: dict[str, Any] = {}
    for bundle in ("json", "options"):
        if bundle in form:
            body.update(_json_part(bundle, form[bundle]))
    for name in form:
        if name in ("json", "options"):
            continue
        body[name] = _form_value(name, form[name])
    if "template" in files:
        try:
            body["template"] = base64.b64encode(files["template"].read()).decode()
        except OSError:
            raise BadRequest("The template upload could not be read") from None
    if "data" in files:
        body["data"] = _json_part("data", files["data"].read())
    documents = list(files.getlist("file")) if hasattr(files, "getlist") else []
    return body, documents


# --- Translating -------------------------------------------------------------------------


def _redacted(body: dict[str, Any]) -> dict[str, Any]:
    return {key: ("..." if key in SECRET_FIELDS else value) for key, value in body.items()}


def _storage(reader: Reader, version: str) -> tuple[bool, str | None]:
    value = reader.raw("storage")
    if value is None:
        return version == "v2", None
    if isinstance(value, bool):
        return value, None
    if isinstance(value, str) and value.lower() in ("true", "false"):  # cloudlayer's docs show both
        return value.lower() == "true", None
    if isinstance(value, dict):
        storage_id = value.get("id")
        if not isinstance(storage_id, str) or not storage_id.strip():
            reader.problem("storage", "missing", 'must be true, false or {"id": "<storage id>"} with a non-empty id')
            return True, None
        return True, storage_id.strip()
    reader.problem("storage", "type", 'must be true, false or {"id": "<storage id>"}')
    return True, None


def _webhook(reader: Reader) -> str | None:
    """The per-request webhook URL, under the same policy as webhook endpoints (https, no
    private addresses; http to loopback only in development)."""
    value = reader.string("webhook", max_length=2000)
    if value is None:
        return None
    try:
        return webhook_url_check(value)
    except ValidationFailed as exc:
        reason = "; ".join(str(d).removeprefix("url: ") for d in exc.details or []) or exc.message
        reader.problem("webhook", "invalid", reason)
        return None


def _margin(reader: Reader, defaults: dict[str, Any] | None) -> dict[str, float]:
    """Page margins in mm; sides not given take `defaults` (None: left to the saved template)."""
    given = reader.nested("margin")
    margin = {}
    for side in ("top", "right", "bottom", "left"):
        value = given.dimension(side) if given is not None else None
        if value is None and defaults is not None:
            value = Reader(defaults).dimension(side) or 0.0
        if value is not None:
            margin[side] = value
    return margin


def _band(reader: Reader, name: str, page_margin: dict[str, float], edge: str) -> dict[str, Any] | None:
    """headerTemplate/footerTemplate as a Fileloom header/footer band.

    Puppeteer draws them inside the page margin; a Fileloom band adds its height to the margin,
    so the band takes the margin's height and the page margin on that edge becomes 0.
    """
    band = reader.nested(name)
    if band is None:
        return None
    method = band.choice("method", {"template": "template", "text": "template", "extract": "extract"}) or "template"
    if method == "extract":
        band.problem("method", "not_supported", "'extract' is not supported: send the header as 'template' HTML")
        return None
    html = band.string("template", max_length=1_000_000)
    if html is None:
        html = band.string("templateString", max_length=1_000_000)
    if html is None:
        band.problem("template", "missing", "is required (the header or footer HTML)")
        return None
    style = band.nested("style")
    image_style = band.nested("imageStyle")
    inner_margin = band.nested("margin")
    css = []
    if style is not None:
        css.append(_css_declarations(style))
    if inner_margin is not None:
        for side in ("top", "right", "bottom", "left"):
            length = inner_margin.dimension(side)
            if length is not None:
                css.append(f"padding-{side}: {length}mm")
    content = f'<div style="{"; ".join(c for c in css if c)}">{html}</div>' if any(css) else html
    if image_style is not None:
        declarations = _css_declarations(image_style)
        content = (
            f"<style>.fl-running-{'header' if edge == 'top' else 'footer'} img {{{declarations}}}</style>{content}"
        )
    height = page_margin.get(edge)
    if height is None:  # a saved template's margin: the band takes cloudlayer's default height
        height = Reader(DEFAULT_MARGIN).dimension(edge) or 0.0
    page_margin[edge] = 0.0
    return {"enabled": True, "height": height, "content": content}


_CSS_PROPERTY = re.compile(r"^-?[a-zA-Z][a-zA-Z0-9-]*$")


def _css_declarations(style: Reader) -> str:
    """{"fontSize": "10px", "border-bottom": "1px solid"} as `font-size: 10px; border-bottom: 1px solid`."""
    parts = []
    for key, value in style.data.items():
        prop = re.sub(r"(?<!^)([A-Z])", r"-\1", key).lower()
        if not _CSS_PROPERTY.match(key) or not isinstance(value, (str, int, float)) or isinstance(value, bool):
            style.problem(key, "invalid", "must be a CSS property with a string or number value")
            continue
        text = str(value)
        if any(ch in text for ch in ';{}<>"'):
            style.problem(key, "invalid", "may not contain ; { } < > or quotes")
            continue
        parts.append(f"{prop}: {text}")
    return "; ".join(parts)


def _page_size(reader: Reader, options: dict[str, Any], *, default: str | None) -> None:
    page_format = reader.choice("format", FORMATS)
    width = reader.dimension("width")
    height = reader.dimension("height")
    if page_format:
        options["format"] = page_format
    elif width is not None or height is not None:
        # Puppeteer: width/height without format; a missing one keeps Letter's.
        options["format"] = "Custom"
        options["width"] = width if width is not None else 215.9
        options["height"] = height if height is not None else 279.4
    elif default:
        options["format"] = default


PREVIEW_TYPES = {"webp": "webp", "png": "png", "jpg": "jpeg", "jpeg": "jpeg"}


def _preview(reader: Reader, options: dict[str, Any], *, storage: bool) -> None:
    """`generatePreview`: true, or {width, height, type, quality, maintainAspectRatio}."""
    value = reader.raw("generatePreview")
    if value is None or value is False:
        return
    spec: dict[str, Any] = {}
    if isinstance(value, dict):
        preview = Reader(value, "generatePreview", reader.problems)
        for name in ("width", "height"):
            size = preview.number(name, minimum=1, maximum=10_000, integer=True)
            if size is not None:
                spec[name] = int(size)
        image_type = preview.choice("type", PREVIEW_TYPES)
        if image_type:
            spec["imageType"] = image_type
        quality = preview.number("quality", minimum=0, maximum=100, integer=True)
        if quality is not None:
            spec["quality"] = int(quality)
        keep_ratio = preview.boolean("maintainAspectRatio")
        if keep_ratio is not None:
            spec["maintainAspectRatio"] = keep_ratio
    elif value is not True:
        reader.problem("generatePreview", "type", "must be true or an object")
        return
    if not storage:
        reader.problem("generatePreview", "conflict", "needs storage: the preview is kept next to the asset")
        return
    options["preview"] = PreviewSpec.from_dict(spec).as_dict()


def _time_zone(reader: Reader, options: dict[str, Any]) -> None:
    zone = reader.string("timeZone", max_length=100)
    if zone is None:
        return
    try:
        zoneinfo.ZoneInfo(zone.strip())
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        reader.problem("timeZone", "unknown_value", "must be an IANA time zone such as 'Europe/Rome'")
        return
    options["timeZone"] = zone.strip()


def _browser_options(reader: Reader, options: dict[str, Any]) -> None:
    _time_zone(reader, options)
    wait_until = reader.choice("waitUntil", WAIT_UNTIL)
    if wait_until:
        options["waitUntil"] = wait_until
    selector = reader.nested("waitForSelector")
    if selector is not None:
        text = selector.string("selector", required=True, max_length=1000)
        inner = selector.nested("options")
        if inner is not None:
            inner.boolean("visible")
            inner.boolean("hidden")
            inner.number("timeout", minimum=0, maximum=3_600_000, integer=True)
        if text:
            options["waitForSelector"] = text
    if reader.boolean("autoScroll"):
        options["autoScroll"] = True
    delay = reader.number("delay", minimum=0, maximum=30_000, integer=True)
    if delay:
        options["delay"] = delay
    viewport = reader.nested("viewPort")
    if viewport is not None:
        width = viewport.number("width", minimum=1, maximum=10_000, integer=True)
        height = viewport.number("height", minimum=1, maximum=10_000, integer=True)
        if viewport.raw("width") is None:
            viewport.problem("width", "missing", "is required")
        if viewport.raw("height") is None:
            viewport.problem("height", "missing", "is required")
        scale = viewport.number("deviceScaleFactor", minimum=0.1, maximum=4)
        for flag in ("isMobile", "hasTouch", "isLandscape"):
            viewport.boolean(flag)
        if width and height:
            options["viewport"] = {"width": width, "height": height}
            if scale:
                options["viewport"]["deviceScaleFactor"] = scale
    media = reader.raw("emulateMediaType")
    if media is not None:
        chosen = reader.choice("emulateMediaType", ("screen", "print"))
        if chosen:
            options["emulateMediaType"] = chosen
    scale = reader.number("scale", minimum=0.1, maximum=2)
    if scale is not None and scale != 1:
        options["scale"] = scale
    page_ranges = reader.string("pageRanges", max_length=200)
    if page_ranges and page_ranges.strip():
        if not re.fullmatch(r"\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*", page_ranges):
            reader.problem("pageRanges", "invalid", "must be page numbers and ranges such as '1-5, 8, 11-13'")
        else:
            options["pageRanges"] = page_ranges.strip()
    if reader.boolean("preferCSSPageSize"):
        options["preferCSSPageSize"] = True
    if reader.boolean("landscape"):
        options["orientation"] = "landscape"


def engine_choice() -> str:
    """cloudlayer renders with Chrome: CLOUDLAYER_ENGINE (chromium) when installed, else the
    server's DEFAULT_ENGINE."""
    return settings.CLOUDLAYER_ENGINE if settings.CLOUDLAYER_ENGINE in ENGINE_NAMES else settings.DEFAULT_ENGINE


def _engine_check(
    reader: Reader, options: dict[str, Any], timeout_ms: float | None, *, needs_browser: bool = False
) -> None:
    """Set the engine; a browser option on a server without Chromium is named as unsupported.

    `needs_browser`: the input is a URL, which only a browser loads.
    """
    browser_fields = [name for name, option in BROWSER_OPTIONS.items() if option in options]
    wants_browser = bool(browser_fields) or needs_browser
    engine = "chromium" if wants_browser and "chromium" in ENGINE_NAMES else engine_choice()
    options["engine"] = engine
    if engine == "chromium":
        if timeout_ms is not None:
            options["timeout"] = int(timeout_ms)
        return
    for name in browser_fields:
        reader.problem(name, "not_supported", "needs a browser engine (Chromium), which this server does not have")


def parse_conversion(
    *,
    job_type: str,
    version: str,
    body: Any,
    files: list[UploadedFile] | None = None,
) -> Conversion:
    """Validate a conversion request body for `job_type`; raise InvalidParameter listing every problem."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    reader = Reader(body)
    source, output = job_type.rsplit("-", 1)

    is_async = reader.boolean("async")
    is_async = (version == "v2") if is_async is None else is_async
    storage, storage_id = _storage(reader, version)
    if is_async and not storage:
        reader.problem("storage", "conflict", 'may be false only with "async": false (an async result must be stored)')
    webhook = _webhook(reader)
    timeout = reader.number("timeout", minimum=1000, maximum=3_600_000, integer=True)
    conversion = Conversion(
        job_type=job_type,
        version=version,
        is_async=is_async,
        storage=storage,
        storage_id=storage_id,
        webhook=webhook,
        name=reader.string("name", max_length=200) or "",
        project_id=reader.string("projectId", max_length=100) or "",
        filename=reader.string("filename", max_length=255),
        inline=bool(reader.boolean("inline")),
        timeout_ms=int(timeout) if timeout is not None else None,
        params=_redacted(body),
    )
    reader.string("apiVer", max_length=10)
    for name in UNSUPPORTED_OPTIONS:
        if reader.raw(name) not in (None, False):
            reader.problem(name, "not_supported", "is not supported by this server (see docs/cloudlayer.md)")

    if source in ("html", "url", "template"):
        options: dict[str, Any] = {}
        _browser_options(reader, options)
        if output == "pdf":
            # A saved template keeps its own page settings unless the request sets them; other
            # documents get cloudlayer's defaults (Puppeteer's Letter and margins, templates 0).
            saved_template = source == "template" and reader.has("templateId")
            _page_size(reader, options, default=None if saved_template else "Letter")
            defaults = None if saved_template else (ZERO_MARGIN if source == "template" else DEFAULT_MARGIN)
            margin = _margin(reader, defaults)
            header = _band(reader, "headerTemplate", margin, "top")
            footer = _band(reader, "footerTemplate", margin, "bottom")
            if margin:
                options["margin"] = margin
            if header:
                options["header"] = header
            if footer:
                options["footer"] = footer
            print_background = reader.boolean("printBackground")
            if print_background is not None or not saved_template:
                options["printBackground"] = bool(print_background)
        else:
            conversion.image_type = _image(reader, options)
        _preview(reader, options, storage=storage)
        _engine_check(reader, options, timeout, needs_browser=source == "url")
        conversion.options = options

    if source == "html":
        conversion.html = reader.base64_text("html", required=True)
    elif source == "template":
        _template_source(reader, conversion)
    elif source == "url":
        _url_source(reader, conversion, allow_batch=False)
    elif source == "merge":
        if files:
            conversion.files = files
            if reader.has("url") or reader.has("batch"):
                reader.problem("file", "conflict", "send the PDFs either as uploaded files or as URLs, not both")
        else:
            _url_source(reader, conversion, allow_batch=True)
            if conversion.url and not conversion.urls:
                conversion.urls = [conversion.url]
    if source not in ("html", "url", "template") and reader.raw("generatePreview") not in (None, False):
        reader.problem("generatePreview", "not_supported", "is supported on HTML, URL and template conversions")
    if source in ("docx", "pdf"):
        if not files:
            reader.problem("file", "missing", "is required: upload the document as a multipart part named 'file'")
        elif len(files) > 1:
            reader.problem("file", "invalid", "must be a single document")
        conversion.files = files or []

    if reader.problems:
        raise InvalidParameter(reader.problems)
    return conversion


def _image(reader: Reader, options: dict[str, Any]) -> str:
    """The image type; quality, transparency and trimming go into the image options."""
    image_type = reader.choice("imageType", IMAGE_TYPES) or "png"
    quality = reader.number("quality", minimum=0, maximum=100, integer=True)
    transparent = bool(reader.boolean("transparent"))
    if transparent and image_type == "jpeg":
        reader.problem("transparent", "invalid", "needs imageType png or webp (JPEG has no transparency)")
    options["imageType"] = image_type
    if quality is not None and image_type != "png":
        options["quality"] = int(quality)
    if transparent:
        options["transparent"] = True
    if reader.boolean("trim"):
        options["trim"] = True
    return image_type


def _template_source(reader: Reader, conversion: Conversion) -> None:
    template_id = reader.string("templateId", max_length=64)
    has_template = reader.has("template")
    if template_id and has_template:
        reader.problem("template", "conflict", "send either 'templateId' or 'template', not both")
    elif not template_id and not has_template:
        reader.problem("templateId", "missing", "or 'template' is required")
    if has_template:
        conversion.template = reader.base64_text("template", required=True)
    conversion.template_id = template_id
    data = reader.raw("data")
    if isinstance(data, str):  # cloudlayer's docs call it a "JSON string"
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            reader.problem("data", "json", "must be a JSON object (or a string holding one)")
            data = None
    if data is not None and not isinstance(data, dict):
        reader.problem("data", "type", "must be a JSON object")
        data = None
    conversion.data = data or {}


def _url_source(reader: Reader, conversion: Conversion, *, allow_batch: bool) -> None:
    url = reader.url("url")
    batch = reader.raw("batch")
    urls: list[str] = []
    if batch is not None:
        # Two shapes in the wild: {"urls": [...]} (SDKs) and a bare list (cloudlayer's docs).
        listed = batch.get("urls") if isinstance(batch, dict) else batch
        if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
            reader.problem("batch", "type", 'must be {"urls": ["https://…", …]}')
        elif not listed:
            reader.problem("batch.urls", "missing", "must list at least one URL")
        elif len(listed) > MAX_BATCH_URLS:
            reader.problem("batch.urls", "out_of_range", f"may list at most {MAX_BATCH_URLS} URLs")
        else:
            for index, item in enumerate(listed):
                checked = reader.check_url(f"batch.urls[{index}]", item)
                if checked:
                    urls.append(checked)
        if not allow_batch:
            reader.problem("batch", "not_supported", "is supported on /pdf/merge only: send one 'url'")
    if url and batch is not None:
        reader.problem("url", "conflict", "send either 'url' or 'batch.urls', not both")
    elif url is None and batch is None and not any(p["field"] == "url" for p in reader.problems):
        reader.problem("url", "missing", "is required")
    conversion.url = url
    conversion.urls = urls
    auth = reader.nested("authentication")
    if auth is not None:
        username = auth.string("username", required=True, max_length=1000)
        password = auth.string("password", required=True, max_length=1000)
        if username and password:
            conversion.authentication = {"username": username, "password": password}
    cookies = reader.raw("cookies")
    if cookies is not None:
        if not isinstance(cookies, list):
            reader.problem("cookies", "type", "must be a list of cookie objects")
        else:
            for index, item in enumerate(cookies):
                cookie = Reader(item, f"cookies[{index}]", reader.problems) if isinstance(item, dict) else None
                if cookie is None:
                    reader.problem(f"cookies[{index}]", "type", "must be an object")
                    continue
                entry: dict[str, Any] = {
                    "name": cookie.string("name", required=True, max_length=4096),
                    "value": cookie.string("value", required=True, max_length=4096),
                }
                entry["url"] = cookie.url("url") if cookie.raw("url") not in (None, "") else None
                for key in ("domain", "path"):
                    entry[key] = cookie.string(key, max_length=4096) or None
                if entry["url"] is None and entry["domain"] is None:
                    entry["url"] = url  # cloudlayer: the domain defaults to the page's host
                entry["expires"] = cookie.number("expires", integer=True)
                for key in ("httpOnly", "secure"):
                    entry[key] = cookie.boolean(key)
                entry["sameSite"] = cookie.choice("sameSite", ("Strict", "Lax", "None"))
                conversion.cookies.append({k: v for k, v in entry.items() if v is not None})
    if allow_batch:
        # A merge fetches PDFs, not pages: nothing there would send them.
        for name in ("authentication", "cookies"):
            if reader.has(name) and not any(p["field"].startswith(name) for p in reader.problems):
                reader.problem(name, "not_supported", "is supported on URL conversions only, not on /pdf/merge")
        return
    if conversion.authentication:
        conversion.options["authentication"] = conversion.authentication
    if conversion.cookies:
        conversion.options["cookies"] = conversion.cookies
