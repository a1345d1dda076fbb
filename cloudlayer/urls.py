"""Routes under CLOUDLAYER_URL_PREFIX (fileloom/urls.py mounts them): /v1/… and /v2/…, the same
endpoints on both versions (they differ in the async and storage defaults only)."""

from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView

from cloudlayer import api
from cloudlayer.openapi import SCHEMA_SETTINGS


class VersionConverter:
    regex = "v1|v2"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(VersionConverter, "version")

CONVERSIONS = (
    "html-pdf",
    "html-image",
    "url-pdf",
    "url-image",
    "template-pdf",
    "template-image",
    "docx-pdf",
    "docx-html",
)

urlpatterns = [
    *(
        path(
            f"<version:version>/{job_type.replace('-', '/')}",
            api.conversion_view(job_type),
            name=f"cloudlayer-{job_type}",
        )
        for job_type in CONVERSIONS
    ),
    path("<version:version>/pdf/merge", api.conversion_view("merge-pdf"), name="cloudlayer-merge-pdf"),
    path("<version:version>/pdf/docx", api.PdfToDocxView.as_view(), name="cloudlayer-pdf-docx"),
    path("<version:version>/jobs", api.JobListView.as_view(), name="cloudlayer-jobs"),
    path("<version:version>/jobs/<str:job_id>", api.JobDetailView.as_view(), name="cloudlayer-job"),
    path("<version:version>/assets", api.AssetListView.as_view(), name="cloudlayer-assets"),
    path("<version:version>/assets/<str:asset_id>", api.AssetDetailView.as_view(), name="cloudlayer-asset"),
    path("<version:version>/storage", api.StorageListView.as_view(), name="cloudlayer-storage-list"),
    path("<version:version>/storage/<str:storage_id>", api.StorageDetailView.as_view(), name="cloudlayer-storage"),
    path("<version:version>/account", api.AccountView.as_view(), name="cloudlayer-account"),
    path("<version:version>/getStatus", api.StatusView.as_view(), name="cloudlayer-status"),
    path("v2/templates", api.TemplateListView.as_view(), name="cloudlayer-templates"),
    path("v2/template/<str:template_id>", api.TemplateDetailView.as_view(), name="cloudlayer-template"),
    path("v2/schema", SpectacularAPIView.as_view(custom_settings=SCHEMA_SETTINGS), name="cloudlayer-schema"),
    re_path(r"^.*$", api.RouteNotFoundView.as_view(), name="cloudlayer-not-found"),
]
