"""``[sources.NAME] kind = "carehome"`` settings.

Example:
    >>> s = CarehomeSettings(api_key="k" * 40, window="6h", start="2024-03-01")
    >>> s.window, s.start.isoformat(), s.categories
    (datetime.timedelta(seconds=21600), '2024-03-01T00:00:00+00:00', (1, 2, 3, 4, 5, 6, 7, 8))
    >>> parse_duration("1d"), parse_duration(90)
    (datetime.timedelta(days=1), datetime.timedelta(seconds=90))
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from leadkit.config import SourceSettings
from leadkit.systems.carehome.reference import ALL_CATEGORY_IDS

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_START_DAYS", "CarehomeSettings", "parse_duration"]

DEFAULT_BASE_URL = "https://www.autumna.co.uk"
"""The production host (spec §1, Q1)."""

DEFAULT_START_DAYS = 90
"""Without ``start``, a first run reads this many days back."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: Any) -> timedelta:
    """A window length: seconds (a number), ``"<n>s|m|h|d|w"`` or a ``timedelta``.

    Raises:
        ValueError: anything else, with the accepted forms.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])
    raise ValueError(
        f"{value!r} is not a duration; write seconds (3600) or a number with a unit: "
        '"30m", "6h", "1d", "1w"'
    )


def _utc(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date or date-time; write e.g. 2024-01-31 or "
                "2024-01-31T12:00:00Z (UTC)"
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


class CarehomeSettings(SourceSettings):
    """One care-home directory account (its 40-character Service API Key).

    Attributes:
        base_url: the API host (default the production host, spec §1).
        api_key: the Service API Key; write ``"${CAREHOME_API_KEY}"``. Sent as the
            ``api_key`` query parameter (the API's only way), masked everywhere else.
        path: the leads endpoint under ``base_url`` (default ``/api/leads/``).
        categories: category ids to read (default all eight: one request per window; a
            subset: one request per window and category).
        include_anonymised: also read anonymised leads (a second request per window with
            ``isAnonymised=true``).
        window: length of one request's time window (default one day); a window that
            times out or is too large is split in half.
        min_window: never split a window below this (default 60 s).
        start: where a first run (or ``--full-refresh``) starts, UTC; default 90 days ago.
        end: stop at this instant instead of now (backfills); default now.
        overlap_s: an incremental run re-reads this many seconds before the watermark.
        concurrency: requests in flight.
        backoff_initial_s: first retry delay (doubles, with jitter, up to 30 s).
    """

    kind: Literal["carehome"] = "carehome"
    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr
    path: str = "/api/leads/"
    categories: tuple[int, ...] = ALL_CATEGORY_IDS
    include_anonymised: bool = False
    window: timedelta = timedelta(days=1)
    min_window: timedelta = timedelta(seconds=60)
    start: datetime | None = None
    end: datetime | None = None
    overlap_s: int = Field(default=300, ge=0, le=7 * 86400)
    concurrency: int = Field(default=4, ge=1, le=64)
    backoff_initial_s: float = Field(default=0.5, ge=0, le=60)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "?" in value or "@" in value:
            raise ValueError("must be a plain URL without query or credentials; set api_key")
        return value.rstrip("/")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.strip() or "?" in value or "://" in value:
            raise ValueError("must be a path such as '/api/leads/' (no host, no query)")
        return "/" + value.strip().lstrip("/")

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if not key.strip():
            raise ValueError("is empty; set it to the account's Service API Key (from the env)")
        if key != key.strip() or any(c.isspace() for c in key):
            raise ValueError("contains whitespace; check the environment variable")
        return value

    @field_validator("categories", mode="before")
    @classmethod
    def _categories(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if isinstance(value, list | tuple):
            bad = [v for v in value if v not in ALL_CATEGORY_IDS or isinstance(v, bool)]
            if bad or not value:
                raise ValueError(
                    f"{list(value)!r} must be a non-empty list of category ids 1..8 "
                    "(1 Contact Form Message … 8 Placement)"
                )
            return tuple(sorted(set(value)))
        return value

    @field_validator("window", "min_window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        out = parse_duration(value)
        if out < timedelta(seconds=1) or out.microseconds:
            raise ValueError(f"{value!r} must be whole seconds, at least 1 s (the API's precision)")
        return out

    @field_validator("start", "end", mode="before")
    @classmethod
    def _when(cls, value: Any) -> Any:
        return _utc(value)

    @field_validator("start", "end")
    @classmethod
    def _whole_seconds(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.microsecond:
            raise ValueError("must be whole seconds (the API's dateTime precision)")
        return value

    @model_validator(mode="after")
    def _order(self) -> CarehomeSettings:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end.isoformat()}) must be after start")
        if self.min_window > self.window:
            raise ValueError("min_window must not be longer than window")
        return self

    @property
    def url(self) -> str:
        """The leads endpoint, e.g. ``https://www.autumna.co.uk/api/leads/``."""
        return self.base_url + self.path

    @property
    def per_category(self) -> bool:
        """Whether a request per category is needed (a subset of the categories)."""
        return set(self.categories) != set(ALL_CATEGORY_IDS)
