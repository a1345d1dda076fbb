from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hbs.helpers import clock

FROZEN_NOW = datetime(2024, 12, 15, 10, 30, tzinfo=UTC)


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Freeze the helpers' clock at 2024-12-15T10:30:00Z (the time the docs examples assume)."""
    monkeypatch.setattr(clock, "now", lambda: FROZEN_NOW)
    return FROZEN_NOW


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many corpus cases render exactly as handlebars.js does."""
    reports = [
        report
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if report.when == "call" and "test_renders_like_handlebars_js" in report.nodeid
    ]
    if reports:
        agreeing = sum(1 for report in reports if report.passed)
        terminalreporter.write_line(f"agreement: {agreeing}/{len(reports)}")
