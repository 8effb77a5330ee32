"""Logging set-up: readable text for people, JSON lines for schedulers, secrets scrubbed.

Every record leadkit logs passes through a :class:`RedactingFilter`, which masks the running
configuration's secret values and any key-like URL parameter, whatever the message is.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Literal

import orjson

from leadkit.redact import Redactor

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging"]

LogFormat = Literal["text", "json"]

_STD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Render the message once and scrub secrets from it (and from exception text)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.exc_text = self.redactor.scrub(
                logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
            del exc
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD and not key.startswith("_"):
                doc[key] = value
        if record.exc_text:
            doc["exc"] = record.exc_text
        return orjson.dumps(doc, default=str).decode()


def configure_logging(
    *, redactor: Redactor, fmt: LogFormat = "text", level: int = logging.INFO
) -> None:
    """Send leadkit's logs to stderr in ``fmt``, scrubbed by ``redactor``."""
    logger = logging.getLogger("leadkit")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(redactor))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")
        )
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
