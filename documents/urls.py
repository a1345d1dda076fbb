from django.urls import path

from documents.api import GeneratePdfView

urlpatterns = [
    path("v1/pdf/generate", GeneratePdfView.as_view(), name="pdf-generate"),
    path("v1/pdf", GeneratePdfView.as_view(), name="pdf-generate-alias"),
]
