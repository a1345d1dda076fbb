"""POST /v1/pdf/generate over real HTTP, rendered by a real worker process."""

from __future__ import annotations

import re

import pytest
import requests

from tests.pdfs import mm_to_pt, parse_pdf

INVOICE = """<!doctype html><html><head><style>
body { font-family: sans-serif; } td { padding: 2px 6px; }
</style></head><body>
<h1>Invoice {{invoiceNumber}}</h1><p>Bill to: {{customer.name}}</p>
<table>{{#each items}}<tr><td>{{name}}</td><td>{{qty}}</td></tr>{{/each}}</table>
<p>Total: {{total}}</p></body></html>"""


def download(url: str) -> requests.Response:
    return requests.get(url, timeout=30)


def test_it_turns_html_into_a_pdf_with_the_documented_response(api):
    response = api.generate(
        htmlContent=INVOICE,
        templateData={
            "invoiceNumber": "INV-2024-0042",
            "customer": {"name": "Acme Corp"},
            "items": [{"name": "Widget", "qty": 3}, {"name": "Gadget", "qty": 1}],
            "total": 1250.0,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert re.fullmatch(r"req_\d{13}_[a-z0-9]+", body["requestId"])
    assert response.headers["X-Request-Id"] == body["requestId"]
    data = body["data"]
    assert set(data) == {
        "fileId",
        "url",
        "signedUrl",
        "filename",
        "size",
        "expiresAt",
        "storageProvider",
        "processingTimeMs",
        "generationMethod",
        "templateUsed",
    }
    assert re.fullmatch(r"file_\d{13}_[a-z0-9]+", data["fileId"])
    assert data["filename"] == "document.pdf"
    assert data["storageProvider"] == "local"
    assert data["generationMethod"] == "html"
    assert data["templateUsed"] is None
    assert isinstance(data["processingTimeMs"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["expiresAt"])
    assert body["usage"] == {"remaining": None, "quotaUsed": 1, "quotaLimit": None}

    pdf_bytes = download(data["url"]).content
    assert len(pdf_bytes) == data["size"]
    pdf = parse_pdf(pdf_bytes)
    assert pdf.page_count == 1
    assert pdf.page_sizes[0] == (mm_to_pt(210), mm_to_pt(297))  # A4 by default
    assert "Invoice INV-2024-0042" in pdf.text
    assert "Bill to: Acme Corp" in pdf.text
    assert "Total: 1250" in pdf.text and "1250.0" not in pdf.text
    assert download(data["signedUrl"]).content == pdf_bytes


def test_the_short_alias_path_generates_too(api):
    response = api.post("/v1/pdf", json={"htmlContent": "<p>alias</p>"})
    assert response.status_code == 200, response.text
    assert "alias" in parse_pdf(download(response.json()["data"]["url"]).content).text


def test_a_bearer_token_works_like_the_api_key_header(api, owner):
    response = api.post(
        "/v1/pdf/generate",
        key=None,
        headers={"Authorization": f"Bearer {owner.raw_key}"},
        json={"htmlContent": "<p>bearer</p>"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("options", "expected_mm"),
    [
        ({"format": "A4"}, (210, 297)),
        ({"format": "Letter"}, (215.9, 279.4)),
        ({"format": "A4", "orientation": "landscape"}, (297, 210)),
        ({"format": "Custom", "width": 100, "height": 150}, (100, 150)),
        ({"format": "Legal", "orientation": "landscape"}, (355.6, 215.9)),
    ],
)
def test_page_size_follows_the_options(api, options, expected_mm):
    response = api.generate(htmlContent="<p>size</p>", options=options)
    assert response.status_code == 200, response.text
    pdf = parse_pdf(download(response.json()["data"]["url"]).content)
    assert pdf.page_sizes[0] == tuple(mm_to_pt(v) for v in expected_mm)


def test_header_and_footer_carry_page_numbers_on_every_page(api):
    body = "".join(f"<p style='margin:0 0 8mm'>Paragraph {i}</p>" for i in range(60))
    response = api.generate(
        htmlContent=f"<html><body>{body}</body></html>",
        templateData={"company": "Acme"},
        options={
            "margin": {"top": 10, "right": 10, "bottom": 10, "left": 10},
            "header": {"enabled": True, "height": 15, "content": "<div>{{company}} report</div>"},
            "footer": {
                "enabled": True,
                "height": 10,
                "content": 'Page <span class="pageNumber"></span> of <span class="totalPages"></span>',
            },
        },
    )
    assert response.status_code == 200, response.text
    pdf = parse_pdf(download(response.json()["data"]["url"]).content)
    assert pdf.page_count >= 3
    for number, text in enumerate(pdf.page_texts, start=1):
        assert "Acme report" in text
        assert f"Page {number} of {pdf.page_count}" in text


def test_page_number_placeholders_also_work_as_handlebars_variables(api):
    response = api.generate(
        htmlContent="<p>one page</p>",
        options={"footer": {"enabled": True, "height": 10, "content": "{{pageNumber}}/{{totalPages}}"}},
    )
    assert response.status_code == 200, response.text
    assert "1/1" in parse_pdf(download(response.json()["data"]["url"]).content).text


def test_print_background_false_still_renders(api):
    response = api.generate(
        htmlContent="<body style='background:#f00'><p>no background</p></body>",
        options={"printBackground": False},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("invoice", "invoice.pdf"),
        ("invoice.pdf", "invoice.pdf"),
        ("report.PDF", "report.pdf"),
        ("../../etc/passwd", "etc-passwd.pdf"),
        ("a/b\\c:d", "a-b-c-d.pdf"),
    ],
)
def test_filenames_are_sanitised_and_end_in_one_pdf(api, given, expected):
    response = api.generate(htmlContent="<p>x</p>", filename=given)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["filename"] == expected
    assert expected in download(data["url"]).headers["Content-Disposition"]


def test_unknown_option_keys_are_ignored(api):
    response = api.generate(htmlContent="<p>x</p>", options={"zoom": 2, "format": "A5", "whatever": {"a": 1}})
    assert response.status_code == 200, response.text


def test_usage_counts_each_successful_pdf(api):
    first = api.generate(htmlContent="<p>1</p>").json()["usage"]
    second = api.generate(htmlContent="<p>2</p>").json()["usage"]
    assert second["quotaUsed"] == first["quotaUsed"] + 1


def test_a_data_uri_image_renders(api):
    pixel = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    response = api.generate(htmlContent=f"<img src='{pixel}' style='width:20mm'><p>img</p>")
    assert response.status_code == 200, response.text


# The web's statements for one synchronous request, the month's quota period already open: the key;
# the workspace's limits (subscription, overrides); the credit and the row in one transaction
# (begin; savepoint, the period, take the credit, read it back, the ledger entry, the pack
# credits, release; the row; commit); one look at the finished row. The usage in the answer is
# the one the credit read, and the first look waits for the worker's wake-up.
SYNC_REQUEST_STATEMENTS = 14


def test_a_synchronous_request_costs_the_web_a_fixed_handful_of_statements(
    owner, celery_worker_process, client, django_assert_max_num_queries, monkeypatch
):
    from documents import notify

    # Only the wake-up ends a wait here: no look at the row before the worker says it finished.
    monkeypatch.setattr(notify, "POLL_FALLBACK_SECONDS", 60)
    body = {"htmlContent": "<p>Hello</p>"}
    headers = {"HTTP_X_API_KEY": owner.raw_key}
    first = client.post("/v1/pdf/generate", body, content_type="application/json", **headers)
    assert first.status_code == 200, first.content  # opens the month's quota period
    with django_assert_max_num_queries(SYNC_REQUEST_STATEMENTS):
        response = client.post("/v1/pdf/generate", body, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    assert response.json()["usage"] == {"remaining": None, "quotaUsed": 2, "quotaLimit": None}
