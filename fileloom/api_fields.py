"""Strict JSON serializer fields: a value of the wrong JSON type is an error, never coerced.

DRF's own fields accept "10" for a number and "yes" for a boolean; the public API promises that a
wrong type is a VALIDATION_ERROR naming the field.
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers


class StrictNumberField(serializers.FloatField):
    """A JSON number; strings and booleans are type errors, not coerced."""

    default_error_messages = {"invalid": "must be a number"}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer; strings, booleans and fractions are type errors, not coerced."""

    default_error_messages = {"invalid": "must be a whole number"}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "must be true or false"}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictObjectField(serializers.DictField):
    default_error_messages = {"not_a_dict": "must be a JSON object"}
