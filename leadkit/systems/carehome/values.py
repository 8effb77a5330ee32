"""Single values of the care-home API that need care: list-strings and telephone numbers.

**List-strings** (spec Q4). ``onBehalfOf``, ``funding`` and ``timescales`` are Python
``repr`` of a list of strings inside a JSON string: ``"['Self Funding']"``. A value may hold
a comma (``'Part Buy, Part Rent'``) or an apostrophe (repr then switches to double quotes:
``["Friend's relative"]``), so splitting on commas is wrong. :func:`parse_list_string` reads
the text with Python's own parser and accepts exactly one shape — a list literal of string
literals — so nothing is ever evaluated. ``None``/``""`` is the empty list; anything else
that is not such a list is *unparseable* (``None``): the caller keeps the text and records
a data-quality warning.

**Telephones** (spec Q15). Free-format UK numbers (``01900 000000``, ``+44 (0)7979
908510``) become E.164 with region GB through the ``phonenumbers`` library; text that is not
a valid number is *unparseable* (``None``).

Both never raise and are cached (values repeat a lot across leads).

Example:
    >>> parse_list_string("['Part Buy, Part Rent']")
    ['Part Buy, Part Rent']
    >>> parse_list_string('[\\'Family member\\', "Friend\\'s relative"]')
    ['Family member', "Friend's relative"]
    >>> parse_list_string(None), parse_list_string("  "), parse_list_string("Self Funding")
    ([], [], None)
    >>> normalise_phone("01900 000000"), normalise_phone("+44 (0)7979 908510")
    ('+441900000000', '+447979908510')
    >>> normalise_phone("call after 6pm") is None
    True
"""

from __future__ import annotations

import ast
import functools

import phonenumbers

__all__ = ["MAX_LIST_STRING", "normalise_phone", "parse_list_string"]

MAX_LIST_STRING = 10_000
"""Longer list-strings are not parsed (unparseable): a bound on the parser's work."""


def parse_list_string(text: str | None) -> list[str] | None:
    """A Python-repr list of strings → the list; ``None``/blank → ``[]``; else ``None``.

    Example:
        >>> parse_list_string("[]"), parse_list_string("['a', 1]"), parse_list_string("('a',)")
        ([], None, None)
    """
    if text is None:
        return []
    parsed = _parse(text)
    return None if parsed is None else list(parsed)


@functools.lru_cache(maxsize=65_536)
def _parse(text: str) -> tuple[str, ...] | None:
    stripped = text.strip()
    if not stripped:
        return ()
    if len(stripped) > MAX_LIST_STRING or not stripped.startswith("["):
        return None
    try:
        tree = ast.parse(stripped, mode="eval")
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None
    node = tree.body
    if not isinstance(node, ast.List):
        return None
    out: list[str] = []
    for element in node.elts:
        if not isinstance(element, ast.Constant) or not isinstance(element.value, str):
            return None
        out.append(element.value)
    return tuple(out)


@functools.lru_cache(maxsize=65_536)
def normalise_phone(text: str | None) -> str | None:
    """A UK telephone number in any common format → E.164 (``+441900000000``), or ``None``
    when the text is not a valid number (region GB unless it starts with ``+``/``00``).

    Example:
        >>> normalise_phone("0044 7979 908510"), normalise_phone("12345")
        ('+447979908510', None)
    """
    if text is None or not text.strip() or len(text) > 100:
        return None
    try:
        number = phonenumbers.parse(text, "GB")
    except Exception:  # any failure of the library means "unparseable"
        return None
    try:
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except Exception:
        return None
