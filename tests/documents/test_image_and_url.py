"""`POST /v1/image/generate`, URL input and the Chromium engine through the API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from tests.envelope import assert_error
from tests.pdfs import mm_to_pt, parse_pdf
from tests.rendering.servers import Response, Site, Spy

pytestmark = pytest.mark.slow

PAGE = "<html><body style='margin:0;background:#fff'><div style='width:300px;height:200px;background:#c00'></div></body></html>"


def _download(response: requests.Response) -> requests.Response:
    assert response.status_code == 200, response.text
    file = requests.get(response.json()["data"]["url"], timeout=60)
    assert file.status_code == 200
    return file


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site("127.0.0.2")
    yield server
    server.close()


@pytest.fixture
def spy() -> Iterator[Spy]:
    listener = Spy()
    yield listener
    listener.close()


def test_an_image_is_a_png_by_default_with_the_fileloom_envelope(api: Any) -> None:
    response = api.post("/v1/image/generate", json={"htmlContent": PAGE, "options": {"viewport": {"width": 400}}})
    body = response.json()
    assert body["success"] is True and body["usage"]["quotaUsed"] == 1
    assert body["data"]["filename"] == "document.png"
    file = _download(response)
    assert file.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(file.content))
    assert image.format == "PNG" and image.width == 400
    assert image.getpixel((10, 10))[:3] == (204, 0, 0)


@pytest.mark.parametrize(("image_type", "fmt", "extension"), [("jpeg", "JPEG", "jpg"), ("webp", "WEBP", "webp")])
def test_jpeg_and_webp_with_quality(api: Any, image_type: str, fmt: str, extension: str) -> None:
    response = api.post(
        "/v1/image/generate",
        json={"htmlContent": PAGE, "filename": "chart", "options": {"imageType": image_type, "quality": 60}},
    )
    assert response.json()["data"]["filename"] == f"chart.{extension}"
    file = _download(response)
    assert file.headers["Content-Type"] == f"image/{image_type}"
    assert Image.open(io.BytesIO(file.content)).format == fmt


def test_a_selector_capture_is_that_element(api: Any) -> None:
    html = "<body style='margin:0'><p>intro</p><div id='badge' style='width:120px;height:80px;background:#00c'></div></body>"
    response = api.post("/v1/image/generate", json={"htmlContent": html, "options": {"selector": "#badge"}})
    image = Image.open(io.BytesIO(_download(response).content))
    assert image.size == (120, 80)


def test_image_options_are_validated(api: Any) -> None:
    error = assert_error(
        api.post("/v1/image/generate", json={"htmlContent": PAGE, "options": {"imageType": "gif"}}),
        400,
        "VALIDATION_ERROR",
    )
    assert any("imageType" in str(detail) for detail in error["details"])
    error = assert_error(
        api.post(
            "/v1/image/generate", json={"htmlContent": PAGE, "options": {"engine": "weasyprint", "selector": "#x"}}
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert "options.selector: only the chromium engine supports this option (engine is weasyprint)" in error["details"]


def test_chromium_runs_the_pages_javascript(api: Any) -> None:
    html = "<p id='out'>static</p><script>document.getElementById('out').textContent = 'Total: ' + (40 + 2);</script>"
    weasy = parse_pdf(_download(api.generate(htmlContent=html)).content)
    chromium = parse_pdf(_download(api.generate(htmlContent=html, options={"engine": "chromium"})).content)
    assert "static" in weasy.text and "Total: 42" not in weasy.text
    assert "Total: 42" in chromium.text
    width, height = chromium.page_sizes[0]  # Chromium rounds paper sizes to 1/100 in
    assert abs(width - mm_to_pt(210)) < 1 and abs(height - mm_to_pt(297)) < 1


def test_a_url_is_rendered_by_chromium(api: Any, site: Site) -> None:
    site.routes["/report"] = Response("<h1>Quarterly report</h1><script>document.write('<p>from JS</p>')</script>")
    response = api.generate(url=site.url("/report"))
    body = response.json()
    assert body["data"]["generationMethod"] == "url"
    text = parse_pdf(_download(response).content).text
    assert "Quarterly report" in text and "from JS" in text
    job = api.get(f"/v1/jobs/{_job_id(api, body['requestId'])}").json()
    assert job["engine"] == "chromium"


def _job_id(api: Any, request_id: str) -> str:
    jobs = api.get("/v1/jobs?limit=100").json()["data"]
    return next(job["jobId"] for job in jobs if job["requestId"] == request_id)


def test_a_url_on_a_forbidden_address_is_refused_before_chromium_connects(api: Any, spy: Spy) -> None:
    error = assert_error(api.generate(url=f"http://127.0.0.1:{spy.port}/secret"), 400, "URL_NOT_ALLOWED")
    assert "forbidden address" in error["message"]
    assert_error(api.generate(url="file:///etc/passwd"), 400, "URL_NOT_ALLOWED")
    assert spy.seen == []


def test_url_input_needs_the_chromium_engine(api: Any, site: Site) -> None:
    error = assert_error(api.generate(url=site.url("/"), options={"engine": "weasyprint"}), 400, "VALIDATION_ERROR")
    assert "url: URL input needs the chromium engine (engine is weasyprint)" in error["details"]


def test_a_url_image(api: Any, site: Site) -> None:
    site.routes["/card"] = Response(PAGE)
    response = api.post("/v1/image/generate", json={"url": site.url("/card"), "options": {"viewport": {"width": 320}}})
    image = Image.open(io.BytesIO(_download(response).content))
    assert image.width == 320
