"""Parse Handlebars source into the handlebars.js-shaped AST of :mod:`hbs.ast`.

The parser is a PyMeta (OMeta) grammar built the way pybars3 builds its own: the grammar class is
made with ``makeGrammar`` on pybars3's grammar class (``pybars.Compiler._handlebars``), so it
runs on the same PyMeta machinery. Every handlebars rule is redefined, though: pybars3's rules
cannot express ``{{else if}}`` chains, ``{{else}}`` on ``with``/``unless``, block params, partial
blocks, inline partials, ``{{!-- --}}`` comments containing ``}}`` or ``\\{{`` escapes, and
patching them one by one would keep their other divergences from handlebars.js.

The grammar rules mirror handlebars.js's ``src/handlebars.yy`` one for one. Tokens come from
:func:`lex_mu`, a port of the ``mu`` state of ``src/handlebars.l`` (same regular expressions, same
first-match order), exposed to the grammar as the ``tok`` rule. Scanning plain text and raw blocks
character by character in OMeta would cost ~10 µs per character, so those two lexer states are
Python rules of the grammar class (``content`` and ``rawContents``) that jump ahead with regular
expressions. Syntax errors report the furthest token the grammar could not accept, as jison does.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from typing import Any, NamedTuple

from hbs import ast
from hbs.budget import Budget
from hbs.errors import TemplateSyntaxError
from hbs.jsvalues import to_js_string


class Token(NamedTuple):
    kind: str
    text: str  # the token text after the lexer's own rewriting (string unescaping, ...)
    start: int
    end: int


# The ``mu`` lexer state of handlebars.l, in its rule order (jison takes the first rule that matches).
_ID = r"""[^\s!"#%-,\.\/;->@\[-\^`\{-~]+(?=[=~}\s\/.)|])"""
_LITERAL_LOOKAHEAD = r"(?=[~}\s)])"
_MU_RULES: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(pattern))
    for kind, pattern in [
        ("OPEN_SEXPR", r"\("),
        ("CLOSE_SEXPR", r"\)"),
        ("OPEN_RAW_BLOCK", r"\{\{\{\{"),
        ("CLOSE_RAW_BLOCK", r"\}\}\}\}"),
        ("OPEN_PARTIAL", r"\{\{(~)?>"),
        ("OPEN_PARTIAL_BLOCK", r"\{\{(~)?#>"),
        ("OPEN_BLOCK", r"\{\{(~)?#\*?"),
        ("OPEN_ENDBLOCK", r"\{\{(~)?/"),
        ("INVERSE", r"\{\{(~)?\^\s*(~)?\}\}"),
        ("INVERSE", r"\{\{(~)?\s*else\s*(~)?\}\}"),
        ("OPEN_INVERSE", r"\{\{(~)?\^"),
        ("OPEN_INVERSE_CHAIN", r"(?a:\{\{(~)?\s*else\b)"),
        ("OPEN_UNESCAPED", r"\{\{(~)?\{"),
        ("OPEN", r"\{\{(~)?&"),
        ("COMMENT_LONG", r"\{\{(~)?!--"),
        ("COMMENT", r"\{\{(~)?![\s\S]*?\}\}"),
        ("OPEN", r"\{\{(~)?\*?"),
        ("EQUALS", r"="),
        ("ID", r"\.\."),
        ("ID", r"\.(?=[=~}\s\/.)|])"),
        ("SEP", r"[\/.]"),
        ("CLOSE_UNESCAPED", r"\}(~)?\}\}"),
        ("CLOSE", r"(~)?\}\}"),
        ("STRING", r'"(\\["]|[^"])*"'),
        ("STRING", r"'(\\[']|[^'])*'"),
        ("DATA", r"@"),
        ("BOOLEAN", r"true" + _LITERAL_LOOKAHEAD),
        ("BOOLEAN", r"false" + _LITERAL_LOOKAHEAD),
        ("UNDEFINED", r"undefined" + _LITERAL_LOOKAHEAD),
        ("NULL", r"null" + _LITERAL_LOOKAHEAD),
        ("NUMBER", r"-?[0-9]+(?:\.[0-9]+)?" + _LITERAL_LOOKAHEAD),
        ("OPEN_BLOCK_PARAMS", r"as\s+\|"),
        ("CLOSE_BLOCK_PARAMS", r"\|"),
        ("ID", _ID),
        ("ID", r"\[(\\\]|[^\]])*\]"),
        ("INVALID", r"."),
    ]
]
_WHITESPACE = re.compile(r"\s+")
_LONG_COMMENT = re.compile(r"[\s\S]*?--(~)?\}\}")
_BRACKET_ESCAPE = re.compile(r"\\([\\\]])")

# INITIAL / emu / raw states of handlebars.l.
_NEXT_OPEN = re.compile(r"\{\{")
_EMU_CONTENT = re.compile(r"[\s\S]{2,}?(?=\{\{|\\\{\{|\\\\\{\{|\Z)")
_RAW_OPEN = re.compile(r"\{\{\{\{(?=[^/])")
_RAW_CLOSE = re.compile(r"\{\{\{\{/" + r"""[^\s!"#%-,\.\/;->@\[-\^`\{-~]+(?=[=}\s\/.])\}\}\}\}""")
_RAW_TEXT = re.compile(r"[\s\S]+?(?=\{\{\{\{)")


def lex_mu(source: str, pos: int) -> Token:
    """The next token of the ``mu`` lexer state at ``pos`` (whitespace between tokens is skipped)."""
    skipped = _WHITESPACE.match(source, pos)
    if skipped:
        pos = skipped.end()
    if pos >= len(source):
        return Token("EOF", "", pos, pos)
    for kind, pattern in _MU_RULES:
        match = pattern.match(source, pos)
        if match is None:
            continue
        text = match.group(0)
        if kind == "COMMENT_LONG":
            comment = _LONG_COMMENT.match(source, pos)
            if comment is None:
                return Token("INVALID", text, pos, match.end())
            return Token("COMMENT", comment.group(0), pos, comment.end())
        if kind == "STRING":
            quote = text[0]
            return Token(kind, text[1:-1].replace("\\" + quote, quote), pos, match.end())
        if kind == "ID" and text.startswith("["):
            text = _BRACKET_ESCAPE.sub(r"\1", text)
        return Token(kind, text, pos, match.end())
    raise AssertionError("the INVALID rule matches any character")  # pragma: no cover


class _Positions:
    """Offset → (line, column) the way jison counts them."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\r\n?|\n", source)]

    def loc(self, offset: int) -> ast.Loc:
        line = bisect_right(self.line_starts, offset)
        return ast.Loc(line, offset - self.line_starts[line - 1])


def _strip_flags(open_text: str, close_text: str) -> ast.Strip:
    return ast.Strip(open=open_text[2:3] == "~", close=close_text[-3:-2] == "~")


def _id(token_text: str) -> str:
    if re.fullmatch(r"\[.*\]", token_text):
        return token_text[1:-1]
    return token_text


class _Builder:
    """The semantic actions of handlebars.yy (``yy.prepare*`` in compiler/helpers.js)."""

    def __init__(self, source: str) -> None:
        self.positions = _Positions(source)

    def loc(self, token: Token) -> ast.Loc:
        return self.positions.loc(token.start)

    def error(self, message: str, loc: ast.Loc) -> TemplateSyntaxError:
        return TemplateSyntaxError(f"{message} - {loc}", loc.line, loc.column)

    def program(self, statements: list[Any]) -> ast.Program:
        body: list[ast.Statement] = []
        for statement in statements:
            if isinstance(statement, list):
                body.extend(statement)
            else:
                body.append(statement)
        return ast.Program(body)

    def comment(self, token: Token) -> ast.CommentStatement:
        value = re.sub(r"-?-?~?\}\}\Z", "", re.sub(r"^\{\{~?!-?-?", "", token.text))
        return ast.CommentStatement(value, _strip_flags(token.text, token.text), self.loc(token))

    def path(self, data: bool, segments: list[Any], data_token: Token | None = None) -> ast.PathExpression:
        first = data_token or segments[0]
        loc = self.loc(first)
        original = "@" if data else ""
        parts: list[str] = []
        depth = 0
        for index, segment in enumerate(segments):
            separator: Token | None
            token: Token
            separator, token = (None, segment) if index == 0 else segment
            part = _id(token.text)
            is_literal = token.text != part
            original += separator.text if separator else ""
            original += part
            if not is_literal and part in ("..", ".", "this"):
                if parts:
                    raise self.error(f"Invalid path: {original}", loc)
                if part == "..":
                    depth += 1
            else:
                parts.append(part)
        return ast.PathExpression(data, depth, parts, original, loc)

    def literal(self, token: Token) -> ast.Literal:
        loc = self.loc(token)
        if token.kind == "STRING":
            return ast.Literal("string", token.text, loc)
        if token.kind == "NUMBER":
            number: int | float = float(token.text) if "." in token.text else int(token.text)
            if isinstance(number, float) and number.is_integer():
                number = int(number)
            return ast.Literal("number", number, loc)
        if token.kind == "BOOLEAN":
            return ast.Literal("boolean", token.text == "true", loc)
        if token.kind == "NULL":
            return ast.Literal("null", None, loc)
        return ast.Literal("undefined", None, loc)

    def sexpr(self, open_token: Token, body: tuple[Any, ...]) -> ast.SubExpression:
        path, params, hash_pairs = body
        return ast.SubExpression(path, params, hash_pairs, self.loc(open_token))

    def hash_pair(self, key: Token, value: ast.Expression) -> tuple[str, ast.Expression]:
        return (_id(key.text), value)

    def mustache(self, open_token: Token, body: tuple[Any, ...], close: Token) -> ast.MustacheStatement:
        path, params, hash_pairs = body
        text = open_token.text
        escape_flag = text[3:4] or text[2:3]
        return ast.MustacheStatement(
            path,
            params,
            hash_pairs,
            escaped=escape_flag not in ("{", "&"),
            strip=_strip_flags(text, close.text),
            loc=self.loc(open_token),
            decorator="*" in text,
        )

    def open(
        self,
        open_token: Token,
        body: tuple[Any, ...],
        block_params: list[Token] | None,
        close: Token,
    ) -> dict[str, Any]:
        path, params, hash_pairs = body
        return {
            "open": open_token.text,
            "path": path,
            "params": params,
            "hash": hash_pairs,
            "block_params": [t.text for t in block_params] if block_params else None,
            "strip": _strip_flags(open_token.text, close.text),
            "loc": self.loc(open_token),
        }

    def close(self, open_token: Token, path: ast.Expression, close: Token) -> dict[str, Any]:
        return {"path": path, "strip": _strip_flags(open_token.text, close.text)}

    def inverse_and_program(self, token: Token, program: ast.Program) -> dict[str, Any]:
        return {
            "strip": _strip_flags(token.text, token.text),
            "program": program,
            "chain": False,
        }

    def inverse_chain(
        self,
        open_block: dict[str, Any],
        program: ast.Program,
        chain: dict[str, Any] | None,
    ) -> dict[str, Any]:
        inverse = self.block(open_block, program, chain, chain, inverted=False)
        chained = ast.Program([inverse], chained=True)
        return {"strip": open_block["strip"], "program": chained, "chain": True}

    def _validate_close(self, open_block: dict[str, Any], close_name: object) -> None:
        open_name = open_block["path"].original
        if open_name != close_name:
            raise self.error(
                f"{to_js_string(open_name)} doesn't match {to_js_string(close_name)}",
                open_block["path"].loc,
            )

    def block(
        self,
        open_block: dict[str, Any],
        program: ast.Program,
        inverse_and_program: dict[str, Any] | None,
        close: dict[str, Any] | None,
        inverted: bool,
    ) -> ast.BlockStatement:
        if close is not None and "path" in close:
            self._validate_close(open_block, close["path"].original)
        decorator = "*" in open_block["open"]
        program.block_params = open_block["block_params"]
        inverse = None
        inverse_strip = None
        if inverse_and_program:
            if decorator:
                raise self.error("Unexpected inverse block on decorator", open_block["loc"])
            if inverse_and_program["chain"]:
                inverse_and_program["program"].body[0].close_strip = close["strip"] if close else None
            inverse_strip = inverse_and_program["strip"]
            inverse = inverse_and_program["program"]
        main: ast.Program | None = program
        if inverted:
            main, inverse = inverse, program
        return ast.BlockStatement(
            path=open_block["path"],
            params=open_block["params"],
            hash=open_block["hash"],
            program=main,
            inverse=inverse,
            open_strip=open_block["strip"],
            inverse_strip=inverse_strip,
            close_strip=close["strip"] if close else None,
            loc=open_block["loc"],
            decorator=decorator,
        )

    def partial(
        self,
        open_token: Token,
        name: ast.Expression,
        params: list[Any],
        hash_pairs: Any,
        close: Token,
    ) -> ast.PartialStatement:
        return ast.PartialStatement(
            name,
            params,
            hash_pairs,
            _strip_flags(open_token.text, close.text),
            self.loc(open_token),
        )

    def partial_block(
        self,
        open_token: Token,
        name: ast.Expression,
        params: list[Any],
        hash_pairs: Any,
        close: Token,
        program: ast.Program,
        close_block: dict[str, Any],
    ) -> ast.PartialBlockStatement:
        open_block = {"path": name}
        self._validate_close(open_block, close_block["path"].original)
        return ast.PartialBlockStatement(
            name,
            params,
            hash_pairs,
            program,
            open_strip=_strip_flags(open_token.text, close.text),
            close_strip=close_block["strip"],
            loc=self.loc(open_token),
        )

    def raw_block(self, open_token: Token, body: tuple[Any, ...], raw: tuple[list[Token], Token]) -> ast.BlockStatement:
        path, params, hash_pairs = body
        contents, end = raw
        self._validate_close({"path": path}, end.text)
        body_nodes: list[ast.Statement] = [ast.ContentStatement(t.text, t.text, self.loc(t)) for t in contents]
        return ast.BlockStatement(
            path=path,
            params=params,
            hash=hash_pairs,
            program=ast.Program(body_nodes),
            inverse=None,
            open_strip=ast.NO_STRIP,
            inverse_strip=ast.NO_STRIP,
            close_strip=ast.NO_STRIP,
            loc=self.loc(open_token),
        )


_GRAMMAR = r"""
template ::= <program>:p <tok 'EOF'> => p
program ::= <statement>*:ss => B.program(ss)
statement ::= <content>
    | <tok 'COMMENT'>:t => B.comment(t)
    | <rawBlock>
    | <partialBlock>
    | <partial>
    | <block>
    | <mustache>

rawBlock ::= <tok 'OPEN_RAW_BLOCK'>:o <sexprBody>:e <tok 'CLOSE_RAW_BLOCK'> <rawContents>:r => B.raw_block(o, e, r)

block ::= <openBlock>:o <program>:p <inverseChain>?:i <closeBlock>:c => B.block(o, p, i, c, False)
    | <openInverse>:o <program>:p <inverseAndProgram>?:i <closeBlock>:c => B.block(o, p, i, c, True)
openBlock ::= <tok 'OPEN_BLOCK'>:o <sexprBody>:e <blockParams>?:bp <tok 'CLOSE'>:c => B.open(o, e, bp, c)
openInverse ::= <tok 'OPEN_INVERSE'>:o <sexprBody>:e <blockParams>?:bp <tok 'CLOSE'>:c => B.open(o, e, bp, c)
openInverseChain ::= <tok 'OPEN_INVERSE_CHAIN'>:o <sexprBody>:e <blockParams>?:bp <tok 'CLOSE'>:c => B.open(o, e, bp, c)
inverseAndProgram ::= <tok 'INVERSE'>:t <program>:p => B.inverse_and_program(t, p)
inverseChain ::= <openInverseChain>:o <program>:p <inverseChain>?:i => B.inverse_chain(o, p, i)
    | <inverseAndProgram>
closeBlock ::= <tok 'OPEN_ENDBLOCK'>:o <helperName>:p <tok 'CLOSE'>:c => B.close(o, p, c)

mustache ::= <tok 'OPEN'>:o <sexprBody>:e <tok 'CLOSE'>:c => B.mustache(o, e, c)
    | <tok 'OPEN_UNESCAPED'>:o <sexprBody>:e <tok 'CLOSE_UNESCAPED'>:c => B.mustache(o, e, c)

partial ::= <tok 'OPEN_PARTIAL'>:o <partialName>:n <param>*:ps <hash>?:h <tok 'CLOSE'>:c => B.partial(o, n, ps, h, c)
partialBlock ::= <tok 'OPEN_PARTIAL_BLOCK'>:o <partialName>:n <param>*:ps <hash>?:h <tok 'CLOSE'>:c <program>:p <closeBlock>:cb => B.partial_block(o, n, ps, h, c, p, cb)
partialName ::= <helperName> | <sexpr>

sexprBody ::= <helperName>:p <param>*:ps <hash>?:h => (p, ps, h)
param ::= ~(<tok 'ID'> <tok 'EQUALS'>) (<helperName> | <sexpr>)
sexpr ::= <tok 'OPEN_SEXPR'>:o <sexprBody>:e <tok 'CLOSE_SEXPR'> => B.sexpr(o, e)
hash ::= <hashSegment>+
hashSegment ::= <tok 'ID'>:k <tok 'EQUALS'> <param>:v => B.hash_pair(k, v)
blockParams ::= <tok 'OPEN_BLOCK_PARAMS'> <tok 'ID'>+:ids <tok 'CLOSE_BLOCK_PARAMS'> => ids

helperName ::= <path>
    | <dataName>
    | <tok 'STRING'>:t => B.literal(t)
    | <tok 'NUMBER'>:t => B.literal(t)
    | <tok 'BOOLEAN'>:t => B.literal(t)
    | <tok 'UNDEFINED'>:t => B.literal(t)
    | <tok 'NULL'>:t => B.literal(t)
dataName ::= <tok 'DATA'>:d <pathSegments>:s => B.path(True, s, d)
path ::= <pathSegments>:s => B.path(False, s)
pathSegments ::= <tok 'ID'>:first <pathSegment>*:rest => [first] + rest
pathSegment ::= <tok 'SEP'>:s <tok 'ID'>:i => (s, i)
"""

_action_code: dict[str, Any] = {}


def _cached_eval(source: str, globals: dict[str, Any], locals: dict[str, Any]) -> Any:
    code = _action_code.get(source)
    if code is None:
        code = _action_code[source] = compile(source, "<grammar action>", "eval")
    # Only the action snippets of _GRAMMAR above ever reach here, never template text.
    return eval(code, globals, locals)


_grammar_lock = threading.Lock()
_grammar_class: Any = None


def _make_grammar_class() -> Any:
    """Build the grammar once, on first use: importing pybars builds its own grammars (~0.3 s)."""
    global _grammar_class
    with _grammar_lock:
        if _grammar_class is not None:
            return _grammar_class
        from pybars._compiler import Compiler as PybarsCompiler
        from pymeta.runtime import InputStream, ParseError, expected

        pybars_grammar = PybarsCompiler._handlebars

        generated = pybars_grammar.makeGrammar(_GRAMMAR, {}, "Handlebars")
        # PyMeta evaluates every action and rule argument from its source text on each use;
        # compiling each distinct snippet once makes parsing about twice as fast.
        generated.rule_template.__globals__["eval"] = _cached_eval

        class HandlebarsGrammar(generated):  # type: ignore[misc,valid-type]
            def __init__(self, source: str, builder: _Builder, budget: Budget | None = None) -> None:
                super().__init__(source)
                self.budget = budget
                self.globals: dict[str, Any] = dict(self.globals, B=builder)
                self.source = source
                self.tokens: dict[int, Token] = {}
                self.furthest: tuple[int, Token | None, set[str]] = (-1, None, set())

            def _jump(self, position: int) -> None:
                self.input: Any = InputStream(self.input.data, position)

            def _fail(self, position: int, token: Token | None, wanted: str) -> Any:
                if position > self.furthest[0]:
                    self.furthest = (position, token, {wanted})
                elif position == self.furthest[0]:
                    self.furthest[2].add(wanted)
                return ParseError(position, expected(None, wanted))

            def rule_tok(self, kind: str) -> tuple[Token, list[Any]]:
                budget = self.budget
                if budget is not None:
                    # Parsing is slow (about a millisecond a token): a large template could spend
                    # minutes before it renders at all. Against that cost, reading the clock at
                    # every token is free.
                    budget.steps += 1
                    budget.check_work()
                position = self.input.position
                token = self.tokens.get(position)
                if token is None:
                    token = self.tokens[position] = lex_mu(self.source, position)
                if token.kind != kind:
                    raise self._fail(token.start, token, kind)
                self._jump(token.end)
                return token, [token.end, None]

            def rule_content(self) -> tuple[list[ast.ContentStatement], list[Any]]:
                source, position = self.source, self.input.position
                if position >= len(source) or source.startswith("{{", position):
                    raise ParseError(position, expected(None, "CONTENT"))
                found = _NEXT_OPEN.search(source, position)
                if found is None:
                    nodes = [self._content(position, len(source), len(source))]
                    self._jump(len(source))
                    return nodes, [len(source), None]
                end = found.start()
                text = source[position:end]
                nodes = []
                if text.endswith("\\\\") or not text.endswith("\\"):
                    # ``\\{{`` keeps one backslash and the mustache stays live.
                    text_end = end - 1 if text.endswith("\\\\") else end
                    nodes.append(self._content(position, text_end, end))
                    self._jump(end)
                    return nodes, [end, None]
                # ``\{{``: the backslash is dropped and the following text up to the next
                # (possibly escaped) ``{{`` is literal (the ``emu`` lexer state).
                if end - 1 > position:
                    nodes.append(self._content(position, end - 1, end))
                literal = _EMU_CONTENT.match(source, end)
                literal_end = literal.end() if literal else len(source)
                nodes.append(self._content(end, literal_end, literal_end))
                self._jump(literal_end)
                return nodes, [literal_end, None]

            def _content(self, start: int, text_end: int, end: int) -> ast.ContentStatement:
                text = self.source[start:text_end]
                return ast.ContentStatement(text, text, self.globals["B"].positions.loc(start))

            def rule_rawContents(self) -> tuple[tuple[list[Token], Token], list[Any]]:
                source, position = self.source, self.input.position
                contents: list[Token] = []
                depth = 1
                while True:
                    match = _RAW_OPEN.match(source, position)
                    if match:
                        depth += 1
                        contents.append(Token("CONTENT", match.group(0), position, match.end()))
                    else:
                        match = _RAW_CLOSE.match(source, position)
                        if match:
                            depth -= 1
                            if depth == 0:
                                end = Token(
                                    "END_RAW_BLOCK",
                                    match.group(0)[5:-4],
                                    position,
                                    match.end(),
                                )
                                self._jump(match.end())
                                return (contents, end), [match.end(), None]
                            contents.append(Token("CONTENT", match.group(0), position, match.end()))
                        else:
                            match = _RAW_TEXT.match(source, position)
                            if match is None:
                                raise self._fail(
                                    len(source),
                                    Token("EOF", "", len(source), len(source)),
                                    "END_RAW_BLOCK",
                                )
                            contents.append(Token("CONTENT", match.group(0), position, match.end()))
                    position = match.end()

        _grammar_class = HandlebarsGrammar
        return _grammar_class


def _show_position(source: str, position: int, token: Token | None) -> str:
    """jison's ``showPosition``: the 20 characters before the error, the next 20, and a caret."""
    past = source[:position]
    before = ("..." if len(past) > 20 else "") + past[-20:].replace("\n", "")
    upcoming = source[position : position + 20] + ("..." if len(source) - position > 20 else "")
    return before + upcoming.replace("\n", "") + "\n" + "-" * len(before) + "^"


def parse(source: str, budget: Budget | None = None) -> ast.Program:
    """Parse ``source``; raise :class:`TemplateSyntaxError` with handlebars.js's wording.

    Each token spends a step of ``budget`` (:class:`~hbs.errors.TemplateTooComplex` when over).
    """
    if budget is not None:
        # Building the grammar (once per process, about a second) is not the template's work.
        with budget.paused():
            grammar_class = _make_grammar_class()
    else:
        grammar_class = _make_grammar_class()
    from pymeta.runtime import ParseError

    builder = _Builder(source)
    grammar = grammar_class(source, builder, budget)
    try:
        program, _ = grammar.apply("template")
    except ParseError:
        position, token, wanted = grammar.furthest
        position = max(position, 0)
        loc = builder.positions.loc(position)
        got = token.kind if token else "CONTENT"
        if got == "INVALID":
            message = f"Lexical error on line {loc.line}, column {loc.column}. Unrecognized text."
        else:
            expecting = ", ".join(f"'{kind}'" for kind in sorted(wanted))
            message = f"Parse error on line {loc.line}, column {loc.column}:"
            message += f"\n{_show_position(source, position, token)}\nExpecting {expecting}, got '{got}'"
        raise TemplateSyntaxError(message, loc.line, loc.column) from None
    return program
