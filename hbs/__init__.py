"""Handlebars templates rendered exactly like handlebars.js 4.7: the engine behind every Fileloom PDF.

A plain library: it imports no Django and nothing else of the project, and it finds no helpers
on its own. The caller passes them in.

Public API::

    import hbs
    from hbs.helpers import HELPERS          # the helper library (140 names, docs/helpers.md)

    hbs.render(source, data, partials=None, helpers=None, *, library=None, budget=None) -> str
    hbs.compile_template(source) -> CompiledTemplate   # cached; call it like render: t(data, ...)
    hbs.cache_clear()
    hbs.SafeString, hbs.escape_expression
    hbs.Budget(max_output_bytes=None, max_seconds=None, max_steps=None)   # see hbs.budget
    hbs.TemplateError > hbs.TemplateSyntaxError (line, column), hbs.TemplateRuntimeError
        > hbs.TemplateLimitExceeded (limit, value) > hbs.TemplateOutputTooLarge, hbs.TemplateTooComplex

A template is a program, and a tenant's template can loop for minutes or print gigabytes. Pass a
:class:`Budget` to stop a render while it runs as soon as it exceeds its output, time or step
limit (:mod:`hbs.budget`); without one a render is unbounded.

Helpers come in two kinds, and the caller says which is which:

* ``helpers=`` are ordinary helpers with handlebars.js's rule: a helper always wins over data of
  the same name. The differential suite against handlebars.js passes its helpers this way.
* ``library=`` is a helper *library* (Fileloom's is :data:`hbs.helpers.HELPERS`). One deliberate
  departure from handlebars.js applies to it: a bare mustache (``{{name}}``/``{{{name}}}``, also
  ``{{@name}}``; no parameters, no hash) whose name is a library helper prints the value of the
  same name when the current context (the data frame for ``@name``) has one, so that
  ``{{invoiceNumber}}`` prints the caller's invoice number and ``{{@first}}`` the loop flag. With
  arguments, a hash, in a subexpression or as a block the helper is always called. A name given
  in both ``helpers`` and ``library`` is an ordinary helper (``helpers`` wins, and so does its
  rule). Leaving ``library`` out gives plain handlebars.js.

Helpers are plain functions ``fn(*params, **hash)`` receiving JSON-like values (``None`` for
null/undefined). Their result is printed with JavaScript's ``String()`` and HTML-escaped unless it
is a :class:`SafeString`; inside a subexpression the raw value is passed on. Used as a block
(``{{#helper a}}…{{else}}…{{/helper}}``) the result picks the branch the way a data value would:
truthy renders the block, falsy the ``{{else}}``, a list iterates, an object becomes the block's
context. A helper that raises becomes a :class:`TemplateRuntimeError` naming it. handlebars.js's
own helpers (``if``, ``unless``, ``each``, ``with``, ``lookup``, ``log``) are always there.

Partials are a mapping of name to source; they are compiled (and cached) like templates. Syntax
errors carry handlebars.js's wording and position (``line`` 1-based, ``column`` 0-based).

How it is built on pybars3 (0.9.7), and where it departs from it:

* Parsing uses pybars3's PyMeta/OMeta machinery: the grammar class *extends* pybars3's
  ``Compiler._handlebars`` grammar (see :mod:`hbs.parser`). Its statement rules are replaced by a
  rule-for-rule port of handlebars.js's ``handlebars.yy`` / ``handlebars.l``, because pybars3's
  rules silently mis-parse ``{{else if}}`` chains, drop ``{{else}}`` on ``with``/``unless`` and
  cannot parse block params, partial blocks, inline partials, ``\\{{`` escapes or comments
  containing ``}}``.
* Whitespace: pybars3 strips standalone lines with regular expressions over the source; that
  cannot follow handlebars.js's rules (they depend on neighbouring AST nodes, ``{{else}}`` chains
  and partial indentation), so :mod:`hbs.whitespace` ports ``whitespace-control.js`` as an AST
  pass between parsing and code generation.
* Code generation follows pybars3's design — each program becomes a Python function, compiled
  once and then only called — in :mod:`hbs.codegen`.
* The runtime is replaced (:mod:`hbs.runtime`): pybars3's ``resolve``/``pick`` fall back to
  ``getattr`` on any object (unsafe with tenant templates), print with ``str()``, test with Python
  truthiness, and its ``Scope`` cannot model handlebars.js's context stack, data frames and block
  params. Values print and compare as JavaScript does through :mod:`hbs.jsvalues`.
"""

from __future__ import annotations

from hbs.budget import Budget
from hbs.engine import CompiledTemplate, Helper, cache_clear, compile_template, render
from hbs.errors import (
    TemplateError,
    TemplateLimitExceeded,
    TemplateOutputTooLarge,
    TemplateRuntimeError,
    TemplateSyntaxError,
    TemplateTooComplex,
)
from hbs.jsvalues import SafeString, escape_expression

__all__ = [
    "Budget",
    "CompiledTemplate",
    "Helper",
    "SafeString",
    "TemplateError",
    "TemplateLimitExceeded",
    "TemplateOutputTooLarge",
    "TemplateRuntimeError",
    "TemplateSyntaxError",
    "TemplateTooComplex",
    "cache_clear",
    "compile_template",
    "escape_expression",
    "render",
]
