"""The webhook signature: `sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>`.

During a secret rotation's grace period both secrets sign, newest first, comma-separated:
`sha256=<new>,sha256=<old>`. A receiver accepts the request if any value matches its secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_header(secrets_in_order: list[str], body: bytes) -> str:
    return ",".join(signature(secret, body) for secret in secrets_in_order)
