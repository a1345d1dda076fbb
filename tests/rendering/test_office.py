"""LibreOffice conversions (rendering.office): real DOCX files, real soffice processes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import docx
import pytest
from docx.shared import Inches
from PIL import Image

from rendering import office
from tests.conftest import ROOT
from tests.pdfs import parse_pdf
from tests.waiting import wait_until


def make_docx(*paragraphs: str, image: bool = False) -> bytes:
    document = docx.Document()
    document.add_heading(paragraphs[0], 0)
    for text in paragraphs[1:]:
        document.add_paragraph(text)
    if image:
        png = io.BytesIO()
        Image.new("RGB", (40, 40), (200, 30, 30)).save(png, format="PNG")
        png.seek(0)
        document.add_picture(png, width=Inches(1))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_docx_becomes_a_pdf_with_its_text():
    pdf = office.convert(
        make_docx("Quarterly report", "The walrus sings at midnight."), source_extension="docx", target="pdf"
    )
    text = parse_pdf(pdf).text
    assert "Quarterly report" in text
    assert "The walrus sings at midnight." in text


def test_a_docx_becomes_one_html_file_with_its_images_inline():
    html = office.convert(make_docx("Heading", "Body text here", image=True), source_extension="docx", target="html")
    assert b"Body text here" in html
    assert b"data:image/png;base64," in html


def test_bytes_that_are_not_a_docx_are_refused_before_libreoffice_runs():
    with pytest.raises(office.ConversionFailed, match="not a Word document"):
        office.convert(b"plain text, not a zip", source_extension="docx", target="pdf")


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


HUNG_CONVERTER = """#!/bin/sh
# Stands in for soffice.bin: starts a helper in its process group, records both pids, hangs.
sleep 600 &
echo "$$ $!" > "$HUNG_PIDS"
wait
"""


def test_a_hung_converter_is_killed_with_its_whole_process_group(tmp_path, settings, monkeypatch):
    script = tmp_path / "hung-soffice"
    script.write_text(HUNG_CONVERTER)
    script.chmod(0o755)
    pids_file = tmp_path / "pids"
    monkeypatch.setenv("HUNG_PIDS", str(pids_file))
    settings.SOFFICE_BINARY = str(script)
    started = time.monotonic()
    with pytest.raises(office.ConversionTimedOut, match="longer than 2 seconds"):
        office.convert(office_sample(), source_extension="docx", target="pdf", timeout=2)
    assert time.monotonic() - started < 10
    leader, helper = (int(pid) for pid in pids_file.read_text().split())
    assert wait_until(lambda: not alive(leader) and not alive(helper), timeout=10)


def office_sample() -> bytes:
    return make_docx("Sample", "text")


def test_the_converter_dies_with_a_worker_that_is_killed_outright(tmp_path):
    """A hard time limit SIGKILLs the worker process: its converter must not live on."""
    pid_file = tmp_path / "converter.pid"
    converter = tmp_path / "hung-soffice"
    converter.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec sleep 600\n')
    converter.chmod(0o755)
    sample = tmp_path / "sample.docx"
    sample.write_bytes(office_sample())
    worker_code = textwrap.dedent(
        f"""
        import django, os
        os.environ["DJANGO_SETTINGS_MODULE"] = "fileloom.settings"
        os.environ["SOFFICE_BINARY"] = {str(converter)!r}
        django.setup()
        from rendering import office
        office.convert(open({str(sample)!r}, "rb").read(), source_extension="docx", target="pdf", timeout=600)
        """
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", worker_code], cwd=ROOT, env={**os.environ, "FILELOOM_TEST_RUN": "1"}
    )
    try:
        assert wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=60)
        converter_pid = int(pid_file.read_text())
        assert alive(converter_pid)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert wait_until(lambda: not alive(converter_pid), timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
