"""The generation and file lists in the admin, in a real headless Chromium at a laptop's width."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from tests.conftest import needs_chromium
from tests.staff import PASSWORD, staff_user

pytestmark = [pytest.mark.slow, needs_chromium]

LAPTOP = {"width": 1440, "height": 900}


def log_in(page: Any, base_url: str, username: str, next_path: str) -> None:
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_path}")


@pytest.fixture
def made_by_the_api(api: Any) -> None:
    """Generations and files as the API leaves them: a long filename, sync and async, a failure."""
    long_name = "Quarterly-statement-for-Acme-Corporation-International-Holdings-2026-Q3-final-v2"
    assert api.generate(htmlContent="<p>one</p>", filename=long_name).status_code == 200
    assert api.generate(htmlContent="<p>two</p>", options={"format": "Letter"}).status_code == 200
    assert api.generate(htmlContent="<p>{{#if}}</p>").status_code == 400
    assert api.generate(htmlContent="<p>later</p>", **{"async": True}).status_code == 202


# The element at each header's centre, as a click would find it: outside the viewport, scrolled
# out of the results box or covered by the filter sidebar, it is not the header.
HIDDEN_HEADERS = """() => [...document.querySelectorAll('#result_list thead th')].filter(th => {
    const box = th.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const hit = x < innerWidth && y < innerHeight ? document.elementFromPoint(x, y) : null;
    return !(hit && th.contains(hit));
}).map(th => th.innerText.trim() || th.className)"""


@pytest.mark.parametrize(
    ("path", "must_show"),
    [
        ("/admin/documents/generation/", ["ID", "STATUS", "WORKSPACE", "CREATED"]),
        ("/admin/storage_app/storedfile/", ["FILENAME", "WORKSPACE", "SIZE", "CREATED", "EXPIRES"]),
    ],
)
def test_every_list_column_is_visible_on_a_1440_pixel_screen(
    browser_page, live_server, acme, made_by_the_api, path, must_show
):
    superuser = staff_user("sue", superuser=True)
    page = browser_page
    page.set_viewport_size(LAPTOP)
    log_in(page, live_server.url, superuser.username, path)
    assert page.locator("#result_list tbody tr").count() >= 3
    headers = [text.strip().upper() for text in page.locator("#result_list thead th").all_inner_texts()]
    assert all(any(header.startswith(name) for header in headers) for name in must_show), headers
    (settings.VAR_DIR / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(settings.VAR_DIR / "screenshots" / f"{path.strip('/').replace('/', '-')}.png"))
    assert page.evaluate(HIDDEN_HEADERS) == []
    assert page.evaluate("document.querySelector('#changelist-form .results').scrollWidth") <= page.evaluate(
        "document.querySelector('#changelist-form .results').clientWidth"
    )
