"""The package as its callers see it: the public API, explicit helpers, and no Django.

hbs is the bottom floor of the project: it imports neither Django nor any other package of the
project, and it finds no helpers on its own. The caller passes ordinary helpers (handlebars.js's
rule) and, separately, a helper library (whose names yield to data of the same name).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hbs
from hbs.helpers import HELPERS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "hbs"


def test_the_public_api_is_exported_from_the_package() -> None:
    assert set(hbs.__all__) >= {
        "render",
        "compile_template",
        "cache_clear",
        "CompiledTemplate",
        "SafeString",
        "escape_expression",
        "TemplateError",
        "TemplateSyntaxError",
        "TemplateRuntimeError",
    }
    for name in hbs.__all__:
        assert getattr(hbs, name) is not None


def test_render_returns_the_rendered_text() -> None:
    assert hbs.render("Hello {{name}}!", {"name": "<World>"}) == "Hello &lt;World&gt;!"


def test_a_compiled_template_renders_like_render_and_takes_the_same_helpers() -> None:
    template = hbs.compile_template("{{greet name}} {{title}}")
    library = {"greet": lambda name: f"hi {name}", "title": lambda: "helper"}
    assert template({"name": "Ann"}, library=library) == "hi Ann helper"
    assert template({"name": "Ann", "title": "data"}, library=library) == "hi Ann data"
    assert template({"name": "Bo", "title": "data"}, helpers=library) == "hi Bo helper"


def test_a_safe_string_in_the_data_is_printed_unescaped() -> None:
    data = {"html": hbs.SafeString("<b>bold</b>"), "text": "<b>bold</b>"}
    assert hbs.render("{{html}} {{text}}", data) == "<b>bold</b> &lt;b&gt;bold&lt;/b&gt;"


def test_escape_expression_is_handlebars_js_escape_expression() -> None:
    assert hbs.escape_expression("<a href='x'>=`&\"") == "&lt;a href&#x3D;&#x27;x&#x27;&gt;&#x3D;&#x60;&amp;&quot;"
    assert hbs.escape_expression(hbs.SafeString("<b>")) == "<b>"
    assert hbs.escape_expression(None) == ""


def test_every_error_is_a_template_error_with_its_position_when_it_is_a_syntax_error() -> None:
    with pytest.raises(hbs.TemplateError) as caught:
        hbs.compile_template("<p>\n{{#each items}}\n{{/if}}")
    error = caught.value
    assert isinstance(error, hbs.TemplateSyntaxError)
    assert (error.line, error.column) == (2, 3)
    assert error.message == str(error) == "each doesn't match if - 2:3"
    with pytest.raises(hbs.TemplateError) as caught:
        hbs.render("{{> missing}}", {})
    assert isinstance(caught.value, hbs.TemplateRuntimeError)


def test_without_a_library_no_fileloom_helper_exists() -> None:
    with pytest.raises(hbs.TemplateRuntimeError, match='Missing helper: "uppercase"'):
        hbs.render("{{uppercase 'a'}}", {})
    assert hbs.render("[{{uppercase}}]", {}) == "[]"  # a missing value, as in handlebars.js
    assert hbs.render("{{uppercase 'a'}}", {}, library=HELPERS) == "A"


def test_an_ordinary_helper_wins_over_data_of_the_same_name() -> None:
    helpers = {"total": lambda: "helper"}
    assert hbs.render("{{total}}", {"total": "data"}, helpers=helpers) == "helper"


def test_a_library_helper_yields_to_data_of_the_same_name_in_a_bare_mustache() -> None:
    library = {"total": lambda *args: "helper" + "".join(map(str, args))}
    assert hbs.render("{{total}}", {"total": "data"}, library=library) == "data"
    assert hbs.render("{{total}}", {}, library=library) == "helper"
    assert hbs.render("{{total 1}}", {"total": "data"}, library=library) == "helper1"
    assert hbs.render("{{#each xs}}{{@total}}{{/each}}", {"xs": [1]}, library=library) == "helper"


def test_a_name_passed_as_both_helper_and_library_helper_is_an_ordinary_helper() -> None:
    library = {"total": lambda: "library"}
    helpers = {"total": lambda: "helper"}
    assert hbs.render("{{total}}", {"total": "data"}, helpers=helpers, library=library) == "helper"


def test_the_rule_follows_the_library_the_caller_passes_not_fileloom_s() -> None:
    # invoiceNumber is one of Fileloom's helpers; passed as an ordinary helper it always wins.
    helpers = {"invoiceNumber": HELPERS["invoiceNumber"]}
    out = hbs.render("{{invoiceNumber}}", {"invoiceNumber": "INV-1"}, helpers=helpers)
    assert out.startswith("INV-") and out != "INV-1"
    assert hbs.render("{{invoiceNumber}}", {"invoiceNumber": "INV-1"}, library=HELPERS) == "INV-1"


def _project_packages() -> set[str]:
    return {
        path.name
        for path in ROOT.iterdir()
        if (path / "__init__.py").is_file() and path.name not in {"hbs", "tests", "bench"}
    }


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):  # function-level imports included
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_imports_neither_django_nor_another_package_of_the_project() -> None:
    forbidden = _project_packages() | {"django", "rest_framework", "celery"}
    assert {"fileloom", "rendering", "templates_app"} <= forbidden
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20
    offending = {
        str(path.relative_to(ROOT)): sorted(_imported_top_levels(path) & forbidden)
        for path in sources
        if _imported_top_levels(path) & forbidden
    }
    assert offending == {}


DJANGO_ABSENT = """
import json, pkgutil, sys
sys.modules["django"] = None  # any `import django...` now raises ImportError
import hbs
assert "hbs.helpers" not in sys.modules, "the engine must not load the helper library itself"
from hbs.helpers import HELPERS
for module in pkgutil.walk_packages(hbs.__path__, "hbs."):
    __import__(module.name)
data = json.loads(sys.argv[1])
template = sys.argv[2]
output = hbs.render(template, data, library=HELPERS)
loaded = sorted(name for name in sys.modules if name.split(".")[0] in set(sys.argv[3].split(",")))
print(json.dumps({"output": output, "loaded": loaded}))
"""


def test_it_imports_and_renders_with_the_helper_library_when_django_is_absent() -> None:
    template = (
        "{{uppercase name}} | {{currency total 'EUR' 'de-DE'}} | {{formatDate when 'YYYY-MM-DD'}} | "
        "{{add 1 2}} | {{#if (gt total 100)}}big{{/if}} | {{invoiceNumber}} | {{truncate note 5}}"
    )
    data: dict[str, Any] = {
        "name": "acme",
        "total": 1250.5,
        "when": "2024-12-15T10:30:00Z",
        "invoiceNumber": "INV-1",
        "note": "<b>hello world",
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            DJANGO_ABSENT,
            json.dumps(data),
            template,
            ",".join(sorted(_project_packages() | {"django"})),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["output"] == "ACME | 1.250,50\xa0€ | 2024-12-15 | 3 | big | INV-1 | &lt;b&gt;he"
    assert result["loaded"] == ["django"]  # only the blocking None entry: nothing else was imported
