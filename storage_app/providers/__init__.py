"""External storage providers behind one narrow interface.

Each provider module is the only place that talks to its outside system: `s3` (boto3, for AWS
and every S3-compatible endpoint), `supabase` (Supabase Storage's REST API through
fileloom.outbound) and `gcs` (Firebase Storage / Google Cloud Storage, google-cloud-storage). Failures surface as `ExternalStorageError` whose message is written for the
workspace owner (it ends up in `warnings[].error`) and never contains a secret.
"""

from __future__ import annotations

from storage_app.providers.base import ConnectionSettings, ExternalStorageError, ExternalStore
from storage_app.providers.s3 import S3Store
from storage_app.providers.supabase import SupabaseStore

__all__ = ["ConnectionSettings", "ExternalStorageError", "ExternalStore", "store_for"]


def store_for(connection: ConnectionSettings) -> ExternalStore:
    # Provider modules import this one and load heavy client libraries: imported on first use.
    if connection.provider == "s3":
        return S3Store(connection)
    if connection.provider == "supabase":
        return SupabaseStore(connection)
    if connection.provider == "firebase":
        from storage_app.providers.gcs import GCSStore

        return GCSStore(connection)
    raise ExternalStorageError(f"Unknown storage provider {connection.provider!r}")
