"""The page `options` object: one validation for the API, template settings, the admin and the CLI.

Units are millimetres, as in the fileloom.io API. `engine` picks the renderer
(rendering.engines); options that only the browser engine has are refused on WeasyPrint with a
message naming the option and the engine (`engine_options_check`, run on the merged options:
template settings + request).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from fileloom.api_fields import StrictBooleanField, StrictCharField, StrictIntegerField, StrictNumberField
from fileloom.errors import ValidationFailed, to_application_error
from rendering.engines import ENGINE_NAMES
from rendering.pages import FORMATS

WAIT_UNTIL = ["load", "domcontentloaded", "networkidle0", "networkidle2"]
# Options only a browser engine understands (API names).
BROWSER_ONLY_OPTIONS = (
    "scale",
    "pageRanges",
    "preferCSSPageSize",
    "emulateMediaType",
    "viewport",
    "waitUntil",
    "waitForSelector",
    "delay",
    "autoScroll",
    "timeout",
)
MAX_DELAY_MS = 30_000


class MarginSerializer(serializers.Serializer):
    top = StrictNumberField(required=False, min_value=0, max_value=500)
    right = StrictNumberField(required=False, min_value=0, max_value=500)
    bottom = StrictNumberField(required=False, min_value=0, max_value=500)
    left = StrictNumberField(required=False, min_value=0, max_value=500)


class BandSerializer(serializers.Serializer):
    enabled = StrictBooleanField(required=False)
    height = StrictNumberField(required=False, min_value=0, max_value=500)
    content = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)


class ViewportSerializer(serializers.Serializer):
    width = StrictIntegerField(required=False, min_value=1, max_value=10_000)
    height = StrictIntegerField(required=False, min_value=1, max_value=10_000)
    deviceScaleFactor = StrictNumberField(required=False, min_value=0.1, max_value=4)


class OptionsSerializer(serializers.Serializer):
    """Page options in millimetres. Unknown keys are ignored."""

    engine = serializers.ChoiceField(choices=list(ENGINE_NAMES), required=False)

    format = serializers.ChoiceField(choices=FORMATS, required=False)
    orientation = serializers.ChoiceField(choices=["portrait", "landscape"], required=False)
    # The name cloudlayer, Puppeteer and Gotenberg users send: an alias of `orientation`.
    landscape = StrictBooleanField(required=False)
    width = StrictNumberField(required=False, min_value=1, max_value=5000)
    height = StrictNumberField(required=False, min_value=1, max_value=5000)
    margin = MarginSerializer(required=False)
    printBackground = StrictBooleanField(required=False)
    header = BandSerializer(required=False)
    footer = BandSerializer(required=False)
    # A resource that fails to load fails the render (502) instead of becoming a warning.
    failOnResourceError = StrictBooleanField(required=False)
    # Browser engine only (see BROWSER_ONLY_OPTIONS).
    scale = StrictNumberField(required=False, min_value=0.1, max_value=2)
    pageRanges = StrictCharField(required=False, max_length=200)
    preferCSSPageSize = StrictBooleanField(required=False)
    emulateMediaType = serializers.ChoiceField(choices=["print", "screen"], required=False)
    viewport = ViewportSerializer(required=False)
    waitUntil = serializers.ChoiceField(choices=WAIT_UNTIL, required=False)
    waitForSelector = StrictCharField(required=False, max_length=1000)
    delay = StrictIntegerField(required=False, min_value=0, max_value=MAX_DELAY_MS)
    autoScroll = StrictBooleanField(required=False)
    timeout = StrictIntegerField(required=False, min_value=1, max_value=3_600_000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("format") == "Custom" and not (attrs.get("width") and attrs.get("height")):
            raise serializers.ValidationError("format Custom needs width and height (mm)")
        if "landscape" in attrs:
            orientation = "landscape" if attrs.pop("landscape") else "portrait"
            if attrs.get("orientation", orientation) != orientation:
                raise serializers.ValidationError({"landscape": "contradicts orientation"})
            attrs["orientation"] = orientation
        return attrs


# A serializer's field names, each with its nested serializer's (None for a plain field).
FieldTree = dict[str, "FieldTree | None"]


def _field_tree(serializer: serializers.Serializer) -> FieldTree:
    return {
        name: _field_tree(field) if isinstance(field, serializers.Serializer) else None
        for name, field in serializer.fields.items()
    }


_FIELD_TREES: dict[type[serializers.Serializer], FieldTree] = {}


def field_tree_of(serializer_class: type[serializers.Serializer]) -> FieldTree:
    """The field names of `serializer_class`, read once: a serializer instance deep-copies every
    declared field, nested ones included (~0.6 ms for the generate request on every call)."""
    tree = _FIELD_TREES.get(serializer_class)
    if tree is None:
        tree = _FIELD_TREES[serializer_class] = _field_tree(serializer_class())
    return tree


def unknown_fields(data: Any, serializer_class: type[serializers.Serializer]) -> list[str]:
    """Dotted names of keys in `data` that `serializer_class` does not know (nested objects too)."""
    return _unknown(data, field_tree_of(serializer_class), "")


def _unknown(data: Any, tree: FieldTree, prefix: str) -> list[str]:
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    for key, value in data.items():
        if key not in tree:
            found.append(f"{prefix}{key}")
        elif (nested := tree[key]) is not None:
            found += _unknown(value, nested, f"{prefix}{key}.")
    return found


def unknown_field_warnings(names: list[str]) -> list[dict[str, str]]:
    """`warnings` entries telling the caller which keys were ignored (likely misspelt)."""
    return [
        {"code": "UNKNOWN_FIELD", "field": name, "error": f"{name} is not a known field and was ignored"}
        for name in names
    ]


def engine_for(options: dict[str, Any]) -> str:
    """The engine these (validated) options ask for, or the DEFAULT_ENGINE setting."""
    return str(options.get("engine") or settings.DEFAULT_ENGINE)


# Images are screenshots: without an explicit engine they are taken by the browser.
DEFAULT_IMAGE_ENGINE = "chromium"


def engine_options_check(options: dict[str, Any], *, field: str = "options") -> str:
    """The engine for these options; ValidationFailed naming each option it cannot honour."""
    engine = engine_for(options)
    if engine != "chromium":
        unsupported = [name for name in (*BROWSER_ONLY_OPTIONS, *BROWSER_ONLY_IMAGE_OPTIONS) if name in options]
        if unsupported:
            raise ValidationFailed(
                details=[
                    f"{field}.{name}: only the chromium engine supports this option (engine is {engine})"
                    for name in unsupported
                ]
            )
    return engine


def plain_json(value: Any) -> Any:
    """Serializer output as plain JSON values (dicts, and 10 rather than 10.0 for whole numbers)."""
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_json(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def options_clean(value: Any, *, field: str = "options") -> dict[str, Any]:
    """Validate an `options` object (None → {}); errors name `field`. Raises ValidationFailed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(details=[f"{field}: must be a JSON object"])
    serializer = OptionsSerializer(data=value)
    if not serializer.is_valid():
        error = to_application_error(serializers.ValidationError({field: serializer.errors}))
        raise ValidationFailed(details=error.details if error else [f"{field}: invalid"])
    return plain_json(dict(serializer.validated_data))


class ClipSerializer(serializers.Serializer):
    x = StrictNumberField(min_value=0, max_value=100_000)
    y = StrictNumberField(min_value=0, max_value=100_000)
    width = StrictNumberField(min_value=1, max_value=100_000)
    height = StrictNumberField(min_value=1, max_value=100_000)


class ImageOptionsSerializer(OptionsSerializer):
    """`options` of an image request: the page options plus what to capture and how to encode it."""

    imageType = serializers.ChoiceField(choices=["png", "jpeg", "webp"], required=False)
    quality = StrictIntegerField(required=False, min_value=0, max_value=100)
    fullPage = StrictBooleanField(required=False)
    clip = ClipSerializer(required=False)
    selector = StrictCharField(required=False, max_length=1000)
    transparent = StrictBooleanField(required=False)
    trim = StrictBooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("clip") and attrs.get("selector"):
            raise serializers.ValidationError({"clip": "send either clip or selector, not both"})
        if attrs.get("transparent") and attrs.get("imageType") == "jpeg":
            raise serializers.ValidationError({"transparent": "needs imageType png or webp"})
        return attrs


# Image options only a browser can honour (WeasyPrint renders page 1 and encodes it).
BROWSER_ONLY_IMAGE_OPTIONS = ("clip", "selector")
