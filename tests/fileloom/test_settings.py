"""fileloom.settings has production defaults only; the test run brings its own (tests/settings.py)
to this process and to every process it starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

_REPORT = (
    "import json, django\n"
    "django.setup()\n"
    "from django.conf import settings as s\n"
    "print(json.dumps({'var_dir': str(s.VAR_DIR), 'outbound': [str(n) for n in s.OUTBOUND_ALLOWED_NETWORKS],\n"
    "    'http_loopback': s.WEBHOOK_ALLOW_HTTP_LOOPBACK, 'heartbeat': s.GENERATION_HEARTBEAT_SECONDS,\n"
    "    'stale': s.GENERATION_CLAIM_STALE_SECONDS, 'reaper': s.GENERATION_REAPER_INTERVAL_SECONDS,\n"
    "    'retry_base': s.WEBHOOK_RETRY_BASE_SECONDS, 'connect': s.WEBHOOK_CONNECT_TIMEOUT_SECONDS,\n"
    "    'read': s.WEBHOOK_READ_TIMEOUT_SECONDS, 'dispatch': s.WEBHOOK_DISPATCH_INTERVAL_SECONDS,\n"
    "    'staticfiles': s.STORAGES['staticfiles']['BACKEND']}))\n"
)


def settings_seen_by_a_new_process(env: dict[str, str], *, preamble: str = "") -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", preamble + _REPORT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_production_defaults_refuse_loopback_even_in_a_process_that_imported_pytest():
    # Only what a bare production environment would have; a memory broker and a given secret
    # key so that loading the settings writes nothing under var/.
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "fileloom.settings",
        "SECRET_KEY": "not-the-checkout-key",
        "CELERY_BROKER_URL": "memory://",
    }
    seen = settings_seen_by_a_new_process(env, preamble="import pytest\n")
    assert seen == {
        "var_dir": str(ROOT / "var"),
        "outbound": [],
        "http_loopback": False,
        "heartbeat": 5,
        "stale": 30,
        "reaper": 15,
        "retry_base": 60,
        "connect": 5,
        "read": 10,
        "dispatch": 10,
        "staticfiles": "whitenoise.storage.CompressedStaticFilesStorage",
    }


# Under pytest-xdist each test process has its own directory below var/test.
TEST_VAR = ROOT / "var" / "test" / os.environ.get("PYTEST_XDIST_WORKER", "")


def test_the_test_run_keeps_its_state_under_var_test_with_loopback_allowed():
    assert settings.VAR_DIR == TEST_VAR
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):  # PostgreSQL keeps its test database on the server
        assert Path(database["TEST"]["NAME"]).parent == TEST_VAR
    assert settings.MEDIA_ROOT == TEST_VAR / "files"
    assert [str(network) for network in settings.OUTBOUND_ALLOWED_NETWORKS] == ["127.0.0.0/8", "::1/128"]
    assert settings.WEBHOOK_ALLOW_HTTP_LOOPBACK


def test_processes_the_tests_start_inherit_the_test_settings():
    """What start_worker and start_beat (tests/conftest.py) pass on: this process's environment."""
    seen = settings_seen_by_a_new_process({**os.environ})
    assert seen["var_dir"] == str(TEST_VAR)
    assert seen["outbound"] == ["127.0.0.0/8", "::1/128"]
    assert (seen["http_loopback"], seen["heartbeat"], seen["reaper"], seen["retry_base"]) == (True, 0.5, 1, 0.2)
