"""PNG images of PDF pages (pypdfium2), for previews and the render_template command, and the
small preview images a conversion can ask for alongside its result (`PreviewSpec`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from rendering.images import ImageSetup, encode_image

PREVIEW_SCALE = 1.5  # 108 dpi: an A4 page is 893 x 1263 pixels


class PageOutOfRange(ValueError):
    def __init__(self, page: int, page_count: int) -> None:
        super().__init__(f"page {page} does not exist: the document has {page_count} page(s)")
        self.page = page
        self.page_count = page_count


def pdf_page_count(pdf: bytes) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def pdf_page_png(pdf: bytes, page: int, *, scale: float = PREVIEW_SCALE) -> tuple[bytes, int]:
    """PNG of page `page` (1-based) on a white background, and the document's page count."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        page_count = len(document)
        if not 1 <= page <= page_count:
            raise PageOutOfRange(page, page_count)
        pdf_page = document[page - 1]
        try:
            bitmap = pdf_page.render(scale=scale, fill_color=(255, 255, 255, 255))
            image = bitmap.to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=False)
            return buffer.getvalue(), page_count
        finally:
            pdf_page.close()
    finally:
        document.close()


PREVIEW_TYPES = ("webp", "png", "jpeg")
DEFAULT_PREVIEW_WIDTH = 600


@dataclass(frozen=True)
class PreviewSpec:
    """A thumbnail of a document's first page (or of an image): its box in pixels, its format.

    With `maintain_aspect_ratio` the picture fits inside the box given (one side is enough);
    without, it is stretched to it. No size: DEFAULT_PREVIEW_WIDTH wide.
    """

    width: int | None = None
    height: int | None = None
    image_type: str = "webp"
    quality: int = 80
    maintain_aspect_ratio: bool = True

    @property
    def extension(self) -> str:
        return "jpg" if self.image_type == "jpeg" else self.image_type

    def as_dict(self) -> dict[str, Any]:
        data = {
            "imageType": self.image_type,
            "quality": self.quality,
            "maintainAspectRatio": self.maintain_aspect_ratio,
        }
        return {**data, **{key: value for key, value in (("width", self.width), ("height", self.height)) if value}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreviewSpec:
        return cls(
            width=data.get("width"),
            height=data.get("height"),
            image_type=str(data.get("imageType") or "webp"),
            quality=int(data.get("quality", 80)),
            maintain_aspect_ratio=bool(data.get("maintainAspectRatio", True)),
        )


def preview_image(content: bytes, output_format: str, spec: PreviewSpec) -> bytes:
    """The preview of a rendered result: page 1 of a PDF, or the image itself, resized and encoded."""
    from PIL import Image

    source = pdf_page_png(content, 1)[0] if output_format == "pdf" else content
    with Image.open(io.BytesIO(source)) as image:
        image.load()
        width, height = image.size
        if spec.maintain_aspect_ratio or not (spec.width and spec.height):
            if not spec.width and not spec.height:
                ratio = DEFAULT_PREVIEW_WIDTH / width
            else:
                ratio = min(
                    spec.width / width if spec.width else float("inf"),
                    spec.height / height if spec.height else float("inf"),
                )
            size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
        else:
            size = (spec.width, spec.height)
        resized = image.resize(size, Image.Resampling.LANCZOS)
        setup = ImageSetup.from_dict({"imageType": spec.image_type, "quality": spec.quality})
        return encode_image(resized, setup)
