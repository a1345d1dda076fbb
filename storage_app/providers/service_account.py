"""Google service-account keys as workspaces paste them: parse, check, keep only what is needed.

No Google library here (services validate keys on every save). Error texts never quote the key.
The token endpoint is never taken from the key: a key naming its own `token_uri` would make us
POST a signed assertion to an address the workspace chose, so Google's is always used.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
MAX_KEY_CHARS = 16 * 1024
# What signing and authentication need; the rest of a key file (URLs, certificates) is dropped.
_KEPT = ("type", "project_id", "private_key_id", "private_key", "client_email", "client_id")


class InvalidKey(ValueError):
    """str(error) says what is wrong, without any part of the key."""


def parse(value: Any) -> dict[str, str]:
    """The key's fields from a JSON object, or the text of one; raises InvalidKey."""
    if isinstance(value, str):
        if len(value) > MAX_KEY_CHARS:
            raise InvalidKey("is too long for a service-account key")
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidKey("must be the service-account key file's JSON object") from None
    if not isinstance(value, dict):
        raise InvalidKey("must be the service-account key file's JSON object")
    if value.get("type") != "service_account":
        raise InvalidKey('must be a service-account key ("type": "service_account")')
    email = value.get("client_email")
    if not isinstance(email, str) or "@" not in email:
        raise InvalidKey("client_email is missing")
    pem = value.get("private_key")
    if not isinstance(pem, str) or not pem.strip():
        raise InvalidKey("private_key is missing")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidKey("private_key is not a valid PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidKey("private_key must be an RSA key")
    if value.get("universe_domain") not in (None, "", "googleapis.com"):
        raise InvalidKey("only keys for googleapis.com are supported")
    return {name: str(value[name]) for name in _KEPT if value.get(name) is not None}


def normalised(value: Any) -> str:
    """The JSON text to store (encrypted) for a key."""
    return json.dumps(parse(value), sort_keys=True)


def credentials_info(stored: str) -> dict[str, str]:
    """What google.oauth2.service_account takes, with Google's own token endpoint."""
    return {**parse(stored), "token_uri": GOOGLE_TOKEN_URI}
