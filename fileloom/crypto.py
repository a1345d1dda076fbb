"""Encryption at rest for secrets we must be able to read back (storage and webhook secrets).

Fernet (AES-128-CBC + HMAC-SHA256) keyed by FIELD_ENCRYPTION_KEY; when that is unset the key
is derived from SECRET_KEY, so rotating SECRET_KEY without setting FIELD_ENCRYPTION_KEY first
makes stored secrets unreadable (documented in docs/deployment.md).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class DecryptionFailed(Exception):
    pass


@lru_cache(maxsize=4)
def _fernet(key_material: str, secret_key: str) -> Fernet:
    if key_material:
        return Fernet(key_material.encode())
    digest = hashlib.sha256(b"fileloom.crypto:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _current() -> Fernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt_str(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt_str(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise DecryptionFailed("stored secret cannot be decrypted with the current key") from None
