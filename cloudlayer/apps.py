from django.apps import AppConfig


class CloudlayerConfig(AppConfig):
    name = "cloudlayer"
    verbose_name = "cloudlayer.io-compatible API"
