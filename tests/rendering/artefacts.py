"""Reading what the engines produce, independently of the code that produced it.

Image formats and sizes come from the file headers (PNG IHDR, JPEG SOF, WebP VP8/VP8L/VP8X);
positions of text on PDF pages come from pypdfium2's text layer, in points from the top left.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image


@dataclass(frozen=True)
class ImageHeader:
    kind: str
    width: int
    height: int


def image_header(data: bytes) -> ImageHeader:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return ImageHeader("png", width, height)
    if data.startswith(b"\xff\xd8"):
        offset = 2
        while offset < len(data):
            marker, length = data[offset + 1], struct.unpack(">H", data[offset + 2 : offset + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):  # start of frame: baseline, extended, progressive
                height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
                return ImageHeader("jpeg", width, height)
            offset += 2 + length
        raise AssertionError("JPEG without a start-of-frame marker")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        chunk = data[12:16]
        if chunk == b"VP8 ":
            assert data[23:26] == b"\x9d\x01\x2a", "VP8 start code"
            width, height = struct.unpack("<HH", data[26:30])
            return ImageHeader("webp", width & 0x3FFF, height & 0x3FFF)
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return ImageHeader("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        if chunk == b"VP8X":
            return ImageHeader(
                "webp", int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
            )
    raise AssertionError(f"not a PNG, JPEG or WebP image: {data[:16]!r}")


def pixels(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGBA")


def text_position(pdf: bytes, text: str, page: int = 0) -> tuple[float, float]:
    """(left, top) in points of the first occurrence of `text` on `page`, from the top left."""
    document = pdfium.PdfDocument(pdf)
    try:
        pdf_page = document[page]
        height = pdf_page.get_height()
        textpage = pdf_page.get_textpage()
        content = textpage.get_text_range()
        index = content.find(text)
        assert index >= 0, f"{text!r} is not on page {page + 1}: {content!r}"
        left, _bottom, _right, top = textpage.get_charbox(index)
        return round(left, 1), round(height - top, 1)
    finally:
        document.close()


def rasterise(pdf: bytes, page: int = 0, scale: float = 1.0) -> Image.Image:
    """One PDF page as RGB pixels, one pixel per point at scale 1."""
    document = pdfium.PdfDocument(pdf)
    try:
        return document[page].render(scale=scale).to_pil().convert("RGB")
    finally:
        document.close()
