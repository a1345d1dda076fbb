"""Amazon S3 and S3-compatible storage (R2, MinIO, Spaces, Wasabi, B2, Supabase's S3 endpoint).

Always with the connection's own credentials: a client built without them would fall back to
the server's environment or instance role, letting a workspace write with *our* identity.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from django.conf import settings

from fileloom.netpolicy import UnsafeDestination, check_url
from storage_app.providers.base import ConnectionSettings, ExternalStorageError

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 15
MAX_ATTEMPTS = 2  # one retry of throttling / 5xx / connection errors

_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}


def explain(exc: BaseException, *, bucket: str) -> str:
    """A short, owner-facing reason for a failed S3 call."""
    if isinstance(exc, UnsafeDestination):
        return f"Endpoint refused: {exc}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _BAD_CREDENTIALS:
            return "Access denied: invalid credentials"
        if code == "NoSuchBucket":
            return f"Bucket '{bucket}' does not exist"
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            return f"Access denied: these credentials may not write to bucket '{bucket}' at this path"
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
            return f"Bucket '{bucket}' is in another region; set the connection's region"
        message = str(error.get("Message") or "")[:200]
        return f"Storage error {code or status}: {message}".rstrip(": ")
    if isinstance(exc, (ConnectTimeoutError, EndpointConnectionError)):
        return "Could not connect to the storage endpoint"
    if isinstance(exc, ReadTimeoutError):
        return "The storage endpoint did not answer in time"
    if isinstance(exc, NoCredentialsError):
        return "Access denied: no credentials configured"
    if isinstance(exc, BotoCoreError):
        return f"Storage request failed ({exc.__class__.__name__})"
    return f"Storage request failed ({exc.__class__.__name__})"


class S3Store:
    def __init__(self, connection: ConnectionSettings) -> None:
        self.connection = connection
        access_key = connection.credentials.get("accessKeyId") or ""
        secret_key = connection.credentials.get("secretAccessKey") or ""
        if not access_key or not secret_key:
            raise ExternalStorageError("Access denied: no credentials configured")
        config = Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            signature_version="s3v4",
            s3={"addressing_style": "path" if connection.force_path_style else "auto"},
            # Several S3-compatible services reject the newer default CRC checksum headers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # A session per store: boto3 sessions are not thread-safe, uploads run in a thread pool.
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=connection.endpoint_url or None,
            region_name=connection.region or "us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )

    def _checked(self) -> None:
        # Before every call that connects: the endpoint's DNS may have changed since it was saved.
        if self.connection.endpoint_url:
            check_url(self.connection.endpoint_url, allowed=settings.OUTBOUND_ALLOWED_NETWORKS)

    def _call(self, method: str, **params: Any) -> Any:
        try:
            self._checked()
            return getattr(self.client, method)(Bucket=self.connection.bucket, **params)
        except (UnsafeDestination, ClientError, BotoCoreError) as exc:
            raise ExternalStorageError(explain(exc, bucket=self.connection.bucket)) from exc

    def put(self, key: str, content: bytes, *, content_type: str) -> None:
        self._call("put_object", Key=key, Body=content, ContentType=content_type)

    def get(self, key: str) -> bytes:
        response = self._call("get_object", Key=key)
        try:
            return response["Body"].read()
        except BotoCoreError as exc:
            raise ExternalStorageError(explain(exc, bucket=self.connection.bucket)) from exc

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)

    def presigned_get(self, key: str, *, expires_in: int, filename: str, content_type: str = "application/pdf") -> str:
        """Signed locally; no request is made."""
        try:
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.connection.bucket,
                    "Key": key,
                    "ResponseContentDisposition": f'inline; filename="{filename}"',
                    "ResponseContentType": content_type,
                },
                ExpiresIn=expires_in,
            )
        except (ClientError, BotoCoreError) as exc:
            raise ExternalStorageError(explain(exc, bucket=self.connection.bucket)) from exc
