"""Every error leadkit raises on purpose.

The tree::

    LeadkitError                 base class; ``str(err)`` is the whole user-facing message
    ├── ConfigError              leadkit.toml is missing, unreadable or invalid
    ├── QueryError               a filter/sort/page query string is invalid (all problems at once)
    ├── WarehouseError           the DuckDB warehouse cannot be opened or written
    │   └── WarehouseBusyError   another process held the file longer than we were willing to wait
    ├── RunLockedError           another ``leadkit extract`` is already writing this warehouse
    └── SourceError              a lead API answered with an error we will not retry
        └── SourceAuthError      the API rejected our credentials (401/403)

Messages say what was wrong, show the offending value (``repr``, truncated, never a secret)
and say what to do or what is allowed. Structured parts stay available as attributes so
callers (the CLI, the HTTP server, the dashboard) can render them their own way.

Errors from aiohttp and duckdb are translated into this tree at one boundary each
(``leadkit.engine.http`` and ``leadkit.storage.warehouse``), chained with ``from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "LeadkitError",
    "QueryError",
    "QueryProblem",
    "RunLockedError",
    "SourceAuthError",
    "SourceError",
    "WarehouseBusyError",
    "WarehouseError",
    "short_repr",
]


def short_repr(value: object, limit: int = 80) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, for error messages.

    Example:
        >>> short_repr("x" * 100, limit=10)
        "'xxxxx…"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return text[: limit - 4] + "…"


class LeadkitError(Exception):
    """Base class of every error leadkit raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration file.

    Attributes:
        key: dotted path of the setting, e.g. ``sources.kpro_main.page_size``.
        message: what is wrong and what is allowed.
        value: the offending value as a short repr, or ``None`` when it must not be shown
            (secrets) or there is none (a missing key).
    """

    key: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        shown = f" (got {self.value})" if self.value is not None else ""
        return f"{self.key}: {self.message}{shown}"


class ConfigError(LeadkitError):
    """The configuration file is missing, unreadable or invalid.

    Attributes:
        path: the file the configuration came from (``None`` for an in-memory config).
        problems: every problem found, not just the first.
    """

    def __init__(self, path: str | None, problems: Sequence[ConfigProblem], hint: str = ""):
        self.path = path
        self.problems = list(problems)
        self.hint = hint
        where = f"invalid configuration in {path}" if path else "invalid configuration"
        lines = [f"{where}:"] + [f"  - {p}" for p in self.problems]
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class QueryProblem:
    """One problem in a query string.

    Attributes:
        param: the query parameter as written, e.g. ``createdAtt.gte``.
        value: the offending value as written (may be empty).
        message: what is wrong.
        allowed: what would be accepted (names, operators, a format), possibly empty.
    """

    param: str
    value: str
    message: str
    allowed: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return self.message


class QueryError(LeadkitError):
    """A query string (filters, sort, page, size) is invalid.

    Every problem in the query is reported at once in ``problems``; ``str(err)`` joins their
    messages with ``"; "``.
    """

    def __init__(self, problems: Sequence[QueryProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @property
    def field(self) -> str:
        """The parameter of the first problem (convenience for single-problem errors)."""
        return self.problems[0].param if self.problems else ""

    def to_dict(self) -> dict[str, object]:
        """The JSON error shape leadkit's HTTP server and the KPro sandbox answer with."""
        errors: dict[str, list[str]] = {}
        for p in self.problems:
            errors.setdefault(p.param, []).append(p.message)
        return {"message": str(self), "errors": errors}


class WarehouseError(LeadkitError):
    """The warehouse cannot be opened, migrated or written."""


class WarehouseBusyError(WarehouseError):
    """Another process held the warehouse file for longer than the configured wait."""


class RunLockedError(LeadkitError):
    """Another ``leadkit extract`` holds the run lock of this warehouse.

    Attributes:
        exit_code: the exit code the CLI uses (``[warehouse] locked_exit_code``, default 75).
    """

    def __init__(self, message: str, exit_code: int = 75) -> None:
        self.exit_code = exit_code
        super().__init__(message)


class SourceError(LeadkitError):
    """A lead API answered with an error that retrying will not fix.

    Attributes:
        source: the configured source name.
        url: the request URL with secrets redacted.
        status: the HTTP status, or ``None`` for a connection-level failure.
        detail: the API's own error text, if any.
        request_id: a request id to quote to the API's support, if the API uses one.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        url: str = "",
        status: int | None = None,
        detail: str = "",
        request_id: str = "",
    ):
        self.source = source
        self.url = url
        self.status = status
        self.detail = detail
        self.request_id = request_id
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword arguments survive pickling (errors raised in worker processes).
        return (
            _rebuild_source_error,
            (
                type(self),
                str(self),
                self.source,
                self.url,
                self.status,
                self.detail,
                self.request_id,
            ),
        )


def _rebuild_source_error(
    cls: type[SourceError],
    message: str,
    source: str,
    url: str,
    status: int | None,
    detail: str,
    request_id: str,
) -> SourceError:
    return cls(message, source=source, url=url, status=status, detail=detail, request_id=request_id)


class SourceAuthError(SourceError):
    """The API rejected the credentials (401/403): check the key in the environment."""
