"""A Django cache backend in one SQLite file, shared by every process on this machine.

The embedded default (no Redis) runs several gunicorn processes; an in-process cache would give
each of them its own rate-limit window. Here `incr` is one SQL statement, so it is atomic across
processes and threads: SQLite takes the write lock before the statement reads the row. Integers
are stored as SQLite integers (so `incr` adds in SQL); every other value is pickled.

Counters are cheap to lose, so the file runs in WAL mode with `synchronous=NORMAL`: a commit
does not wait for the disk. One machine only: several hosts need Redis (`CACHE_URL`).
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

_SCHEMA = "CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value, expires REAL) WITHOUT ROWID"


def _encode(value: Any) -> Any:
    if type(value) is int and -(2**63) <= value < 2**63:
        return value
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _decode(stored: Any) -> Any:
    # Only this server writes the file (under VAR_DIR), as with Django's file and database caches.
    return stored if isinstance(stored, int) else pickle.loads(stored)  # noqa: S301


class SQLiteCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.path = Path(location)
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        # One connection per thread and process: sqlite3 connections must not cross threads,
        # and one inherited through fork (gunicorn, Celery prefork) must not be shared.
        pid, connection = getattr(self._local, "connection", (None, None))
        if connection is not None and pid == os.getpid():
            return connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(_SCHEMA)
        self._local.connection = (os.getpid(), connection)
        return connection

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        row = (
            self._db()
            .execute("SELECT value FROM cache WHERE key = ? AND (expires IS NULL OR expires > ?)", (key, time.time()))
            .fetchone()
        )
        return default if row is None else _decode(row[0])

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        key = self.make_and_validate_key(key, version=version)
        db = self._db()
        db.execute("DELETE FROM cache WHERE expires <= ?", (time.time(),))
        db.execute(
            "INSERT OR REPLACE INTO cache (key, value, expires) VALUES (?, ?, ?)",
            (key, _encode(value), self.get_backend_timeout(timeout)),
        )

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        now = time.time()
        db = self._db()
        db.execute("DELETE FROM cache WHERE expires <= ?", (now,))
        cursor = db.execute(
            "INSERT INTO cache (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
            "SET value = excluded.value, expires = excluded.expires WHERE cache.expires <= ?",
            (key, _encode(value), self.get_backend_timeout(timeout), now),
        )
        return cursor.rowcount == 1

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        key = self.make_and_validate_key(key, version=version)
        # fetchall() steps the statement to its end, which commits it.
        rows = (
            self._db()
            .execute(
                "UPDATE cache SET value = value + ? WHERE key = ? AND (expires IS NULL OR expires > ?) "
                "AND typeof(value) = 'integer' RETURNING value",
                (delta, key, time.time()),
            )
            .fetchall()
        )
        if not rows:
            raise ValueError(f"Key {key!r} not found (or not an integer)")
        return int(rows[0][0])

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        cursor = self._db().execute(
            "UPDATE cache SET expires = ? WHERE key = ? AND (expires IS NULL OR expires > ?)",
            (self.get_backend_timeout(timeout), key, time.time()),
        )
        return cursor.rowcount == 1

    def delete(self, key: Any, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return self._db().execute("DELETE FROM cache WHERE key = ?", (key,)).rowcount == 1

    def clear(self) -> None:
        self._db().execute("DELETE FROM cache")

    def close(self, **kwargs: Any) -> None:
        pass  # keep the thread's connection: opening one costs more than the statements it runs
