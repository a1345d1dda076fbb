"""Reading the PDFs we produce (pypdfium2): pages, sizes in points, text, fonts, pixels."""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

MM_PER_POINT = 25.4 / 72


@dataclass
class ParsedPdf:
    page_sizes: list[tuple[float, float]]
    page_texts: list[str]

    @property
    def page_count(self) -> int:
        return len(self.page_sizes)

    @property
    def text(self) -> str:
        return "\n".join(self.page_texts)


def parse_pdf(data: bytes) -> ParsedPdf:
    assert data.startswith(b"%PDF-"), data[:20]
    document = pdfium.PdfDocument(data)
    try:
        sizes, texts = [], []
        for index in range(len(document)):
            page = document[index]
            sizes.append(tuple(round(v, 1) for v in page.get_size()))
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return ParsedPdf(page_sizes=sizes, page_texts=texts)  # type: ignore[arg-type]
    finally:
        document.close()


def mm_to_pt(mm: float) -> float:
    return round(mm / MM_PER_POINT, 1)


def font_names(data: bytes) -> set[str]:
    """The base names of the fonts the text of every page is drawn with, without the subset
    prefix ("ABCDEF+Inter-Regular" → "Inter-Regular")."""
    document = pdfium.PdfDocument(data)
    names: set[str] = set()
    try:
        for index in range(len(document)):
            page = document[index]
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT]):
                font = pdfium_c.FPDFTextObj_GetFont(obj.raw)
                size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
                buffer = ctypes.create_string_buffer(size)
                pdfium_c.FPDFFont_GetBaseFontName(font, buffer, size)
                names.add(re.sub(r"^[A-Z]{6}\+", "", buffer.value.decode("utf-8", "replace")))
            page.close()
        return names
    finally:
        document.close()


def first_page_image(data: bytes, scale: float = 1.0) -> Any:
    """Page 1 rasterised (a PIL RGB image)."""
    document = pdfium.PdfDocument(data)
    try:
        page = document[0]
        image = page.render(scale=scale).to_pil().convert("RGB")
        page.close()
        return image
    finally:
        document.close()
