"""Supabase Storage through its REST API (`<project>/storage/v1`), authenticated with the
project's service-role key, over fileloom.outbound (so the network policy applies per connect).

Endpoints used: POST /object/{bucket}/{key} (upload, x-upsert), GET /object/authenticated/…
(read back), DELETE /object/{bucket}/{key}, POST /object/sign/{bucket}/{key} (signed URL).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from fileloom import outbound
from storage_app.providers.base import ConnectionSettings, ExternalStorageError

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 15
MAX_READ_BYTES = 300 * 1024 * 1024


def _reason(response: outbound.OutboundResponse, *, bucket: str) -> str:
    try:
        body = json.loads(response.body or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    status = str(body.get("statusCode") or response.status)
    message = str(body.get("message") or body.get("error") or "")[:200]
    if response.status in (401, 403) or status in ("401", "403"):
        if "row-level security" in message.lower():
            return f"Access denied: the key may not write to bucket '{bucket}' (use the service-role key)"
        return "Access denied: invalid credentials"
    if "bucket not found" in message.lower():
        return f"Bucket '{bucket}' does not exist"
    return f"Storage error {status}: {message}".rstrip(": ")


class SupabaseStore:
    def __init__(self, connection: ConnectionSettings) -> None:
        self.connection = connection
        self.key = connection.credentials.get("serviceRoleKey") or ""
        if not self.key:
            raise ExternalStorageError("Access denied: no credentials configured")
        self.base = connection.endpoint_url.rstrip("/") + "/storage/v1"

    def _object_path(self, key: str) -> str:
        return f"{quote(self.connection.bucket, safe='')}/{quote(key, safe='/')}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int = 64 * 1024,
    ) -> outbound.OutboundResponse:
        try:
            response = outbound.request(
                method,
                f"{self.base}/{path}",
                data=data,
                headers={"Authorization": f"Bearer {self.key}", "apikey": self.key, **(headers or {})},
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                read_timeout=READ_TIMEOUT_SECONDS,
                max_bytes=max_bytes,
            )
        except outbound.OutboundError as exc:
            if exc.kind == "refused":
                raise ExternalStorageError(f"Endpoint refused: {exc}") from exc
            if exc.kind == "timeout":
                raise ExternalStorageError("The storage endpoint did not answer in time") from exc
            raise ExternalStorageError("Could not connect to the storage endpoint") from exc
        if response.status >= 400:
            raise ExternalStorageError(_reason(response, bucket=self.connection.bucket))
        return response

    def put(self, key: str, content: bytes, *, content_type: str) -> None:
        self._request(
            "POST",
            f"object/{self._object_path(key)}",
            data=content,
            headers={"Content-Type": content_type, "x-upsert": "true", "cache-control": "3600"},
        )

    def get(self, key: str) -> bytes:
        return self._request("GET", f"object/authenticated/{self._object_path(key)}", max_bytes=MAX_READ_BYTES).body

    def delete(self, key: str) -> None:
        self._request("DELETE", f"object/{self._object_path(key)}")

    def presigned_get(self, key: str, *, expires_in: int, filename: str, content_type: str = "application/pdf") -> str:
        response = self._request(
            "POST",
            f"object/sign/{self._object_path(key)}",
            data=json.dumps({"expiresIn": expires_in}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            signed = json.loads(response.body)["signedURL"]
        except (ValueError, KeyError, TypeError):
            raise ExternalStorageError("Storage error: the signing answer had no signedURL") from None
        if not isinstance(signed, str) or not signed.startswith("/"):
            raise ExternalStorageError("Storage error: unexpected signedURL")
        # Supabase answers with a path relative to /storage/v1.
        return self.base + signed
