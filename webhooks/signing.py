"""Webhook signatures: Standard Webhooks, and the older X-Fileloom-Signature during a transition.

Standard Webhooks (https://www.standardwebhooks.com/), so that receivers can use that
ecosystem's verifiers:
- `webhook-id`: the event id (`evt_…`), the same on every retry and replay;
- `webhook-timestamp`: Unix seconds when this attempt was sent;
- `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`,
  keyed with the bytes the secret's base64 (after `whsec_`) encodes. The id and the time are
  signed with the body, so a captured request cannot be replayed later with a fresh timestamp.

Legacy, for receivers written before: `X-Fileloom-Signature: sha256=<hex HMAC-SHA256 of the
body>`, keyed with the whole secret string (UTF-8), and an unsigned `X-Fileloom-Timestamp`.

During a secret rotation's grace period both secrets sign, newest first: space-separated
`webhook-signature` values (as the standard allows), comma-separated legacy values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """`whsec_` + standard base64 of 32 random bytes (the form Standard Webhooks libraries take)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_key(secret: str) -> bytes:
    """The Standard Webhooks HMAC key of a secret: the bytes its base64 part encodes.

    Secrets issued before Standard Webhooks signatures are unpadded base64url; they decode as
    such (docs/webhooks.md: rotate those to use a library that takes the secret string).
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def standard_signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(signing_key(secret), signed, hashlib.sha256).digest()).decode()


def legacy_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_headers(secrets_in_order: list[str], *, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The signing headers of one attempt, signed with each secret (newest first)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            standard_signature(secret, message_id=message_id, timestamp=timestamp, body=body)
            for secret in secrets_in_order
        ),
        "X-Fileloom-Signature": ",".join(legacy_signature(secret, body) for secret in secrets_in_order),
        "X-Fileloom-Timestamp": str(timestamp),
    }
