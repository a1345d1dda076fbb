from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from billing.models import WorkspaceLimits


@dataclass(frozen=True)
class EffectiveLimits:
    render_timeout_seconds: int
    max_input_bytes: int
    max_pdf_bytes: int
    requests_per_minute: int | None


def limits_for(*, workspace_id: str) -> EffectiveLimits:
    row = WorkspaceLimits.objects.filter(workspace_id=workspace_id).first()

    def pick(name: str, default: int | None) -> int | None:
        value = getattr(row, name, None) if row else None
        return default if value is None else value

    return EffectiveLimits(
        render_timeout_seconds=pick("render_timeout_seconds", settings.RENDER_TIMEOUT_SECONDS),  # type: ignore[arg-type]
        max_input_bytes=pick("max_input_bytes", settings.MAX_INPUT_BYTES),  # type: ignore[arg-type]
        max_pdf_bytes=pick("max_pdf_bytes", settings.MAX_PDF_BYTES),  # type: ignore[arg-type]
        requests_per_minute=pick("requests_per_minute", settings.DEFAULT_RATE_LIMIT_PER_MINUTE),
    )
