from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from fileloom.errors import json_error_view
from fileloom.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("v1/schema", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(f"{settings.CLOUDLAYER_URL_PREFIX}/", include("cloudlayer.urls")),
    path("", include("documents.urls")),
    path("", include("storage_app.urls")),
    path("", include("templates_app.urls")),
    path("", include("webhooks.urls")),
    path("", include("billing.urls")),
]

handler404 = json_error_view(404)
handler500 = json_error_view(500)
