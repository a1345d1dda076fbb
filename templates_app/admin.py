"""The template editor in the Django admin.

One page per template: name and filename pattern, the draft's HTML and CSS in CodeMirror, its
test data (JSON, validated on save), the page settings (stored as the generate `options`
object), a live PNG preview of any page rendered from the unsaved editor content, and Publish.
Beside it: the version history with a diff of any two versions (or a version and the draft)
and Restore. Every write goes through templates_app.services; workspace scoping and roles come
from accounts.admin_scope (Viewers read, Editors and Owners edit). See docs/admin.md.
"""

from __future__ import annotations

import base64
import difflib
import json
import struct
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, quote, unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

import hbs
from accounts.admin_scope import WorkspaceScopedAdmin
from accounts.models import Role
from fileloom.errors import ApplicationError, ValidationFailed
from rendering.engines import ENGINE_NAMES
from rendering.pages import DEFAULT_MARGIN_MM, FORMATS
from templates_app import services
from templates_app.models import Template, TemplateDraft, TemplateVersion
from templates_app.selectors import template_version_get, template_version_list

MARGIN_SIDES = ("top", "right", "bottom", "left")


def _editor(request: HttpRequest) -> User:
    """The signed-in staff user (admin views are only reached by them)."""
    assert isinstance(request.user, User)
    return request.user


ENGINE_LABELS = {"weasyprint": "WeasyPrint", "chromium": "Chromium"}
DRAFT = "draft"


def _details(error: ApplicationError) -> list[str]:
    details = error.details or [error.message]
    return [item if isinstance(item, str) else item.get("message", str(item)) for item in details]


class TemplateEditorForm(forms.ModelForm):
    """The template's own fields plus its draft: sources, test data and page settings."""

    html = forms.CharField(label="HTML", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 18}))
    css = forms.CharField(label="CSS", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 10}))
    test_data = forms.CharField(
        label="Test data (JSON)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="A JSON object: the data the preview renders with (and the default for tests).",
    )
    engine = forms.ChoiceField(
        label="Engine",
        required=False,
        choices=[("", "Server default")] + [(name, ENGINE_LABELS.get(name, name)) for name in ENGINE_NAMES],
        help_text="WeasyPrint: CSS paged media, no JavaScript. Chromium: runs the page's JavaScript.",
    )
    page_format = forms.ChoiceField(label="Paper", choices=[(f, f) for f in FORMATS], initial="A4")
    orientation = forms.ChoiceField(choices=[("portrait", "Portrait"), ("landscape", "Landscape")], initial="portrait")
    width = forms.FloatField(label="Width (mm)", required=False, min_value=1, help_text="Custom paper only.")
    height = forms.FloatField(label="Height (mm)", required=False, min_value=1, help_text="Custom paper only.")
    margin_top = forms.FloatField(label="Top margin (mm)", min_value=0, initial=DEFAULT_MARGIN_MM)
    margin_right = forms.FloatField(label="Right margin (mm)", min_value=0, initial=DEFAULT_MARGIN_MM)
    margin_bottom = forms.FloatField(label="Bottom margin (mm)", min_value=0, initial=DEFAULT_MARGIN_MM)
    margin_left = forms.FloatField(label="Left margin (mm)", min_value=0, initial=DEFAULT_MARGIN_MM)
    print_background = forms.BooleanField(label="Print backgrounds", required=False, initial=True)
    header_enabled = forms.BooleanField(label="Header", required=False)
    header_height = forms.FloatField(label="Header height (mm)", required=False, min_value=0, initial=15)
    header_content = forms.CharField(
        label="Header HTML",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Handlebars with the test data; {{pageNumber}} and {{totalPages}} print page numbers.",
    )
    footer_enabled = forms.BooleanField(label="Footer", required=False)
    footer_height = forms.FloatField(label="Footer height (mm)", required=False, min_value=0, initial=10)
    footer_content = forms.CharField(
        label="Footer HTML", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = Template
        fields = ["workspace", "name", "description", "filename_pattern"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        draft = TemplateDraft.objects.filter(template_id=self.instance.pk).first() if self.instance.pk else None
        if draft is not None:
            self.initial.update(self.initial_from_draft(draft))

    @staticmethod
    def initial_from_draft(draft: TemplateDraft) -> dict[str, Any]:
        settings = draft.settings or {}
        margin = settings.get("margin") or {}
        initial: dict[str, Any] = {
            "html": draft.html,
            "css": draft.css,
            "test_data": json.dumps(draft.test_data or {}, indent=2, ensure_ascii=False),
            "engine": settings.get("engine", ""),
            "page_format": settings.get("format", "A4"),
            "orientation": settings.get("orientation", "portrait"),
            "width": settings.get("width"),
            "height": settings.get("height"),
            "print_background": settings.get("printBackground", True),
        }
        for side in MARGIN_SIDES:
            initial[f"margin_{side}"] = margin.get(side, DEFAULT_MARGIN_MM)
        for band in ("header", "footer"):
            values = settings.get(band) or {}
            initial[f"{band}_enabled"] = bool(values.get("enabled", False))
            if "height" in values:
                initial[f"{band}_height"] = values["height"]
            initial[f"{band}_content"] = values.get("content", "")
        return initial

    def clean_test_data(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("test_data") or ""
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Test data is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
        except RecursionError:
            raise forms.ValidationError("Test data is nested too deeply.") from None
        if not isinstance(data, dict):
            raise forms.ValidationError('Test data must be a JSON object, like {"name": "Ada"}.')
        return data

    def clean_filename_pattern(self) -> str:
        pattern = self.cleaned_data.get("filename_pattern") or ""
        try:
            hbs.compile_template(pattern)
        except hbs.TemplateSyntaxError as exc:
            raise forms.ValidationError(
                f"Invalid Handlebars at line {exc.line}, column {exc.column}: {exc.message}"
            ) from None
        return pattern

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            cleaned["settings"] = services.template_settings_clean(settings=self.settings_from(cleaned))
        except ValidationFailed as error:
            for message in _details(error):
                self.add_error(None, message)
        return cleaned

    @staticmethod
    def settings_from(cleaned: dict[str, Any]) -> dict[str, Any]:
        """The page settings as a generate `options` object."""
        settings: dict[str, Any] = {
            "format": cleaned["page_format"],
            "orientation": cleaned["orientation"],
            "margin": {side: cleaned[f"margin_{side}"] for side in MARGIN_SIDES},
            "printBackground": bool(cleaned.get("print_background")),
        }
        if cleaned.get("engine"):
            settings["engine"] = cleaned["engine"]
        if cleaned["page_format"] == "Custom":
            settings.update({key: cleaned[key] for key in ("width", "height") if cleaned.get(key) is not None})
        for band in ("header", "footer"):
            settings[band] = {
                "enabled": bool(cleaned.get(f"{band}_enabled")),
                "height": cleaned.get(f"{band}_height") or 0,
                "content": cleaned.get(f"{band}_content") or "",
            }
        return settings

    def draft_fields(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        return {
            "html": cleaned.get("html") or "",
            "css": cleaned.get("css") or "",
            "test_data": cleaned.get("test_data") or {},
            "settings": cleaned.get("settings") or {},
        }


class VersionInline(admin.TabularInline):
    """Published versions, read-only, under the editor (restore and diff live on the history page)."""

    model = TemplateVersion
    extra = 0
    can_delete = False
    show_change_link = False
    fields = ["number", "published_at", "publisher"]
    readonly_fields = ["number", "published_at", "publisher"]
    ordering = ["-number"]
    max_num = 0
    verbose_name_plural = "Published versions"

    @admin.display(description="Published by")
    def publisher(self, obj: TemplateVersion) -> str:
        return obj.publisher_label

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # the parent template's view check already applied


@admin.register(Template)
class TemplateAdmin(WorkspaceScopedAdmin):
    form = TemplateEditorForm
    change_form_template = "admin/templates_app/template/editor.html"
    list_display = ["name", "id", "workspace", "latest_version", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "id", "description"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [VersionInline]
    add_role = change_role = delete_role = Role.EDITOR

    def get_fieldsets(self, request: HttpRequest, obj: Template | None = None) -> Any:
        details = ["workspace", "name", "description", "filename_pattern"]
        if obj is not None:
            details = ["id", "workspace", "name", "description", "filename_pattern", "updated_at"]
        if obj is not None and not self.has_change_permission(request, obj):
            # Viewers: the draft as text (the editor's form fields are not model attributes).
            return [
                (None, {"fields": details}),
                ("Draft", {"fields": ["draft_html", "draft_css", "draft_test_data", "draft_settings"]}),
            ]
        return [
            (None, {"fields": details}),
            ("HTML", {"fields": ["html"], "classes": ["fl-source"]}),
            ("CSS", {"fields": ["css"], "classes": ["fl-source"]}),
            ("Test data", {"fields": ["test_data"], "classes": ["fl-source"]}),
            (
                "Page settings",
                {
                    "fields": [
                        "engine",
                        ("page_format", "orientation"),
                        ("width", "height"),
                        ("margin_top", "margin_right", "margin_bottom", "margin_left"),
                        "print_background",
                        ("header_enabled", "header_height"),
                        "header_content",
                        ("footer_enabled", "footer_height"),
                        "footer_content",
                    ]
                },
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Template | None = None) -> list[str]:
        if obj is not None and not self.has_change_permission(request, obj):
            return flatten_fieldsets(self.get_fieldsets(request, obj))
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.append("workspace")  # templates do not move between workspaces
        return fields

    def _draft_text(self, obj: Template, render: Any) -> str:
        draft = TemplateDraft.objects.filter(template=obj).first() or TemplateDraft(template=obj)
        return format_html('<pre class="fl-code">{}</pre>', render(draft))

    @admin.display(description="HTML")
    def draft_html(self, obj: Template) -> str:
        return self._draft_text(obj, lambda d: d.html)

    @admin.display(description="CSS")
    def draft_css(self, obj: Template) -> str:
        return self._draft_text(obj, lambda d: d.css)

    @admin.display(description="Test data")
    def draft_test_data(self, obj: Template) -> str:
        return self._draft_text(obj, lambda d: json.dumps(d.test_data or {}, indent=2, ensure_ascii=False))

    @admin.display(description="Page settings")
    def draft_settings(self, obj: Template) -> str:
        return self._draft_text(obj, lambda d: json.dumps(d.settings or {}, indent=2, ensure_ascii=False))

    def get_queryset(self, request: HttpRequest) -> Any:
        from django.db.models import Max

        return super().get_queryset(request).annotate(latest=Max("versions__number")).select_related("workspace")

    @admin.display(description="Latest version", ordering="latest")
    def latest_version(self, obj: Template) -> str:
        latest = getattr(obj, "latest", None)  # annotated by get_queryset
        return f"v{latest}" if latest else "not published"

    # --- saving through the services ----------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Template, form: TemplateEditorForm, change: bool) -> None:
        cleaned = form.cleaned_data
        if change:
            services.template_update(
                template=obj,
                name=cleaned["name"],
                description=cleaned.get("description") or "",
                filename_pattern=cleaned.get("filename_pattern") or "",
                user=_editor(request),
            )
            services.template_draft_update(template=obj, user=_editor(request), **form.draft_fields())
            return
        created = services.template_create(
            workspace=cleaned["workspace"],
            name=cleaned["name"],
            description=cleaned.get("description") or "",
            filename_pattern=cleaned.get("filename_pattern") or "",
            user=_editor(request),
            **form.draft_fields(),
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False

    def get_inlines(self, request: HttpRequest, obj: Template | None) -> list[Any]:
        return list(self.inlines) if obj is not None else []

    def delete_model(self, request: HttpRequest, obj: Template) -> None:
        services.template_delete(template=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        self.check_bulk_delete(request, queryset)
        for template in queryset:
            services.template_delete(template=template)

    def response_add(self, request: HttpRequest, obj: Template, post_url_continue: str | None = None) -> HttpResponse:
        # A new template opens in the editor, where the preview and Publish are.
        if "_addanother" not in request.POST and "_save" not in request.POST:
            return HttpResponseRedirect(self._url("change", obj))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Template) -> HttpResponse:
        if "_publish" in request.POST:
            self._publish(request, obj)
            return HttpResponseRedirect(self._url("change", obj))
        return super().response_change(request, obj)

    def _publish(self, request: HttpRequest, template: Template) -> None:
        try:
            version = services.template_publish(template=template, user=_editor(request))
        except ApplicationError as error:
            messages.error(request, f"Not published: {error.message}")
            return
        self.log_change(request, template, f"Published v{version.number}")
        messages.success(request, f"Published v{version.number}: the API now renders this version.")

    # --- extra pages -----------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("preview/", wrap(self.preview_view), name="templates_app_template_preview_new"),
            path("<path:object_id>/preview/", wrap(self.preview_view), name="templates_app_template_preview"),
            path("<path:object_id>/versions/", wrap(self.versions_view), name="templates_app_template_versions"),
            path("<path:object_id>/versions/diff/", wrap(self.diff_view), name="templates_app_template_diff"),
            path(
                "<path:object_id>/versions/<int:number>/restore/",
                wrap(self.restore_view),
                name="templates_app_template_restore",
            ),
            *super().get_urls(),
        ]

    def _url(self, name: str, obj: Template, *args: Any) -> str:
        return reverse(f"admin:templates_app_template_{name}", args=[quote(obj.pk), *args])

    def _visible(self, request: HttpRequest, object_id: str) -> Template:
        template = self.get_object(request, unquote(object_id))
        if template is None or not self.has_view_permission(request, template):
            raise Http404("No such template.")
        return template

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        obj = kwargs.get("obj")
        context["preview_url"] = (
            self._url("preview", obj) if obj else reverse("admin:templates_app_template_preview_new")
        )
        context["versions_url"] = self._url("versions", obj) if obj else ""
        context["can_publish"] = bool(obj) and self.has_change_permission(request, obj)
        return super().render_change_form(request, context, *args, **kwargs)

    @staticmethod
    def _json_error(status: int, code: str, message: str, details: list[Any] | None = None) -> JsonResponse:
        error: dict[str, Any] = {"code": code, "message": message}
        if details:
            error["details"] = details
        return JsonResponse({"error": error}, status=status)

    def preview_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        """PNG of page `?page=` (default 1) of the editor's current (unsaved) content.

        Staff session + CSRF; no quota."""
        if request.method != "POST":
            return self._json_error(405, "METHOD_NOT_ALLOWED", "POST the editor form.")
        raw_page = request.GET.get("page", "1")
        if not raw_page.isdigit() or int(raw_page) < 1:
            return self._json_error(
                400, "VALIDATION_ERROR", "Invalid page.", ["page: must be a whole number of at least 1"]
            )
        page = int(raw_page)
        template = self._visible(request, object_id) if object_id is not None else None
        try:
            if template is not None and not self.has_change_permission(request, template):
                # Viewers see the saved draft, whatever they post.
                result = services.template_preview(template=template, output_format="png", page=page)
            else:
                if template is None and not self.has_add_permission(request):
                    raise PermissionDenied
                form = self._preview_form(request, template)
                if not form.is_valid():
                    problems = [
                        f"{form.fields[field].label or field}: {message}" if field != "__all__" else message
                        for field, errors in form.errors.items()
                        for message in errors
                    ]
                    return self._json_error(400, "VALIDATION_ERROR", "Fix the form to see a preview.", problems)
                draft = form.draft_fields()
                result = services.preview_render(
                    workspace=template.workspace if template else self._preview_workspace(form),
                    html=draft["html"],
                    css=draft["css"],
                    settings=draft["settings"],
                    data=draft["test_data"],
                    output_format="png",
                    page=page,
                )
        except ApplicationError as error:
            return self._json_error(error.status, str(error.code), error.message, error.details)
        width, height = struct.unpack(">II", result.content[16:24])  # the PNG's IHDR chunk
        return JsonResponse(
            {
                "image": "data:image/png;base64," + base64.b64encode(result.content).decode(),
                "page": page,
                "pageCount": result.page_count,
                "width": width,
                "height": height,
            }
        )

    def _preview_form(self, request: HttpRequest, template: Template | None) -> TemplateEditorForm:
        # The admin's own form class: its workspace choices are limited to the user's.
        form_class = self.get_form(request, template, change=template is not None)
        form = form_class(data=request.POST, instance=template)
        assert isinstance(form, TemplateEditorForm)
        # Only the draft matters here; name and workspace are not needed for a preview.
        for name in ("workspace", "name", "description", "filename_pattern"):
            if name in form.fields:
                form.fields[name].required = False
        return form

    @staticmethod
    def _preview_workspace(form: TemplateEditorForm) -> Any:
        """On the add page: the chosen workspace, or the first one the user may add templates to
        (its limits apply to the render)."""
        chosen = form.cleaned_data.get("workspace")
        if chosen is not None:
            return chosen
        field = form.fields["workspace"]
        assert isinstance(field, forms.ModelChoiceField)
        return field.queryset.order_by("name").first()  # type: ignore[union-attr]

    def versions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        template = self._visible(request, object_id)
        versions = list(template_version_list(template=template))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Version history: {template.name}",
            "opts": self.model._meta,
            "original": template,
            "versions": versions,
            "current": versions[0].number if versions else None,
            "can_restore": self.has_change_permission(request, template),
            "change_url": self._url("change", template),
            "diff_url": self._url("diff", template),
        }
        return render(request, "admin/templates_app/template/versions.html", context)

    def _side(self, template: Template, raw: str | None) -> tuple[str, dict[str, str]]:
        if raw == DRAFT:
            draft = TemplateDraft.objects.filter(template=template).first() or TemplateDraft(template=template)
            return "Current draft", _comparable(draft)
        try:
            number = int(raw or "")
        except ValueError:
            raise Http404("Choose two versions to compare.") from None
        try:
            version = template_version_get(template=template, number=number)
        except ApplicationError:
            raise Http404(f"No version {number}.") from None
        return f"v{version.number}", _comparable(version)

    def diff_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        template = self._visible(request, object_id)
        left_label, left = self._side(template, request.GET.get("a"))
        right_label, right = self._side(template, request.GET.get("b"))
        differ = difflib.HtmlDiff(tabsize=2, wrapcolumn=80)
        sections = []
        for key, label in (("html", "HTML"), ("css", "CSS"), ("test_data", "Test data"), ("settings", "Page settings")):
            before, after = left[key].splitlines(), right[key].splitlines()
            sections.append(
                {
                    "label": label,
                    "changed": before != after,
                    "table": differ.make_table(before, after, left_label, right_label, context=True, numlines=3)
                    if before != after
                    else "",
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{template.name}: {left_label} → {right_label}",
            "opts": self.model._meta,
            "original": template,
            "sections": sections,
            "versions_url": self._url("versions", template),
            "change_url": self._url("change", template),
        }
        return render(request, "admin/templates_app/template/diff.html", context)

    def restore_view(self, request: HttpRequest, object_id: str, number: int) -> HttpResponse:
        template = self._visible(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(self._url("versions", template))
        if not self.has_change_permission(request, template):
            raise PermissionDenied
        try:
            services.template_restore(template=template, number=number, user=_editor(request))
        except ApplicationError:
            raise Http404(f"No version {number}.") from None
        self.log_change(request, template, f"Restored v{number} into the draft")
        messages.success(request, f"Restored v{number} into the draft. Publish to make it live.")
        return HttpResponseRedirect(self._url("change", template))


def _comparable(source: TemplateDraft | TemplateVersion) -> dict[str, str]:
    """A version's (or the draft's) parts as text, so that difflib can compare them line by line."""
    return {
        "html": source.html or "",
        "css": source.css or "",
        "test_data": json.dumps(source.test_data or {}, indent=2, sort_keys=True, ensure_ascii=False),
        "settings": json.dumps(source.settings or {}, indent=2, sort_keys=True, ensure_ascii=False),
    }


@admin.register(TemplateVersion)
class TemplateVersionAdmin(WorkspaceScopedAdmin):
    """Published versions: read-only for everyone, superusers included (history never changes)."""

    workspace_path = "template__workspace"
    add_role = change_role = delete_role = None
    list_display = ["template", "version_label", "published_at", "publisher"]
    list_select_related = ["template", "published_by"]
    search_fields = ["template__name", "template__id"]
    readonly_fields = ["template", "number", "html", "css", "test_data", "settings", "published_by", "published_at"]
    exclude = ["published_by_key"]

    @admin.display(description="Version", ordering="number")
    def version_label(self, obj: TemplateVersion) -> str:
        return f"v{obj.number}"

    @admin.display(description="Published by")
    def publisher(self, obj: TemplateVersion) -> str:
        return obj.publisher_label

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
