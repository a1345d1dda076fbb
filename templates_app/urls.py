from django.urls import path

from templates_app.api import (
    TemplateDetailView,
    TemplateListView,
    TemplatePreviewView,
    TemplatePublishView,
    TemplateRestoreView,
    TemplateVersionDetailView,
    TemplateVersionListView,
)

urlpatterns = [
    path("v1/templates", TemplateListView.as_view(), name="template-list"),
    path("v1/templates/<str:template_id>", TemplateDetailView.as_view(), name="template-detail"),
    path("v1/templates/<str:template_id>/publish", TemplatePublishView.as_view(), name="template-publish"),
    path("v1/templates/<str:template_id>/preview", TemplatePreviewView.as_view(), name="template-preview"),
    path("v1/templates/<str:template_id>/versions", TemplateVersionListView.as_view(), name="template-versions"),
    path(
        "v1/templates/<str:template_id>/versions/<int:number>",
        TemplateVersionDetailView.as_view(),
        name="template-version",
    ),
    path(
        "v1/templates/<str:template_id>/versions/<int:number>/restore",
        TemplateRestoreView.as_view(),
        name="template-restore",
    ),
]
