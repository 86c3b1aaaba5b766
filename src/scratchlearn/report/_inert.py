"""Values read from a results folder, made unable to become markup in ``report.html``.

Where a value enters the HTML rendering (the metrics, a text file, a file name), each of
its characters that Markdown or HTML could read as syntax (every ASCII character but the
letters and digits: punctuation, spaces, line breaks, control characters) is replaced by
the private-use character U+E000 + its code (:func:`inert`). The templates and
markdown-it then find no syntax in any value, wherever a template prints it: a
paragraph, a heading, a code span, a table cell, an attribute or a folded file. Once the
page is HTML, :func:`restore` turns each such character back into its own character,
HTML-escaped. Only the templates' own text becomes markup.

The stand-ins are the value's characters, so they survive whatever a template does with a
value (concatenate, slice, format). A template may still compare and look values up as it
writes them: an inert string equals, and hashes as, the string as it was read
(``k not in ("alpha", "max_iter")``, ``m["f1-score"]``).
"""

from __future__ import annotations

import html
from typing import Any

_SYNTAX = [code for code in range(128) if not chr(code).isalnum()]
_INERT = {code: 0xE000 + code for code in _SYNTAX}
# Escaped as markdown-it escapes text (a template's attributes are in double quotes).
_RESTORE = {0xE000 + code: html.escape(chr(code), quote=False) for code in _SYNTAX}
_RESTORE[0xE000 + ord('"')] = "&quot;"
_ORIGINAL = {0xE000 + code: code for code in _SYNTAX}


class Inert(str):
    """A value's text with inert characters; equal to, and hashed as, the text as read."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return original(self) == (original(other) if isinstance(other, str) else other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(original(self))


def inert(value: Any) -> Any:
    """``value`` (a string, or JSON-like containers of strings) with its syntax characters
    replaced; numbers, booleans and None as they are."""
    if isinstance(value, str):
        return Inert(value.translate(_INERT))
    if isinstance(value, dict):
        return {inert(key): inert(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(inert(item) for item in value)
    return value


def restore(text: str) -> str:
    """The HTML page with each inert character as its character, HTML-escaped."""
    return text.translate(_RESTORE)


def original(text: str) -> str:
    """An inert string as it was read (for file paths and JSON Pointers)."""
    return str.translate(text, _ORIGINAL)
