"""`manage.py render_template`: the same engine, helpers and renderer, without a server."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.pdfs import mm_to_pt, parse_pdf

INVOICE = """<!doctype html><html><head><title>x</title></head><body>
{{> letterhead}}
<h1>Invoice {{invoiceNumber}}</h1>
{{#each items}}<p>{{name}}: {{currency price "EUR" "de-DE"}}</p>{{/each}}
<p>Due {{formatDate due "MMMM D, YYYY"}}</p>
</body></html>"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "template": tmp_path / "invoice.hbs",
        "data": tmp_path / "data.json",
        "css": tmp_path / "style.css",
        "letterhead": tmp_path / "letterhead.hbs",
        "options": tmp_path / "options.json",
    }
    paths["template"].write_text(INVOICE)
    paths["data"].write_text(
        json.dumps(
            {
                "invoiceNumber": "INV-2024-0042",
                "company": "Fileloom GmbH",
                "items": [{"name": "Widget", "price": 1250}],
                "due": "2024-12-31",
            }
        )
    )
    paths["css"].write_text('h1::after { content: " (styled)"; }')
    paths["letterhead"].write_text("<header>{{company}} letterhead</header>")
    paths["options"].write_text(json.dumps({"format": "A5", "orientation": "landscape"}))
    return paths


def test_it_renders_a_pdf_with_css_partials_helpers_and_options(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    stderr = io.StringIO()
    call_command(
        "render_template",
        str(files["template"]),
        data=str(files["data"]),
        css=str(files["css"]),
        partial=[f"letterhead={files['letterhead']}"],
        options=str(files["options"]),
        out=str(out),
        stderr=stderr,
    )
    pdf = parse_pdf(out.read_bytes())
    assert pdf.page_sizes == [(mm_to_pt(210), mm_to_pt(148))]
    assert "Fileloom GmbH letterhead" in pdf.text
    assert "Invoice INV-2024-0042 (styled)" in pdf.text  # data wins over the invoiceNumber helper
    assert "Widget: 1.250,00" in pdf.text
    assert "Due December 31, 2024" in pdf.text
    assert f"wrote {out}" in stderr.getvalue()


def test_it_writes_the_pdf_to_stdout_with_a_dash(files: dict[str, Path]) -> None:
    stdout = io.BytesIO()
    call_command(
        "render_template",
        str(files["template"]),
        data=str(files["data"]),
        partial=[f"letterhead={files['letterhead']}"],
        out="-",
        stdout=stdout,
    )
    assert "Invoice INV-2024-0042" in parse_pdf(stdout.getvalue()).text


def test_it_renders_a_png_of_a_page(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "page.png"
    call_command(
        "render_template",
        str(files["template"]),
        data=str(files["data"]),
        partial=[f"letterhead={files['letterhead']}"],
        out=str(out),
        stderr=io.StringIO(),
    )
    image = Image.open(out)
    assert image.format == "PNG"
    assert abs(image.size[0] - 210 / 25.4 * 108) < 1  # A4 at 108 dpi


def test_without_out_it_writes_next_to_the_current_directory(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    simple = tmp_path / "hello.hbs"
    simple.write_text("<p>Hello {{name}}</p>")
    data = tmp_path / "hello.json"
    data.write_text('{"name": "World"}')
    call_command("render_template", str(simple), data=str(data), stderr=io.StringIO())
    assert "Hello World" in parse_pdf((tmp_path / "hello.pdf").read_bytes()).text


def test_a_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.hbs"
    broken.write_text("<p>\n  {{#if}}x{{/if}}</p>")
    with pytest.raises(CommandError, match=r"line 2, column 2"):
        call_command("render_template", str(broken), out=str(tmp_path / "x.pdf"))
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize(
    ("data_text", "message"),
    [("{not json", "is not valid JSON"), ("[1, 2]", "must hold a JSON object")],
)
def test_bad_data_files_are_clear_errors(files: dict[str, Path], data_text: str, message: str) -> None:
    files["data"].write_text(data_text)
    with pytest.raises(CommandError, match=message):
        call_command("render_template", str(files["template"]), data=str(files["data"]))


def test_a_missing_partial_is_a_clear_error(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="letterhead"):
        call_command("render_template", str(files["template"]), data=str(files["data"]), out=str(tmp_path / "x.pdf"))


def test_bad_arguments_are_clear_errors(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read template"):
        call_command("render_template", str(tmp_path / "nope.hbs"))
    with pytest.raises(CommandError, match="NAME=FILE"):
        call_command("render_template", str(files["template"]), partial=["letterhead"])
    with pytest.raises(CommandError, match="page 5 does not exist"):
        call_command(
            "render_template",
            str(files["template"]),
            data=str(files["data"]),
            partial=[f"letterhead={files['letterhead']}"],
            out=str(tmp_path / "p.png"),
            page=5,
        )
    files["options"].write_text('{"format": "B9"}')
    with pytest.raises(CommandError, match="settings.format"):
        call_command("render_template", str(files["template"]), options=str(files["options"]))
