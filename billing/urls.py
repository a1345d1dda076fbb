from django.urls import path

from billing.api import UsageView, stripe_webhook

urlpatterns = [
    path("v1/usage", UsageView.as_view(), name="usage"),
    path("v1/billing/stripe/webhook", stripe_webhook, name="stripe-webhook"),
]
