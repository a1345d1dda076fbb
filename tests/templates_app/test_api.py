"""The template API over real HTTP: CRUD, draft, publish, versions, restore, permissions."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from accounts.services import api_key_create
from templates_app.models import Template, TemplateVersion
from tests.envelope import assert_error

INVOICE = {
    "name": "Professional Invoice",
    "description": "Our standard invoice",
    "filenamePattern": "Invoice-{{invoiceNumber}}",
    "html": "<h1>Invoice {{invoiceNumber}}</h1>",
    "css": "h1 { color: navy; }",
    "testData": {"invoiceNumber": "INV-TEST"},
    "settings": {"format": "A5", "margin": {"top": 10, "bottom": 10}},
}


def patch(api: Any, path: str, body: Any, **kwargs: Any) -> Any:
    return api.request("PATCH", path, json=body, **kwargs)


@pytest.fixture
def created(api: Any) -> dict[str, Any]:
    response = api.post("/v1/templates", json=INVOICE)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_it_creates_a_template_and_returns_it_with_its_draft(api: Any, created: dict[str, Any]) -> None:
    assert created["id"].startswith("tpl_")
    assert created["name"] == "Professional Invoice"
    assert created["description"] == "Our standard invoice"
    assert created["filenamePattern"] == "Invoice-{{invoiceNumber}}"
    assert created["latestVersion"] is None and created["published"] is False and created["versionCount"] == 0
    assert created["draft"]["html"] == INVOICE["html"]
    assert created["draft"]["css"] == INVOICE["css"]
    assert created["draft"]["testData"] == {"invoiceNumber": "INV-TEST"}
    assert created["draft"]["settings"] == {"format": "A5", "margin": {"top": 10, "bottom": 10}}
    assert created["createdAt"].endswith("Z")
    again = api.get(f"/v1/templates/{created['id']}")
    assert again.status_code == 200
    assert again.json() == {"success": True, "data": created}


def test_it_requires_a_name(api: Any) -> None:
    error = assert_error(api.post("/v1/templates", json={"html": "<p>x</p>"}), 400, "VALIDATION_ERROR")
    assert error["details"] == ["name: This field is required."]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "T", "testData": [1]}, "testData: must be a JSON object"),
        ({"name": "T", "testData": "x"}, "testData: must be a JSON object"),
        ({"name": "T", "settings": {"format": "B9"}}, "settings.format"),
        ({"name": "T", "settings": {"printBackground": "yes"}}, "settings.printBackground: must be true or false"),
        ({"name": "T", "settings": []}, "settings: must be a JSON object"),
        ({"name": 5}, "name: must be a string"),
        ({"name": ""}, "name: must not be blank"),
        ({"name": "T", "filenamePattern": "{{#each}}"}, "filenamePattern: invalid Handlebars"),
    ],
)
def test_it_refuses_invalid_fields_with_details(api: Any, body: dict[str, Any], detail: str) -> None:
    error = assert_error(api.post("/v1/templates", json=body), 400, "VALIDATION_ERROR")
    assert any(item.startswith(detail) for item in error["details"]), error
    assert not Template.objects.exists()


def test_a_body_that_is_not_an_object_is_a_validation_error(api: Any) -> None:
    assert_error(api.post("/v1/templates", json=[1, 2]), 400, "VALIDATION_ERROR")
    assert_error(
        api.post("/v1/templates", data="{not json", headers={"Content-Type": "application/json"}),
        400,
        "VALIDATION_ERROR",
    )


def test_it_lists_templates_newest_first_with_limit_offset_and_total(api: Any) -> None:
    ids = [api.post("/v1/templates", json={"name": f"T{i}"}).json()["data"]["id"] for i in range(5)]
    first = api.get("/v1/templates?limit=2").json()
    assert [item["id"] for item in first["data"]] == ids[::-1][:2]
    assert first["pagination"] == {"total": 5, "limit": 2, "offset": 0, "hasMore": True}
    rest = api.get("/v1/templates?limit=2&offset=4").json()
    assert [item["id"] for item in rest["data"]] == [ids[0]]
    assert "draft" not in rest["data"][0]
    assert api.get("/v1/templates").json()["pagination"] == {"total": 5, "limit": 20, "offset": 0, "hasMore": False}


@pytest.mark.parametrize("query", ["limit=101", "limit=0", "limit=abc", "offset=-1"])
def test_it_refuses_bad_pagination(api: Any, query: str) -> None:
    assert_error(api.get(f"/v1/templates?{query}"), 400, "VALIDATION_ERROR")


def test_limit_100_is_allowed(api: Any) -> None:
    assert api.get("/v1/templates?limit=100").json()["pagination"]["limit"] == 100


def test_patch_changes_only_the_given_fields(api: Any, created: dict[str, Any]) -> None:
    response = patch(api, f"/v1/templates/{created['id']}", {"css": "h1 { color: red; }", "name": "Renamed"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["name"] == "Renamed"
    assert data["draft"]["css"] == "h1 { color: red; }"
    assert data["draft"]["html"] == INVOICE["html"]
    assert data["description"] == INVOICE["description"]


def test_an_invalid_patch_changes_nothing(api: Any, created: dict[str, Any]) -> None:
    response = patch(api, f"/v1/templates/{created['id']}", {"html": "<p>new</p>", "testData": [1]})
    assert_error(response, 400, "VALIDATION_ERROR")
    assert api.get(f"/v1/templates/{created['id']}").json()["data"]["draft"]["html"] == INVOICE["html"]


def test_a_draft_with_broken_handlebars_saves_but_does_not_publish(api: Any, created: dict[str, Any]) -> None:
    response = patch(api, f"/v1/templates/{created['id']}", {"html": "<p>\n{{#if total}}open"})
    assert response.status_code == 200, response.text
    error = assert_error(api.post(f"/v1/templates/{created['id']}/publish"), 400, "TEMPLATE_COMPILATION_ERROR")
    assert error["details"][0]["field"] == "html"
    assert error["details"][0]["line"] == 2
    assert isinstance(error["details"][0]["column"], int)
    assert "line 2" in error["message"]
    assert not TemplateVersion.objects.exists()


def test_publishing_creates_numbered_versions(api: Any, owner: Any, created: dict[str, Any]) -> None:
    tid = created["id"]
    first = api.post(f"/v1/templates/{tid}/publish")
    assert first.status_code == 201, first.text
    v1 = first.json()["data"]
    assert v1["version"] == 1 and v1["status"] == "current"
    assert v1["html"] == INVOICE["html"] and v1["settings"] == INVOICE["settings"]
    assert v1["publishedBy"] == {"type": "apiKey", "id": owner.api_key.pk}
    patch(api, f"/v1/templates/{tid}", {"html": "<h1>Second {{invoiceNumber}}</h1>"})
    assert api.post(f"/v1/templates/{tid}/publish").json()["data"]["version"] == 2

    listing = api.get(f"/v1/templates/{tid}/versions").json()
    assert [(v["version"], v["status"]) for v in listing["data"]] == [(2, "current"), (1, "previous")]
    assert listing["pagination"] == {"total": 2, "limit": 20, "offset": 0, "hasMore": False}
    assert "html" not in listing["data"][0]
    old = api.get(f"/v1/templates/{tid}/versions/1").json()["data"]
    assert old["html"] == INVOICE["html"] and old["status"] == "previous"
    template = api.get(f"/v1/templates/{tid}").json()["data"]
    assert (template["latestVersion"], template["versionCount"], template["published"]) == (2, 2, True)


def test_an_unknown_version_is_template_not_found(api: Any, created: dict[str, Any]) -> None:
    error = assert_error(api.get(f"/v1/templates/{created['id']}/versions/7"), 404, "TEMPLATE_NOT_FOUND")
    assert "no version 7" in error["message"]
    assert_error(api.post(f"/v1/templates/{created['id']}/versions/7/restore"), 404, "TEMPLATE_NOT_FOUND")


def test_restore_copies_a_version_into_the_draft_and_keeps_history(api: Any, created: dict[str, Any]) -> None:
    tid = created["id"]
    api.post(f"/v1/templates/{tid}/publish")
    patch(api, f"/v1/templates/{tid}", {"html": "<p>two</p>", "css": "", "settings": {"format": "Letter"}})
    api.post(f"/v1/templates/{tid}/publish")
    patch(api, f"/v1/templates/{tid}", {"html": "<p>unsaved idea</p>"})
    history_before = api.get(f"/v1/templates/{tid}/versions").json()

    response = api.post(f"/v1/templates/{tid}/versions/1/restore")

    assert response.status_code == 200, response.text
    draft = response.json()["data"]["draft"]
    assert (draft["html"], draft["css"], draft["settings"]) == (INVOICE["html"], INVOICE["css"], INVOICE["settings"])
    assert draft["testData"] == INVOICE["testData"]
    assert api.get(f"/v1/templates/{tid}/versions").json() == history_before
    assert response.json()["data"]["latestVersion"] == 2


def test_delete_removes_the_template_and_its_versions(api: Any, created: dict[str, Any]) -> None:
    tid = created["id"]
    api.post(f"/v1/templates/{tid}/publish")
    response = api.delete(f"/v1/templates/{tid}")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"id": tid, "deleted": True}}
    assert_error(api.get(f"/v1/templates/{tid}"), 404, "TEMPLATE_NOT_FOUND")
    assert_error(api.delete(f"/v1/templates/{tid}"), 404, "TEMPLATE_NOT_FOUND")
    assert not TemplateVersion.objects.exists()


def test_a_key_of_another_workspace_gets_404_for_everything(api: Any, outsider: Any, created: dict[str, Any]) -> None:
    tid = created["id"]
    api.post(f"/v1/templates/{tid}/publish")
    other = api.with_key(outsider.raw_key)
    for response in [
        other.get(f"/v1/templates/{tid}"),
        patch(other, f"/v1/templates/{tid}", {"name": "hijacked"}),
        other.post(f"/v1/templates/{tid}/publish"),
        other.get(f"/v1/templates/{tid}/versions"),
        other.get(f"/v1/templates/{tid}/versions/1"),
        other.post(f"/v1/templates/{tid}/versions/1/restore"),
        other.delete(f"/v1/templates/{tid}"),
        other.generate(templateId=tid, templateData={}),
    ]:
        assert_error(response, 404, "TEMPLATE_NOT_FOUND")
    assert other.get("/v1/templates").json()["data"] == []
    template = Template.objects.get(pk=tid)
    assert template.name == INVOICE["name"] and template.versions.count() == 1


def test_reads_need_template_read_and_writes_need_template_write(api: Any, owner: Any, created: dict[str, Any]) -> None:
    tid = created["id"]
    reader = api.with_key(api_key_create(workspace=owner.workspace, name="r", permissions=["template.read"]).raw_key)
    writer = api.with_key(api_key_create(workspace=owner.workspace, name="w", permissions=["template.write"]).raw_key)

    assert reader.get("/v1/templates").status_code == 200
    assert reader.get(f"/v1/templates/{tid}").status_code == 200
    assert reader.get(f"/v1/templates/{tid}/versions").status_code == 200
    for response in [
        reader.post("/v1/templates", json={"name": "x"}),
        patch(reader, f"/v1/templates/{tid}", {"name": "x"}),
        reader.post(f"/v1/templates/{tid}/publish"),
        reader.post(f"/v1/templates/{tid}/versions/1/restore"),
        reader.delete(f"/v1/templates/{tid}"),
    ]:
        assert_error(response, 403, "INSUFFICIENT_PERMISSIONS")

    assert_error(writer.get("/v1/templates"), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(writer.get(f"/v1/templates/{tid}/versions/1"), 403, "INSUFFICIENT_PERMISSIONS")
    assert writer.post(f"/v1/templates/{tid}/publish").status_code == 201
    assert_error(api.with_key(None).get("/v1/templates"), 401, "INVALID_API_KEY")


def test_the_openapi_schema_describes_the_template_endpoints(live_server: Any) -> None:
    import requests

    response = requests.get(f"{live_server.url}/v1/schema?format=json", timeout=30)
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/v1/templates"]) >= {"get", "post"}
    assert set(paths["/v1/templates/{template_id}"]) >= {"get", "patch", "delete"}
    preview = paths["/v1/templates/{template_id}/preview"]["post"]
    assert set(preview["responses"]["200"]["content"]) == {"application/pdf", "image/png"}
    assert "post" in paths["/v1/templates/{template_id}/versions/{number}/restore"]


def test_the_list_answers_match_the_published_schema(api: Any, created: dict[str, Any]) -> None:
    """The fuzz test found GET /v1/templates documented with an object `data` (it is a list)."""
    schema = schemathesis.openapi.from_url(f"{api.base_url}/v1/schema?format=json")
    assert api.post(f"/v1/templates/{created['id']}/publish").status_code == 201
    for path, url in [
        ("/v1/templates", "/v1/templates"),
        ("/v1/templates/{template_id}/versions", f"/v1/templates/{created['id']}/versions"),
    ]:
        response = api.get(url)
        assert response.status_code == 200 and response.json()["data"], response.text
        schema[path]["GET"].validate_response(response)
