"""Merging PDFs: the only module that imports pypdf."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError


class MergeFailed(Exception):
    """An input is not a readable PDF (the message names which, for users)."""


def pdf_check(content: bytes, *, name: str) -> int:
    """The page count of a PDF; MergeFailed naming `name` when it is not a readable PDF."""
    if not content.lstrip()[:5] == b"%PDF-":
        raise MergeFailed(f"{name} is not a PDF")
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise MergeFailed(f"{name} is encrypted")
        return len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise MergeFailed(f"{name} is not a readable PDF ({exc.__class__.__name__})") from None


def merge(documents: list[tuple[str, bytes]]) -> bytes:
    """One PDF with every page of `documents` (name, bytes) in order. Raises MergeFailed."""
    writer = PdfWriter()
    for name, content in documents:
        pdf_check(content, name=name)
        try:
            writer.append(io.BytesIO(content))
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise MergeFailed(f"{name} could not be merged ({exc.__class__.__name__})") from None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
