"""Settings for the test run: fileloom.settings with the test run's own environment.

The values go into the environment (not assigned after the import) so that every process the
tests start (the Celery worker and beat, `manage.py` and `-c` subprocesses) inherits them and
reads the same settings through fileloom.settings. A variable already set in the environment
wins, except the var directory: the test run keeps all of its state (database, broker, files,
logs) under var/test, never touching the data of a `make run` in the same checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

TEST_VAR_DIR = Path(__file__).resolve().parent.parent / "var" / "test"
# Under pytest-xdist (`make test` runs two processes), each test process is a separate test run:
# its own var directory (database, broker, files, cache) and, on Redis, its own database number.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if XDIST_WORKER:
    TEST_VAR_DIR = TEST_VAR_DIR / XDIST_WORKER
    # From the URL the run was given, kept aside: the processes the tests start import these
    # settings again with the rewritten URL in their environment.
    _broker = os.environ.setdefault("FILELOOM_TEST_BROKER_URL", os.environ.get("CELERY_BROKER_URL", ""))
    if _broker.startswith(("redis://", "rediss://")):
        _base, _, _db = _broker.rstrip("/").rpartition("/")
        _index = int(XDIST_WORKER.removeprefix("gw"))
        _number = (int(_db) if _db.isdigit() else 0) + 1 + _index
        os.environ["CELERY_BROKER_URL"] = f"{_base}/{_number}" if _db.isdigit() else f"{_broker.rstrip('/')}/{_number}"

TEST_ENVIRONMENT = {
    # The suite's stand-ins (webhook receivers, Stripe, S3, Supabase) listen on loopback.
    "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
    # Documents (and URL input) may load from 127.0.0.2, the suite's "allowed host"; every other
    # loopback address stays refused, so 127.0.0.1 spies prove the renderers' policy.
    "RENDERER_ALLOWED_NETWORKS": "127.0.0.2/32",
    # The cloudlayer suite pins page sizes and failure modes written for WeasyPrint; URL input
    # and browser options still go to Chromium (tests/cloudlayer/test_conversions.py).
    "CLOUDLAYER_ENGINE": "weasyprint",
    "WEBHOOK_ALLOW_HTTP_LOOPBACK": "true",
    # Tests that queue many jobs at once on 2 busy cores must not meet back-pressure by chance;
    # tests/documents/test_back_pressure.py sets its own bounds.
    "RENDER_QUEUE_SYNC_LIMIT": "500",
    # Fast heartbeats, reaper and webhook retries, so recovery tests take seconds, not minutes.
    "GENERATION_HEARTBEAT_SECONDS": "0.5",
    "GENERATION_CLAIM_STALE_SECONDS": "5",
    "GENERATION_REAPER_INTERVAL_SECONDS": "1",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_CONNECT_TIMEOUT_SECONDS": "2",
    "WEBHOOK_READ_TIMEOUT_SECONDS": "2",
    "WEBHOOK_DISPATCH_INTERVAL_SECONDS": "0.5",
}

os.environ["FILELOOM_VAR_DIR"] = str(TEST_VAR_DIR)
for _name, _value in TEST_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

from fileloom.settings import *  # noqa: E402, F403
from fileloom.settings import STORAGES  # noqa: E402

# The test run serves static files from the apps (no collectstatic, no compressed copies).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

# Test users are made by the hundred (every API test's cast has one); Django's default PBKDF2
# costs ~0.5 s of CPU per password here. Password checks still run, with a cheap hash.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
