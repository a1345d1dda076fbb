"""The embedded default's cache: one SQLite file that every process shares (fileloom.sqlitecache)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from fileloom.sqlitecache import SQLiteCache
from tests.conftest import ROOT


@pytest.fixture
def cache(tmp_path):
    return SQLiteCache(str(tmp_path / "cache.sqlite3"), {})


def test_it_stores_integers_and_other_values(cache):
    cache.set("count", 41)
    cache.set("doc", {"a": [1, 2]})
    cache.set("flag", True)
    assert cache.get("count") == 41 and cache.incr("count") == 42
    assert cache.get("doc") == {"a": [1, 2]}
    assert cache.get("flag") is True
    assert cache.get("missing", "default") == "default"
    assert cache.delete("doc") and not cache.delete("doc")


def test_add_only_writes_a_missing_or_expired_key(cache):
    assert cache.add("k", 1, timeout=60)
    assert not cache.add("k", 2, timeout=60)
    assert cache.get("k") == 1
    cache.set("old", 5, timeout=0.05)
    time.sleep(0.1)
    assert cache.get("old") is None
    assert cache.add("old", 7, timeout=60) and cache.get("old") == 7


def test_incr_refuses_a_missing_expired_or_non_integer_key(cache):
    with pytest.raises(ValueError):
        cache.incr("nothing")
    cache.set("short", 1, timeout=0.05)
    time.sleep(0.1)
    with pytest.raises(ValueError):
        cache.incr("short")
    cache.set("text", "x")
    with pytest.raises(ValueError):
        cache.incr("text")


def test_touch_and_clear(cache):
    cache.set("k", 1, timeout=0.05)
    assert cache.touch("k", timeout=60)
    time.sleep(0.1)
    assert cache.get("k") == 1
    assert not cache.touch("absent")
    cache.clear()
    assert cache.get("k") is None


def test_concurrent_processes_and_threads_never_hand_out_a_count_twice(cache):
    cache.add("hits", 0, timeout=60)
    script = (
        "import sys, threading\n"
        "from fileloom.sqlitecache import SQLiteCache\n"
        "cache = SQLiteCache(sys.argv[1], {})\n"
        "seen = []\n"
        "def hit():\n"
        "    for _ in range(100):\n"
        "        seen.append(cache.incr('hits'))\n"
        "threads = [threading.Thread(target=hit) for _ in range(4)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(' '.join(map(str, seen)))\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(cache.path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes)
    counts = sorted(int(value) for output in outputs for value in output.split())
    assert counts == list(range(1, 1201))
