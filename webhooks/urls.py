from django.urls import path

from webhooks import api

urlpatterns = [
    path("v1/webhooks", api.WebhookListView.as_view(), name="webhook-list"),
    path("v1/webhooks/deliveries/<str:delivery_id>", api.WebhookDeliveryDetailView.as_view(), name="webhook-delivery"),
    path(
        "v1/webhooks/deliveries/<str:delivery_id>/replay",
        api.WebhookDeliveryReplayView.as_view(),
        name="webhook-delivery-replay",
    ),
    path("v1/webhooks/<str:endpoint_id>", api.WebhookDetailView.as_view(), name="webhook-detail"),
    path("v1/webhooks/<str:endpoint_id>/rotate-secret", api.WebhookRotateSecretView.as_view(), name="webhook-rotate"),
    path("v1/webhooks/<str:endpoint_id>/test", api.WebhookTestView.as_view(), name="webhook-test"),
    path("v1/webhooks/<str:endpoint_id>/deliveries", api.WebhookDeliveryListView.as_view(), name="webhook-deliveries"),
]
