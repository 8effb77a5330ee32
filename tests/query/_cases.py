"""One dataset and one table of (query → matching ids) shared by the polars and SQL tests.

Every case runs through both back ends; they must agree with the expected ids (in order:
each case is sorted by its own ``sort`` plus an ``id`` tiebreak, so unsorted cases list ids
ascending).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from leadkit.query import FieldCatalog

UTC = dt.UTC


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _site(site_id: int, code: str, name: str) -> dict[str, object]:
    return {"id": site_id, "code": code, "name": name}


KZ, HFL, ZPL = (
    _site(1, "KZ", "Keaze"),
    _site(2, "HFL", "Homes For Londoners"),
    _site(3, "ZPL", "Zoopla"),
)
RM, API = _site(4, "RM", "Rightmove"), _site(6, "API", "KPro Marketing API")

# id, site, created_at (UTC), eligibility, amount, active, note, born_on, tags, email
_ROWS = [
    (1, KZ, "2021-02-28 23:59:59", "passed", 100, True, "hello", "1990-11-21", ["a", "b"]),
    (2, HFL, "2021-03-01 00:00:00", "considered", 200, False, None, None, []),
    (3, ZPL, "2021-03-05 12:00:00", "incomplete", None, None, "", "1985-01-01", None),
    (4, KZ, "2021-03-10 23:59:59", "not-checked", 50, True, "O'Brien", "2000-02-29", ["c"]),
    (5, HFL, "2021-03-11 00:00:00", "failed", 300, False, "Note", "1990-11-21", ["a", None]),
    (6, RM, "2021-03-11 09:59:59", "passed", -5, True, "note", None, ["b"]),
    (7, KZ, "2021-03-11 10:00:00", "failed", 0, None, "hello", "1999-12-31", ["b", "c"]),
    (8, HFL, "2021-03-11 11:00:00", "passed", 1000, False, "zebra", "2001-01-01", None),
    (9, ZPL, "2021-03-11 11:00:30", "incomplete", 75, True, "apple", None, [None]),
    (10, API, "2021-04-01 08:00:00", "passed", None, False, None, "1970-01-01", ["d"]),
]

DATA = pl.DataFrame(
    {
        "id": [r[0] for r in _ROWS],
        "site": [r[1] for r in _ROWS],
        "created_at": [_ts(r[2]) for r in _ROWS],
        "eligibility_status": [r[3] for r in _ROWS],
        "amount": [r[4] for r in _ROWS],
        "active": [r[5] for r in _ROWS],
        "note": [r[6] for r in _ROWS],
        "born_on": [dt.date.fromisoformat(r[7]) if r[7] else None for r in _ROWS],
        "tags": [r[8] for r in _ROWS],
        "email": [f"lead{r[0]}@example.com" for r in _ROWS],
        # naive timestamps holding UTC wall-clock time: created_at + 1 hour
        "synced_at": [_ts(r[2]).replace(tzinfo=None) + dt.timedelta(hours=1) for r in _ROWS],
    },
    schema_overrides={
        "created_at": pl.Datetime("us", "UTC"),
        "synced_at": pl.Datetime("us"),
        "amount": pl.Int64,
        "tags": pl.List(pl.String),
    },
)

CATALOG = FieldCatalog.from_polars_schema(DATA.schema)

ALL = list(range(1, 11))

# (id, query, expected ids in result order)
_CASES: list[tuple[str, str, list[int]]] = [
    # the six documented examples (spec §4), literally
    ("spec-1-march-1-to-10", "createdAt.gte=2021-03-01&createdAt.ltt=2021-03-10", [2, 3, 4]),
    (
        "spec-2-10-to-11-oclock",
        "createdAt.gte=2021-03-11 10:00&createdAt.lte=2021-03-11 11:00",
        [7, 8],
    ),
    ("spec-3-site-in", "createdAt.gte=2021-03-01&site.id.in=1,2", [2, 4, 5, 7, 8]),
    (
        "spec-4-status-notin",
        "createdAt.gte=2021-03-01&eligibilityStatus.notin=incomplete,failed",
        [2, 4, 6, 8, 10],
    ),
    ("spec-5-brackets", "site.id[]=1&site.id[]=2", [1, 2, 4, 5, 7, 8]),
    ("spec-6-not-brackets", "site.id.not[]=1&site.id.not[]=2", [3, 6, 9, 10]),
    # the same, URL-encoded
    ("spec-2-plus", "createdAt.gte=2021-03-11+10:00&createdAt.lte=2021-03-11+11:00", [7, 8]),
    ("spec-2-%20", "createdAt.gte=2021-03-11%2010:00&createdAt.lte=2021-03-11%2011:00", [7, 8]),
    ("spec-5-%5B%5D", "site.id%5B%5D=1&site.id%5B%5D=2", [1, 2, 4, 5, 7, 8]),
    ("spec-in-equals-brackets", "site.id.in=1,2", [1, 2, 4, 5, 7, 8]),
    ("spec-notin-equals-brackets", "site.id.notin=1,2", [3, 6, 9, 10]),
    # timestamp value semantics
    ("ts-date-equals-midnight-only", "createdAt=2021-03-01", [2]),
    ("ts-ltt-whole-day", "createdAt.ltt=2021-03-10&createdAt.gt=2021-03-10", [4]),
    ("ts-ltt-ignores-time", "createdAt.ltt=2021-03-10 01:00", [1, 2, 3, 4]),
    ("ts-lte-minute", "createdAt.lte=2021-03-11 11:00&createdAt.gte=2021-03-11", [5, 6, 7, 8]),
    ("ts-seconds", "createdAt.gt=2021-03-11 11:00:29", [9, 10]),
    ("ts-iso-z", "createdAt=2021-03-11T11:00:30Z", [9]),
    ("ts-iso-offset", "createdAt=2021-03-11T12:00:30%2B01:00", [9]),
    ("ts-iso-offset-plus-as-space", "createdAt=2021-03-11T12:00:30+01:00", [9]),
    ("ts-not", "createdAt.not=2021-03-11 10:00", [1, 2, 3, 4, 5, 6, 8, 9, 10]),
    ("ts-in", "createdAt.in=2021-03-01,2021-03-11 10:00", [2, 7]),
    ("ts-camel-and-snake", "created_at.gte=2021-03-11 11:00", [8, 9, 10]),
    ("ts-naive-column", "syncedAt.gte=2021-03-11 11:00&syncedAt.lte=2021-03-11 12:00", [7, 8]),
    ("ts-naive-ltt", "synced_at.ltt=2021-03-10", [1, 2, 3]),
    # integers
    ("int-eq", "amount=100", [1]),
    ("int-gt", "amount.gt=100", [2, 5, 8]),
    ("int-lt-negative", "amount.lt=0", [6]),
    ("int-gte", "amount.gte=300", [5, 8]),
    ("int-lte", "amount.lte=0", [6, 7]),
    ("int-not-excludes-null", "amount.not=100", [2, 4, 5, 6, 7, 8, 9]),
    ("int-notin-excludes-null", "amount.notin=100,200", [4, 5, 6, 7, 8, 9]),
    ("int-null", "amount.null", [3, 10]),
    ("int-null-false", "amount.null=false", [1, 2, 4, 5, 6, 7, 8, 9]),
    ("int-notnull", "amount.notnull=true", [1, 2, 4, 5, 6, 7, 8, 9]),
    ("struct-int-gt", "site.id.gt=2", [3, 6, 9, 10]),
    # strings (exact, case-sensitive: Q14)
    ("str-eq", "site.code=KZ", [1, 4, 7]),
    ("str-case-sensitive", "site.code=kz", []),
    ("str-not", "site.name.not=Keaze", [2, 3, 5, 6, 8, 9, 10]),
    ("str-spaces", "site.name=Homes+For+Londoners", [2, 5, 8]),
    ("str-status-not-checked", "eligibilityStatus=not-checked", [4]),
    ("str-in", "eligibility_status.in=considered,not-checked", [2, 4]),
    ("str-brackets-keep-commas", "note[]=hello&note[]=a,b", [1, 7]),
    ("str-quote-in-value", "note=O'Brien", [4]),
    ("str-empty", "note=", [3]),
    ("str-not-excludes-null", "note.not=hello", [3, 4, 5, 6, 8, 9]),
    ("str-null", "note.null", [2, 10]),
    ("injection", "email=x' OR 1=1 --", []),
    ("injection-in-list", "email.in=x') OR (1=1,y", []),
    ("injection-not", "email.not=x'--", ALL),
    # booleans
    ("bool-true", "active=true", [1, 4, 6, 9]),
    ("bool-zero", "active=0", [2, 5, 8, 10]),
    ("bool-not", "active.not=true", [2, 5, 8, 10]),
    ("bool-in", "active.in=true,false", [1, 2, 4, 5, 6, 8, 9, 10]),
    ("bool-null", "active.null", [3, 7]),
    # dates
    ("date-eq", "bornOn=1990-11-21", [1, 5]),
    ("date-ltt", "born_on.ltt=1990-11-21", [1, 3, 5, 10]),
    ("date-lt", "born_on.lt=1990-11-21", [3, 10]),
    ("date-gte-leap-day", "born_on.gte=2000-02-29", [4, 8]),
    ("date-notin", "born_on.notin=1990-11-21,1970-01-01", [3, 4, 7, 8]),
    # lists: equals/in = contains any, not/notin = contains none (nulls never match)
    ("list-eq", "tags=a", [1, 5]),
    ("list-in", "tags.in=a,c", [1, 4, 5, 7]),
    ("list-brackets", "tags[]=b&tags[]=d", [1, 6, 7, 10]),
    ("list-not", "tags.not=a", [2, 4, 6, 7, 9, 10]),
    ("list-notin", "tags.notin=a,b", [2, 4, 9, 10]),
    ("list-null", "tags.null", [3, 8]),
    # sorting (+ id tiebreak)
    ("sort-spec", "sort=-site.id,-createdAt", [10, 6, 9, 3, 8, 5, 2, 7, 4, 1]),
    ("sort-asc-struct-string", "sort=site.code&site.id.in=1,2,6", [10, 2, 5, 8, 1, 4, 7]),
    ("sort-nulls-last-asc", "sort=amount", [6, 7, 4, 9, 1, 2, 5, 8, 3, 10]),
    ("sort-nulls-last-desc", "sort=-amount", [8, 5, 2, 1, 9, 4, 7, 6, 3, 10]),
    ("sort-strings-bytewise", "sort=note", [3, 5, 4, 9, 1, 7, 6, 8, 2, 10]),
    ("sort-bool-desc", "sort=-active,-id", [9, 6, 4, 1, 10, 8, 5, 2, 7, 3]),
    ("sort-date", "sort=bornOn", [10, 3, 1, 5, 7, 4, 8, 2, 6, 9]),
    ("sort-desc-first-page", "sort=-createdAt&page=1&size=3", [10, 9, 8]),
    # paging
    ("page-2", "sort=createdAt&page=2&size=4", [5, 6, 7, 8]),
    ("page-last-partial", "sort=createdAt&page=3&size=4", [9, 10]),
    ("page-past-end", "page=9&size=4", []),
    # everything at once
    (
        "combined",
        "createdAt.gte=2021-03-01&site.id.notin=3&amount.notnull&tags.not=c&sort=-amount",
        [5, 2, 6],
    ),
    ("no-filters", "", ALL),
]

CASES = [pytest.param(query, expected, id=case_id) for case_id, query, expected in _CASES]
