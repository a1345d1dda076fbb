"""API fuzzing with Schemathesis (tests/test_fuzz.py for /v1, tests/test_fuzz_cloudlayer.py for
the cloudlayer surface): requests generated from a published OpenAPI schema, sent to the live
test server with a real Celery worker, every answer checked against the schema (issue 13: "0
responses >= 500, 0 responses that break the schema").

One test per schema walks every operation in a loop (rather than one pytest test per operation:
each of those would flush the database and recreate the workspace, some ten seconds apiece on two
cores). Each operation gets its own Hypothesis run, positive and negative requests mixed; a
failure is recorded with Schemathesis' report (a curl line to replay it, and what broke) and the
walk goes on, so one run lists every broken operation.

No network beyond loopback: the web side resolves every outbound host through getaddrinfo (the
outbound policy, webhook and storage URL checks, the storage connection test), so `loopback_only`
answers only loopback names and addresses and refuses the rest. A webhook endpoint, storage
connection or URL input is saved only after that check, so the worker (another process) never
gets a destination outside 127.0.0.0/8 either.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# FUZZ_EXAMPLES raises the bound for a longer run by hand (docs/api.md).
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "6"))
# Renders take a worker a second or more each.
EXAMPLES_PER_RENDER = max(EXAMPLES_PER_OPERATION // 3, 2)

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


def load_schema(document: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_dict(
        document, config=schemathesis.Config.from_dict({"generation": {"database": "none"}})
    )


def keyed_session(raw_key: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.headers["X-API-Key"] = raw_key
    return session


def fuzz(schema: Any, *, base_url: str, session: requests.Session, renders: str) -> list[str]:
    """Run every operation of `schema`; the failures, one report each (empty when all passed).

    `renders`: a regex of the paths that render, which get fewer examples.
    """
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        examples = EXAMPLES_PER_RENDER if re.search(renders, operation.path) else EXAMPLES_PER_OPERATION
        # The schema's own examples first (valid requests: a render that gets through), then
        # generated ones, valid and invalid.
        documented = schema.get_strategies_from_examples(operation)
        statuses, failure = {}, ""
        if documented:
            statuses, failure = _fuzz_operation(
                operation, st.one_of(documented), len(documented), base_url=base_url, session=session
            )
        if not failure:
            generated = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
            )
            more, failure = _fuzz_operation(operation, generated, examples, base_url=base_url, session=session)
            statuses = {code: statuses.get(code, 0) + more.get(code, 0) for code in {*statuses, *more}}
        name = f"{operation.method.upper()} {operation.path}"
        if failure:
            failures.append(f"{name}:\n{failure}")
        # What the run saw (pytest -rP shows it): e.g. whether any render got past validation.
        print(f"{name}: {dict(sorted(statuses.items()))}")
    assert operations > 0, "the schema has no operations"
    return failures


def _fuzz_operation(
    operation: Any, strategy: Any, examples: int, *, base_url: str, session: requests.Session
) -> tuple[dict[int, int], str]:
    """One Hypothesis run over `operation`: the statuses it got, and the failure report ("" if none)."""
    statuses: dict[int, int] = {}

    # No shrinking: each step is a request (a render, sometimes); the report replays the first.
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call_and_validate(base_url=base_url, session=session, checks=CHECKS)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    try:
        run()
    except (AssertionError, BaseExceptionGroup) as exc:  # a Failure, or a FailureGroup of them
        # A FailureGroup's message is Schemathesis' whole report (every check, the curl line).
        report = exc.message if isinstance(exc, BaseExceptionGroup) else str(exc)
        return statuses, report + "".join(getattr(exc, "__notes__", []))
    return statuses, ""
