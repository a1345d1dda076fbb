import pytest


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
