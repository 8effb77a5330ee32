"""OviPro's JSON error body (spec §10) and the sandbox's other answers.

Every error carries ``errorCode`` and ``message``; ``description`` (a longer text) and
``errors[]`` (per field: ``target``, ``errorCode``, ``message``) when there is more to say.
Messages per code follow the documentation's error table.

Example:
    >>> import orjson
    >>> response = error(404, "INVALID_ID", description="no lead 'x'")
    >>> response.status, orjson.loads(response.body)
    (404, {'errorCode': 'INVALID_ID', 'message': 'Missing or invalid identifier.',
           'description': "no lead 'x'"})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson
from aiohttp import web

__all__ = ["MESSAGES", "error", "json_response"]

MESSAGES: Mapping[str, str] = {
    "BAD_REQUEST_PARAMETERS": "Invalid request parameters",
    "BAD_REQUEST_BODY": "Invalid request body with e.g. missing mandatory fields.",
    "VALUE_REQUIRED": "Mandatory value missing for the request.",
    "INVALID_TYPE": "Invalid data type provided for the value in the request.",
    "INVALID_STATUS": "Unable to perform the request operation due to invalid state.",
    "UNAUTHORIZED": "Unauthorized request.",
    "INVALID_ID": "Missing or invalid identifier.",
    "INVALID_API_KEY": "Missing or invalid API key.",
    "NOT_FOUND": "Not found.",
    "UNSUPPORTED_MEDIA_TYPE": "Unsupported media type.",
    "TOO_MANY_REQUESTS": "Too many requests.",
    "TECHNICAL_ERROR": "A technical error has occurred.",
}
"""``message`` per ``errorCode`` (the documentation's wording where it has one)."""


def json_response(
    status: int, body: object, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer."""
    return web.Response(
        status=status, body=orjson.dumps(body), content_type="application/json", headers=headers
    )


def error(
    status: int,
    code: str,
    *,
    description: str | None = None,
    errors: Sequence[Mapping[str, str]] | None = None,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """An error answer in OviPro's shape (spec §10)."""
    body: dict[str, object] = {"errorCode": code, "message": message or MESSAGES[code]}
    if description is not None:
        body["description"] = description
    if errors:
        body["errors"] = list(errors)
    return json_response(status, body, headers)
