"""cloudlayer's template conversions under the template budget: refused while running, in
cloudlayer's error body and statuses."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.cloudlayer.conftest import assert_cl_error, b64
from tests.documents.test_template_budgets import BOMB, BOMB_DATA, OUTPUT_BOMB, OUTPUT_BOMB_DATA, REFUSED_WITHIN


@pytest.mark.parametrize(("version", "output"), [("v1", "pdf"), ("v2", "image")])
def test_the_nested_each_bomb_is_422_naming_the_time_limit(cl: Any, version: str, output: str) -> None:
    started = time.monotonic()
    response = cl.post(version, f"/template/{output}", json={"template": b64(BOMB), "data": BOMB_DATA, "async": False})
    assert time.monotonic() - started < REFUSED_WITHIN
    error = assert_cl_error(response, 422, "INVALID_PARAMETER", field="template")
    assert "2 seconds limit" in error["message"], error


def test_an_output_bomb_is_413_naming_the_size(cl: Any) -> None:
    body = {"template": b64(OUTPUT_BOMB), "data": OUTPUT_BOMB_DATA, "async": False}
    error = assert_cl_error(cl.post("v2", "/template/pdf", json=body), 413, "PAYLOAD_TOO_LARGE")
    assert error["message"].startswith("Template output exceeds 10 MB"), error


def test_deeply_nested_data_is_a_4xx_not_a_500(cl: Any) -> None:
    depth = 50_000
    nested = '{"a":' * depth + "1" + "}" * depth
    raw = '{"template": "' + b64("<p>{{a}}</p>") + '", "data": ' + nested + "}"
    response = cl.post("v2", "/template/pdf", data=raw, headers={"Content-Type": "application/json"})
    assert_cl_error(response, 400, "BAD_REQUEST")
    # The same data as a JSON string field ("data": "{...}") is a parameter problem.
    response = cl.post("v2", "/template/pdf", json={"template": b64("<p>{{a}}</p>"), "data": nested})
    assert_cl_error(response, 400, "INVALID_PARAMETER", field="data")
    multipart = cl.post(
        "v1",
        "/template/pdf",
        files={
            "template": ("t.html", b"<p>{{a}}</p>", "text/html"),
            "data": ("d.json", nested.encode(), "application/json"),
        },
    )
    assert_cl_error(multipart, 400, "INVALID_PARAMETER", field="data")
