from datetime import UTC, datetime

import pytest

from storage_app import paths

WHEN = datetime(2024, 12, 5, 10, 30, tzinfo=UTC)


def render(pattern: str, **overrides: str) -> str:
    values = {
        "created_at": WHEN,
        "workspace_id": "ws_abc",
        "template_id": "tpl_invoice",
        "file_id": "file_1_x",
        "filename": "report.pdf",
        "default_name": "report-1733394600000.pdf",
    }
    values.update(overrides)
    return paths.render(pattern, **values)  # type: ignore[arg-type]


def test_the_default_pattern_is_a_dated_folder_with_the_built_in_name():
    assert render("pdfs/{{year}}/{{month}}/") == "pdfs/2024/12/report-1733394600000.pdf"


def test_every_variable_is_substituted():
    pattern = "{{workspaceId}}/{{templateId}}/{{year}}-{{month}}-{{day}}/{{fileId}}-{{filename}}"
    assert render(pattern) == "ws_abc/tpl_invoice/2024-12-05/file_1_x-report.pdf"


def test_single_brace_aliases_and_inner_spaces_work():
    assert render("out/{year}/{ month }/{{ day }}/") == "out/2024/12/05/report-1733394600000.pdf"


def test_a_pattern_without_trailing_slash_is_still_a_folder():
    assert render("reports") == "reports/report-1733394600000.pdf"


def test_an_empty_pattern_writes_at_the_bucket_root():
    assert render("") == "report-1733394600000.pdf"


def test_an_empty_template_id_leaves_no_double_slash():
    assert render("pdfs/{{templateId}}/{{year}}/", template_id="") == "pdfs/2024/report-1733394600000.pdf"


def test_values_cannot_add_folders_or_climb_out():
    assert render("a/{{filename}}", filename="../../x.pdf") == "a/..-..-x.pdf"
    assert render("{{templateId}}/x/", template_id="..") == "_/x/report-1733394600000.pdf"


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("pdfs/{{yaer}}/", "unknown variable(s): yaer"),
        ("pdfs/{{year}/", "unbalanced"),
        ("pdfs/../other/", "'..'"),
        ("pdfs\\x/", "backslashes"),
        ("x" * 501, "at most 500"),
    ],
)
def test_bad_patterns_are_explained(pattern, problem):
    assert any(problem in found for found in paths.problems(pattern)), paths.problems(pattern)


def test_good_patterns_have_no_problems():
    assert paths.problems("pdfs/{{year}}/{month}/{{fileId}}-{{filename}}") == []


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("pdfs/{{year}}/{{month}}/", "pdfs/"),
        ("exports/acme/{{year}}", "exports/acme/"),
        ("{{year}}/", ""),
        ("", ""),
        ("static/folder/", "static/folder/"),
    ],
)
def test_the_connection_test_writes_under_the_static_prefix(pattern, prefix):
    assert paths.static_prefix(pattern) == prefix
