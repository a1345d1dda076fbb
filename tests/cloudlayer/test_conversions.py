"""Conversions over HTTP on both versions, synchronous and asynchronous, with real output."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.conf import settings

from documents.models import Generation
from rendering import jobs
from storage_app.models import StoredFile
from tests.cloudlayer.conftest import assert_cl_error, assert_rate_headers, b64
from tests.conftest import ROOT, start_worker, stop_worker
from tests.pdfs import mm_to_pt, parse_pdf
from tests.rendering.test_office import alive, make_docx
from tests.storage_app.conftest import REGION, bucket, moto_open  # noqa: F401 - fixtures
from tests.waiting import wait_until
from tests.webhooks.conftest import signature_matches

LOOPBACK_QUEUE = "convert-loopback"
HTML = "<html><body><h1>Hello from cloudlayer</h1><p>Second line</p></body></html>"


def assert_cl_headers(response: requests.Response, *, finished: bool) -> None:
    assert response.headers["cl-worker-job-id"].startswith("job_")
    assert response.headers["cl-cluster-id"]
    assert int(response.headers["cl-calls-remaining"]) == -1
    assert float(response.headers["cl-api-credit-cost"]) == 1
    if finished:
        assert ":" in response.headers["cl-worker"]
        assert int(response.headers["cl-bandwidth"]) == len(response.content)
        assert int(response.headers["cl-process-time"]) > 0
    assert_rate_headers(response)


def test_v1_html_pdf_answers_the_raw_pdf_with_its_filename(cl):
    response = cl.post("v1", "/html/pdf", json={"html": b64(HTML), "filename": "greeting.pdf"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="greeting.pdf"'
    assert_cl_headers(response, finished=True)
    pdf = parse_pdf(response.content)
    assert "Hello from cloudlayer" in pdf.text
    # cloudlayer's default paper is Letter.
    assert pdf.page_sizes[0] == (612.0, 792.0)


def test_v1_results_are_not_kept_unless_storage_is_asked_for(cl):
    response = cl.post("v1", "/html/pdf", json={"html": b64(HTML)})
    job_id = response.headers["cl-worker-job-id"]
    job = cl.get("v1", f"/jobs/{job_id}").json()
    assert job["status"] == "success" and "assetUrl" not in job
    assert cl.get("v1", "/assets").json() == []

    kept = cl.post("v1", "/html/pdf", json={"html": b64(HTML), "storage": True, "inline": True})
    assert kept.headers["Content-Disposition"].startswith("inline;")
    job = cl.get("v1", f"/jobs/{kept.headers['cl-worker-job-id']}").json()
    assert requests.get(job["assetUrl"], timeout=30).content == kept.content


def test_v2_async_html_pdf_is_a_job_polled_to_success_and_downloaded(cl):
    response = cl.post("v2", "/html/pdf", json={"html": b64(HTML), "name": "greeting", "projectId": "proj-1"})
    assert response.status_code == 202, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert_cl_headers(response, finished=False)
    accepted = response.json()
    assert accepted["status"] == "pending" and accepted["id"] == response.headers["cl-worker-job-id"]
    assert accepted["type"] == "html-pdf" and accepted["name"] == "greeting"
    assert accepted["params"]["html"] == "..."  # secrets never shown

    job = cl.wait_for_job("v2", accepted["id"])
    assert job["status"] == "success", job
    assert isinstance(job["processTime"], int) and isinstance(job["size"], int)
    assert job["projectId"] == "proj-1"
    download = requests.get(job["assetUrl"], timeout=30)  # a plain GET, no key
    assert download.status_code == 200
    assert len(download.content) == job["size"]
    assert "Hello from cloudlayer" in parse_pdf(download.content).text
    asset = cl.get("v2", f"/assets/{job['assetId']}").json()
    assert asset["jobId"] == job["id"] and asset["name"] == "greeting" and asset["projectId"] == "proj-1"


def test_v2_sync_answers_the_file_and_keeps_the_asset(cl):
    response = cl.post("v2", "/html/pdf", json={"html": b64(HTML), "async": False})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    job = cl.get("v2", f"/jobs/{response.headers['cl-worker-job-id']}").json()
    assert requests.get(job["assetUrl"], timeout=30).content == response.content


def test_v2_sync_without_storage_keeps_nothing(cl):
    response = cl.post("v2", "/html/pdf", json={"html": b64(HTML), "async": False, "storage": False})
    assert response.status_code == 200
    assert cl.get("v2", "/assets").json() == []
    file = Generation.objects.get(pk=response.headers["cl-worker-job-id"]).file
    assert file is not None and file.is_deleted


def test_pdf_parameters_reach_the_page(cl):
    response = cl.post(
        "v1",
        "/html/pdf",
        json={
            "html": b64("<p>landscape a5</p>"),
            "format": "a5",
            "landscape": True,
            "margin": {"top": "1cm", "bottom": "10mm", "left": "0.5in", "right": 96},
        },
    )
    assert response.status_code == 200, response.text
    assert parse_pdf(response.content).page_sizes[0] == (mm_to_pt(210), mm_to_pt(148))
    generation = Generation.objects.get(pk=response.headers["cl-worker-job-id"])
    assert generation.options["margin"] == {"top": 10, "right": 25.4, "bottom": 10, "left": 12.7}


def test_width_and_height_with_units_make_a_custom_page(cl):
    response = cl.post("v1", "/html/pdf", json={"html": b64("<p>x</p>"), "width": "100mm", "height": "5in"})
    assert response.status_code == 200, response.text
    assert parse_pdf(response.content).page_sizes[0] == (mm_to_pt(100), mm_to_pt(127))


def test_header_and_footer_templates_print_on_every_page(cl):
    pages = "".join(f"<p style='page-break-after: always'>page body {n}</p>" for n in range(3))
    response = cl.post(
        "v1",
        "/html/pdf",
        json={
            "html": b64(pages),
            "margin": {"top": "25mm", "bottom": "20mm"},
            "headerTemplate": {"template": "<div>ACME header</div>", "style": {"fontSize": "12px"}},
            "footerTemplate": {
                "method": "template",
                "template": '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span>',
            },
        },
    )
    assert response.status_code == 200, response.text
    pdf = parse_pdf(response.content)
    assert pdf.page_count == 3
    for number, text in enumerate(pdf.page_texts, 1):
        assert "ACME header" in text
        assert f"Page {number} of 3" in text


def test_html_is_literal_not_a_template(cl):
    response = cl.post("v1", "/html/pdf", json={"html": b64("<p>Vue says {{ message }} and {{#each}}</p>")})
    assert response.status_code == 200, response.text
    assert "{{ message }}" in parse_pdf(response.content).text


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_template_pdf_from_an_inline_base64_template_and_data(cl, version):
    template = "<h1>Invoice {{number}}</h1>{{#each items}}<p>{{this.name}}: {{this.price}}</p>{{/each}}"
    body = {
        "template": b64(template),
        "data": {"number": "INV-7", "items": [{"name": "Widget", "price": "9.50"}]},
        "async": False,
    }
    response = cl.post(version, "/template/pdf", json=body)
    assert response.status_code == 200, response.text
    text = parse_pdf(response.content).text
    assert "Invoice INV-7" in text and "Widget: 9.50" in text
    job = cl.get(version, f"/jobs/{response.headers['cl-worker-job-id']}").json()
    assert job["type"] == "template-pdf" and job["params"]["template"] == "..." and job["params"]["data"] == "..."


def test_template_pdf_from_a_saved_template_by_id(cl, api):
    created = api.post("/v1/templates", json={"name": "Letter", "html": "<p>Dear {{name}},</p>"}).json()["data"]
    assert api.post(f"/v1/templates/{created['id']}/publish").status_code == 201
    response = cl.post("v2", "/template/pdf", json={"templateId": created["id"], "data": {"name": "Ada"}})
    assert response.status_code == 202, response.text
    job = cl.wait_for_job("v2", response.json()["id"])
    assert job["status"] == "success", job
    assert "Dear Ada," in parse_pdf(requests.get(job["assetUrl"], timeout=30).content).text


def test_template_pdf_multipart_with_a_template_file_and_a_data_file(cl):
    response = cl.post(
        "v1",
        "/template/pdf",
        files={
            "template": ("invoice.html", b"<h1>Total {{total}}</h1>", "text/html"),
            "data": ("data.json", json.dumps({"total": "42 EUR"}).encode(), "application/json"),
        },
        data={"options": json.dumps({"name": "multipart invoice"})},
    )
    assert response.status_code == 200, response.text
    assert "Total 42 EUR" in parse_pdf(response.content).text


def test_an_unknown_template_id_is_404_and_a_bad_template_is_422(cl):
    assert_cl_error(cl.post("v1", "/template/pdf", json={"templateId": "tpl_nope"}), 404, "NOT_FOUND")
    error = assert_cl_error(
        cl.post("v1", "/template/pdf", json={"template": b64("{{#each}}")}), 422, "INVALID_PARAMETER", field="template"
    )
    assert "Template" in error["message"]


def test_a_failed_async_job_ends_in_error_with_its_message(cl, owner):
    from billing.services import limits_set

    limits_set(workspace=owner.workspace, render_timeout_seconds=1)
    rows = "".join(f"<tr><td>{i}</td><td>{'cell ' * 20}</td></tr>" for i in range(6000))
    response = cl.post("v2", "/html/pdf", json={"html": b64(f"<table>{rows}</table>")})
    assert response.status_code == 202
    job = cl.wait_for_job("v2", response.json()["id"])
    assert job["status"] == "error" and "timed out" in job["error"]
    assert "assetUrl" not in job and job["apiCreditCost"] == 0


def test_the_webhook_gets_the_finished_job_signed(cl, api, receiver):
    response = cl.post("v2", "/html/pdf", json={"html": b64(HTML), "webhook": receiver.url})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    [delivery] = receiver.wait_for(1)
    body = delivery.json
    assert body["id"] == job_id and body["status"] == "success" and body["type"] == "html-pdf"
    assert (
        body["assetUrl"].split("/v1/files/")[1]
        == cl.get("v2", f"/jobs/{job_id}").json()["assetUrl"].split("/v1/files/")[1]
    )
    # Signed like every Fileloom webhook, with the secret of the URL's endpoint.
    [endpoint] = api.get("/v1/webhooks").json()["data"]
    assert endpoint["url"] == receiver.url and endpoint["events"] == []
    secret = api.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret", json={"gracePeriodHours": 0}).json()["data"][
        "secret"
    ]
    response = cl.post("v2", "/html/pdf", json={"html": b64(HTML), "webhook": receiver.url})
    second = receiver.wait_for(2)[1]
    assert second.json["id"] == response.json()["id"]
    assert signature_matches(second.header("X-Fileloom-Signature"), secret, second.body)


def test_a_webhook_reports_a_failed_job_too(cl, owner, receiver):
    from billing.services import limits_set

    limits_set(workspace=owner.workspace, render_timeout_seconds=1)
    rows = "".join(f"<tr><td>{i}</td><td>{'cell ' * 20}</td></tr>" for i in range(6000))
    response = cl.post("v2", "/html/pdf", json={"html": b64(f"<table>{rows}</table>"), "webhook": receiver.url})
    assert response.status_code == 202, response.text
    job = cl.wait_for_job("v2", response.json()["id"])
    assert job["status"] == "error", job
    deliveries = receiver.wait_for(1)
    assert deliveries, _webhook_trace(owner.workspace)
    [delivery] = deliveries
    assert delivery.json["id"] == job["id"]
    assert delivery.json["status"] == "error" and "timed out" in delivery.json["error"]


def _webhook_trace(workspace: object) -> str:
    """What became of a workspace's webhook deliveries: the message of a test that got none."""
    from webhooks.models import WebhookDelivery

    lines = [
        f"{d.id} {d.event.event_type} {d.status} attempts={d.attempt_count} next={d.next_attempt_at} "
        f"last={d.last_status_code} {d.last_error!r} "
        + "; ".join(f"#{a.number} {a.status_code} {a.error!r} {a.duration_ms} ms" for a in d.attempts.all())
        for d in WebhookDelivery.objects.filter(event__workspace=workspace).select_related("event")
    ]
    return "no delivery arrived; deliveries: " + (" | ".join(lines) or "none")


# --- Merge ------------------------------------------------------------------------------------


def _pdf(cl, *texts: str) -> bytes:
    body = "".join(f"<p style='page-break-after: always'>{t}</p>" for t in texts)
    response = cl.post("v1", "/html/pdf", json={"html": b64(body)})
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_merge_uploaded_pdfs_keeps_every_page_in_order(cl, version):
    first, second = _pdf(cl, "one", "two"), _pdf(cl, "three")
    response = cl.post(
        version,
        "/pdf/merge",
        files=[("file", ("a.pdf", first, "application/pdf")), ("file", ("b.pdf", second, "application/pdf"))],
        data={"async": "false", "filename": "merged.pdf"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Disposition"] == 'attachment; filename="merged.pdf"'
    merged = parse_pdf(response.content)
    assert merged.page_count == 3
    assert ["one" in merged.page_texts[0], "two" in merged.page_texts[1], "three" in merged.page_texts[2]] == [True] * 3
    job = cl.get(version, f"/jobs/{response.headers['cl-worker-job-id']}").json()
    assert job["type"] == "merge-pdf"


def test_merge_refuses_an_upload_that_is_not_a_pdf(cl):
    response = cl.post(
        "v1",
        "/pdf/merge",
        files=[("file", ("a.pdf", _pdf(cl, "one"), "application/pdf")), ("file", ("b.pdf", b"hello", "text/plain"))],
    )
    error = assert_cl_error(response, 422, "INVALID_PARAMETER", field="file[1]")
    assert "b.pdf is not a PDF" in error["message"]


def test_merge_by_url_refuses_private_addresses_under_the_outbound_policy(cl):
    response = cl.post(
        "v2", "/pdf/merge", json={"batch": {"urls": ["http://127.0.0.1:9/a.pdf", "http://10.0.0.1/b.pdf"]}}
    )
    assert response.status_code == 202, response.text
    job = cl.wait_for_job("v2", response.json()["id"])
    assert job["status"] == "error" and "127.0.0.1" in job["error"]
    sync = cl.post("v1", "/pdf/merge", json={"batch": {"urls": ["http://127.0.0.1:9/a.pdf"]}})
    error = assert_cl_error(sync, 502, "UPSTREAM_ERROR")
    assert "could not fetch" in error["message"]


# --- DOCX -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_docx_pdf_converts_a_word_document_built_here(cl, version):
    document = make_docx("Board minutes", "The walrus sings at midnight.")
    response = cl.post(version, "/docx/pdf", files={"file": ("minutes.docx", document)}, data={"async": "false"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    text = parse_pdf(response.content).text
    assert "Board minutes" in text and "The walrus sings at midnight." in text


def test_docx_html_async_as_the_python_sdk_sends_it(cl):
    """The Python SDK sends only the file part: v2's defaults make it an async job."""
    document = make_docx("Heading", "Paragraph for the web")
    response = cl.post("v2", "/docx/html", files={"file": ("file", document, "application/octet-stream")})
    assert response.status_code == 202, response.text
    job = cl.wait_for_job("v2", response.json()["id"])
    assert job["status"] == "success" and job["type"] == "docx-html", job
    asset = cl.get("v2", f"/assets/{job['assetId']}").json()
    assert (asset["type"], asset["ext"]) == ("html", "html")
    html = requests.get(job["assetUrl"], timeout=30)
    assert b"Paragraph for the web" in html.content
    assert StoredFile.objects.get(pk=job["assetId"]).content_type.startswith("text/html")


def test_docx_html_synchronously_on_v1(cl):
    response = cl.post("v1", "/docx/html", files={"file": ("notes.docx", make_docx("Notes", "Inline html body"))})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="document.html"'
    assert b"Inline html body" in response.content


def test_docx_conversions_refuse_what_is_not_a_docx(cl):
    response = cl.post("v1", "/docx/pdf", files={"file": ("notes.docx", b"just text")})
    error = assert_cl_error(response, 422, "INVALID_PARAMETER", field="file")
    assert "not a Word document" in error["message"]
    assert_cl_error(cl.post("v1", "/docx/pdf", json={}), 400, "INVALID_PARAMETER", field="file")


def test_the_older_dotnet_multipart_shape_with_a_json_part(cl):
    document = make_docx("Dotnet", "Sent with a json part")
    response = cl.post(
        "v1",
        "/docx/pdf",
        files={
            "json": (None, json.dumps({"filename": "dotnet.pdf"})),
            "file": ("doc.docx", document, "application/octet-stream"),
        },
    )
    assert response.status_code == 200, response.text
    assert 'filename="dotnet.pdf"' in response.headers["Content-Disposition"]


@pytest.fixture(scope="module")
def loopback_converter(celery_worker_process):
    """A converter worker allowed to fetch from 127.0.0.1 (production refuses it), on its own
    queue: documents served by the test are then reachable like public ones."""
    worker = start_worker(
        settings.VAR_DIR / "worker-loopback.log",
        extra_env={"RENDERER_ALLOWED_NETWORKS": "127.0.0.0/8"},
        queues=LOOPBACK_QUEUE,
    )
    yield worker
    stop_worker(worker)
    (ROOT / "control" / f"{LOOPBACK_QUEUE}.exchange").unlink(missing_ok=True)


@pytest.fixture
def pdf_server(cl):
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = served.get(self.path)
            self.send_response(200 if body is not None else 500)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()


def test_merge_by_url_fetches_each_pdf_and_merges_them(cl, loopback_converter, pdf_server, monkeypatch):
    monkeypatch.setattr(jobs, "CONVERT_QUEUE", LOOPBACK_QUEUE)
    base, served = pdf_server
    served["/a.pdf"], served["/b.pdf"] = _pdf(cl, "alpha", "beta"), _pdf(cl, "gamma")
    response = cl.post("v2", "/pdf/merge", json={"batch": {"urls": [f"{base}/a.pdf", f"{base}/b.pdf"]}})
    assert response.status_code == 202, response.text
    job = cl.wait_for_job("v2", response.json()["id"])
    assert job["status"] == "success", job
    merged = parse_pdf(requests.get(job["assetUrl"], timeout=30).content)
    assert merged.page_count == 3 and "gamma" in merged.page_texts[2]
    # cloudlayer's docs also show `batch` as a bare list, and `url` for a single document.
    response = cl.post("v1", "/pdf/merge", json={"batch": [f"{base}/b.pdf", f"{base}/a.pdf"]})
    assert response.status_code == 200, response.text
    assert "gamma" in parse_pdf(response.content).page_texts[0]
    failed = cl.post("v1", "/pdf/merge", json={"batch": {"urls": [f"{base}/a.pdf", f"{base}/missing.pdf"]}})
    error = assert_cl_error(failed, 502, "UPSTREAM_ERROR")
    assert "HTTP 500" in error["message"]


# --- A request's own storage ---------------------------------------------------------------


def test_storage_by_id_delivers_the_result_to_that_bucket_only(cl, moto_open, bucket):  # noqa: F811
    created = cl.post(
        "v2",
        "/storage",
        json={
            "title": "Deliveries",
            "region": REGION,
            "accessKeyId": moto_open.access_key,
            "secretAccessKey": moto_open.secret_key,
            "bucket": bucket,
            "endpoint": moto_open.endpoint,
        },
    )
    assert created.status_code == 201, created.text
    storage_id = created.json()["id"]
    response = cl.post("v2", "/html/pdf", json={"html": b64(HTML), "storage": {"id": storage_id}})
    assert response.status_code == 202, response.text
    job = cl.wait_for_job("v2", response.json()["id"])
    assert job["status"] == "success", job
    [key] = [k for k in moto_open.keys(bucket) if k.endswith(".pdf")]
    stored = moto_open.read(bucket, key)
    assert requests.get(job["assetUrl"], timeout=30).content == stored
    assert "Hello from cloudlayer" in parse_pdf(stored).text
    file = StoredFile.objects.get(pk=job["assetId"])
    assert file.storage_key == "" and [c["connectionId"] for c in file.external_objects] == [storage_id]


def test_storage_by_an_unknown_id_is_422_and_an_empty_one_400(cl):
    response = cl.post("v2", "/html/pdf", json={"html": b64(HTML), "storage": {"id": "conn_unknown"}})
    error = assert_cl_error(response, 422, "INVALID_PARAMETER", field="storage.id")
    assert error["details"]["reason"] == "not_found"
    assert_cl_error(cl.post("v2", "/html/pdf", json={"html": b64(HTML), "storage": {}}), 400, "INVALID_PARAMETER")


# --- Chromium: images and URLs ----------------------------------------------------------------


def _sync(version: str, body: dict) -> dict:
    return body if version == "v1" else {**body, "async": False}


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_html_image_answers_a_png(cl, version):
    response = cl.post(version, "/html/image", json=_sync(version, {"html": b64(HTML)}))
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_template_image_as_jpg(cl):
    body = {"template": b64("<p>{{x}}</p>"), "data": {"x": 1}, "imageType": "jpg", "async": False}
    response = cl.post("v2", "/template/image", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content.startswith(b"\xff\xd8\xff")


@pytest.fixture
def page_site():
    from tests.rendering.servers import Response, Site

    site = Site("127.0.0.2")
    site.routes["/page"] = Response("<h1>Served page</h1><script>document.write('<p>written by JS</p>')</script>")
    yield site
    site.close()


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_url_pdf_renders_the_page_with_its_javascript(cl, version, page_site):
    response = cl.post(version, "/url/pdf", json=_sync(version, {"url": page_site.url("/page")}))
    assert response.status_code == 200, response.text
    text = parse_pdf(response.content).text
    assert "Served page" in text and "written by JS" in text


def test_url_image_and_a_forbidden_url(cl, page_site):
    response = cl.post("v1", "/url/image", json={"url": page_site.url("/page"), "imageType": "webp"})
    assert response.status_code == 200, response.text
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WEBP"
    refused = cl.post("v1", "/url/pdf", json={"url": "http://127.0.0.1:9/secret"})
    assert 400 <= refused.status_code < 500, refused.text
    assert "error" in refused.json()


def test_inputs_are_deleted_when_the_job_ends(cl):
    from storage_app import builtin

    first, second = _pdf(cl, "one"), _pdf(cl, "two")
    response = cl.post(
        "v1", "/pdf/merge", files=[("file", ("a.pdf", first)), ("file", ("b.pdf", second))], data={"storage": "true"}
    )
    assert response.status_code == 200, response.text
    generation = Generation.objects.get(pk=response.headers["cl-worker-job-id"])
    keys = [item["key"] for item in generation.inputs]
    assert len(keys) == 2
    assert wait_until(lambda: not any(builtin.exists(key) for key in keys), timeout=30)


HUNG_QUEUE = "convert-hung"


@pytest.fixture(scope="module")
def hung_converter(celery_worker_process, tmp_path_factory):
    """A converter worker whose LibreOffice hangs, with a 3 s conversion limit."""
    folder = tmp_path_factory.mktemp("hung")
    script = folder / "soffice.bin"
    script.write_text(f'#!/bin/sh\necho $$ >> "{folder}/pids"\nexec sleep 600\n')
    script.chmod(0o755)
    worker = start_worker(
        settings.VAR_DIR / "worker-hung.log",
        extra_env={"SOFFICE_BINARY": str(script), "CONVERT_TIMEOUT_SECONDS": "4"},
        queues=HUNG_QUEUE,
    )
    yield folder / "pids"
    stop_worker(worker)
    (ROOT / "control" / f"{HUNG_QUEUE}.exchange").unlink(missing_ok=True)


def test_a_hung_conversion_is_a_504_and_its_process_is_gone(cl, hung_converter, monkeypatch):
    monkeypatch.setattr(jobs, "CONVERT_QUEUE", HUNG_QUEUE)
    monkeypatch.setattr(settings, "CONVERT_TIMEOUT_SECONDS", 4)  # the web's wait matches the worker's limit
    response = cl.post("v1", "/docx/pdf", files={"file": ("slow.docx", make_docx("Never", "converted"))})
    error = assert_cl_error(response, 504, "TIMEOUT")
    assert "timed out" in error["message"]
    [pid] = [int(line) for line in hung_converter.read_text().split()]
    assert wait_until(lambda: not alive(pid), timeout=10)
    [job] = cl.get("v1", "/jobs").json()
    assert job["status"] == "error" and job["type"] == "docx-pdf" and "timed out" in job["error"]


# --- URL extras: authentication, cookies, timeZone ---------------------------------------------

_ECHO_PAGE = """<html><body><h1>Account page</h1><img src="/logo.png"><img src="{other}">
<p id="js"></p><script>document.getElementById("js").textContent =
  "zone " + Intl.DateTimeFormat().resolvedOptions().timeZone + " cookies " + document.cookie;</script></body></html>"""


@pytest.fixture
def two_sites():
    from tests.rendering.servers import Response, Site

    page, other = Site("127.0.0.2"), Site("127.0.0.2")
    page.routes["/account"] = Response(_ECHO_PAGE.format(other=other.url("/pixel.png")))
    page.routes["/logo.png"] = Response(b"", "image/png")
    other.routes["/pixel.png"] = Response(b"", "image/png")
    yield page, other
    page.close()
    other.close()


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_url_authentication_and_cookies_reach_the_page_and_only_where_they_apply(cl, version, two_sites):
    page, other = two_sites
    body = {
        "url": page.url("/account"),
        "authentication": {"username": "alice", "password": "s3cret:pw"},
        "cookies": [
            {"name": "session", "value": "abc123"},  # no url or domain: the page's
            {"name": "hidden", "value": "h1", "domain": "127.0.0.2", "path": "/", "httpOnly": True},
            {"name": "elsewhere", "value": "no", "domain": "example.com"},
            {"name": "deeper", "value": "no", "url": page.url("/account"), "path": "/admin"},
            {"name": "tls", "value": "no", "domain": "127.0.0.2", "secure": True},
        ],
        "timeZone": "Asia/Tokyo",
    }
    response = cl.post(version, "/url/pdf", json=_sync(version, body))
    assert response.status_code == 200, response.text
    basic = "Basic " + b64("alice:s3cret:pw")
    (document,) = page.headers_of("/account")
    assert document.get("authorization") == basic
    sent = sorted(document.get("cookie", "").split("; "))
    assert sent == ["hidden=h1", "session=abc123"], document
    (logo,) = page.headers_of("/logo.png")
    assert logo.get("authorization") == basic
    assert sorted(logo.get("cookie", "").split("; ")) == ["hidden=h1", "session=abc123"]
    # Another origin (same host, other port) gets the cookies of its host but never the password.
    (pixel,) = other.headers_of("/pixel.png")
    assert "authorization" not in pixel
    text = parse_pdf(response.content).text
    # The page's scripts see its clock in the zone asked for, and the cookies that are not httpOnly.
    assert "zone Asia/Tokyo" in text and "cookies session=abc123" in text and "hidden" not in text


def test_url_job_params_hide_the_credentials_and_cookies(cl, two_sites):
    page, _ = two_sites
    body = {
        "url": page.url("/account"),
        "authentication": {"username": "alice", "password": "s3cret"},
        "cookies": [{"name": "session", "value": "abc123"}],
    }
    job = cl.wait_for_job("v2", cl.post("v2", "/url/image", json=body).json()["id"])
    assert job["status"] == "success", job
    assert job["params"]["authentication"] == "..." and job["params"]["cookies"] == "..."
    assert "s3cret" not in json.dumps(job) and "abc123" not in json.dumps(job)
    (document,) = page.headers_of("/account")
    assert document["authorization"] == "Basic " + b64("alice:s3cret")
    # The finished job keeps no secret of the page's site, successful or failed.
    assert {"authentication", "cookies"}.isdisjoint(Generation.objects.get(pk=job["id"]).options)
    body["url"] = "http://127.0.0.2:9/unreachable"
    failed = cl.wait_for_job("v2", cl.post("v2", "/url/pdf", json=body).json()["id"])
    assert failed["status"] == "error", failed
    assert {"authentication", "cookies"}.isdisjoint(Generation.objects.get(pk=failed["id"]).options)


def test_time_zone_sets_the_clock_of_html_documents_too(cl):
    html = '<p id="z"></p><script>z.textContent = "zone " + Intl.DateTimeFormat().resolvedOptions().timeZone</script>'
    for zone in ("America/Lima", "Europe/Rome"):
        response = cl.post("v1", "/html/pdf", json={"html": b64(html), "timeZone": zone})
        assert response.status_code == 200, response.text
        assert f"zone {zone}" in parse_pdf(response.content).text


def test_url_extras_are_validated_by_name(cl):
    url = "http://127.0.0.2:9/page"
    assert_cl_error(
        cl.post("v1", "/url/pdf", json={"url": url, "timeZone": "Mars/Olympus"}), 422, "INVALID_PARAMETER", "timeZone"
    )
    assert_cl_error(cl.post("v1", "/url/pdf", json={"url": url, "timeZone": 3}), 400, "INVALID_PARAMETER", "timeZone")
    missing = cl.post("v1", "/url/pdf", json={"url": url, "authentication": {"username": "a"}})
    assert_cl_error(missing, 400, "INVALID_PARAMETER", "authentication.password")
    bad_cookie = cl.post(
        "v1", "/url/pdf", json={"url": url, "cookies": [{"name": "a", "value": "b", "url": "ftp://x"}]}
    )
    assert_cl_error(bad_cookie, 422, "INVALID_PARAMETER", "cookies[0].url")
    merge = cl.post("v1", "/pdf/merge", json={"url": url, "cookies": [{"name": "a", "value": "b"}]})
    error = assert_cl_error(merge, 422, "INVALID_PARAMETER", "cookies")
    assert error["details"]["reason"] == "not_supported"


# --- generatePreview --------------------------------------------------------------------------


def _image_size(content: bytes) -> tuple[str, tuple[int, int]]:
    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        return str(image.format), image.size


def test_generate_preview_puts_a_thumbnail_of_page_one_next_to_the_asset(cl):
    two_pages = "<h1>Page one</h1><div style='page-break-before: always'>Page two</div>"
    body = {"html": b64(two_pages), "generatePreview": {"width": 300, "type": "png", "maintainAspectRatio": True}}
    job = cl.wait_for_job("v2", cl.post("v2", "/html/pdf", json=body).json()["id"])
    assert job["status"] == "success", job
    preview = requests.get(job["previewUrl"], timeout=30)
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "image/png"
    # Letter, 8.5 x 11 in, fitted to 300 px wide.
    assert _image_size(preview.content) == ("PNG", (300, 388))
    asset = cl.get("v2", f"/assets/{job['assetId']}").json()
    assert asset["previewExt"] == "png" and asset["previewFileId"] != asset["id"]
    assert requests.get(asset["previewUrl"], timeout=30).content == preview.content
    # The preview belongs to its asset: it is not listed as an asset of its own.
    listed = [item["id"] for item in cl.get("v2", "/assets").json()]
    assert asset["id"] in listed and asset["previewFileId"] not in listed
    assert job["params"]["generatePreview"] == body["generatePreview"]


def test_generate_preview_true_on_an_image_is_a_webp_600_pixels_wide(cl):
    html = "<body style='margin:0'><div style='width:1200px;height:600px;background:red'></div></body>"
    body = {"html": b64(html), "viewPort": {"width": 1200, "height": 600}, "generatePreview": True}
    job = cl.wait_for_job("v2", cl.post("v2", "/html/image", json=body).json()["id"])
    assert job["status"] == "success", job
    assert _image_size(requests.get(job["previewUrl"], timeout=30).content) == ("WEBP", (600, 300))
    plain = cl.wait_for_job("v2", cl.post("v2", "/html/image", json={"html": b64(html)}).json()["id"])
    assert "previewUrl" not in plain


def test_generate_preview_is_validated(cl):
    html = b64(HTML)
    no_storage = cl.post("v1", "/html/pdf", json={"html": html, "storage": False, "generatePreview": True})
    assert assert_cl_error(no_storage, 400, "INVALID_PARAMETER", "generatePreview")["details"]["reason"] == "conflict"
    bad_type = cl.post("v2", "/html/pdf", json={"html": html, "generatePreview": {"type": "svg"}})
    assert_cl_error(bad_type, 422, "INVALID_PARAMETER", "generatePreview.type")
    bad_width = cl.post("v2", "/html/pdf", json={"html": html, "generatePreview": {"width": 0}})
    assert_cl_error(bad_width, 422, "INVALID_PARAMETER", "generatePreview.width")
    assert_cl_error(cl.post("v2", "/html/pdf", json={"html": html, "generatePreview": "yes"}), 400, "INVALID_PARAMETER")
