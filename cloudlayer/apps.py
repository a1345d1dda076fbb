from django.apps import AppConfig


class CloudlayerConfig(AppConfig):
    name = "cloudlayer"
    verbose_name = "cloudlayer.io-compatible API"

    def ready(self) -> None:
        # documents sends a request's own webhook when its generation finishes, with the body
        # of the API that took the request; it cannot import this app (it sits above it).
        from cloudlayer.payloads import webhook_body
        from documents.payloads import REQUEST_WEBHOOK_BODIES

        REQUEST_WEBHOOK_BODIES["cloudlayer"] = webhook_body
