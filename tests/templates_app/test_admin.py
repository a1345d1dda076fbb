"""The template editor in the Django admin (Django's test client; the browser test is separate)."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.contrib.staticfiles import finders
from PIL import Image

from billing.models import QuotaPeriod
from templates_app.models import Template, TemplateDraft, TemplateVersion
from templates_app.services import template_create, template_draft_update, template_publish
from tests.staff import client_for, staff_user

HTML = "<h1>Invoice {{number}}</h1><p>{{customer}}</p>"


def editor_form(template: Template | None = None, **overrides: Any) -> dict[str, Any]:
    """The editor's POST body, as the browser sends it."""
    data = {
        "name": template.name if template else "Invoice",
        "description": "",
        "filename_pattern": "Invoice-{{number}}",
        "html": HTML,
        "css": "h1 { color: #c00; }",
        "test_data": json.dumps({"number": "INV-1", "customer": "Ada"}),
        "page_format": "A4",
        "orientation": "portrait",
        "width": "",
        "height": "",
        "margin_top": "10",
        "margin_right": "12",
        "margin_bottom": "10",
        "margin_left": "12",
        "print_background": "on",
        "header_height": "15",
        "header_content": "",
        "footer_enabled": "on",
        "footer_height": "10",
        "footer_content": "Page {{pageNumber}}",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "0",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def invoice(acme: Any) -> Template:
    return template_create(
        workspace=acme,
        name="Invoice",
        html=HTML,
        test_data={"number": "INV-1", "customer": "Ada"},
        settings={"format": "A4"},
    )


@pytest.fixture
def viewer(acme: Any) -> Any:
    return staff_user("vera", workspace=acme, role="viewer")


def change_url(template: Template) -> str:
    return f"/admin/templates_app/template/{quote(template.pk)}/change/"


def preview(client: Any, template: Template | None, **overrides: Any) -> Any:
    url = (
        f"/admin/templates_app/template/{quote(template.pk)}/preview/"
        if template
        else "/admin/templates_app/template/preview/"
    )
    return client.post(url, editor_form(template, **overrides))


def visible_text(page: str) -> str:
    """Page text without tags (difflib marks changes inside words and writes spaces as &nbsp;)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page)).replace("\xa0", " ")


def png_of(response: Any) -> Image.Image:
    data_url = response.json()["image"]
    assert data_url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))


# --- static assets ---------------------------------------------------------------------------


def test_codemirror_is_installed_for_the_static_files() -> None:
    for asset in [
        "codemirror/lib/codemirror.js",
        "codemirror/lib/codemirror.css",
        "codemirror/mode/handlebars/handlebars.js",
    ]:
        assert finders.find(asset), f"{asset} missing: run `npm ci --prefix templates_app/editor`"


# --- create and save through the services -----------------------------------------------------


def test_an_editor_creates_a_template_with_its_draft_and_settings(teammate: Any, acme: Any) -> None:
    client = client_for(teammate.user)
    response = client.post("/admin/templates_app/template/add/", editor_form(workspace=acme.pk, _continue="1"))
    assert response.status_code == 302, response.content.decode()[:2000]
    template = Template.objects.get(name="Invoice")
    assert response["Location"] == change_url(template)
    assert template.workspace == acme and template.created_by == teammate.user
    assert template.filename_pattern == "Invoice-{{number}}"
    draft = TemplateDraft.objects.get(template=template)
    assert draft.html == HTML and draft.test_data == {"number": "INV-1", "customer": "Ada"}
    assert draft.settings == {
        "format": "A4",
        "orientation": "portrait",
        "margin": {"top": 10, "right": 12, "bottom": 10, "left": 12},
        "printBackground": True,
        "header": {"enabled": False, "height": 15, "content": ""},
        "footer": {"enabled": True, "height": 10, "content": "Page {{pageNumber}}"},
    }
    assert not TemplateVersion.objects.filter(template=template).exists()  # saving never publishes


def test_the_editor_shows_the_saved_draft(teammate: Any, invoice: Template) -> None:
    page = client_for(teammate.user).get(change_url(invoice)).content.decode()
    assert "Invoice {{number}}" in page
    assert "codemirror/lib/codemirror.js" in page and "templates_app/editor.js" in page
    assert f'data-preview-url="/admin/templates_app/template/{quote(invoice.pk)}/preview/"' in page
    assert 'name="_publish"' in page


def test_invalid_test_data_json_is_a_form_error_and_nothing_is_saved(teammate: Any, invoice: Template) -> None:
    client = client_for(teammate.user)
    response = client.post(
        change_url(invoice), editor_form(invoice, test_data='{"number": "INV-2",}', html="<p>changed</p>")
    )
    assert response.status_code == 200
    assert "Test data is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 20)." in (
        response.content.decode()
    )
    response = client.post(change_url(invoice), editor_form(invoice, test_data="[1, 2]"))
    assert "Test data must be a JSON object" in response.content.decode()
    assert TemplateDraft.objects.get(template=invoice).html == HTML


def test_invalid_settings_are_form_errors(teammate: Any, invoice: Template) -> None:
    response = client_for(teammate.user).post(change_url(invoice), editor_form(invoice, page_format="Custom"))
    assert response.status_code == 200
    assert "format Custom needs width and height (mm)" in response.content.decode()
    assert TemplateDraft.objects.get(template=invoice).settings == {"format": "A4"}


def test_a_bad_filename_pattern_is_a_form_error(teammate: Any, invoice: Template) -> None:
    response = client_for(teammate.user).post(change_url(invoice), editor_form(invoice, filename_pattern="{{#if}}"))
    assert response.status_code == 200
    assert "Invalid Handlebars at line 1" in response.content.decode()


def test_saving_updates_the_draft_and_leaves_history_alone(teammate: Any, invoice: Template) -> None:
    template_publish(template=invoice)
    client = client_for(teammate.user)
    response = client.post(change_url(invoice), editor_form(invoice, html="<h1>Second {{number}}</h1>", _continue="1"))
    assert response.status_code == 302
    assert TemplateDraft.objects.get(template=invoice).html == "<h1>Second {{number}}</h1>"
    assert list(TemplateVersion.objects.filter(template=invoice).values_list("number", "html")) == [(1, HTML)]


# --- publish -------------------------------------------------------------------------------------


def test_publish_saves_then_creates_the_next_version(teammate: Any, invoice: Template) -> None:
    template_publish(template=invoice)
    client = client_for(teammate.user)
    response = client.post(change_url(invoice), editor_form(invoice, html="<h1>v2 {{number}}</h1>", _publish="1"))
    assert response.status_code == 302 and response["Location"] == change_url(invoice)
    latest = TemplateVersion.objects.filter(template=invoice).order_by("-number").first()
    assert latest is not None
    assert (latest.number, latest.html, latest.published_by) == (2, "<h1>v2 {{number}}</h1>", teammate.user)
    page = client.get(change_url(invoice)).content.decode()
    assert "Published v2" in page


def test_publish_refuses_a_draft_that_does_not_compile(teammate: Any, invoice: Template) -> None:
    client = client_for(teammate.user)
    response = client.post(
        change_url(invoice), editor_form(invoice, html="<h1>{{#if}}</h1>", _publish="1"), follow=True
    )
    page = response.content.decode()
    assert "Not published: Template compilation failed" in page
    assert "line 1" in page
    assert TemplateDraft.objects.get(template=invoice).html == "<h1>{{#if}}</h1>"  # the work is kept
    assert not TemplateVersion.objects.filter(template=invoice).exists()


# --- preview -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("celery_worker_process")
def test_the_preview_renders_the_unsaved_content_as_a_png_of_page_1(teammate: Any, invoice: Template) -> None:
    client = client_for(teammate.user)
    first = preview(client, invoice)
    assert first.status_code == 200, first.content
    assert first.json()["pageCount"] == 1
    image = png_of(first)
    assert image.format == "PNG"
    assert abs(image.width / image.height - 210 / 297) < 0.01  # A4 portrait

    changed = preview(client, invoice, html="<h1 style='font-size:80px'>Completely different</h1>" * 3)
    assert png_of(changed).tobytes() != image.tobytes()
    landscape = png_of(preview(client, invoice, orientation="landscape"))
    assert landscape.width > landscape.height
    assert TemplateDraft.objects.get(template=invoice).html == HTML  # a preview saves nothing


@pytest.mark.usefixtures("celery_worker_process")
def test_the_preview_uses_the_test_data_and_handlebars_helpers(teammate: Any, invoice: Template) -> None:
    client = client_for(teammate.user)
    with_data = png_of(preview(client, invoice, html="<h1>{{uppercase customer}}</h1>"))
    other_data = png_of(
        preview(
            client, invoice, html="<h1>{{uppercase customer}}</h1>", test_data=json.dumps({"customer": "Grace Hopper"})
        )
    )
    assert with_data.tobytes() != other_data.tobytes()


@pytest.mark.usefixtures("celery_worker_process")
def test_the_preview_reports_compilation_errors_with_their_position(teammate: Any, invoice: Template) -> None:
    response = preview(client_for(teammate.user), invoice, html="<p>ok</p>\n<h1>{{#if}}</h1>")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "TEMPLATE_COMPILATION_ERROR"
    assert "line 2" in error["message"]


def test_the_preview_reports_invalid_test_data(teammate: Any, invoice: Template) -> None:
    response = preview(client_for(teammate.user), invoice, test_data="{oops")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "VALIDATION_ERROR"
    assert any("Test data is not valid JSON" in item for item in body["details"])


@pytest.mark.usefixtures("celery_worker_process")
def test_the_preview_costs_no_quota(teammate: Any, invoice: Template, acme: Any) -> None:
    before = list(QuotaPeriod.objects.filter(workspace=acme).values_list("quota_used", flat=True))
    assert preview(client_for(teammate.user), invoice).status_code == 200
    assert list(QuotaPeriod.objects.filter(workspace=acme).values_list("quota_used", flat=True)) == before


def test_the_preview_needs_the_csrf_token(teammate: Any, invoice: Template) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(teammate.user)
    response = client.post(f"/admin/templates_app/template/{quote(invoice.pk)}/preview/", editor_form(invoice))
    assert response.status_code == 403


def test_the_preview_needs_a_staff_session(invoice: Template, client: Any) -> None:
    response = client.post(f"/admin/templates_app/template/{quote(invoice.pk)}/preview/", editor_form(invoice))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.usefixtures("celery_worker_process")
def test_the_preview_works_before_the_first_save(teammate: Any, acme: Any, outsider: Any) -> None:
    client = client_for(teammate.user)
    response = preview(client, None, workspace=acme.pk)
    assert response.status_code == 200
    assert png_of(response).format == "PNG"
    assert preview(client, None, workspace="").status_code == 200  # no workspace chosen yet
    refused = preview(client, None, workspace=outsider.workspace.pk)
    assert refused.status_code == 400
    assert any("Select a valid choice" in item for item in refused.json()["error"]["details"])
    assert (
        client_for(staff_user("vera", workspace=acme, role="viewer"))
        .post("/admin/templates_app/template/preview/", editor_form())
        .status_code
        == 403
    )


def test_the_preview_answers_get_with_405(teammate: Any, invoice: Template) -> None:
    response = client_for(teammate.user).get(f"/admin/templates_app/template/{quote(invoice.pk)}/preview/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.usefixtures("celery_worker_process")
def test_a_viewer_previews_the_saved_draft_whatever_they_post(viewer: Any, invoice: Template, teammate: Any) -> None:
    injected = "<h1>Injected by a viewer</h1>" * 5
    as_viewer = png_of(preview(client_for(viewer), invoice, html=injected, css="h1 { font-size: 60px }"))
    saved_draft = png_of(client_for(viewer).post(f"/admin/templates_app/template/{quote(invoice.pk)}/preview/", {}))
    as_editor = png_of(preview(client_for(teammate.user), invoice, html=injected, css="h1 { font-size: 60px }"))
    assert as_viewer.tobytes() == saved_draft.tobytes()
    assert as_viewer.tobytes() != as_editor.tobytes()


@pytest.mark.usefixtures("celery_worker_process")
def test_the_preview_shows_the_page_asked_for(teammate: Any, invoice: Template, viewer: Any) -> None:
    two_pages = '<h1>One</h1><h1 style="page-break-before: always; font-size: 90px">Two</h1>'
    url = f"/admin/templates_app/template/{quote(invoice.pk)}/preview/"
    client = client_for(teammate.user)

    first = client.post(url, editor_form(invoice, html=two_pages))
    second = client.post(f"{url}?page=2", editor_form(invoice, html=two_pages))
    assert second.status_code == 200, second.content
    assert (first.json()["page"], second.json()["page"]) == (1, 2)
    assert first.json()["pageCount"] == second.json()["pageCount"] == 2
    assert png_of(first).tobytes() != png_of(second).tobytes()

    missing = client.post(f"{url}?page=3", editor_form(invoice, html=two_pages))
    assert missing.status_code == 400
    assert missing.json()["error"]["message"] == "page 3 does not exist: the document has 2 page(s)"
    for bad in ("0", "two", "-1"):
        refused = client.post(f"{url}?page={bad}", editor_form(invoice, html=two_pages))
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "VALIDATION_ERROR", bad
    # A viewer pages through the saved draft (one page here).
    assert client_for(viewer).post(f"{url}?page=2", {}).status_code == 400
    assert client_for(viewer).post(f"{url}?page=1", {}).json()["page"] == 1


# --- roles and workspaces ------------------------------------------------------------------------


def test_a_viewer_cannot_change_a_template(viewer: Any, invoice: Template) -> None:
    client = client_for(viewer)
    page = client.get(change_url(invoice))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'name="_save"' not in text and 'name="_publish"' not in text
    assert "Invoice {{number}}" in text  # the draft, read-only
    assert 'data-read-only="true"' in text

    assert client.post(change_url(invoice), editor_form(invoice, html="<p>hacked</p>")).status_code == 403
    assert client.post(change_url(invoice), editor_form(invoice, _publish="1")).status_code == 403
    assert client.get("/admin/templates_app/template/add/").status_code == 403
    assert client.post(f"/admin/templates_app/template/{quote(invoice.pk)}/delete/", {"post": "yes"}).status_code == 403
    assert TemplateDraft.objects.get(template=invoice).html == HTML
    assert not TemplateVersion.objects.filter(template=invoice).exists()


def test_another_workspaces_template_is_not_listed_or_reachable(outsider: Any, invoice: Template) -> None:
    client = client_for(outsider.user)
    assert "Invoice" not in client.get("/admin/templates_app/template/").content.decode()
    template_publish(template=invoice)
    base = f"/admin/templates_app/template/{quote(invoice.pk)}"
    for url in [f"{base}/change/", f"{base}/versions/", f"{base}/versions/diff/?a=1&b=draft", f"{base}/delete/"]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"{base}/preview/", editor_form(invoice)).status_code == 404
    assert client.post(f"{base}/versions/1/restore/").status_code == 404
    assert client.post(f"{base}/change/", editor_form(invoice, _publish="1")).status_code == 404
    assert TemplateVersion.objects.filter(template=invoice).count() == 1
    version = TemplateVersion.objects.get(template=invoice)
    assert client.get(f"/admin/templates_app/templateversion/{quote(version.pk)}/change/").status_code == 404


def test_new_templates_go_only_to_workspaces_the_user_edits(teammate: Any, outsider: Any) -> None:
    client = client_for(teammate.user)
    form = client.get("/admin/templates_app/template/add/").content.decode()
    assert outsider.workspace.pk not in form
    response = client.post("/admin/templates_app/template/add/", editor_form(workspace=outsider.workspace.pk))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Template.objects.filter(workspace=outsider.workspace).exists()


def test_versions_are_read_only_even_for_superusers(invoice: Template) -> None:
    version = template_publish(template=invoice)
    root = staff_user("root", superuser=True)
    client = client_for(root)
    url = f"/admin/templates_app/templateversion/{quote(version.pk)}/change/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"html": "<p>rewritten</p>"}).status_code == 403
    assert (
        client.post(f"/admin/templates_app/templateversion/{quote(version.pk)}/delete/", {"post": "yes"}).status_code
        == 403
    )


# --- history, diff and restore -------------------------------------------------------------------


@pytest.fixture
def two_versions(invoice: Template) -> Template:
    template_publish(template=invoice)
    template_draft_update(
        template=invoice, html="<h1>Rechnung {{number}}</h1><p>{{customer}}</p>", css="h1 { color: navy; }"
    )
    template_publish(template=invoice)
    template_draft_update(template=invoice, html="<h1>Draft only</h1>")
    return invoice


def test_the_history_lists_every_version_with_restore_for_editors(
    teammate: Any, viewer: Any, two_versions: Template
) -> None:
    url = f"/admin/templates_app/template/{quote(two_versions.pk)}/versions/"
    page = client_for(teammate.user).get(url).content.decode()
    assert 'id="fl-version-1"' in page and 'id="fl-version-2"' in page
    assert "<strong>Current</strong>" in page and "Previous" in page
    assert page.count("Restore into draft") == 2
    assert "Restore into draft" not in client_for(viewer).get(url).content.decode()


def test_the_diff_shows_what_changed_between_two_versions(viewer: Any, two_versions: Template) -> None:
    url = f"/admin/templates_app/template/{quote(two_versions.pk)}/versions/diff/?a=1&b=2"
    page = client_for(viewer).get(url).content.decode()
    text = visible_text(page)
    assert "v1 → v2" in text
    assert "<h1>Invoice {{number}}</h1>" in text and "<h1>Rechnung {{number}}</h1>" in text
    assert 'class="diff_chg"' in page and 'class="diff_add"' in page
    assert "&lt;h1&gt;" in page  # sources are escaped, not rendered
    assert "h1 { color: navy; }" in text  # the CSS section
    assert page.count("No changes.") == 2  # test data and settings are equal


def test_the_diff_compares_a_version_with_the_draft(teammate: Any, two_versions: Template) -> None:
    page = client_for(teammate.user).get(
        f"/admin/templates_app/template/{quote(two_versions.pk)}/versions/diff/?a=2&b=draft"
    )
    text = visible_text(page.content.decode())
    assert "v2 → Current draft" in text and "<h1>Draft only</h1>" in text


def test_the_diff_of_an_unknown_version_is_404(teammate: Any, two_versions: Template) -> None:
    client = client_for(teammate.user)
    base = f"/admin/templates_app/template/{quote(two_versions.pk)}/versions/diff/"
    assert client.get(f"{base}?a=1&b=9").status_code == 404
    assert client.get(f"{base}?a=one&b=2").status_code == 404
    assert client.get(base).status_code == 404


def test_restore_copies_a_version_into_the_draft_and_keeps_history(teammate: Any, two_versions: Template) -> None:
    client = client_for(teammate.user)
    response = client.post(f"/admin/templates_app/template/{quote(two_versions.pk)}/versions/1/restore/")
    assert response.status_code == 302 and response["Location"] == change_url(two_versions)
    draft = TemplateDraft.objects.get(template=two_versions)
    assert draft.html == HTML and draft.css == "" and draft.updated_by == teammate.user
    assert list(
        TemplateVersion.objects.filter(template=two_versions).order_by("number").values_list("number", "html")
    ) == [
        (1, HTML),
        (2, "<h1>Rechnung {{number}}</h1><p>{{customer}}</p>"),
    ]
    assert "Restored v1 into the draft" in client.get(change_url(two_versions)).content.decode()


def test_restore_refuses_viewers_get_and_unknown_versions(viewer: Any, teammate: Any, two_versions: Template) -> None:
    base = f"/admin/templates_app/template/{quote(two_versions.pk)}/versions"
    assert client_for(viewer).post(f"{base}/1/restore/").status_code == 403
    editor = client_for(teammate.user)
    assert editor.get(f"{base}/1/restore/").status_code == 302  # GET changes nothing
    assert editor.post(f"{base}/7/restore/").status_code == 404
    assert TemplateDraft.objects.get(template=two_versions).html == "<h1>Draft only</h1>"


@pytest.mark.usefixtures("celery_worker_process")
def test_the_preview_applies_the_page_settings_form(teammate: Any, invoice: Template) -> None:
    client = client_for(teammate.user)
    with_footer = png_of(preview(client, invoice, footer_content="<b>FOOTER {{pageNumber}} / {{totalPages}}</b>"))
    without_footer = png_of(preview(client, invoice, footer_enabled=None))
    letter = png_of(preview(client, invoice, page_format="Letter"))
    assert with_footer.tobytes() != without_footer.tobytes()
    assert abs(letter.width / letter.height - 215.9 / 279.4) < 0.01


@pytest.mark.usefixtures("celery_worker_process")
def test_ids_that_look_like_admin_quoting_still_work(teammate: Any, acme: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The admin writes "_" in URLs as "_5F"; an id such as tpl_26… unquotes to "tpl&…" unless
    # every URL the editor builds is quoted the admin's way.
    monkeypatch.setattr(Template._meta.get_field("id"), "default", lambda: "tpl_26quoting3a")
    template = template_create(workspace=acme, name="Quoted", html=HTML)
    template_publish(template=template)
    client = client_for(teammate.user)
    page = client.get(change_url(template)).content.decode()
    preview_url = re.search(r'data-preview-url="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert client.post(preview_url, editor_form(template)).status_code == 200
    versions_url = re.search(r'href="([^"]+/versions/)"', page).group(1)  # type: ignore[union-attr]
    history = client.get(versions_url).content.decode()
    restore_url = re.search(r'action="([^"]+/versions/1/restore/)"', history).group(1)  # type: ignore[union-attr]
    restored = client.post(restore_url)
    assert restored.status_code == 302
    assert client.get(restored["Location"]).status_code == 200


def test_bulk_delete_needs_the_editor_role_in_every_selected_templates_workspace(
    teammate: Any, invoice: Template, outsider: Any
) -> None:
    from accounts.models import Membership

    theirs = template_create(workspace=outsider.workspace, name="Globex invoice")
    Membership.objects.create(workspace=outsider.workspace, user=teammate.user, role="viewer")
    client = client_for(teammate.user)
    refused = client.post(
        "/admin/templates_app/template/",
        {"action": "delete_selected", "_selected_action": [invoice.pk, theirs.pk], "post": "yes"},
    )
    assert refused.status_code == 403
    assert Template.objects.filter(pk__in=[invoice.pk, theirs.pk]).count() == 2

    done = client.post(
        "/admin/templates_app/template/", {"action": "delete_selected", "_selected_action": [invoice.pk], "post": "yes"}
    )
    assert done.status_code == 302
    assert not Template.objects.filter(pk=invoice.pk).exists()
    assert not TemplateDraft.objects.filter(template_id=invoice.pk).exists()
    assert Template.objects.filter(pk=theirs.pk).exists()
