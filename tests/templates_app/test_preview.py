"""POST /v1/templates/{id}/preview: PDF or PNG of the draft or a version, rendered by the worker."""

from __future__ import annotations

import io
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import Image

from billing.selectors import usage_get
from billing.services import limits_set
from documents.models import Generation
from storage_app.models import StoredFile
from templates_app import services
from templates_app.models import Template, TemplatePreview
from templates_app.services import template_create, template_draft_update, template_publish
from tests.envelope import assert_error
from tests.pdfs import mm_to_pt, parse_pdf

TWO_PAGES = """<html><head></head><body>
<h1>{{title}}</h1><p>For {{customer}}</p>
<div style="page-break-before: always"><div class="box">Second page</div></div>
</body></html>"""


@pytest.fixture
def report(owner: Any) -> Template:
    return template_create(
        workspace=owner.workspace,
        name="Report",
        html=TWO_PAGES,
        css=".box { background: #ff0000; width: 100mm; height: 50mm; }",
        test_data={"title": "Draft title", "customer": "Test Customer"},
        settings={"format": "A5"},
    )


def preview(api: Any, template: Template, **body: Any) -> Any:
    return api.post(f"/v1/templates/{template.pk}/preview", json=body)


def test_it_previews_the_draft_as_a_pdf_with_its_test_data(api: Any, report: Template) -> None:
    response = preview(api, report)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Page-Count"] == "2"
    pdf = parse_pdf(response.content)
    assert pdf.page_count == 2
    assert pdf.page_sizes[0] == (mm_to_pt(148), mm_to_pt(210))
    assert "Draft title" in pdf.text and "For Test Customer" in pdf.text


def test_given_data_replaces_the_test_data(api: Any, report: Template) -> None:
    text = parse_pdf(preview(api, report, data={"title": "Given title"}).content).text
    assert "Given title" in text and "Draft title" not in text


def test_it_previews_a_published_version(api: Any, report: Template) -> None:
    template_publish(template=report)
    template_draft_update(template=report, html="<p>Newer draft {{title}}</p>", test_data={"title": "new"})
    old = parse_pdf(preview(api, report, version=1).content).text
    assert "Draft title" in old and "Newer draft" not in old
    assert "Newer draft new" in parse_pdf(preview(api, report).content).text


def test_it_renders_page_n_as_a_png(api: Any, report: Template) -> None:
    response = preview(api, report, format="png", page=2)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Page-Count"] == "2"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    # A5 portrait at 108 dpi (pdfium rounds partial pixels up).
    width, height = image.size
    assert abs(width - 148 / 25.4 * 108) < 1 and abs(height - 210 / 25.4 * 108) < 1
    # Page 2 holds the red box (CSS from the template); page 1 has none.
    assert _red_pixels(image) > 10_000
    first = Image.open(io.BytesIO(preview(api, report, format="png", page=1).content))
    assert _red_pixels(first) == 0


def _red_pixels(image: Image.Image) -> int:
    pixels = image.convert("RGB").tobytes()
    return sum(1 for i in range(0, len(pixels), 3) if pixels[i] > 200 and pixels[i + 1] < 60 and pixels[i + 2] < 60)


@pytest.mark.parametrize("page", [3, 99])
def test_a_page_beyond_the_document_is_a_validation_error(api: Any, report: Template, page: int) -> None:
    error = assert_error(preview(api, report, format="png", page=page), 400, "VALIDATION_ERROR")
    assert f"page {page} does not exist: the document has 2 page(s)" in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"page": 0},
        {"page": "2"},
        {"page": 1.5},
        {"format": "jpeg"},
        {"version": 0},
        {"data": [1, 2]},
    ],
)
def test_bad_preview_input_is_a_validation_error(api: Any, report: Template, body: dict[str, Any]) -> None:
    assert_error(preview(api, report, **body), 400, "VALIDATION_ERROR")


def test_an_unknown_version_is_template_not_found(api: Any, report: Template) -> None:
    assert_error(preview(api, report, version=4), 404, "TEMPLATE_NOT_FOUND")


def test_a_broken_draft_previews_as_a_compilation_error_with_its_position(api: Any, report: Template) -> None:
    template_draft_update(template=report, html="<p>\n  {{#each}}</p>")
    error = assert_error(preview(api, report), 400, "TEMPLATE_COMPILATION_ERROR")
    assert error["details"][0]["line"] == 2


def test_a_helper_failing_on_the_data_is_a_compilation_error(api: Any, report: Template) -> None:
    template_draft_update(template=report, html="<p>{{currency 1 code}}</p>")
    error = assert_error(preview(api, report, data={"code": "NOPE"}), 400, "TEMPLATE_COMPILATION_ERROR")
    assert "currency" in error["message"]


def test_previews_are_free_and_leave_nothing_behind(api: Any, owner: Any, report: Template) -> None:
    before = usage_get(workspace=owner.workspace).as_dict()
    assert preview(api, report).status_code == 200
    assert preview(api, report, format="png").status_code == 200
    assert usage_get(workspace=owner.workspace).as_dict() == before
    assert not Generation.objects.exists()
    assert not StoredFile.objects.exists()
    assert not TemplatePreview.objects.exists()


def test_a_slow_preview_times_out_with_the_workspace_limit(api: Any, owner: Any, report: Template) -> None:
    limits_set(workspace=owner.workspace, render_timeout_seconds=1)
    # Slow to lay out, quick to compile: one tag, so the template budget is not what stops it.
    rows = "".join(f"<tr><td>{i}</td><td>{'cell ' * 20}</td></tr>" for i in range(6000))
    template_draft_update(template=report, html=f"<p>{{{{n}}}}</p><table>{rows}</table>")
    error = assert_error(preview(api, report, data={"n": 1}), 408, "REQUEST_TIMEOUT")
    assert error["message"] == "Preview timed out after 1 seconds"
    assert not TemplatePreview.objects.exists()
    limits_set(workspace=owner.workspace, render_timeout_seconds=None)
    template_draft_update(template=report, html="<p>still alive</p>")
    assert "still alive" in parse_pdf(preview(api, report).content).text


def test_preview_needs_template_read_and_the_templates_workspace(
    api: Any, owner: Any, outsider: Any, report: Template
) -> None:
    from accounts.services import api_key_create

    generator = api_key_create(workspace=owner.workspace, name="gen", permissions=["pdf.generate"])
    assert_error(
        api.with_key(generator.raw_key).post(f"/v1/templates/{report.pk}/preview", json={}),
        403,
        "INSUFFICIENT_PERMISSIONS",
    )
    reader = api_key_create(workspace=owner.workspace, name="read", permissions=["template.read"])
    assert api.with_key(reader.raw_key).post(f"/v1/templates/{report.pk}/preview", json={}).status_code == 200
    assert_error(
        api.with_key(outsider.raw_key).post(f"/v1/templates/{report.pk}/preview", json={}), 404, "TEMPLATE_NOT_FOUND"
    )


def test_a_preview_without_a_body_uses_the_defaults(api: Any, report: Template) -> None:
    response = api.post(f"/v1/templates/{report.pk}/preview")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"


def test_a_broker_that_is_down_is_a_503_not_a_500(api: Any, report: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    from fileloom.celery import app

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(app, "send_task", refuse)
    assert_error(preview(api, report), 503, "SERVICE_UNAVAILABLE")
    assert not TemplatePreview.objects.exists()


# --- the worker side, directly --------------------------------------------------------------


def _queued(owner: Any, html: str = "<p>x</p>", **fields: Any) -> TemplatePreview:
    return TemplatePreview.objects.create(workspace=owner.workspace, html=html, options={}, **fields)


def test_a_duplicate_delivery_renders_nothing(owner: Any) -> None:
    row = _queued(owner)
    assert services.preview_execute(preview_id=row.pk) == "completed"
    rendered = bytes(TemplatePreview.objects.get(pk=row.pk).content)
    assert services.preview_execute(preview_id=row.pk) == "not-claimed"
    assert bytes(TemplatePreview.objects.get(pk=row.pk).content) == rendered
    assert len(pdfium.PdfDocument(rendered)) == 1


def test_a_render_the_web_gave_up_on_is_dropped(owner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from rendering.engines import weasyprint as renderer

    row = _queued(owner)
    real = renderer.render_pdf

    def web_gives_up_meanwhile(*args: Any, **kwargs: Any) -> bytes:
        services.preview_fail(preview_id=row.pk, code="REQUEST_TIMEOUT", message="gave up")
        return real(*args, **kwargs)

    monkeypatch.setattr(renderer, "render_pdf", web_gives_up_meanwhile)
    assert services.preview_execute(preview_id=row.pk) == "abandoned"
    assert TemplatePreview.objects.get(pk=row.pk).content is None


def test_a_preview_deleted_before_the_worker_runs_is_skipped(owner: Any) -> None:
    row = _queued(owner)
    TemplatePreview.objects.filter(pk=row.pk).delete()
    assert services.preview_execute(preview_id=row.pk) == "not-claimed"


def test_old_preview_rows_are_swept(owner: Any, report: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from django.utils import timezone

    stale = _queued(owner, created_at=timezone.now() - timedelta(hours=2))
    monkeypatch.setattr(services.jobs, "enqueue", lambda task_name, job_id, timeout_seconds: None)
    monkeypatch.setattr(services, "_preview_wait", lambda preview_id, seconds: None)
    with pytest.raises(services.RenderTimeout):
        services.template_preview(template=report)
    assert not TemplatePreview.objects.filter(pk=stale.pk).exists()
