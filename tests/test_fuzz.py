"""API fuzzing: Schemathesis generates requests from the published OpenAPI schema and checks the
answers against it (issue 13: "0 responses >= 500, 0 responses that break the schema").

It runs against the live test server with a real Celery worker, authenticated with the owner's
key, so renders, previews and stored files go through the same path as in production. Every
operation in the schema is a subtest; a failing check fails the test with Schemathesis' report
(the request to replay it, and what broke).

Bounded to a few minutes on two cores: a handful of examples per operation, fewer for the ones
that render. Run it with `make fuzz` or `pytest tests/test_fuzz.py` (docs/api.md).

No network beyond loopback: the web side resolves every outbound host through getaddrinfo (the
outbound policy, webhook and storage URL checks, the storage connection test), so this module
answers only loopback names and addresses and refuses the rest. A webhook endpoint or storage
connection is saved only after that check, and a URL input is queued only after it, so the
worker (another process) never gets a destination outside 127.0.0.0/8 either.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Member

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# FUZZ_EXAMPLES raises the bound for a longer run by hand (docs/api.md).
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# Renders (PDF, image, template preview) each take a worker a second or more.
EXAMPLES_PER_RENDER = max(EXAMPLES_PER_OPERATION // 3, 1)
RENDER_PATHS = r"^/v1/(pdf|image|templates/\{template_id\}/preview)"

_real_getaddrinfo = socket.getaddrinfo


def _loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if name != "localhost":
        try:
            address = ipaddress.ip_address(name.strip("[]").split("%", 1)[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, f"fuzz test: no DNS for {name!r}") from None
        if not address.is_loopback:
            raise socket.gaierror(socket.EAI_NONAME, f"fuzz test: {name} is outside loopback") from None
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only_getaddrinfo)


def fuzz_config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "database": "none"},
            # The coverage phase walks every field's boundaries: about 1,500 requests over this
            # schema (some 175 per storage write), six minutes on two cores. The examples and
            # fuzzing phases keep it to three; FUZZ_COVERAGE=1 turns it on for a longer run.
            "phases": {"coverage": {"enabled": os.environ.get("FUZZ_COVERAGE") == "1"}},
            "operations": [
                {"include-path-regex": RENDER_PATHS, "generation": {"max-examples": EXAMPLES_PER_RENDER}},
            ],
        }
    )


def served_schema() -> dict[str, Any]:
    """The document the schema view serves (built in-process at collection: no server yet)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(served_schema(), config=fuzz_config())


@pytest.fixture
def fuzz_session(live_server: Any, celery_worker_process: Any, owner: Member, loopback_only: None) -> Any:
    session = requests.Session()
    session.trust_env = False
    session.headers["X-API-Key"] = owner.raw_key
    return live_server.url, session


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_v1_api_answers_every_generated_request_within_its_schema(case: Any, fuzz_session: Any) -> None:
    base_url, session = fuzz_session
    case.call_and_validate(base_url=base_url, session=session, checks=CHECKS)
