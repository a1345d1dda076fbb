"""Signed links to built-in files: no key needed; tampering → 403; expiry → 410."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import requests

from storage_app import links
from storage_app.models import StoredFile
from storage_app.services import file_delete
from tests.envelope import assert_error


def _generate(api, text: str) -> dict:
    response = api.generate(htmlContent=f"<p>{text}</p>")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_signed_link_downloads_without_an_api_key(api):
    data = _generate(api, "hello")
    response = requests.get(data["signedUrl"], timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_a_tampered_signature_is_refused(api):
    data = _generate(api, "tamper")
    signature = parse_qs(urlsplit(data["signedUrl"]).query)["signature"][0]
    forged = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert_error(requests.get(_with_query(data["signedUrl"], signature=forged), timeout=30), 403, "LINK_INVALID")


def test_extending_the_expiry_breaks_the_signature(api):
    data = _generate(api, "extend")
    longer = str(int(time.time()) + 10 * 365 * 86400)
    assert_error(requests.get(_with_query(data["signedUrl"], expires=longer), timeout=30), 403, "LINK_INVALID")


def test_a_link_cannot_be_pointed_at_another_file(api):
    mine = _generate(api, "mine")
    other = _generate(api, "other")
    altered = mine["signedUrl"].replace(mine["fileId"], other["fileId"])
    assert_error(requests.get(altered, timeout=30), 403, "LINK_INVALID")
    traversal = mine["signedUrl"].replace(mine["fileId"], "..%2F..%2Fsettings.py")
    assert requests.get(traversal, timeout=30).status_code in (403, 404)


def test_an_expired_link_is_gone(api, live_server):
    data = _generate(api, "expired")
    expired_path = links.signed_path(data["fileId"], int(time.time()) - 5)
    assert_error(requests.get(live_server.url + expired_path, timeout=30), 410, "LINK_EXPIRED")


def test_a_deleted_file_is_gone(api):
    data = _generate(api, "deleted")
    file_delete(file=StoredFile.objects.get(pk=data["fileId"]))
    assert_error(requests.get(data["url"], timeout=30), 410, "FILE_GONE")


def test_missing_query_parameters_are_refused(api):
    data = _generate(api, "bare")
    bare = data["url"].split("?")[0]
    assert_error(requests.get(bare, timeout=30), 403, "LINK_INVALID")
