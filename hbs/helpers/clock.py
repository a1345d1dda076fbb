"""The one place helpers read the current time, so tests can freeze it with monkeypatch."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
