"""One place to keep secrets out of logs, errors, stored URLs and the warehouse.

Two tools:

* :func:`redact_url` masks the values of key-like query parameters (``api_key``, ``key``,
  ``token`` …) and any ``user:password@`` part of a URL.
* :class:`Redactor` additionally knows the literal secret values of the running
  configuration and replaces them wherever they appear in a piece of text (an API's error
  body that echoes the key, an exception message that includes a URL …).

Example:
    >>> redact_url("https://x.test/api/bulk/open/leads?api_key=abc123&page=2")
    'https://x.test/api/bulk/open/leads?api_key=***&page=2'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "SECRET_PARAM_NAMES", "Redactor", "is_secret_name", "redact_url"]

MASK = "***"

#: Query-parameter and setting names whose values are always masked.
SECRET_PARAM_NAMES = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "password",
        "secret",
        "client_secret",
        "authorization",
        "x-api-key",
    }
)

_SECRETISH = re.compile(r"(key|token|secret|password|passwd|authorization)", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Say whether a parameter, header or setting name holds a secret.

    Example:
        >>> is_secret_name("api_key"), is_secret_name("page_size")
        (True, False)
    """
    return name.lower() in SECRET_PARAM_NAMES or bool(_SECRETISH.search(name))


def redact_url(url: str) -> str:
    """Return ``url`` with secret query values and userinfo passwords masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}"
    if not parts.query:
        return urlunsplit((parts.scheme, netloc, parts.path, "", parts.fragment))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    masked = [(k, MASK if is_secret_name(k) else v) for k, v in pairs]
    query = urlencode(masked, safe="*,[]:")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Redactor:
    """Masks known secret values (and secret URL parameters) in arbitrary text.

    Example:
        >>> r = Redactor(["s3cr3t-value"])
        >>> r.scrub("GET /x?api_key=s3cr3t-value failed: s3cr3t-value rejected")
        'GET /x?api_key=*** failed: *** rejected'
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        """Remember one more secret value (values shorter than 4 characters are ignored)."""
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        """Return ``text`` with every known secret value replaced by ``***``."""
        out = text
        for s in sorted(self._secrets, key=len, reverse=True):
            if s in out:
                out = out.replace(s, MASK)
        return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", out)

    def url(self, url: str) -> str:
        """Return a URL safe to log or store."""
        return self.scrub(redact_url(url))


_QUERY_SECRET = re.compile(
    r"\b(api_key|apikey|access_token|token|password|key)=(?!\*\*\*)[^&\s\"']+", re.IGNORECASE
)
