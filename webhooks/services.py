from __future__ import annotations


def generation_event_emit(*, generation) -> None:  # type: ignore[no-untyped-def]
    """Record pdf.generated / pdf.failed for a finished generation (inside its transaction).

    Called by documents.services in the same transaction that completes or fails the
    generation, so a rolled-back generation emits nothing. Delivery happens after commit.
    (The webhooks issue implements this.)
    """
