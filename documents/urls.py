from django.urls import path

from documents.api import GenerateImageView, GeneratePdfView, JobDetailView, JobListView

urlpatterns = [
    path("v1/pdf/generate", GeneratePdfView.as_view(), name="pdf-generate"),
    path("v1/pdf", GeneratePdfView.as_view(), name="pdf-generate-alias"),
    path("v1/image/generate", GenerateImageView.as_view(), name="image-generate"),
    path("v1/jobs", JobListView.as_view(), name="job-list"),
    path("v1/jobs/<str:job_id>", JobDetailView.as_view(), name="job-detail"),
]
