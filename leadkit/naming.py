"""Names: API field names (camelCase) → warehouse columns (snake_case), and SQL quoting.

Example:
    >>> snake_case("createdAt"), snake_case("homeLocalAuthority"), snake_case("site_id")
    ('created_at', 'home_local_authority', 'site_id')
    >>> snake_case("HTTPStatus"), snake_case("mapitId"), snake_case("Development")
    ('http_status', 'mapit_id', 'development')
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["quote_ident", "snake_case"]

_BOUNDARY_1 = re.compile(r"(.)([A-Z][a-z]+)")
_BOUNDARY_2 = re.compile(r"([a-z0-9])([A-Z])")


@lru_cache(maxsize=4096)
def snake_case(name: str) -> str:
    """Convert one camelCase (or PascalCase) name to snake_case; snake_case stays as is."""
    out = _BOUNDARY_1.sub(r"\1_\2", name)
    out = _BOUNDARY_2.sub(r"\1_\2", out)
    return out.replace("-", "_").lower()


def quote_ident(name: str) -> str:
    """Quote a SQL identifier for DuckDB, doubling embedded quotes.

    Example:
        >>> quote_ident('we"ird')
        '"we""ird"'
    """
    return '"' + name.replace('"', '""') + '"'
