"""Syntax tree of a Handlebars template, shaped like handlebars.js's AST.

The node types and fields follow ``lib/handlebars/compiler/ast.js`` so that the whitespace pass and
the code generator can be line-by-line ports of their handlebars.js counterparts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    line: int  # 1-based, like handlebars.js
    column: int  # 0-based, like handlebars.js

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclass(frozen=True)
class Strip:
    open: bool = False
    close: bool = False


NO_STRIP = Strip()


@dataclass
class PathExpression:
    data: bool
    depth: int
    parts: list[str]
    original: str
    loc: Loc


@dataclass
class Literal:
    """String, number, boolean, null and undefined literals (``kind`` tells which)."""

    kind: str  # "string" | "number" | "boolean" | "null" | "undefined"
    value: object
    loc: Loc

    @property
    def original(self) -> object:
        return self.value


@dataclass
class SubExpression:
    path: Expression
    params: list[Expression]
    hash: list[tuple[str, Expression]] | None
    loc: Loc


Expression = PathExpression | Literal | SubExpression


@dataclass
class ContentStatement:
    original: str
    value: str
    loc: Loc
    left_stripped: bool = False
    right_stripped: bool = False


@dataclass
class CommentStatement:
    value: str
    strip: Strip
    loc: Loc


@dataclass
class MustacheStatement:
    path: Expression
    params: list[Expression]
    hash: list[tuple[str, Expression]] | None
    escaped: bool
    strip: Strip
    loc: Loc
    decorator: bool = False


@dataclass
class Program:
    body: list[Statement]
    block_params: list[str] | None = None
    chained: bool = False


@dataclass
class BlockStatement:
    path: Expression
    params: list[Expression]
    hash: list[tuple[str, Expression]] | None
    program: Program | None
    inverse: Program | None
    open_strip: Strip
    inverse_strip: Strip | None
    close_strip: Strip | None
    loc: Loc
    decorator: bool = False


@dataclass
class PartialStatement:
    name: Expression
    params: list[Expression]
    hash: list[tuple[str, Expression]] | None
    strip: Strip
    loc: Loc
    indent: str = ""


@dataclass
class PartialBlockStatement:
    name: Expression
    params: list[Expression]
    hash: list[tuple[str, Expression]] | None
    program: Program
    open_strip: Strip
    close_strip: Strip
    loc: Loc


Statement = (
    ContentStatement | CommentStatement | MustacheStatement | BlockStatement | PartialStatement | PartialBlockStatement
)

__all__ = [
    "NO_STRIP",
    "BlockStatement",
    "CommentStatement",
    "ContentStatement",
    "Expression",
    "Literal",
    "Loc",
    "MustacheStatement",
    "PartialBlockStatement",
    "PartialStatement",
    "PathExpression",
    "Program",
    "Statement",
    "Strip",
    "SubExpression",
]
