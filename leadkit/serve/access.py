"""An access log that never writes the API key.

aiohttp's default access log prints the request line, query string included, and the key
travels in the query string (``api_key=``, as KPro's does). This logger writes the request
with every key-like parameter masked (:func:`leadkit.redact.redact_url`) and the configured
key masked wherever else it might appear, and leaves out headers such as ``Referer``.

>>> from leadkit.redact import Redactor
>>> access_line("127.0.0.1", "GET", "/api/leads?api_key=abcd1234&size=2", 200, 512, 0.0042,
...             Redactor(["abcd1234"]))
'127.0.0.1 "GET /api/leads?api_key=***&size=2" 200 512B 4.2ms'
"""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from leadkit.redact import Redactor

__all__ = ["ACCESS_LOGGER", "access_line", "access_logger_class"]

ACCESS_LOGGER = logging.getLogger("leadkit.serve.access")
"""Where ``leadkit serve`` writes one line per request (INFO)."""


def access_line(
    remote: str | None,
    method: str,
    path_qs: str,
    status: int,
    size: int,
    seconds: float,
    redactor: Redactor,
) -> str:
    """One access-log line, secrets masked."""
    target = redactor.url(path_qs)
    return f'{remote or "-"} "{method} {target}" {status} {size}B {seconds * 1000:.1f}ms'


def access_logger_class(redactor: Redactor) -> type[AbstractAccessLogger]:
    """An aiohttp access-logger class that masks with ``redactor``."""

    class RedactingAccessLogger(AbstractAccessLogger):
        def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
            line = access_line(
                request.remote,
                request.method,
                request.path_qs,
                response.status,
                response.body_length,
                time,
                redactor,
            )
            self.logger.info("%s", line)

        @property
        def enabled(self) -> bool:
            return self.logger.isEnabledFor(logging.INFO)

    return RedactingAccessLogger
