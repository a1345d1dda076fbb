"""What every storage provider implements and the errors it raises (see the package's docstring)."""

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
