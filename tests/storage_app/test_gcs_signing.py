"""Links of the built-in Firebase/GCS backend outside the emulator: the shape fileloom.io shows
(`https://storage.googleapis.com/<bucket>/…?X-Goog-Algorithm=GOOG4-RSA-SHA256…`), signed with a
key file, or by IAM signBlob for a workload identity. Signing makes no storage request; the IAM
call is answered by a stand-in at google-auth's HTTP transport (no network in tests).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings
from django.test import override_settings
from google.auth.credentials import Credentials

from storage_app.gcs_backend import GoogleCloudStorage
from tests.storage_app.gcs_emulator import service_account_key, verify_v4_signed_url, write_key_file

NO_EMULATOR = {"STORAGE_EMULATOR_HOST": None, "GS_BUCKET_NAME": "fileloom-prod", "GS_LOCATION": "eu"}


def test_a_key_file_signs_v4_links_to_storage_googleapis_com(monkeypatch):
    key = service_account_key("fileloom-runtime")
    path = write_key_file(settings.VAR_DIR / "gcs-signing-key.json", key)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    with override_settings(**NO_EMULATOR):
        storage = GoogleCloudStorage()
        url = storage.url(
            "workspaces/ws_1/pdfs/2024/12/document-1.pdf", {"expires_in": 86400, "filename": "document.pdf"}
        )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "storage.googleapis.com")
    assert parts.path == "/fileloom-prod/eu/workspaces/ws_1/pdfs/2024/12/document-1.pdf"
    query = verify_v4_signed_url(url, key)
    assert query["X-Goog-Expires"] == "86400"
    assert query["X-Goog-Credential"].startswith("fileloom-runtime@fileloom-test.iam.gserviceaccount.com/")


class WorkloadIdentity(Credentials):
    """What google.auth.default() finds on GKE / Cloud Run: a token, an account, no private key."""

    def __init__(self, email: str) -> None:
        super().__init__()
        self.service_account_email = email
        self.refreshed = 0

    def refresh(self, request) -> None:  # type: ignore[no-untyped-def]
        self.refreshed += 1
        self.token = "ya29.workload-token"


class IAMStandIn:
    """Answers POST iamcredentials.googleapis.com/…/serviceAccounts/<email>:signBlob like IAM,
    signing with the account's Google-held key (here: a local one)."""

    def __init__(self, key: dict[str, str]) -> None:
        self.private_key = serialization.load_pem_private_key(key["private_key"].encode(), password=None)
        self.calls: list[tuple[str, str]] = []

    def __call__(self):  # google.auth.transport.requests.Request()
        return self.request

    def request(self, url, method="GET", body=None, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append((url, headers["Authorization"]))
        payload = base64.b64decode(json.loads(body)["payload"])
        signature = self.private_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
        data = json.dumps({"keyId": "k1", "signedBlob": base64.b64encode(signature).decode()}).encode()
        return type("Response", (), {"status": 200, "data": data, "headers": {}})()


@pytest.mark.parametrize("sa_email", [None, "pdf-signer@fileloom-test.iam.gserviceaccount.com"])
def test_a_workload_identity_signs_through_iam_sign_blob(monkeypatch, sa_email):
    from google.cloud.storage import _signing

    identity = WorkloadIdentity("fileloom-runtime@fileloom-test.iam.gserviceaccount.com")
    signer_email = sa_email or identity.service_account_email
    held_key = {**service_account_key("held-by-google"), "client_email": signer_email}
    iam = IAMStandIn(held_key)
    monkeypatch.setattr(_signing.requests, "Request", iam)
    with override_settings(**NO_EMULATOR, GS_SA_EMAIL=sa_email):
        storage = GoogleCloudStorage(credentials=identity, project_id="fileloom-test")
        url = storage.url("a/b.pdf", {"expires_in": 600, "filename": "b.pdf"})

    assert identity.refreshed == 1
    assert iam.calls == [
        (
            f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{signer_email}:signBlob?alt=json",
            "Bearer ya29.workload-token",
        )
    ]
    assert urlsplit(url).netloc == "storage.googleapis.com"
    assert verify_v4_signed_url(url, held_key)["X-Goog-Expires"] == "600"
