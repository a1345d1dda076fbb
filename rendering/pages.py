"""Page set-up: the generate `options` object turned into CSS for the renderer.

Units are millimetres, as in the fileloom.io API. Header and footer heights enlarge the top and
bottom margins; the header sits in the band between the page margin and the content.

`scale`, `pageRanges`, `preferCSSPageSize` and the page-load options (rendering.loading) are
Chromium's; they are None unless set, and `as_dict` leaves them out then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rendering.loading import PageLoad

# (width, height) in mm, portrait.
PAPER_SIZES_MM: dict[str, tuple[float, float]] = {
    "A0": (841, 1189),
    "A1": (594, 841),
    "A2": (420, 594),
    "A3": (297, 420),
    "A4": (210, 297),
    "A5": (148, 210),
    "A6": (105, 148),
    "Letter": (215.9, 279.4),
    "Legal": (215.9, 355.6),
    "Tabloid": (279.4, 431.8),
    "Ledger": (431.8, 279.4),
}
FORMATS = [*PAPER_SIZES_MM, "Custom"]
DEFAULT_MARGIN_MM = 10.0


@dataclass(frozen=True)
class Band:
    enabled: bool = False
    height_mm: float = 0.0
    content: str = ""


@dataclass(frozen=True)
class PageSetup:
    format: str = "A4"
    orientation: str = "portrait"
    width_mm: float | None = None
    height_mm: float | None = None
    margin_mm: tuple[float, float, float, float] = (DEFAULT_MARGIN_MM,) * 4  # top right bottom left
    print_background: bool = True
    header: Band = field(default_factory=Band)
    footer: Band = field(default_factory=Band)
    scale: float | None = None
    page_ranges: str | None = None
    prefer_css_page_size: bool | None = None
    load: PageLoad = field(default_factory=PageLoad)

    @property
    def size_mm(self) -> tuple[float, float]:
        """Paper size; landscape swaps width and height (Puppeteer's rule, so Ledger stays 17x11in)."""
        if self.format == "Custom":
            assert self.width_mm and self.height_mm
            width, height = self.width_mm, self.height_mm
        else:
            width, height = PAPER_SIZES_MM[self.format]
        if self.orientation == "landscape":
            width, height = height, width
        return width, height

    def as_dict(self) -> dict[str, Any]:
        """The normalised options, in API field names (stored with a generation)."""
        top, right, bottom, left = self.margin_mm
        data: dict[str, Any] = {
            "format": self.format,
            "orientation": self.orientation,
            "margin": {"top": top, "right": right, "bottom": bottom, "left": left},
            "printBackground": self.print_background,
            "header": {"enabled": self.header.enabled, "height": self.header.height_mm, "content": self.header.content},
            "footer": {"enabled": self.footer.enabled, "height": self.footer.height_mm, "content": self.footer.content},
        }
        if self.format == "Custom":
            data["width"], data["height"] = self.width_mm, self.height_mm
        for api_name, value in self._browser_options().items():
            if value is not None:
                data[api_name] = value
        data.update(self.load.as_dict())
        return data

    def _browser_options(self) -> dict[str, Any]:
        return {"scale": self.scale, "pageRanges": self.page_ranges, "preferCSSPageSize": self.prefer_css_page_size}

    def browser_options_set(self) -> list[str]:
        """API names of the options set here that only a browser engine honours."""
        names = [api_name for api_name, value in self._browser_options().items() if value is not None]
        return names + self.load.options_set()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageSetup:
        """Build from already-validated options (missing keys take defaults)."""
        margin = data.get("margin") or {}

        def band(value: dict[str, Any] | None) -> Band:
            value = value or {}
            return Band(
                enabled=bool(value.get("enabled", False)),
                height_mm=float(value.get("height") or 0),
                content=str(value.get("content") or ""),
            )

        return cls(
            format=data.get("format", "A4"),
            orientation=data.get("orientation", "portrait"),
            width_mm=data.get("width"),
            height_mm=data.get("height"),
            margin_mm=tuple(float(margin.get(side, DEFAULT_MARGIN_MM)) for side in ("top", "right", "bottom", "left")),  # type: ignore[arg-type]
            print_background=bool(data.get("printBackground", True)),
            header=band(data.get("header")),
            footer=band(data.get("footer")),
            scale=None if data.get("scale") is None else float(data["scale"]),
            page_ranges=None if data.get("pageRanges") is None else str(data["pageRanges"]),
            prefer_css_page_size=None if data.get("preferCSSPageSize") is None else bool(data["preferCSSPageSize"]),
            load=PageLoad.from_dict(data),
        )


def css_mm(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + "mm"


def page_css(setup: PageSetup) -> str:
    """The @page rule and header/footer placement. Applied after the document's own styles."""
    width, height = setup.size_mm
    top, right, bottom, left = setup.margin_mm
    header_h = setup.header.height_mm if setup.header.enabled else 0.0
    footer_h = setup.footer.height_mm if setup.footer.enabled else 0.0
    rules = [
        "@page {",
        f"  size: {css_mm(width)} {css_mm(height)};",
        f"  margin: {css_mm(top + header_h)} {css_mm(right)} {css_mm(bottom + footer_h)} {css_mm(left)};",
    ]
    if header_h:
        rules += [
            "  @top-center { content: element(flHeader); width: 100%;",
            f"    height: {css_mm(header_h)}; margin-top: {css_mm(top)}; vertical-align: top; }}",
        ]
    if footer_h:
        rules += [
            "  @bottom-center { content: element(flFooter); width: 100%;",
            f"    height: {css_mm(footer_h)}; margin-bottom: {css_mm(bottom)}; vertical-align: bottom; }}",
        ]
    rules.append("}")
    rules += [
        ".fl-running-header { position: running(flHeader); }",
        ".fl-running-footer { position: running(flFooter); }",
        ".fl-running-header, .fl-running-footer { font-size: 10px; }",
        # Chromium's header/footer template classes, so Puppeteer-style templates work unchanged.
        ".fl-running-header .pageNumber::after, .fl-running-footer .pageNumber::after { content: counter(page); }",
        ".fl-running-header .totalPages::after, .fl-running-footer .totalPages::after { content: counter(pages); }",
    ]
    if not setup.print_background:
        rules.append(
            "*, *::before, *::after { background: transparent !important; background-image: none !important; }"
        )
    return "\n".join(rules)


def running_elements_html(header_html: str, footer_html: str) -> str:
    parts = []
    if header_html:
        parts.append(f'<div class="fl-running-header">{header_html}</div>')
    if footer_html:
        parts.append(f'<div class="fl-running-footer">{footer_html}</div>')
    return "".join(parts)
