"""Reading the PDFs we produce (pypdfium2): pages, sizes in points, text."""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2 as pdfium

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
