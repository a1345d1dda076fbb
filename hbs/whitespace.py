"""Standalone-line and ``~`` whitespace rules: a port of handlebars.js's ``whitespace-control.js``.

Kept as a separate pass over the AST (as in handlebars.js) rather than pybars's regular
expressions over the source, because "standalone" depends on the neighbouring nodes, on
``{{else}}`` chains and on whether a partial is indented — none of which a regex can see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hbs import ast

# JavaScript's ``$`` (no m flag) is Python's ``\Z``: Python's ``$`` also matches before a final "\n".
_PREV_WS = re.compile(r"(?:^|\S)[^\S\n]*\n\s*\Z")
_PREV_WS_ROOT = re.compile(r"^\s*\Z|(?:^|\S)[^\S\n]*\n\s*\Z")
_NEXT_WS = re.compile(r"^\s*?\r?\n")
_NEXT_WS_ROOT = re.compile(r"^\s*?(\r?\n|\Z)")
_PARTIAL_INDENT = re.compile(r"(?:^|[^ \t])([ \t]+)\Z")


@dataclass
class _StripInfo:
    open: bool = False
    close: bool = False
    open_standalone: bool = False
    close_standalone: bool = False
    inline_standalone: bool = False


def strip_whitespace(program: ast.Program) -> ast.Program:
    _Visitor().program(program)
    return program


class _Visitor:
    def __init__(self) -> None:
        self.root_seen = False

    def program(self, program: ast.Program) -> None:
        is_root = not self.root_seen
        self.root_seen = True
        body = program.body
        for i, current in enumerate(body):
            strip = self.accept(current)
            if strip is None:
                continue
            prev_ws = _is_prev_whitespace(body, i, is_root)
            next_ws = _is_next_whitespace(body, i, is_root)
            open_standalone = strip.open_standalone and prev_ws
            close_standalone = strip.close_standalone and next_ws
            inline_standalone = strip.inline_standalone and prev_ws and next_ws

            if strip.close:
                _omit_right(body, i, True)
            if strip.open:
                _omit_left(body, i, True)

            if inline_standalone:
                _omit_right(body, i)
                if _omit_left(body, i) and isinstance(current, ast.PartialStatement):
                    previous = body[i - 1]
                    assert isinstance(previous, ast.ContentStatement)
                    match = _PARTIAL_INDENT.search(previous.original)
                    current.indent = match.group(1) if match else ""
            if open_standalone:
                inner = _block_program(current) or _block_inverse(current)
                assert inner is not None
                _omit_right(inner.body)
                _omit_left(body, i)
            if close_standalone:
                _omit_right(body, i)
                inner = _block_inverse(current) or _block_program(current)
                assert inner is not None
                _omit_left(inner.body)

    def accept(self, node: ast.Statement) -> _StripInfo | None:
        if isinstance(node, (ast.BlockStatement, ast.PartialBlockStatement)):
            return self.block(node)
        if isinstance(node, ast.MustacheStatement):
            return _StripInfo(open=node.strip.open, close=node.strip.close)
        if isinstance(node, (ast.PartialStatement, ast.CommentStatement)):
            return _StripInfo(open=node.strip.open, close=node.strip.close, inline_standalone=True)
        return None

    def block(self, block: ast.BlockStatement | ast.PartialBlockStatement) -> _StripInfo:
        block_program = block.program
        block_inverse = block.inverse if isinstance(block, ast.BlockStatement) else None
        if block_program is not None:
            self.program(block_program)
        if block_inverse is not None:
            self.program(block_inverse)

        program = block_program or block_inverse
        assert program is not None
        inverse = block_inverse if block_program is not None else None
        first_inverse = last_inverse = inverse
        if inverse is not None and inverse.chained:
            first_inverse = _chained_block(inverse, 0).program
            while last_inverse is not None and last_inverse.chained:
                last_inverse = _chained_block(last_inverse, -1).program

        close_strip = block.close_strip or ast.NO_STRIP
        strip = _StripInfo(
            open=block.open_strip.open,
            close=close_strip.close,
            open_standalone=bool(_is_next_whitespace(program.body)),
            close_standalone=bool(_is_prev_whitespace((first_inverse or program).body)),
        )
        if block.open_strip.close:
            _omit_right(program.body, None, True)

        if inverse is not None:
            assert isinstance(block, ast.BlockStatement)
            assert first_inverse is not None and last_inverse is not None
            inverse_strip = block.inverse_strip or ast.NO_STRIP
            if inverse_strip.open:
                _omit_left(program.body, None, True)
            if inverse_strip.close:
                _omit_right(first_inverse.body, None, True)
            if close_strip.open:
                _omit_left(last_inverse.body, None, True)
            if _is_prev_whitespace(program.body) and _is_next_whitespace(first_inverse.body):
                _omit_left(program.body)
                _omit_right(first_inverse.body)
        elif close_strip.open:
            _omit_left(program.body, None, True)
        return strip


def _chained_block(program: ast.Program, index: int) -> ast.BlockStatement:
    block = program.body[index]
    assert isinstance(block, ast.BlockStatement)
    return block


def _block_program(node: ast.Statement) -> ast.Program | None:
    return getattr(node, "program", None)


def _block_inverse(node: ast.Statement) -> ast.Program | None:
    return getattr(node, "inverse", None)


def _is_prev_whitespace(body: list[ast.Statement], i: int | None = None, is_root: bool = False) -> bool | None:
    if i is None:
        i = len(body)
    prev = body[i - 1] if i - 1 >= 0 else None
    sibling = body[i - 2] if i - 2 >= 0 else None
    if prev is None:
        return is_root
    if isinstance(prev, ast.ContentStatement):
        pattern = _PREV_WS if (sibling is not None or not is_root) else _PREV_WS_ROOT
        return pattern.search(prev.original) is not None
    return None


def _is_next_whitespace(body: list[ast.Statement], i: int | None = None, is_root: bool = False) -> bool | None:
    if i is None:
        i = -1
    nxt = body[i + 1] if i + 1 < len(body) else None
    sibling = body[i + 2] if i + 2 < len(body) else None
    if nxt is None:
        return is_root
    if isinstance(nxt, ast.ContentStatement):
        pattern = _NEXT_WS if (sibling is not None or not is_root) else _NEXT_WS_ROOT
        return pattern.search(nxt.original) is not None
    return None


def _omit_right(body: list[ast.Statement], i: int | None = None, multiple: bool = False) -> None:
    index = 0 if i is None else i + 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, ast.ContentStatement) or (not multiple and current.right_stripped):
        return
    original = current.value
    current.value = re.sub(r"^\s+" if multiple else r"^[ \t]*\r?\n?", "", current.value, count=1)
    current.right_stripped = current.value != original


def _omit_left(body: list[ast.Statement], i: int | None = None, multiple: bool = False) -> bool:
    index = len(body) - 1 if i is None else i - 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, ast.ContentStatement) or (not multiple and current.left_stripped):
        return False
    original = current.value
    current.value = re.sub(
        r"(^|\S)\s+\Z" if multiple else r"(^|[^ \t])[ \t]+\Z",
        r"\1",
        current.value,
        count=1,
    )
    current.left_stripped = current.value != original
    return current.left_stripped
