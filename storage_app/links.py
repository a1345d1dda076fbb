"""Signed, expiring links to built-in files.

A link names the file by id and carries an expiry and an HMAC over both; it never contains a
storage path, so altering it can reach no other file (the HMAC fails first).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import salted_hmac
from rest_framework.request import Request

_SALT = "fileloom.storage_app.links"


def _signature(file_id: str, expires: int) -> str:
    return salted_hmac(_SALT, f"{file_id}:{expires}", algorithm="sha256").hexdigest()


def signed_path(file_id: str, expires: int) -> str:
    query = urlencode({"expires": expires, "signature": _signature(file_id, expires)})
    return f"{reverse('file-content', kwargs={'file_id': file_id})}?{query}"


def absolute(path: str, request: HttpRequest | Request | None = None) -> str:
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return "http://localhost:8000" + path


@dataclass(frozen=True)
class LinkCheck:
    valid: bool
    expired: bool


def verify(file_id: str, expires: str | None, signature: str | None) -> LinkCheck:
    try:
        expires_at = int(expires or "")
    except ValueError:
        return LinkCheck(valid=False, expired=False)
    if not signature or not hmac.compare_digest(_signature(file_id, expires_at), signature):
        return LinkCheck(valid=False, expired=False)
    return LinkCheck(valid=True, expired=expires_at < int(time.time()))
