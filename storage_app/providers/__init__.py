"""External storage providers behind one narrow interface.

Each provider module is the only place that talks to its outside system: `s3` (boto3, for AWS
and every S3-compatible endpoint), `supabase` (Supabase Storage's REST API through
fileloom.outbound) and `gcs` (Firebase Storage / Google Cloud Storage, google-cloud-storage). Failures surface as `ExternalStorageError` whose message is written for the
workspace owner (it ends up in `warnings[].error`) and never contains a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class ExternalStorageError(Exception):
    """A provider call failed; str(error) is safe to show to the workspace."""


@dataclass(frozen=True)
class ConnectionSettings:
    provider: str
    bucket: str
    region: str = ""
    # S3: custom endpoint or "" for AWS; Supabase: the project URL; Firebase/GCS: an emulator or "".
    endpoint_url: str = ""
    force_path_style: bool = False
    credentials: dict[str, str] = field(default_factory=dict, repr=False)


class ExternalStore(Protocol):
    def put(self, key: str, content: bytes, *, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def presigned_get(
        self, key: str, *, expires_in: int, filename: str, content_type: str = "application/pdf"
    ) -> str: ...


def store_for(connection: ConnectionSettings) -> ExternalStore:
    # Provider modules import this one and load heavy client libraries: imported on first use.
    if connection.provider == "s3":
        from storage_app.providers.s3 import S3Store

        return S3Store(connection)
    if connection.provider == "supabase":
        from storage_app.providers.supabase import SupabaseStore

        return SupabaseStore(connection)
    if connection.provider == "firebase":
        from storage_app.providers.gcs import GCSStore

        return GCSStore(connection)
    raise ExternalStorageError(f"Unknown storage provider {connection.provider!r}")
