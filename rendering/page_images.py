"""PNG images of PDF pages (pypdfium2), for previews and the render_template command."""

from __future__ import annotations

import io

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
