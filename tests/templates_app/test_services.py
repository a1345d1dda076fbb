from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection

from fileloom.errors import (
    ApplicationError,
    TemplateCompilationFailed,
    TemplateNotFound,
    ValidationFailed,
)
from templates_app import services
from templates_app.models import Template, TemplateDraft, TemplateVersion
from templates_app.selectors import template_for_generation
from templates_app.services import (
    template_create,
    template_delete,
    template_draft_update,
    template_publish,
    template_restore,
    template_update,
)


@pytest.fixture
def invoice(owner: Any) -> Template:
    return template_create(
        workspace=owner.workspace,
        name="Professional Invoice",
        description="Our invoice",
        filename_pattern="Invoice-{{invoiceNumber}}",
        html="<h1>Invoice {{invoiceNumber}}</h1>",
        css="h1 { color: navy; }",
        test_data={"invoiceNumber": "INV-1"},
        settings={"format": "A5", "margin": {"top": 10}},
        user=owner.user,
    )


def test_it_creates_a_template_with_its_draft(invoice: Template, owner: Any) -> None:
    assert invoice.pk.startswith("tpl_")
    draft = TemplateDraft.objects.get(template=invoice)
    assert draft.html == "<h1>Invoice {{invoiceNumber}}</h1>"
    assert draft.css == "h1 { color: navy; }"
    assert draft.test_data == {"invoiceNumber": "INV-1"}
    assert draft.settings == {"format": "A5", "margin": {"top": 10}}
    assert draft.updated_by == owner.user
    assert not invoice.versions.exists()


def test_it_asks_billing_whether_another_template_is_allowed(owner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def refuse(*, workspace: Any, current_count: int) -> None:
        seen.append(current_count)
        if current_count >= 1:
            raise ApplicationError("Template limit reached", code="VALIDATION_ERROR", status=403)

    monkeypatch.setattr(services, "template_limit_check", refuse)
    template_create(workspace=owner.workspace, name="One")
    with pytest.raises(ApplicationError, match="limit"):
        template_create(workspace=owner.workspace, name="Two")
    assert seen == [0, 1]
    assert Template.objects.filter(workspace=owner.workspace).count() == 1


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"name": "  "}, "name: must not be blank"),
        ({"name": "x" * 201}, "name: at most 200 characters"),
        ({"name": "T", "test_data": [1, 2]}, "testData: must be a JSON object"),
        ({"name": "T", "settings": {"format": "B7"}}, "settings.format"),
        ({"name": "T", "settings": {"margin": {"top": "ten"}}}, "settings.margin.top"),
        ({"name": "T", "settings": "A4"}, "settings: must be a JSON object"),
        ({"name": "T", "filename_pattern": "Invoice-{{#if}}"}, "filenamePattern: invalid Handlebars at line 1"),
    ],
)
def test_it_refuses_invalid_fields(owner: Any, fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        template_create(workspace=owner.workspace, **fields)
    assert any(problem in detail for detail in caught.value.details or []), caught.value.details
    assert not Template.objects.exists()


def test_it_keeps_invalid_handlebars_in_the_draft_but_refuses_to_publish_it(invoice: Template) -> None:
    template_draft_update(template=invoice, html="<p>\n  {{#if}}oops{{/if}}</p>")
    assert TemplateDraft.objects.get(template=invoice).html.startswith("<p>")
    with pytest.raises(TemplateCompilationFailed) as caught:
        template_publish(template=invoice)
    assert caught.value.details == [
        {"field": "html", "line": 2, "column": 2, "message": "#if requires exactly one argument - 2:2"}
    ]
    assert "line 2, column 2" in caught.value.message
    assert not TemplateVersion.objects.exists()


def test_it_refuses_to_publish_a_header_that_does_not_compile(invoice: Template) -> None:
    template_draft_update(template=invoice, settings={"header": {"enabled": True, "content": "{{#each}}"}})
    with pytest.raises(TemplateCompilationFailed) as caught:
        template_publish(template=invoice)
    assert caught.value.details[0]["field"] == "settings.header.content"


def test_it_updates_only_the_given_draft_fields(invoice: Template, teammate: Any) -> None:
    template_draft_update(template=invoice, css="h1 { color: red; }", user=teammate.user)
    draft = TemplateDraft.objects.get(template=invoice)
    assert draft.css == "h1 { color: red; }"
    assert draft.html == "<h1>Invoice {{invoiceNumber}}</h1>"
    assert draft.updated_by == teammate.user


def test_it_updates_the_name_and_filename_pattern(invoice: Template) -> None:
    template_update(template=invoice, name="  Renamed ", filename_pattern="Bill-{{n}}")
    invoice.refresh_from_db()
    assert (invoice.name, invoice.filename_pattern, invoice.description) == ("Renamed", "Bill-{{n}}", "Our invoice")


def test_it_publishes_numbered_snapshots_of_the_draft(invoice: Template, owner: Any) -> None:
    first = template_publish(template=invoice, user=owner.user)
    template_draft_update(template=invoice, html="<h1>Second</h1>", test_data={"n": 2})
    second = template_publish(template=invoice, api_key=owner.api_key)

    assert (first.number, second.number) == (1, 2)
    first.refresh_from_db()
    assert first.html == "<h1>Invoice {{invoiceNumber}}</h1>"
    assert first.css == "h1 { color: navy; }"
    assert first.settings == {"format": "A5", "margin": {"top": 10}}
    assert first.published_by == owner.user and first.published_by_key is None
    assert second.html == "<h1>Second</h1>" and second.test_data == {"n": 2}
    assert second.published_by is None and second.published_by_key == owner.api_key
    assert second.publisher_label == f"API key {owner.api_key.pk}"


def test_a_version_can_never_be_changed(invoice: Template) -> None:
    version = template_publish(template=invoice)
    version.html = "tampered"
    with pytest.raises(ValueError, match="immutable"):
        version.save()
    assert TemplateVersion.objects.get(pk=version.pk).html == "<h1>Invoice {{invoiceNumber}}</h1>"


def test_the_database_refuses_a_duplicate_version_number(invoice: Template) -> None:
    template_publish(template=invoice)
    with pytest.raises(IntegrityError):
        TemplateVersion.objects.create(template=invoice, number=1)


def test_a_publish_that_loses_the_race_for_a_number_takes_the_next_one(
    invoice: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    template_publish(template=invoice)
    real = services._next_version_number
    calls: list[int] = []

    def stale_then_real(template: Template) -> int:
        # The first attempt computes a number another publisher has already taken.
        calls.append(1)
        return 1 if len(calls) == 1 else real(template)

    monkeypatch.setattr(services, "_next_version_number", stale_then_real)
    version = template_publish(template=invoice)
    assert version.number == 2
    assert len(calls) == 2
    assert list(TemplateVersion.objects.filter(template=invoice).values_list("number", flat=True)) == [2, 1]


def test_a_publish_that_keeps_losing_gives_up(invoice: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    template_publish(template=invoice)
    monkeypatch.setattr(services, "_next_version_number", lambda template: 1)
    with pytest.raises(IntegrityError):
        template_publish(template=invoice)
    assert TemplateVersion.objects.filter(template=invoice).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_publishes_get_distinct_consecutive_numbers(invoice: Template) -> None:
    numbers: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def publish() -> None:
        try:
            start.wait()
            numbers.append(template_publish(template=invoice).number)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == [1, 2, 3, 4]


def test_restoring_copies_a_version_into_the_draft_and_leaves_history_alone(invoice: Template) -> None:
    template_publish(template=invoice)
    template_draft_update(template=invoice, html="<p>v2</p>", css="", settings={"format": "Letter"})
    template_publish(template=invoice)
    template_draft_update(template=invoice, html="<p>work in progress</p>")
    before = list(TemplateVersion.objects.filter(template=invoice).values())

    draft = template_restore(template=invoice, number=1)

    draft = TemplateDraft.objects.get(template=invoice)
    assert draft.html == "<h1>Invoice {{invoiceNumber}}</h1>"
    assert draft.css == "h1 { color: navy; }"
    assert draft.settings == {"format": "A5", "margin": {"top": 10}}
    assert list(TemplateVersion.objects.filter(template=invoice).values()) == before
    assert template_for_generation(workspace=invoice.workspace, template_id=invoice.pk, version=None).version == 2


def test_restoring_a_missing_version_is_template_not_found(invoice: Template) -> None:
    with pytest.raises(TemplateNotFound, match="no version 3"):
        template_restore(template=invoice, number=3)


def test_deleting_a_template_removes_its_draft_and_versions(invoice: Template) -> None:
    template_publish(template=invoice)
    template_delete(template=invoice)
    assert not Template.objects.exists()
    assert not TemplateDraft.objects.exists()
    assert not TemplateVersion.objects.exists()
