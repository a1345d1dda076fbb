"""POST /v1/pdf/generate with a saved template, end to end (real HTTP, real worker, parsed PDFs)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from documents.models import Generation
from hbs import parser
from templates_app.models import Template
from templates_app.services import template_create, template_draft_update, template_publish
from tests.envelope import assert_error
from tests.pdfs import mm_to_pt, parse_pdf

INVOICE_HTML = """<!doctype html><html><head><title>Invoice</title></head><body>
<h1>Invoice {{invoiceNumber}}</h1><p>Bill to: {{customer.name}}</p>
<table>{{#each items}}<tr><td>{{name}}</td><td>{{currency price "EUR" "de-DE"}}</td></tr>{{/each}}</table>
</body></html>"""

DATA = {
    "invoiceNumber": "INV-2024-0042",
    "customer": {"name": "Acme Corp"},
    "items": [{"name": "Widget", "price": 1250}],
}


def pdf_of(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    return parse_pdf(requests.get(response.json()["data"]["url"], timeout=30).content)


@pytest.fixture
def invoice(owner: Any) -> Template:
    template = template_create(
        workspace=owner.workspace,
        name="Professional Invoice",
        filename_pattern="Invoice-{{invoiceNumber}}",
        html=INVOICE_HTML,
        # Generated content proves the stylesheet reached the document's <head>.
        css='h1::after { content: " (styled)"; } .secret { display: none; }',
        settings={
            "format": "A5",
            "orientation": "landscape",
            "margin": {"top": 10, "right": 10, "bottom": 10, "left": 10},
            "header": {"enabled": True, "height": 12, "content": "<div>Header for {{customer.name}}</div>"},
        },
    )
    template_publish(template=template, user=owner.user)
    return template


def test_it_generates_from_the_published_version_with_css_settings_and_filename(api: Any, invoice: Template) -> None:
    response = api.generate(templateId=invoice.pk, templateData=DATA)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["generationMethod"] == "template"
    assert data["templateUsed"] == {"id": invoice.pk, "name": "Professional Invoice"}
    assert data["filename"] == "Invoice-INV-2024-0042.pdf"
    pdf = pdf_of(response)
    assert pdf.page_sizes == [(mm_to_pt(210), mm_to_pt(148))]  # A5 landscape from the settings
    # The data's invoiceNumber wins over the library's invoiceNumber helper.
    assert "Invoice INV-2024-0042 (styled)" in pdf.text
    assert "Bill to: Acme Corp" in pdf.text
    assert "1.250,00" in pdf.text
    assert "Header for Acme Corp" in pdf.text
    generation = Generation.objects.get(request_id=response.json()["requestId"])
    assert generation.template_version == 1


def test_request_options_override_template_settings_field_by_field(api: Any, invoice: Template) -> None:
    response = api.generate(
        templateId=invoice.pk,
        templateData=DATA,
        options={"format": "A4", "header": {"content": "<div>Request header</div>"}},
    )
    pdf = pdf_of(response)
    # format from the request, orientation from the template: A4 landscape.
    assert pdf.page_sizes == [(mm_to_pt(297), mm_to_pt(210))]
    # header.content from the request, header.enabled from the template.
    assert "Request header" in pdf.text and "Header for" not in pdf.text


def test_a_filename_in_the_request_wins_over_the_pattern(api: Any, invoice: Template) -> None:
    response = api.generate(templateId=invoice.pk, templateData=DATA, filename="custom-name")
    assert response.json()["data"]["filename"] == "custom-name.pdf"


def test_without_a_pattern_the_filename_is_the_default(api: Any, owner: Any) -> None:
    template = template_create(workspace=owner.workspace, name="Plain", html="<p>plain</p>")
    template_publish(template=template)
    response = api.generate(templateId=template.pk, templateData={})
    assert response.json()["data"]["filename"] == "document.pdf"


def test_the_draft_is_never_used_and_a_version_can_be_pinned(api: Any, invoice: Template) -> None:
    template_draft_update(template=invoice, html="<p>Second version for {{customer.name}}</p>", css="")
    assert "Invoice INV-2024-0042" in pdf_of(api.generate(templateId=invoice.pk, templateData=DATA)).text

    template_publish(template=invoice)
    template_draft_update(template=invoice, html="<p>Unpublished draft</p>")

    latest = pdf_of(api.generate(templateId=invoice.pk, templateData=DATA)).text
    assert "Second version for Acme Corp" in latest and "Unpublished" not in latest
    pinned = api.generate(templateId=invoice.pk, templateVersion=1, templateData=DATA)
    assert "Invoice INV-2024-0042 (styled)" in pdf_of(pinned).text
    assert Generation.objects.get(request_id=pinned.json()["requestId"]).template_version == 1


def test_an_unknown_pinned_version_is_template_not_found(api: Any, invoice: Template) -> None:
    error = assert_error(
        api.generate(templateId=invoice.pk, templateVersion=9, templateData=DATA), 404, "TEMPLATE_NOT_FOUND"
    )
    assert "no published version 9" in error["message"]


def test_a_template_without_a_published_version_is_not_found_and_says_so(api: Any, owner: Any) -> None:
    template = template_create(workspace=owner.workspace, name="Draft only", html="<p>draft</p>")
    error = assert_error(api.generate(templateId=template.pk, templateData={}), 404, "TEMPLATE_NOT_FOUND")
    assert "not published" in error["message"]


def test_an_unknown_template_is_the_documented_404(api: Any) -> None:
    error = assert_error(api.generate(templateId="tpl_nonexistent", templateData={}), 404, "TEMPLATE_NOT_FOUND")
    assert error["message"] == "Template not found"


def test_a_template_of_another_workspace_is_not_found(api: Any, outsider: Any) -> None:
    theirs = template_create(workspace=outsider.workspace, name="Theirs", html="<p>theirs</p>")
    template_publish(template=theirs)
    error = assert_error(api.generate(templateId=theirs.pk, templateData={}), 404, "TEMPLATE_NOT_FOUND")
    assert error["message"] == "Template not found"


def test_a_helper_error_with_the_request_data_is_a_compilation_error_not_a_500(api: Any, owner: Any) -> None:
    template = template_create(workspace=owner.workspace, name="Money", html="<p>{{currency amount code}}</p>")
    template_publish(template=template)
    error = assert_error(
        api.generate(templateId=template.pk, templateData={"amount": 1, "code": "NOPE"}),
        400,
        "TEMPLATE_COMPILATION_ERROR",
    )
    assert "currency" in error["message"]


def test_a_warm_render_never_recompiles_and_each_version_has_its_own_entry(
    api: Any, invoice: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf_of(api.generate(templateId=invoice.pk, templateData=DATA))
    # The web thread compiles in this process: every compile goes through the engine's parser.
    parsed: list[str] = []
    parse = parser.parse
    monkeypatch.setattr(parser, "parse", lambda source, *rest: parsed.append(source) or parse(source, *rest))
    other = {**DATA, "invoiceNumber": "INV-2024-0043", "customer": {"name": "Globex"}}
    second = api.generate(templateId=invoice.pk, templateData=other)
    assert "Invoice INV-2024-0043" in pdf_of(second).text
    assert second.json()["data"]["filename"] == "Invoice-INV-2024-0043.pdf"
    assert parsed == []

    template_draft_update(template=invoice, html="<p>v2 {{invoiceNumber}}</p>")
    template_publish(template=invoice)
    assert "v2 INV-2024-0042" in pdf_of(api.generate(templateId=invoice.pk, templateData=DATA)).text
    assert any("v2 {{invoiceNumber}}" in source for source in parsed)  # the new version was compiled
    parsed.clear()
    assert "v2 INV-2024-0043" in pdf_of(api.generate(templateId=invoice.pk, templateData=other)).text
    pinned = api.generate(templateId=invoice.pk, templateVersion=1, templateData=other)
    assert "Invoice INV-2024-0043" in pdf_of(pinned).text
    assert parsed == []
