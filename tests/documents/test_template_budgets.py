"""Template budgets over real HTTP: a template that runs too long or prints too much is refused
while it runs, with a 4xx naming the limit, on every path a template takes (generate, image,
saved templates, previews, the render_template command)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command

from documents.models import Generation, GenerationStatus
from tests.envelope import assert_error
from tests.pdfs import parse_pdf

# Three nested loops over 300 items: 27 million iterations, a minute or more unbounded.
BOMB = "{{#each a}}{{#each ../a}}{{#each ../../a}}{{this}}{{/each}}{{/each}}{{/each}}"
BOMB_DATA = {"a": list(range(300))}
# 200 copies of 100 KB: 20 MB of HTML from 100 KB of input.
OUTPUT_BOMB = "<p>{{#each copies}}{{../big}}{{/each}}</p>"
OUTPUT_BOMB_DATA = {"copies": list(range(200)), "big": "x" * 100_000}
# Generous beside the 2-second default limit: what matters is that it is not the minute the
# bomb runs unbounded (timing targets live in bench/).
REFUSED_WITHIN = 15


@pytest.fixture
def api(api: Any) -> Any:
    """The suite's API client, after one refused request: the server's first request (URLs,
    the Handlebars grammar) is not what the timings below are about."""
    assert_error(api.generate(htmlContent="{{#each}}"), 400, "TEMPLATE_COMPILATION_ERROR")
    return api


def refused_in_time(send: Any) -> Any:
    started = time.monotonic()
    response = send()
    assert time.monotonic() - started < REFUSED_WITHIN
    return response


def test_the_nested_each_bomb_is_refused_with_the_work_limit_named(api: Any) -> None:
    response = refused_in_time(lambda: api.generate(htmlContent=BOMB, templateData=BOMB_DATA))
    error = assert_error(response, 422, "TEMPLATE_TOO_COMPLEX")
    assert error["message"].startswith("Template rendering exceeds the 2 seconds limit (in the document)"), error
    # Refused like a template that does not compile: recorded as failed, nothing queued.
    generation = Generation.objects.get(error_code="TEMPLATE_TOO_COMPLEX")
    assert generation.status == GenerationStatus.FAILED and "2 seconds" in generation.error_message


def test_other_requests_are_answered_while_a_bomb_runs(api: Any) -> None:
    results: dict[str, Any] = {}
    bomb = threading.Thread(
        target=lambda: results.update(bomb=api.generate(htmlContent=BOMB, templateData=BOMB_DATA)), daemon=True
    )
    bomb.start()
    time.sleep(0.3)
    assert bomb.is_alive()  # the bomb is running now
    listed = api.get("/v1/templates")
    assert listed.status_code == 200, listed.text
    bomb.join(REFUSED_WITHIN)
    assert_error(results["bomb"], 422, "TEMPLATE_TOO_COMPLEX")


def test_an_output_bomb_is_refused_with_413_naming_the_size(api: Any) -> None:
    response = refused_in_time(lambda: api.generate(htmlContent=OUTPUT_BOMB, templateData=OUTPUT_BOMB_DATA))
    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["message"] == "Template output exceeds 10 MB (in the document; the limit is 10485760 bytes)"


def test_the_output_limit_is_a_setting(api: Any, settings: Any) -> None:
    settings.TEMPLATE_OUTPUT_LIMIT_BYTES = 64 * 1024
    body = {"htmlContent": "{{#each n}}{{../row}}{{/each}}", "templateData": {"n": list(range(100)), "row": "y" * 1000}}
    error = assert_error(api.post("/v1/pdf/generate", json=body), 413, "PAYLOAD_TOO_LARGE")
    assert error["message"].startswith("Template output exceeds 64 KB"), error


def test_header_and_footer_share_the_document_budget(api: Any, settings: Any) -> None:
    settings.TEMPLATE_OUTPUT_LIMIT_BYTES = 3000
    body = {
        "htmlContent": "<p>{{text}}</p>",
        "templateData": {"text": "d" * 2000},
        "options": {"header": {"enabled": True, "content": "<div>{{text}}</div>"}},
    }
    error = assert_error(api.post("/v1/pdf/generate", json=body), 413, "PAYLOAD_TOO_LARGE")
    assert "(in the header;" in error["message"], error


def test_the_image_api_refuses_the_bomb_too(api: Any) -> None:
    body = {"htmlContent": BOMB, "templateData": BOMB_DATA}
    response = refused_in_time(lambda: api.post("/v1/image/generate", json=body))
    assert_error(response, 422, "TEMPLATE_TOO_COMPLEX")


def test_a_saved_template_is_bounded_by_id_and_in_its_preview(api: Any) -> None:
    created = api.post("/v1/templates", json={"name": "Bomb", "html": BOMB, "testData": BOMB_DATA})
    assert created.status_code == 201, created.text
    template_id = created.json()["data"]["id"]
    preview = refused_in_time(lambda: api.post(f"/v1/templates/{template_id}/preview", json={}))
    assert "2 seconds" in assert_error(preview, 422, "TEMPLATE_TOO_COMPLEX")["message"]

    assert api.post(f"/v1/templates/{template_id}/publish").status_code == 201
    response = refused_in_time(lambda: api.generate(templateId=template_id, templateData=BOMB_DATA))
    assert_error(response, 422, "TEMPLATE_TOO_COMPLEX")


def test_a_recursive_partial_is_a_clear_400_not_a_500(api: Any) -> None:
    response = api.generate(htmlContent='{{#*inline "r"}}<i>{{> r}}</i>{{/inline}}{{> r}}')
    error = assert_error(response, 400, "TEMPLATE_COMPILATION_ERROR")
    assert "a partial includes itself" in error["message"], error


def test_deeply_nested_data_is_a_clear_400_not_a_500(api: Any) -> None:
    depth = 50_000
    raw = '{"htmlContent": "<p>{{a}}</p>", "templateData": ' + '{"a":' * depth + "1" + "}" * depth + "}"
    response = api.post("/v1/pdf/generate", data=raw, headers={"Content-Type": "application/json"})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "nested too deeply" in str(error), error


def test_nested_lists_printed_by_a_template_are_a_clear_400(api: Any) -> None:
    nested: Any = 1
    for _ in range(900):  # parses, but printing it recurses past Python's stack
        nested = [nested]
    error = assert_error(
        api.generate(htmlContent="<p>{{a}}</p>", templateData={"a": nested}), 400, "TEMPLATE_COMPILATION_ERROR"
    )
    assert "the data is nested too deeply" in error["message"], error


def test_a_normal_template_still_renders(api: Any) -> None:
    body = {
        "htmlContent": "<h1>{{title}}</h1>{{#each rows}}<p>{{@index}}: {{name}}</p>{{/each}}",
        "templateData": {"title": "Budgeted", "rows": [{"name": f"row {n}"} for n in range(50)]},
    }
    response = api.generate(**body)
    assert response.status_code == 200, response.text
    text = parse_pdf(requests.get(response.json()["data"]["url"], timeout=30).content).text
    assert "Budgeted" in text and "0: row 0" in text and "49: row 49" in text


def test_the_render_template_command_refuses_the_bomb(tmp_path: Path, transactional_db: Any) -> None:
    template = tmp_path / "bomb.hbs"
    template.write_text(BOMB)
    data = tmp_path / "data.json"
    data.write_text('{"a": ' + str(list(range(300))) + "}")
    started = time.monotonic()
    with pytest.raises(CommandError, match=r"Template rendering exceeds the 2 seconds limit"):
        call_command("render_template", str(template), data=str(data), out=str(tmp_path / "out.pdf"))
    assert time.monotonic() - started < REFUSED_WITHIN
    assert not (tmp_path / "out.pdf").exists()


def test_the_render_template_command_refuses_an_output_bomb(tmp_path: Path, transactional_db: Any) -> None:
    template = tmp_path / "big.hbs"
    template.write_text(OUTPUT_BOMB)
    data = tmp_path / "data.json"
    data.write_text('{"copies": ' + str(list(range(200))) + ', "big": "' + "x" * 100_000 + '"}')
    with pytest.raises(CommandError, match=r"Template output exceeds 10 MB"):
        call_command("render_template", str(template), data=str(data), out=str(tmp_path / "out.pdf"))
