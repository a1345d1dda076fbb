"""Office documents (DOCX) to PDF or HTML with LibreOffice: the only module that runs it.

Each conversion runs `soffice.bin` (SOFFICE_BINARY) headless in a fresh temporary directory
with its own profile (`-env:UserInstallation`), so conversions never share or corrupt a
profile and can run side by side. The process is never left behind:

- it runs in its own session and process group; when the time limit passes, or anything
  interrupts the wait (Celery's soft time limit), the whole group is killed with SIGKILL;
- it gets PR_SET_PDEATHSIG=SIGKILL, so it dies with the worker process even when that is
  killed outright (Celery's hard time limit, OOM).

`soffice.bin` is run directly rather than through the `soffice` wrapper (oosplash), so the
process we supervise is the converter itself. A fresh profile makes its first start exit with
code 81 ("restart required"); the conversion is then run once more with that profile.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from django.conf import settings

from fileloom import lifecycle

logger = logging.getLogger("fileloom.rendering.office")

# LibreOffice output filters. HTML embeds images as data: URIs so the result is one file.
FILTERS = {
    "pdf": ("pdf", "pdf:writer_pdf_Export"),
    "html": ("html", "html:HTML (StarWriter):EmbedImages"),
}
RESTART_REQUIRED = 81
_OUTPUT_TAIL = 2000


class ConversionFailed(Exception):
    """The document could not be converted (the message is for users)."""


class ConversionTimedOut(ConversionFailed):
    pass


def docx_check(content: bytes) -> None:
    """Refuse what is not a Word 2007+ document (LibreOffice would convert any bytes as text)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        raise ConversionFailed("the file is not a Word document (.docx)") from None
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise ConversionFailed("the file is not a Word document (.docx)")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # a zombie the kernel will reap with us
        logger.error("LibreOffice process %s did not exit after SIGKILL", process.pid)


def _run(command: list[str], *, cwd: Path, timeout: float) -> tuple[int, str]:
    """Run one soffice process; its exit code and output. The group is killed on any exit path
    other than a normal end (subprocess.TimeoutExpired, Celery's soft time limit, …)."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lifecycle.dies_with_this_process(signal.SIGKILL),
        env={**os.environ, "HOME": str(cwd)},
    )
    finished = False
    try:
        output, _ = process.communicate(timeout=timeout)
        finished = True
    finally:
        # Only while the leader is unreaped: after a normal end its pid (= the group id) may
        # already belong to someone else.
        if not finished:
            _kill_group(process)
    return process.returncode, output.decode("utf-8", errors="replace")[-_OUTPUT_TAIL:]


def convert(content: bytes, *, source_extension: str, target: str, timeout: float | None = None) -> bytes:
    """Convert one document (e.g. DOCX bytes) to `target` ("pdf" or "html"). Raises ConversionFailed."""
    if source_extension == "docx":
        docx_check(content)
    extension, output_filter = FILTERS[target]
    timeout = float(timeout if timeout is not None else settings.CONVERT_TIMEOUT_SECONDS)
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="fileloom-office-") as workdir:
        root = Path(workdir)
        source = root / f"input.{source_extension}"
        source.write_bytes(content)
        out_dir = root / "out"
        command = [
            settings.SOFFICE_BINARY,
            f"-env:UserInstallation={(root / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--convert-to",
            output_filter,
            "--outdir",
            str(out_dir),
            str(source),
        ]
        for _ in range(2):
            try:
                code, output = _run(command, cwd=root, timeout=max(deadline - time.monotonic(), 0.001))
            except subprocess.TimeoutExpired:
                raise ConversionTimedOut(f"the conversion took longer than {timeout:g} seconds") from None
            except FileNotFoundError:
                raise ConversionFailed(f"LibreOffice is not installed ({settings.SOFFICE_BINARY} not found)") from None
            if code != RESTART_REQUIRED:
                break
        result = out_dir / f"input.{extension}"
        if code != 0 or not result.exists():
            logger.warning("LibreOffice failed (exit %s): %s", code, output)
            raise ConversionFailed("the document could not be converted: is it a valid Word (.docx) file?")
        return result.read_bytes()
