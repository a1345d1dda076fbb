"""API fuzzing of the cloudlayer surface: Schemathesis over the schema /cloudlayer/v2/schema
serves (cloudlayer/openapi.py), against the live server and a real worker (tests/fuzzing.py says
how). Run it with `make fuzz` (docs/api.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Member
from tests.fuzzing import fuzz, keyed_session, load_schema, loopback_only

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures(loopback_only.__name__)]

RENDER_PATHS = r"^/cloudlayer/v2/(html|url|template)/(pdf|image)$"


def test_the_cloudlayer_api_answers_every_generated_request_within_its_schema(
    live_server: Any, celery_worker_process: Any, owner: Member
) -> None:
    session = keyed_session(owner.raw_key)
    document = session.get(f"{live_server.url}/cloudlayer/v2/schema?format=json", timeout=60)
    assert document.status_code == 200, document.text[:500]
    schema = load_schema(document.json())
    failures = fuzz(schema, base_url=live_server.url, session=session, renders=RENDER_PATHS)
    assert not failures, "\n\n".join(failures)


def test_the_fuzzer_fails_on_an_answer_its_schema_does_not_allow(live_server: Any, owner: Member) -> None:
    """The checks bite: a schema that says /account answers a list fails on the real object."""
    session = keyed_session(owner.raw_key)
    document = session.get(f"{live_server.url}/cloudlayer/v2/schema?format=json", timeout=60).json()
    document["paths"] = {"/cloudlayer/v2/account": document["paths"]["/cloudlayer/v2/account"]}
    ok = document["paths"]["/cloudlayer/v2/account"]["get"]["responses"]["200"]
    ok["content"]["application/json"]["schema"] = {"type": "array"}
    failures = fuzz(load_schema(document), base_url=live_server.url, session=session, renders="^$")
    assert len(failures) == 1 and "GET /cloudlayer/v2/account" in failures[0], failures
