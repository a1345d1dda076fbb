"""Both engines against a loopback spy: nothing a document does reaches a refused address.

The allowed networks are 127.0.0.2/32 only. The spy listens on 127.0.0.1 and records every TCP
connection and UDP datagram on its port, so a preconnect, a WebSocket handshake or a STUN packet
counts as much as an HTTP request. Every document also loads a stylesheet from the allowed site
on 127.0.0.2, whose generated text proves that allowed fetches still work.
"""

from __future__ import annotations

import ipaddress
import json
import time

import pytest

from rendering.engines import RenderError
from rendering.engines import weasyprint as weasyprint_engine
from rendering.pages import PageSetup
from tests.pdfs import parse_pdf
from tests.rendering.conftest import needs_chromium
from tests.rendering.servers import Response, Site, Spy
from tests.waiting import wait_until

pytestmark = [pytest.mark.usefixtures("only_127_0_0_2")]

ALLOWED_CSS = ".marker::after { content: ' ALLOWED-STYLESHEET'; }"


def static_battery(site: Site, spy: Spy) -> str:
    """Everything plain HTML and CSS can point at: both engines must refuse all of it."""
    s, port = spy.url(""), spy.port
    return f"""<html><head>
<link rel="stylesheet" href="{site.url("/allowed.css")}">
<link rel="stylesheet" href="{s}/style.css">
<style>
  @import url("{s}/import.css");
  .bg {{ background: url("{s}/background.png"); }}
  @font-face {{ font-family: Spy; src: url("{s}/font.woff"); }}
  .font {{ font-family: Spy, sans-serif; }}
</style>
<link rel="preload" as="image" href="{s}/preload.png">
<link rel="prefetch" href="{s}/prefetch">
<link rel="preconnect" href="{s}">
<link rel="dns-prefetch" href="{s}">
<link rel="icon" href="{s}/favicon.ico">
<script src="{s}/script.js"></script>
</head><body>
<p class="marker bg font">battery</p>
<img src="{s}/image.png"><img srcset="{s}/srcset.png 2x">
<picture><source srcset="{s}/source.png"><img alt=""></picture>
<iframe src="{s}/frame"></iframe><object data="{s}/object"></object><embed src="{s}/embed">
<video poster="{s}/poster.png" src="{s}/video.mp4"></video><audio src="{s}/audio.mp3"></audio>
<svg width="10" height="10"><image href="{s}/svg.png" width="10" height="10"/></svg>
<a ping="{s}/ping" href="#top">link</a>
<img src="file:///etc/passwd"><iframe src="file:///etc/hostname"></iframe>
<img src="http://169.254.169.254/latest/meta-data/">
<img src="http://localhost:{port}/localhost"><img src="http://[::1]:{port}/ipv6">
<img src="http://0.0.0.0:{port}/zero"><img src="http://2130706433:{port}/decimal">
<img src="http://user:secret@127.0.0.2:{port}/credentials">
</body></html>"""


def scripted(site: Site, body: str) -> str:
    """A document that runs `body` (JavaScript) and then says so."""
    return f"""<html><head><link rel="stylesheet" href="{site.url("/allowed.css")}"></head>
<body><p class="marker">battery</p><p id="ran"></p>
<script>
(async () => {{
  try {{ {body} }} catch (error) {{ /* a refusal may surface as an exception */ }}
  document.getElementById("ran").textContent = "SCRIPT-RAN";
}})();
</script></body></html>"""


JS_VECTORS = {
    "fetch": 'fetch("{s}/fetch").catch(() => {{}}); fetch("{s}/post", {{method: "POST", mode: "no-cors", body: "x"}}).catch(() => {{}});',
    "xhr": 'const request = new XMLHttpRequest(); request.open("GET", "{s}/xhr"); request.send();',
    "websocket": 'new WebSocket("ws://{host}/socket");',
    "beacon": 'navigator.sendBeacon("{s}/beacon", "data");',
    "event_source": 'new EventSource("{s}/events");',
    "worker": 'new Worker(URL.createObjectURL(new Blob([\'fetch("{s}/worker")\'], {{type: "text/javascript"}})));',
    "dynamic_import": 'import("{s}/module.js").catch(() => {{}});',
    "form_submit": 'const form = document.createElement("form"); form.method = "post"; form.action = "{s}/form"; document.body.appendChild(form); form.submit();',
    "window_open": 'window.open("{s}/popup");',
    "link_to_a_new_window": 'const link = document.createElement("a"); link.href = "{s}/blank"; link.target = "_blank"; document.body.appendChild(link); link.click();',
    "window_location": 'setTimeout(() => {{ window.location.href = "{s}/location"; }}, 20);',
    "iframe_by_script": 'const frame = document.createElement("iframe"); frame.src = "{s}/scripted-frame"; document.body.appendChild(frame);',
    "webrtc_stun": 'const pc = new RTCPeerConnection({{iceServers: [{{urls: "stun:{host}"}}]}}); pc.createDataChannel("x"); await pc.setLocalDescription(await pc.createOffer());',
    "webrtc_turn_tcp": 'const pc = new RTCPeerConnection({{iceServers: [{{urls: "turn:{host}?transport=tcp", username: "u", credential: "p"}}]}}); pc.createDataChannel("x"); await pc.setLocalDescription(await pc.createOffer());',
    "webtransport": 'new WebTransport("https://{host}/transport");',
    "data_navigation": 'setTimeout(() => {{ window.location.href = "data:text/html,<img src={s}/from-data>"; }}, 20);',
}


def assert_untouched(spy: Spy) -> None:
    time.sleep(0.5)  # anything late would still arrive
    assert spy.seen == []


@pytest.fixture
def allowed(site: Site) -> Site:
    site.routes["/allowed.css"] = Response(ALLOWED_CSS, "text/css")
    return site


def test_weasyprint_refuses_the_static_battery_and_loads_the_allowed_site(allowed, spy):
    text = parse_pdf(weasyprint_engine.render_pdf(static_battery(allowed, spy), PageSetup())).text
    assert "battery ALLOWED-STYLESHEET" in text
    assert "root:" not in text
    assert_untouched(spy)
    assert allowed.paths() == ["/allowed.css"]


@needs_chromium
def test_chromium_refuses_the_static_battery_and_loads_the_allowed_site(chromium, allowed, spy):
    setup = PageSetup.from_dict({"delay": 500})
    text = parse_pdf(chromium.render_pdf(static_battery(allowed, spy), setup)).text
    assert "battery ALLOWED-STYLESHEET" in text
    assert "root:" not in text
    assert_untouched(spy)
    assert allowed.paths() == ["/allowed.css"]


@needs_chromium
@pytest.mark.parametrize("vector", sorted(JS_VECTORS))
def test_chromium_refuses_what_scripts_try(chromium, allowed, spy, vector):
    body = JS_VECTORS[vector].format(s=spy.url(""), host=spy.host)
    pdf = chromium.render_pdf(scripted(allowed, body), PageSetup.from_dict({"delay": 800}))
    text = parse_pdf(pdf).text
    assert "battery ALLOWED-STYLESHEET" in text, text  # the document itself is still there
    assert "SCRIPT-RAN" in text, text
    assert_untouched(spy)


@needs_chromium
def test_the_spy_hears_what_the_policy_lets_through(chromium, allowed, spy, settings):
    """The control: with loopback allowed, the same vectors reach the spy."""
    settings.RENDERER_ALLOWED_NETWORKS = [*settings.RENDERER_ALLOWED_NETWORKS, ipaddress.ip_network("127.0.0.1/32")]
    chromium.render_pdf(static_battery(allowed, spy), PageSetup.from_dict({"delay": 500}))
    html = scripted(allowed, JS_VECTORS["fetch"].format(s=spy.url(""), host=spy.host))
    chromium.render_pdf(html, PageSetup.from_dict({"delay": 500}))
    paths = ("/style.css", "/import.css", "/image.png", "/script.js", "/frame", "/fetch", "/post")
    assert wait_until(lambda: all(f" {path} HTTP/1.1" in " ".join(spy.seen) for path in paths), timeout=10), spy.seen


@needs_chromium
def test_a_meta_refresh_to_a_refused_address_keeps_the_document(chromium, allowed, spy):
    html = (
        f'<html><head><meta http-equiv="refresh" content="0;url={spy.url("/refresh")}">'
        f'<link rel="stylesheet" href="{allowed.url("/allowed.css")}"></head>'
        '<body><p class="marker">battery</p></body></html>'
    )
    text = parse_pdf(chromium.render_pdf(html, PageSetup.from_dict({"delay": 800}))).text
    assert "battery ALLOWED-STYLESHEET" in text
    assert_untouched(spy)


@needs_chromium
def test_redirects_from_an_allowed_site_to_a_refused_address_are_refused(chromium, allowed, spy):
    allowed.routes["/redirect"] = Response(status=302, headers={"Location": spy.url("/redirected")})
    allowed.routes["/frame.html"] = Response(f'<img src="{spy.url("/nested")}"><p>inner frame</p>')
    frames = f'<iframe src="{allowed.url("/redirect")}"></iframe><iframe src="{allowed.url("/frame.html")}"></iframe>'
    script = (
        f'document.body.insertAdjacentHTML("beforeend", {json.dumps(frames)}); '
        f'await fetch("{allowed.url("/redirect")}").catch(() => {{}});'
    )
    html = scripted(allowed, script).replace("</body>", f'<img src="{allowed.url("/redirect")}"></body>')
    text = parse_pdf(chromium.render_pdf(html, PageSetup.from_dict({"delay": 800}))).text
    assert "battery ALLOWED-STYLESHEET" in text
    assert "/redirect" in allowed.paths() and "/frame.html" in allowed.paths()
    assert_untouched(spy)


@needs_chromium
def test_header_and_footer_templates_fetch_nothing(chromium, allowed, spy):
    band = {"enabled": True, "height": 10, "content": f'<img src="{spy.url("/band.png")}"> band'}
    setup = PageSetup.from_dict({"header": band, "footer": band})
    text = parse_pdf(chromium.render_pdf('<p class="marker">battery</p>', setup)).text
    assert "band" in text
    assert_untouched(spy)


@needs_chromium
def test_service_workers_and_downloads_are_off(chromium, allowed, spy):
    allowed.routes["/sw.js"] = Response(f'fetch("{spy.url("/from-worker")}");', "text/javascript")
    allowed.routes["/file.bin"] = Response(
        b"\0" * 100, "application/octet-stream", headers={"Content-Disposition": "attachment"}
    )
    allowed.routes["/page.html"] = Response(
        scripted(
            allowed,
            'await navigator.serviceWorker.register("/sw.js").catch(() => {}); '
            'const link = document.createElement("a"); link.href = "/file.bin"; link.download = "f.bin"; '
            "document.body.appendChild(link); link.click();",
        )
    )
    text = parse_pdf(chromium.render_pdf("", PageSetup.from_dict({"delay": 800}), url=allowed.url("/page.html"))).text
    assert "SCRIPT-RAN" in text
    assert "/sw.js" not in allowed.paths()
    assert_untouched(spy)
    artifacts = chromium.run_dir / "artifacts"
    assert not artifacts.exists() or not any(artifacts.iterdir())


@needs_chromium
@pytest.mark.parametrize(
    "target",
    ["spy", "localhost", "redirect", "metadata", "file"],
)
def test_a_refused_url_input_is_an_error_before_chromium_connects(chromium, allowed, spy, target):
    allowed.routes["/redirect"] = Response(status=302, headers={"Location": spy.url("/redirected")})
    url = {
        "spy": spy.url("/page"),
        "localhost": f"http://localhost:{spy.port}/page",
        "redirect": allowed.url("/redirect"),
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "file": "file:///etc/passwd",
    }[target]
    with pytest.raises(RenderError, match=r"^url: "):
        chromium.render_pdf("", PageSetup(), url=url)
    assert_untouched(spy)
