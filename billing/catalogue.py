"""What is for sale: the seeded plans and the credit packs.

Plans are rows (editable in the admin); these are their initial values, from fileloom.io's
published limits. Where the source is silent we chose (docs/billing.md says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

MB = 1024 * 1024
SELF_HOSTED = "self-hosted"
FREE = "free"
PACK_LIFETIME = timedelta(days=90)

PLAN_FIELDS = (
    "monthly_pdfs", "requests_per_minute", "render_timeout_seconds", "max_html_bytes", "max_pdf_bytes",
    "retention_days", "team_members", "templates", "api_keys",
)  # fmt: skip

# slug, name, then PLAN_FIELDS in order; None = unlimited (or the server's setting)
PLANS: list[tuple] = [
    (SELF_HOSTED, "Self-hosted", None, None, None, None, None, None, None, None, None),
    (FREE, "Free", 100, 60, 15, 2 * MB, 10 * MB, 7, 2, 5, 1),
    ("starter", "Starter", 2_000, 120, 30, 5 * MB, 25 * MB, 30, 3, 50, 2),
    ("growth", "Growth", 10_000, 200, 45, 10 * MB, 50 * MB, 90, 5, None, 5),
    ("scale", "Scale", 50_000, 400, 120, 50 * MB, 50 * MB, 180, 10, None, 10),
    ("scale-business", "Scale Business", 150_000, 1_000, 240, 100 * MB, 100 * MB, 365, 25, None, 25),
    ("scale-enterprise", "Scale Enterprise", 500_000, None, 300, 250 * MB, 250 * MB, 365, None, None, None),
]


def plan_rows() -> list[dict]:
    return [
        {
            "slug": slug,
            "name": name,
            "position": position,
            "is_public": slug != SELF_HOSTED,
            **dict(zip(PLAN_FIELDS, values, strict=True)),
        }
        for position, (slug, name, *values) in enumerate(PLANS)
    ]


@dataclass(frozen=True)
class PackOffer:
    credits: int
    name: str
    price_cents: int


PACKS: dict[int, PackOffer] = {
    offer.credits: offer
    for offer in [
        PackOffer(500, "Starter pack", 700),
        PackOffer(2_000, "Professional pack", 2_000),
        PackOffer(5_000, "Business pack", 4_500),
        PackOffer(10_000, "Enterprise pack", 8_000),
        PackOffer(25_000, "Mega pack", 17_500),
    ]
}
