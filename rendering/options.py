"""The page `options` object: one validation for the API, template settings, the admin and the CLI.

Units are millimetres, as in the fileloom.io API. Unknown keys are ignored.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from fileloom.api_fields import StrictBooleanField, StrictCharField, StrictNumberField
from fileloom.errors import ValidationFailed, to_application_error
from rendering.pages import FORMATS


class MarginSerializer(serializers.Serializer):
    top = StrictNumberField(required=False, min_value=0, max_value=500)
    right = StrictNumberField(required=False, min_value=0, max_value=500)
    bottom = StrictNumberField(required=False, min_value=0, max_value=500)
    left = StrictNumberField(required=False, min_value=0, max_value=500)


class BandSerializer(serializers.Serializer):
    enabled = StrictBooleanField(required=False)
    height = StrictNumberField(required=False, min_value=0, max_value=500)
    content = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)


class OptionsSerializer(serializers.Serializer):
    """Page options in millimetres. Unknown keys are ignored."""

    format = serializers.ChoiceField(choices=FORMATS, required=False)
    orientation = serializers.ChoiceField(choices=["portrait", "landscape"], required=False)
    width = StrictNumberField(required=False, min_value=1, max_value=5000)
    height = StrictNumberField(required=False, min_value=1, max_value=5000)
    margin = MarginSerializer(required=False)
    printBackground = StrictBooleanField(required=False)
    header = BandSerializer(required=False)
    footer = BandSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("format") == "Custom" and not (attrs.get("width") and attrs.get("height")):
            raise serializers.ValidationError("format Custom needs width and height (mm)")
        return attrs


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
