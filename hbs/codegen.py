"""Turn the AST into Python source, one function per program, as pybars3 does.

Like pybars3's ``CodeBuilder`` the template becomes Python source that is compiled once and then
only called; rendering never walks the tree. What the generated code calls is
:mod:`hbs.runtime`, and the decisions taken here mirror handlebars.js's
``compiler.js`` (``classifySexpr``: helper / ambiguous / simple, block-param resolution, known
helpers). Template text only ever reaches the generated source through ``repr()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hbs import ast, runtime
from hbs.errors import TemplateSyntaxError
from hbs.jsvalues import escape_expression, to_js_string

_SCOPED = re.compile(r"^\.|this\b", re.ASCII)
_ONE_ARGUMENT_BLOCKS = {"if", "unless", "with", "each"}
# Values printed between two budget checkpoints in a long program (hbs.budget).
CHECKPOINT_EVERY = 8

RUNTIME_GLOBALS: dict[str, Any] = {
    "__builtins__": {},
    "path": runtime.path,
    "path_falsy": runtime.path_falsy,
    "data_path": runtime.data_path,
    "depth_context": runtime.depth_context,
    "block_param": runtime.block_param,
    "escape": escape_expression,
    "to_output": runtime.to_output,
    "EMPTY_HASH": runtime.EMPTY_HASH,
}


def _error(message: str, loc: ast.Loc) -> TemplateSyntaxError:
    return TemplateSyntaxError(f"{message} - {loc}", loc.line, loc.column)


def _literal_text(literal: ast.Literal) -> str:
    """``literal.original + ''`` in JavaScript."""
    if literal.value is None:
        return "null" if literal.kind == "null" else "undefined"
    return to_js_string(literal.value)


def _literal_to_path(node: ast.Expression) -> ast.PathExpression | ast.SubExpression:
    """``transformLiteralToPath``: ``{{"foo bar"}}`` / ``{{12}}`` look the literal up as a name."""
    if isinstance(node, ast.Literal):
        text = _literal_text(node)
        return ast.PathExpression(False, 0, [text], text, node.loc)
    return node


def _is_scoped(path: ast.PathExpression) -> bool:
    return _SCOPED.search(path.original) is not None


def _is_simple(path: ast.PathExpression) -> bool:
    return len(path.parts) == 1 and not _is_scoped(path) and not path.depth


class CodeGenerator:
    def __init__(self) -> None:
        self.functions: list[str] = []
        self.counter = 0
        self.block_params: list[list[str] | None] = []

    def generate(self, program: ast.Program) -> tuple[str, str]:
        """Return (python source, name of the root function)."""
        root = self.program(program)
        return "\n\n".join(self.functions) + "\n", root

    # -- programs and statements -------------------------------------------------------------

    def program(self, program: ast.Program) -> str:
        name = f"program_{self.counter}"
        self.counter += 1
        self.block_params.insert(0, program.block_params)
        lines = [
            f"def {name}(rt, ctx, depths, data, bps, partials):",
            "    out = []",
            "    emit = out.append",
        ]
        inline: list[tuple[str, str]] = []
        # Values, blocks and partials: what a call of this program costs in budget steps, and
        # what can make its output larger than the template and the data (hbs.budget). A long
        # program checks its budget every CHECKPOINT_EVERY of them, not only when it is called
        # and when it joins its output: `{{big}}` a thousand times is a thousand escapes of it.
        dynamic = 0
        if sum(1 for statement in program.body if _is_dynamic(statement)) > CHECKPOINT_EVERY:
            lines.append("    size = mark = 0")
        for statement in program.body:
            self.statement(statement, lines, inline)
            if _is_dynamic(statement):
                dynamic += 1
                if dynamic % CHECKPOINT_EVERY == 0:
                    lines.append("    size, mark = rt.checkpoint(out, size, mark)")
        if dynamic > 1:
            lines.append("    return ''.join(out) if rt.budget is None else rt.join(out)")
        else:
            lines.append("    return ''.join(out)")
        self.block_params.pop(0)
        pairs = "".join(f"({partial_name!r}, {function}), " for partial_name, function in inline)
        lines.append(f"{name}.inline = ({pairs})")
        lines.append(f"{name}.cost = {dynamic + 1}")
        self.functions.append("\n".join(lines))
        return name

    def statement(self, node: ast.Statement, lines: list[str], inline: list[tuple[str, str]]) -> None:
        if isinstance(node, ast.ContentStatement):
            if node.value:
                lines.append(f"    emit({node.value!r})")
        elif isinstance(node, ast.CommentStatement):
            return
        elif isinstance(node, ast.MustacheStatement):
            if node.decorator:
                raise _error(f'Unknown decorator "{_describe(node.path)}"', node.loc)
            value = self.call(node, node.path)
            wrapper = "escape" if node.escaped else "to_output"
            lines.append(f"    emit({wrapper}({value}))")
        elif isinstance(node, ast.BlockStatement):
            if node.decorator:
                inline.append(self.inline_partial(node))
                return
            self.check_block_arity(node)
            fn = self.program_value(node.program)
            inverse = self.program_value(node.inverse)
            value = self.call(node, node.path, fn, inverse, block=True)
            lines.append(f"    emit(to_output({value}))")
        else:
            lines.append(f"    emit({self.partial(node)})")

    def inline_partial(self, node: ast.BlockStatement) -> tuple[str, str]:
        path = _literal_to_path(node.path)
        if not isinstance(path, ast.PathExpression) or path.original != "inline":
            raise _error(f'Unknown decorator "{_describe(node.path)}"', node.loc)
        if not node.params:
            name = "undefined"
        elif isinstance(node.params[0], ast.Literal):
            name = _literal_text(node.params[0])
        else:
            raise _error("#*inline needs a literal partial name", node.loc)
        assert node.program is not None
        return name, self.program(node.program)

    def check_block_arity(self, node: ast.BlockStatement) -> None:
        # handlebars.js throws these from the helper at render time; failing at compile time tells
        # the template author at once instead of on the first render that reaches the block.
        path = node.path
        if (
            isinstance(path, ast.PathExpression)
            and _is_simple(path)
            and path.parts[0] in _ONE_ARGUMENT_BLOCKS
            and len(node.params) != 1
            and self.block_param_index(path.parts[0]) is None
        ):
            name = path.parts[0]
            message = "Must pass iterator to #each" if name == "each" else f"#{name} requires exactly one argument"
            raise _error(message, node.loc)

    def program_value(self, program: ast.Program | None) -> str:
        if program is None:
            return "None"
        return f"rt.prog({self.program(program)}, depths, data, bps, partials)"

    def partial(self, node: ast.PartialStatement | ast.PartialBlockStatement) -> str:
        if len(node.params) > 1:
            raise _error(f"Unsupported number of partial arguments: {len(node.params)}", node.loc)
        name_node = node.name
        if isinstance(name_node, ast.SubExpression):
            name_code, dynamic = self.call(name_node, name_node.path), True
        else:
            if isinstance(name_node, ast.Literal):
                name = _literal_text(name_node)
            else:
                name = name_node.original
            name_code, dynamic = repr(name), False
        context = self.expression(node.params[0]) if node.params else "ctx"
        hash_code = self.hash(node.hash) if node.hash else "None"
        fn = self.program_value(node.program) if isinstance(node, ast.PartialBlockStatement) else "None"
        indent = node.indent if isinstance(node, ast.PartialStatement) else ""
        return f"rt.partial({name_code}, {dynamic}, {context}, {hash_code}, data, partials, {fn}, {indent!r})"

    # -- expressions -------------------------------------------------------------------------

    def block_param_index(self, name: str) -> tuple[int, int] | None:
        for depth, params in enumerate(self.block_params):
            if params and name in params:
                return depth, params.index(name)
        return None

    def classify(
        self,
        node: ast.MustacheStatement | ast.BlockStatement | ast.SubExpression,
        path: ast.Expression,
    ) -> str:
        if not isinstance(path, ast.PathExpression):
            return "simple"
        is_simple = _is_simple(path)
        is_block_param = is_simple and self.block_param_index(path.parts[0]) is not None
        has_arguments = bool(node.params) or node.hash is not None
        is_helper = not is_block_param and (isinstance(node, ast.SubExpression) or has_arguments)
        is_eligible = not is_block_param and (is_helper or is_simple)
        if is_eligible and not is_helper and path.parts[0] in runtime.KNOWN_HELPERS:
            is_helper = True
        if is_helper:
            return "helper"
        return "ambiguous" if is_eligible else "simple"

    def call(
        self,
        node: ast.MustacheStatement | ast.BlockStatement | ast.SubExpression,
        path_node: ast.Expression,
        fn: str = "None",
        inverse: str = "None",
        block: bool = False,
    ) -> str:
        path = _literal_to_path(path_node)
        kind = self.classify(node, path)
        if kind == "helper":
            assert isinstance(path, ast.PathExpression)
            params = ", ".join(self.expression(param) for param in node.params)
            hash_code = self.hash(node.hash) if node.hash else "EMPTY_HASH"
            name = path.parts[0] if path.parts else ""
            if name in runtime.KNOWN_HELPERS:
                return f"rt.known({name!r}, ctx, [{params}], {hash_code}, {fn}, {inverse}, data, {block})"
            candidate = self.path(path, falsy=True)
            return (
                f"rt.helper({name!r}, {path.original!r}, {_is_simple(path)}, {candidate}, ctx, [{params}], "
                f"{hash_code}, {fn}, {inverse}, data, {block})"
            )
        value = self.expression(path)
        if kind == "simple":
            if block:
                original = path.original if isinstance(path, ast.PathExpression) else ""
                return f"rt.block_value({value}, ctx, {fn}, {inverse}, data, {original!r})"
            return value
        assert isinstance(path, ast.PathExpression)
        name = path.parts[0]
        if block:
            return f"rt.ambiguous_block({name!r}, {value}, ctx, {fn}, {inverse}, data)"
        if path.data:
            # `{{@first}}`: the data frame is where the value was looked up (see Runtime.data_first).
            return f"rt.ambiguous({name!r}, {value}, ctx, data, data)"
        return f"rt.ambiguous({name!r}, {value}, ctx, data)"

    def hash(self, pairs: list[tuple[str, ast.Expression]]) -> str:
        # handlebars.js assigns hash pairs last to first (so the first of two equal keys wins)
        # and leaves out keys whose value is the literal ``undefined``.
        final: dict[str, ast.Expression] = {}
        for key, value in reversed(pairs):
            final[key] = value
        items = ", ".join(
            f"{key!r}: {self.expression(value)}"
            for key, value in final.items()
            if not (isinstance(value, ast.Literal) and value.kind == "undefined")
        )
        return "{" + items + "}"

    def expression(self, node: ast.Expression) -> str:
        if isinstance(node, ast.Literal):
            return repr(node.value)
        if isinstance(node, ast.SubExpression):
            return self.call(node, node.path)
        return self.path(node)

    def path(self, node: ast.PathExpression, falsy: bool = False) -> str:
        name = node.parts[0] if node.parts else ""
        scoped = _is_scoped(node)
        index = self.block_param_index(name) if (not node.depth and not scoped and name) else None
        if index is not None:
            return f"block_param(bps, {index[0]}, {index[1]}, {tuple(node.parts[1:])!r})"
        base = "ctx" if not node.depth else f"depth_context(depths, {node.depth})"
        if not name:
            return base
        if node.data:
            return f"data_path(data, {node.depth}, {tuple(node.parts)!r})"
        function = "path_falsy" if falsy else "path"
        return f"{function}({base}, {tuple(node.parts)!r})"


def _is_dynamic(statement: ast.Statement) -> bool:
    if isinstance(statement, (ast.ContentStatement, ast.CommentStatement)):
        return False
    return not (isinstance(statement, ast.BlockStatement) and statement.decorator)


def _describe(node: ast.Expression) -> str:
    if isinstance(node, ast.PathExpression):
        return node.original
    if isinstance(node, ast.Literal):
        return to_js_string(node.value)
    return "(subexpression)"


def compile_program(program: ast.Program) -> Callable[..., str]:
    """Generate, compile and load the Python functions of ``program``; return the root function."""
    source, root = CodeGenerator().generate(program)
    namespace = dict(RUNTIME_GLOBALS)
    try:
        code = compile(source, "<handlebars template>", "exec")
    except (RecursionError, MemoryError, SyntaxError) as exc:
        raise TemplateSyntaxError("Template is nested too deeply", 1, 0) from exc
    # Generated from the AST: template text only ever appears in it through repr().
    exec(code, namespace)  # noqa: S102
    return namespace[root]
