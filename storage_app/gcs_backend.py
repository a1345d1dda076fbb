"""Built-in storage on Firebase Storage / Google Cloud Storage (STORAGE_BACKEND=firebase or gcs).

django-storages' Google Cloud backend, with two changes:
- With STORAGE_EMULATOR_HOST, calls go to the emulator without credentials (emulators take none,
  and Google's client would otherwise fetch OAuth tokens from Google), while a key in
  GOOGLE_APPLICATION_CREDENTIALS still signs the links, which point at the emulator too.
- Links are V4 signed with whatever credentials the server has: a service-account key signs
  locally, a workload identity through IAM signBlob (no GS_IAM_SIGN_BLOB switch to forget).
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import quote

import google.auth
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud.storage import Client
from google.oauth2 import service_account
from storages.backends import gcloud
from storages.utils import clean_name, setting

from storage_app.providers.gcs import signed_get_url

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class GoogleCloudStorage(gcloud.GoogleCloudStorage):
    _client: Client | None
    emulator_host: str | None

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.signing_credentials: Credentials | None = None

    def get_default_settings(self) -> dict[str, Any]:
        return {**super().get_default_settings(), "emulator_host": setting("STORAGE_EMULATOR_HOST")}

    @property
    def client(self) -> Client:
        if self._client is None:
            if self.emulator_host:
                self.signing_credentials = _key_file_credentials()
                self._client = Client(
                    project=None,
                    credentials=AnonymousCredentials(),
                    client_options=ClientOptions(api_endpoint=self.emulator_host.rstrip("/")),
                )
            else:
                credentials, project = self.credentials, self.project_id
                if credentials is None:
                    # GOOGLE_APPLICATION_CREDENTIALS, gcloud's login, or the workload identity.
                    credentials, found_project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
                    project = project or found_project
                self.signing_credentials = credentials
                self._client = Client(project=project, credentials=credentials)
        return self._client

    def url(self, name: str, parameters: dict[str, Any] | None = None) -> str:
        """A V4 signed GET URL; parameters: `expires_in` (seconds), `filename` and `content_type`."""
        name = self._normalize_name(clean_name(name))
        options = parameters or {}
        blob = self.bucket.blob(name)  # creates the client, and with it signing_credentials
        if self.signing_credentials is None and self.emulator_host:
            # An emulator and no key to sign with: emulators check no signature anyway.
            return f"{self.emulator_host.rstrip('/')}/{self.bucket_name}/{quote(name, safe='/~')}"
        assert self.signing_credentials is not None  # set with the client outside emulators
        return signed_get_url(
            blob,
            credentials=self.signing_credentials,
            expires_in=int(options.get("expires_in") or self.expiration.total_seconds()),
            filename=str(options.get("filename") or posixpath.basename(name)),
            content_type=str(options.get("content_type") or "application/pdf"),
            service_account_email=self.sa_email,
        )


def _key_file_credentials() -> Credentials | None:
    """The service-account key that signs emulator links, if one is configured."""
    path = setting("GOOGLE_APPLICATION_CREDENTIALS")
    if not path:
        return None
    try:
        return service_account.Credentials.from_service_account_file(path)
    except ValueError:  # another kind of credentials (a gcloud login): nothing to sign with
        return None
