"""API fuzzing of /v1: Schemathesis over the schema /v1/schema serves, against the live server
and a real worker (tests/fuzzing.py says how). Run it with `make fuzz` (docs/api.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Member
from tests.fuzzing import fuzz, keyed_session, load_schema, loopback_only

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures(loopback_only.__name__)]

RENDER_PATHS = r"^/v1/(pdf|image|templates/\{template_id\}/preview)"


def served_schema() -> dict[str, Any]:
    """The document the schema view serves, built in-process."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_v1_api_answers_every_generated_request_within_its_schema(
    live_server: Any, celery_worker_process: Any, owner: Member
) -> None:
    schema = load_schema(served_schema())
    failures = fuzz(schema, base_url=live_server.url, session=keyed_session(owner.raw_key), renders=RENDER_PATHS)
    assert not failures, "\n\n".join(failures)
