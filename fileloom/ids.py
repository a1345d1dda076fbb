"""Public identifiers: `req_<ms>_<random>`, `file_<ms>_<random>`, `ws_<random>`, …"""

import secrets
import string
import time

_ALPHABET = string.ascii_lowercase + string.digits


def random_token(length: int, alphabet: str = _ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def timestamped_id(prefix: str, length: int = 9) -> str:
    return f"{prefix}_{int(time.time() * 1000)}_{random_token(length)}"


def new_request_id() -> str:
    return timestamped_id("req")


def prefixed_id(prefix: str, length: int = 16) -> str:
    return f"{prefix}_{random_token(length)}"
