"""Render a Handlebars template file to PDF or PNG locally, with the API's engine, helpers and renderer.

    python manage.py render_template invoice.hbs --data data.json --css style.css \\
        --partial header=header.hbs --out invoice.pdf

No server, worker, database row or quota is involved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fileloom.errors import ApplicationError
from rendering.compose import document_compile, inject_css
from rendering.engines import ENGINE_NAMES, RenderError, get_engine
from rendering.options import engine_options_check
from rendering.page_images import PageOutOfRange, pdf_page_png
from rendering.pages import PageSetup
from templates_app.services import template_settings_clean, template_source_check


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{what} {path} is not UTF-8 text") from None


def _json_object(path: str | None, what: str) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        value = json.loads(_read(path, what))
    except json.JSONDecodeError as exc:
        raise CommandError(f"{what} {path} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CommandError(f"{what} {path} must hold a JSON object")
    return value


class Command(BaseCommand):
    help = "Render a Handlebars template file to PDF or PNG with Fileloom's engine, helpers and renderer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("template", help="the template's HTML (Handlebars) file")
        parser.add_argument("--data", help="JSON file with the template data (an object)")
        parser.add_argument("--css", help="CSS file, injected into <head> as for a saved template")
        parser.add_argument(
            "--partial",
            action="append",
            default=[],
            metavar="NAME=FILE",
            help="a partial for {{> NAME}} (repeatable)",
        )
        parser.add_argument("--options", help="JSON file with page options (the generate API's `options` object)")
        parser.add_argument(
            "--out",
            help="output file: .pdf or .png, or - for stdout (default: the template's name with .pdf)",
        )
        parser.add_argument("--format", choices=["pdf", "png"], help="output format (default: from --out, else pdf)")
        parser.add_argument("--page", type=int, default=1, help="page to render as PNG (1-based, default 1)")
        parser.add_argument(
            "--engine",
            choices=list(ENGINE_NAMES),
            help="rendering engine (default: options.engine, else DEFAULT_ENGINE)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        template_path: str = options["template"]
        out: str = options["out"] or str(Path(template_path).with_suffix(".pdf").name)
        output_format = options["format"] or ("png" if out.lower().endswith(".png") else "pdf")
        if options["page"] < 1:
            raise CommandError("--page must be at least 1")

        source = _read(template_path, "template")
        css = _read(options["css"], "CSS file") if options["css"] else ""
        data = _json_object(options["data"], "data file")
        partials: dict[str, str] = {}
        for item in options["partial"]:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise CommandError(f"--partial takes NAME=FILE, got {item!r}")
            partials[name] = _read(path, f"partial {name!r}")

        try:
            page_options = template_settings_clean(settings=_json_object(options["options"], "options file"))
            if options["engine"]:
                page_options["engine"] = options["engine"]
            engine = engine_options_check(page_options)
            template_source_check(html=source, settings=page_options)
            html, setup = document_compile(
                source=inject_css(source, css), data=data, options=page_options, partials=partials
            )
        except ApplicationError as exc:
            details = "; ".join(str(item) for item in exc.details or [] if not isinstance(item, dict))
            raise CommandError(f"{exc.message}{': ' + details if details else ''}") from None

        try:
            pdf = get_engine(engine).render_pdf(html, PageSetup.from_dict(setup))
            content = pdf if output_format == "pdf" else pdf_page_png(pdf, options["page"])[0]
        except RenderError as exc:
            raise CommandError(f"PDF generation failed: {exc}") from None
        except PageOutOfRange as exc:
            raise CommandError(str(exc)) from None

        if out == "-":
            stream = getattr(self.stdout, "_out", None)
            target = getattr(stream, "buffer", stream)
            target.write(content)  # type: ignore[union-attr]
            target.flush()  # type: ignore[union-attr]
            return
        Path(out).write_bytes(content)
        self.stderr.write(f"wrote {out} ({len(content)} bytes, {output_format})")
