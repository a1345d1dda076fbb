"""cloudlayer requests as Fileloom work: a conversion is a generation, its result a stored file.

HTML, URL and template conversions go through documents.services.generation_create like any
Fileloom request; office conversions and merges are the same generation with uploaded or
fetched documents as input (rendering.jobs runs them, on the `convert` queue). Credits, quotas,
storage, retention, webhooks and the jobs list are therefore shared with the Fileloom API.
"""

from __future__ import annotations

from typing import Any

from billing.services import usage_get
from cloudlayer.errors import BadRequest, InvalidParameter, Problem
from fileloom.errors import NoCreditsAvailable
from storage_app.services import ConnectionInput


def storage_input(*, body: Any) -> ConnectionInput:
    """cloudlayer's storage body ({title, region, accessKeyId, secretAccessKey, bucket, endpoint?})
    as an S3 storage connection."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    problems = []
    values: dict[str, str] = {}
    for name in ("title", "region", "accessKeyId", "secretAccessKey", "bucket", "endpoint"):
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name != "endpoint":
                problems.append(Problem(name, "missing", f"'{name}' is required"))
            continue
        if not isinstance(value, str):
            problems.append(Problem(name, "type", f"'{name}' must be a string"))
            continue
        values[name] = value.strip()
    if problems:
        raise InvalidParameter(problems)
    endpoint = values.get("endpoint", "")
    return ConnectionInput(
        provider="s3",
        name=values["title"],
        bucket=values["bucket"],
        region=values["region"],
        endpoint_url=endpoint,
        # S3-compatible services behind a custom endpoint (MinIO, Spaces, R2, …) all take
        # path-style addressing; AWS itself (no endpoint) gets virtual-hosted style.
        force_path_style=bool(endpoint),
        credentials={"accessKeyId": values["accessKeyId"], "secretAccessKey": values["secretAccessKey"]},
    )


def credits_remaining_check(*, workspace) -> None:  # type: ignore[no-untyped-def]
    """cloudlayer's status probe answers 402 when the account has no credits left."""
    remaining = usage_get(workspace=workspace).remaining
    if remaining is not None and remaining <= 0:
        raise NoCreditsAvailable("No credits left: every request that generates a document would be refused")
