"""Resources referenced by documents: file:// and private addresses are never fetched."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from fileloom.settings import env_networks
from rendering.engines.weasyprint import render_pdf
from rendering.pages import PageSetup
from tests.pdfs import parse_pdf


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b"p { color: red } .marker::after { content: 'STYLESHEET-LOADED'; }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def resource_server():
    _Recorder.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()


def test_a_file_url_image_and_a_loopback_stylesheet_are_not_fetched(api, resource_server):
    base, hits = resource_server
    html = (
        f"<html><head><link rel='stylesheet' href='{base}/style.css'></head><body>"
        "<img src='file:///etc/passwd'><p class='marker'>body text</p>"
        f"<img src='{base}/image.png'></body></html>"
    )
    response = api.generate(htmlContent=html)
    assert response.status_code == 200, response.text
    assert hits == []
    import requests

    text = parse_pdf(requests.get(response.json()["data"]["url"], timeout=30).content).text
    assert "body text" in text
    assert "STYLESHEET-LOADED" not in text
    assert "root:" not in text


def test_metadata_and_private_addresses_are_refused(resource_server):
    html = (
        "<link rel='stylesheet' href='http://169.254.169.254/latest/meta-data/'>"
        "<link rel='stylesheet' href='http://10.0.0.1/x.css'>"
        "<link rel='stylesheet' href='http://[::1]:1/x.css'>"
        "<img src='http://localhost:1/x.png'><p>still renders</p>"
    )
    assert "still renders" in parse_pdf(render_pdf(html, PageSetup())).text


def test_an_allowed_network_is_fetched_when_a_setting_permits_it(resource_server):
    base, hits = resource_server
    html = (
        f"<html><head><link rel='stylesheet' href='{base}/style.css'></head><body><p class='marker'>x</p></body></html>"
    )
    with override_settings(RENDERER_ALLOWED_NETWORKS=env_networks("UNSET_FOR_TEST", ["127.0.0.1/32"])):
        pdf = render_pdf(html, PageSetup())
    assert hits == ["/style.css"]
    assert "STYLESHEET-LOADED" in parse_pdf(pdf).text
