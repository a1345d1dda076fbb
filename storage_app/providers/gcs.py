"""Firebase Storage / Google Cloud Storage through google-cloud-storage (the JSON API).

`GCSStore` serves external connections, always with the connection's own service-account key
(never the server's identity). The built-in backend (storage_app.gcs_backend) shares the V4 link
signing and the owner-facing error texts. A Firebase Storage bucket is a GCS bucket
(`<project>.firebasestorage.app` or `<project>.appspot.com`): one provider serves both names.

Where calls go: a connection's `endpoint` (an emulator) if set, else the operator's
STORAGE_EMULATOR_HOST if set, else Google. Calls to a workspace's endpoint carry no Google
credentials and go through fileloom.outbound, which checks the address it connects to.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from google.api_core import exceptions as api_exceptions
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials, Signing
from google.auth.transport.requests import Request
from google.cloud.storage import Blob, Client
from google.cloud.storage.retry import DEFAULT_RETRY
from google.oauth2 import service_account as google_service_account

from fileloom import outbound
from fileloom.netpolicy import UnsafeDestination, check_url
from storage_app.providers import service_account
from storage_app.providers.base import ConnectionSettings, ExternalStorageError

READ_WRITE_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 15
_TIMEOUT = (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)
# Like the S3 client's single retry: transient errors (429, 5xx, connection) only, briefly.
RETRY = DEFAULT_RETRY.with_delay(initial=0.5, maximum=1.0).with_timeout(2.0)


def signed_get_url(
    blob: Blob,
    *,
    credentials: Credentials,
    expires_in: int,
    filename: str,
    content_type: str = "application/pdf",
    service_account_email: str | None = None,
    api_access_endpoint: str | None = None,
) -> str:
    """A V4 signed GET URL (`X-Goog-Algorithm=GOOG4-RSA-SHA256`), shown inline (as a PDF by default).

    A service-account key signs locally. Credentials without a private key (workload identity on
    GKE, Cloud Run, Compute Engine) sign through IAM's signBlob as their service account, which
    needs roles/iam.serviceAccountTokenCreator on itself.
    """
    params: dict[str, Any] = {
        "version": "v4",
        "method": "GET",
        "expiration": timedelta(seconds=expires_in),
        "response_disposition": f'inline; filename="{filename}"',
        "response_type": content_type,
    }
    if api_access_endpoint:
        params["api_access_endpoint"] = api_access_endpoint
    if isinstance(credentials, Signing):
        params["credentials"] = credentials
    else:
        if not credentials.valid:
            credentials.refresh(Request())
        email = service_account_email or getattr(credentials, "service_account_email", None)
        if not email:
            raise ExternalStorageError("Cannot sign links: set GS_SA_EMAIL to the service account that signs them")
        params["service_account_email"] = email
        params["access_token"] = credentials.token
    return blob.generate_signed_url(**params)


def explain(exc: BaseException, *, bucket: str) -> str:
    """A short, owner-facing reason for a failed Google Cloud Storage call."""
    if isinstance(exc, api_exceptions.RetryError) and exc.cause is not None:
        return explain(exc.cause, bucket=bucket)
    if isinstance(exc, UnsafeDestination):
        return f"Endpoint refused: {exc}"
    if isinstance(exc, auth_exceptions.RefreshError):
        return "Access denied: invalid credentials (Google refused the service-account key)"
    if isinstance(exc, auth_exceptions.TransportError):
        return "Could not reach Google to authenticate the service account"
    if isinstance(exc, api_exceptions.NotFound):
        return f"Bucket '{bucket}' does not exist"
    if isinstance(exc, api_exceptions.Unauthorized):
        return "Access denied: invalid credentials"
    if isinstance(exc, api_exceptions.Forbidden):
        return f"Access denied: the service account may not write to bucket '{bucket}' at this path"
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        return f"Storage error {exc.code}: {str(exc.message)[:200]}".rstrip(": ")
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError)):
        return "Could not connect to the storage endpoint"
    if isinstance(exc, requests.exceptions.Timeout):
        return "The storage endpoint did not answer in time"
    return f"Storage request failed ({exc.__class__.__name__})"


# What a failing call may raise: the API's errors, auth and transport errors, a refused endpoint.
_FAILURES = (
    api_exceptions.GoogleAPIError,
    auth_exceptions.GoogleAuthError,
    requests.exceptions.RequestException,
    UnsafeDestination,
)


class GCSStore:
    def __init__(self, connection: ConnectionSettings) -> None:
        self.connection = connection
        stored_key = connection.credentials.get("serviceAccount") or ""
        if not stored_key:
            raise ExternalStorageError("Access denied: no credentials configured")
        try:
            self.signer = google_service_account.Credentials.from_service_account_info(
                service_account.credentials_info(stored_key), scopes=[READ_WRITE_SCOPE]
            )
        except ValueError as exc:  # InvalidKey, or a key google-auth cannot load
            reason = str(exc) if isinstance(exc, service_account.InvalidKey) else "it cannot be loaded"
            raise ExternalStorageError(f"Access denied: the service-account key is not valid ({reason})") from None
        self.endpoint = connection.endpoint_url.rstrip("/")
        emulator = self.endpoint or settings.STORAGE_EMULATOR_HOST
        if self.endpoint:
            # The workspace's endpoint: no credentials sent, every connect checked by the policy.
            client = Client(
                project=None,
                credentials=AnonymousCredentials(),
                client_options=ClientOptions(api_endpoint=self.endpoint),
                _http=outbound.session(),
            )
        elif emulator:
            client = Client(
                project=None, credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=emulator)
            )
        else:
            client = Client(project=self.signer.project_id, credentials=self.signer)
        self.link_endpoint = emulator or None
        self.bucket = client.bucket(connection.bucket)

    def _checked(self) -> None:
        # Before every call that connects, for a clear message (the guarded session is the backstop).
        if self.endpoint:
            check_url(self.endpoint, allowed=settings.OUTBOUND_ALLOWED_NETWORKS)

    def _failed(self, exc: BaseException) -> ExternalStorageError:
        return ExternalStorageError(explain(exc, bucket=self.connection.bucket))

    def put(self, key: str, content: bytes, *, content_type: str) -> None:
        try:
            self._checked()
            self.bucket.blob(key).upload_from_string(content, content_type=content_type, timeout=_TIMEOUT, retry=RETRY)
        except _FAILURES as exc:
            raise self._failed(exc) from exc

    def get(self, key: str) -> bytes:
        try:
            self._checked()
            return self.bucket.blob(key).download_as_bytes(timeout=_TIMEOUT, retry=RETRY)
        except api_exceptions.NotFound:
            raise ExternalStorageError(f"Object '{key}' not found in bucket '{self.connection.bucket}'") from None
        except _FAILURES as exc:
            raise self._failed(exc) from exc

    def delete(self, key: str) -> None:
        try:
            self._checked()
            self.bucket.delete_blob(key, timeout=_TIMEOUT, retry=RETRY)
        except api_exceptions.NotFound:
            pass  # already gone (or its bucket is): what a delete wants
        except _FAILURES as exc:
            raise self._failed(exc) from exc

    def presigned_get(self, key: str, *, expires_in: int, filename: str, content_type: str = "application/pdf") -> str:
        """Signed locally with the connection's key; no request is made."""
        try:
            return signed_get_url(
                self.bucket.blob(key),
                credentials=self.signer,
                expires_in=expires_in,
                filename=filename,
                content_type=content_type,
                api_access_endpoint=self.link_endpoint,
            )
        except (*_FAILURES, ValueError) as exc:
            raise self._failed(exc) from exc
