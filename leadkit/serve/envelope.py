"""KPro's response envelope (spec §3.2): ``pagination`` maths and ``links``.

Laravel's paginator, which KPro's shapes follow: ``lastPage`` is at least 1, a page past the
end is empty with ``from``/``to`` null, ``prev`` is null only on page 1 and ``next`` only
from the last page on. Links are absolute and repeat the request's parameters in order with
only ``page`` changed (appended when absent), and never carry ``api_key``.

>>> pagination(page=2, size=10, total=212, rows=10)
{'currentPage': 2, 'perPage': 10, 'total': 212, 'from': 11, 'to': 20, 'lastPage': 22}
>>> page_links("http://127.0.0.1:8765/api/leads",
...            [("api_key", "s3cret"), ("site.id[]", "1"), ("sort", "-createdAt")], 1, 3)["next"]
'http://127.0.0.1:8765/api/leads?site.id%5B%5D=1&sort=-createdAt&page=2'
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, urlencode

__all__ = ["AUTH_PARAM", "last_page", "page_links", "page_url", "pagination"]

AUTH_PARAM = "api_key"
"""The query parameter that carries the key: read for auth, never repeated in links."""


def last_page(total: int, size: int) -> int:
    """``max(1, ceil(total / size))``.

    Example:
        >>> last_page(0, 100), last_page(100, 100), last_page(101, 100)
        (1, 1, 2)
    """
    return max(1, -(-total // size))


def pagination(*, page: int, size: int, total: int, rows: int) -> dict[str, int | None]:
    """The ``pagination`` object for ``rows`` rows served on ``page``.

    Example:
        >>> pagination(page=5, size=10, total=21, rows=0)
        {'currentPage': 5, 'perPage': 10, 'total': 21, 'from': None, 'to': None, 'lastPage': 3}
    """
    start = (page - 1) * size
    return {
        "currentPage": page,
        "perPage": size,
        "total": total,
        "from": start + 1 if rows else None,
        "to": start + rows if rows else None,
        "lastPage": last_page(total, size),
    }


def page_url(base: str, pairs: Sequence[tuple[str, str]], page: int) -> str:
    """``base`` with the request's parameters (minus ``api_key``) and ``page`` set."""
    out: list[tuple[str, str]] = []
    placed = False
    for name, value in pairs:
        if name == AUTH_PARAM:
            continue
        if name == "page":
            if not placed:
                out.append(("page", str(page)))
                placed = True
            continue
        out.append((name, value))
    if not placed:
        out.append(("page", str(page)))
    return f"{base}?{urlencode(out, safe=',:', quote_via=quote)}"


def page_links(
    base: str, pairs: Sequence[tuple[str, str]], page: int, last: int
) -> dict[str, str | None]:
    """The ``links`` object: first, prev, next, last (absolute URLs or null)."""
    return {
        "first": page_url(base, pairs, 1),
        "prev": page_url(base, pairs, page - 1) if page > 1 else None,
        "next": page_url(base, pairs, page + 1) if page < last else None,
        "last": page_url(base, pairs, last),
    }
