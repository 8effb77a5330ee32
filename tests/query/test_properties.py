"""Property test: random filter sets through ``Warehouse.query`` against a plain-Python oracle.

Hypothesis draws filter sets (every operator on every column type: whole numbers,
decimals, floats, nullable strings, booleans, dates, UTC and naive timestamps, STRUCT leaves
two levels deep, lists), spellings (camelCase or snake_case, brackets or ``in=a,b``), value
forms (``YYYY-MM-DD``, ``HH:mm``, ``T…Z``, offsets), a sort with ties, a page size and a page
number, and runs them as a URL query string against a real DuckDB warehouse. The oracle
computes the same page from the same rows in straightforward Python, written from
docs/query.md and independent of leadkit's SQL and polars back ends: SQL null semantics,
nulls last in both directions, the table's key (``id``) as the tiebreak.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from leadkit.storage.warehouse import Warehouse

UTC = dt.UTC
Row = dict[str, Any]

# -- the dataset ----------------------------------------------------------------------------

NAMES = ("Ann", "ann", "Bob", "O'Neill", "Zoë", "a,b", "x;y", "100%", "", " lead ")
CODES = ("KZ", "HFL", "ZPL", "RM")
TAGS = ("help-to-buy", "first-dibs", "shared", "rent")
START = dt.datetime(2021, 3, 8, tzinfo=UTC)


def _instant(rng: random.Random) -> dt.datetime:
    """Mostly whole minutes in a few days, with seconds, microseconds and day edges."""
    kind = rng.random()
    day = START + dt.timedelta(days=rng.randrange(6))
    if kind < 0.15:
        return day  # midnight exactly
    if kind < 0.25:
        return day + dt.timedelta(days=1, microseconds=-1)  # 23:59:59.999999
    minute = day + dt.timedelta(minutes=rng.randrange(24 * 60))
    if kind < 0.7:
        return minute
    return minute + dt.timedelta(seconds=rng.randrange(60), microseconds=rng.randrange(3) * 7)


def _maybe(rng: random.Random, value: Any, null_rate: float = 0.2) -> Any:
    return None if rng.random() < null_rate else value


def _rows() -> list[Row]:
    rng = random.Random(6)
    rows = []
    for i in range(240):
        created = _instant(rng)
        site = None
        if rng.random() > 0.1:
            geo = None
            if rng.random() > 0.15:
                geo = {
                    "lat": _maybe(rng, rng.choice([51.5, 52.25, -0.5])),
                    "area_code": _maybe(rng, rng.choice(["N1", "SW1", "E14"])),
                }
            site = {
                "id": _maybe(rng, rng.choice([1, 2, 3, 32]), 0.1),
                "site_code": _maybe(rng, rng.choice(CODES), 0.1),
                "opened_at": _maybe(rng, _instant(rng)),
                "geo": geo,
            }
        rows.append(
            {
                "id": i + 1,
                "n": _maybe(rng, rng.randrange(-3, 6)),
                "x": _maybe(rng, rng.choice([-1.5, 0.0, 0.25, 2.0, 1e-3, 7.75])),
                "price": _maybe(rng, Decimal(rng.choice(["0.00", "9.99", "10.00", "-2.50"]))),
                "first_name": _maybe(rng, rng.choice(NAMES)),
                "is_active": _maybe(rng, rng.random() < 0.5),
                "born_on": _maybe(rng, dt.date(1990, 1, 1) + dt.timedelta(days=rng.randrange(5))),
                "created_at": created,
                "seen_at": _maybe(rng, _instant(rng).replace(tzinfo=None)),
                "site": site,
                "tags": _maybe(rng, rng.sample(TAGS, k=rng.randrange(0, 3))),
                "scores": _maybe(rng, [rng.randrange(4) for _ in range(rng.randrange(0, 3))]),
            }
        )
    return rows


ROWS = _rows()

SCHEMA = {
    "id": pl.Int32,
    "n": pl.Int64,
    "x": pl.Float64,
    "price": pl.Decimal(10, 2),
    "first_name": pl.String,
    "is_active": pl.Boolean,
    "born_on": pl.Date,
    "created_at": pl.Datetime("us", "UTC"),
    "seen_at": pl.Datetime("us"),
    "site": pl.Struct(
        {
            "id": pl.Int32,
            "site_code": pl.String,
            "opened_at": pl.Datetime("us", "UTC"),
            "geo": pl.Struct({"lat": pl.Float64, "area_code": pl.String}),
        }
    ),
    "tags": pl.List(pl.String),
    "scores": pl.List(pl.Int64),
}

DDL = """
CREATE TABLE props (
    id INTEGER PRIMARY KEY, n BIGINT, x DOUBLE, price DECIMAL(10, 2), first_name VARCHAR,
    is_active BOOLEAN, born_on DATE, created_at TIMESTAMPTZ, seen_at TIMESTAMP,
    site STRUCT(id INTEGER, site_code VARCHAR, opened_at TIMESTAMPTZ,
                geo STRUCT(lat DOUBLE, area_code VARCHAR)),
    tags VARCHAR[], scores BIGINT[]
)
"""


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(Path(tmp_path_factory.mktemp("props")) / "w.duckdb")
    frame = pl.DataFrame(ROWS, schema=SCHEMA)
    with warehouse.writing() as con:
        con.execute(DDL)
        con.register("rows_frame", frame)
        con.execute("INSERT INTO props SELECT * FROM rows_frame")
        con.unregister("rows_frame")
    return warehouse


# -- the fields, their spellings and their values --------------------------------------------


@dataclass(frozen=True)
class Col:
    """A field of ``props``: its spellings, kind and how to read it from a row."""

    names: tuple[str, ...]
    kind: str  # int, float, decimal, str, bool, date, ts, naive, list_str, list_int
    get: Callable[[Row], Any]


def _leaf(*path: str) -> Callable[[Row], Any]:
    def get(row: Row) -> Any:
        value: Any = row
        for part in path:
            if value is None:
                return None
            value = value[part]
        return value

    return get


COLS = (
    Col(("id",), "int", _leaf("id")),
    Col(("n",), "int", _leaf("n")),
    Col(("x",), "float", _leaf("x")),
    Col(("price",), "decimal", _leaf("price")),
    Col(("firstName", "first_name"), "str", _leaf("first_name")),
    Col(("isActive", "is_active"), "bool", _leaf("is_active")),
    Col(("bornOn", "born_on"), "date", _leaf("born_on")),
    Col(("createdAt", "created_at"), "ts", _leaf("created_at")),
    Col(("seenAt", "seen_at"), "naive", _leaf("seen_at")),
    Col(("site.id",), "int", _leaf("site", "id")),
    Col(("site.siteCode", "site.site_code"), "str", _leaf("site", "site_code")),
    Col(("site.openedAt", "site.opened_at"), "ts", _leaf("site", "opened_at")),
    Col(("site.geo.lat",), "float", _leaf("site", "geo", "lat")),
    Col(("site.geo.areaCode", "site.geo.area_code"), "str", _leaf("site", "geo", "area_code")),
    Col(("tags",), "list_str", _leaf("tags")),
    Col(("scores",), "list_int", _leaf("scores")),
)
ORDERED = {"int", "float", "decimal", "date", "ts", "naive"}
TEMPORAL = {"date", "ts", "naive"}
LISTS = {"list_str", "list_int"}


def _domain(col: Col) -> list[Any]:
    """Values of the column in the dataset (so filters match something), non-null."""
    seen: list[Any] = []
    for row in ROWS:
        value = col.get(row)
        for v in value if col.kind in LISTS and value is not None else [value]:
            if v is not None and v not in seen:
                seen.append(v)
    return seen


@st.composite
def value_of(draw: st.DrawFn, col: Col) -> tuple[Any, str]:
    """(typed value, text as written in the query) for one value of ``col``."""
    kind = col.kind
    domain = _domain(col)
    if kind in ("int", "list_int"):
        v = draw(st.sampled_from(domain) | st.integers(-5, 400))
        return v, str(v)
    if kind == "float":
        v = draw(st.sampled_from(domain) | st.sampled_from([-2.0, 0.1, 3.0, 51.5]))
        return v, draw(st.sampled_from([repr(v), f"{v:.6e}"]))
    if kind == "decimal":
        v = draw(st.sampled_from(domain) | st.sampled_from([Decimal("5"), Decimal("-2.5")]))
        return v, str(v)
    if kind in ("str", "list_str"):
        text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6)
        v = draw(st.sampled_from(domain) | text)
        return v, v
    if kind == "bool":
        v = draw(st.booleans())
        forms = ["true", "TRUE", "1"] if v else ["false", "False", "0"]
        return v, draw(st.sampled_from(forms))
    if kind == "date":
        v = draw(st.sampled_from(domain) | st.dates(dt.date(1989, 12, 30), dt.date(1990, 1, 7)))
        return v, v.isoformat()
    # timestamps: an instant and one of the documented ways of writing it
    naive = kind == "naive"
    base = [v.replace(tzinfo=UTC) if naive else v for v in domain]
    instant = draw(st.sampled_from(base) | st.sampled_from([START, START + dt.timedelta(days=2)]))
    form = draw(st.sampled_from(["date", "minute", "second", "iso_z", "offset"]))
    if form == "date":
        instant = instant.replace(hour=0, minute=0, second=0, microsecond=0)
        text = instant.strftime("%Y-%m-%d")
    elif form == "minute":
        instant = instant.replace(second=0, microsecond=0)
        text = instant.strftime("%Y-%m-%d %H:%M")
    elif form == "second":
        instant = instant.replace(microsecond=0)
        text = instant.strftime("%Y-%m-%d %H:%M:%S")
    elif form == "iso_z":
        text = instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        zone = dt.timezone(dt.timedelta(hours=draw(st.sampled_from([-5, 2]))))
        instant = instant.replace(microsecond=0)
        text = instant.astimezone(zone).isoformat()
    return instant, text


# -- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """One filter: the (name, value) pairs written and the predicate it means."""

    pairs: tuple[tuple[str, str], ...]
    test: Callable[[Row], bool]


def _scalar(col: Col, row: Row) -> Any:
    value = col.get(row)
    if col.kind == "naive" and value is not None:
        return value.replace(tzinfo=UTC)  # naive timestamps hold UTC
    return value


def _member(col: Col, values: list[Any], negated: bool) -> Callable[[Row], bool]:
    """Equals/in (any of) and not/notin (none of); lists: contains any/none; null never."""

    def test(row: Row) -> bool:
        value = _scalar(col, row)
        if value is None:
            return False
        items = value if col.kind in LISTS else [value]
        hit = any(item in values for item in items)
        return not hit if negated else hit

    return test


def _compare(col: Col, op: str, v: Any) -> Callable[[Row], bool]:
    def test(row: Row) -> bool:
        value = _scalar(col, row)
        if value is None:
            return False
        if op == "gt":
            return bool(value > v)
        if op == "lt":
            return bool(value < v)
        if op == "gte":
            return bool(value >= v)
        return bool(value <= v)

    return test


def _ltt(col: Col, v: Any) -> Callable[[Row], bool]:
    """``ltt``: before the day after the value's UTC date, whatever its time of day."""
    day = v.astimezone(UTC).date() if isinstance(v, dt.datetime) else v
    limit: Any = day + dt.timedelta(days=1)
    if col.kind != "date":
        limit = dt.datetime.combine(limit, dt.time(), UTC)

    def test(row: Row) -> bool:
        value = _scalar(col, row)
        return value is not None and value < limit

    return test


def _ops(col: Col) -> list[str]:
    ops = ["eq", "not", "in", "notin", "null", "notnull"]
    if col.kind in ORDERED:
        ops += ["gt", "lt", "gte", "lte"]
    if col.kind in TEMPORAL:
        ops.append("ltt")
    return ops


@st.composite
def filters(draw: st.DrawFn) -> Filter:
    col = draw(st.sampled_from(COLS))
    name = draw(st.sampled_from(col.names))
    op = draw(st.sampled_from(_ops(col)))
    if op in ("null", "notnull"):
        flag = draw(st.sampled_from(["", "true", "false"]))
        is_null = (op == "null") != (flag == "false")

        def nulls(row: Row) -> bool:
            return (_scalar(col, row) is None) == is_null

        return Filter(((f"{name}.{op}", flag),), nulls)
    if op in ("in", "notin"):
        drawn = draw(st.lists(value_of(col), min_size=1, max_size=4))
        values = [v for v, _ in drawn]
        texts = [t for _, t in drawn]
        test = _member(col, values, negated=op == "notin")
        if draw(st.booleans()):
            bracket = f"{name}[]" if op == "in" else f"{name}.not[]"
            return Filter(tuple((bracket, t) for t in texts), test)
        if any("," in t or t == "" for t in texts):  # a comma list cannot say these
            texts, values = ["1"], [1]
            if col.kind not in ("int", "list_int", "float", "decimal"):
                return Filter((), lambda row: True)
            test = _member(col, values, negated=op == "notin")
        return Filter(((f"{name}.{op}", ",".join(texts)),), test)
    value, text = draw(value_of(col))
    if op == "eq":
        return Filter(((name, text),), _member(col, [value], negated=False))
    if op == "not":
        return Filter(((f"{name}.not", text),), _member(col, [value], negated=True))
    if op == "ltt":
        return Filter(((f"{name}.ltt", text),), _ltt(col, value))
    return Filter(((f"{name}.{op}", text),), _compare(col, op, value))


SORTABLE = [c for c in COLS if c.kind not in LISTS]


@st.composite
def sorts(draw: st.DrawFn) -> list[tuple[Col, str, bool]]:
    cols = draw(st.lists(st.sampled_from(SORTABLE), max_size=3, unique_by=lambda c: c.names))
    return [(c, draw(st.sampled_from(c.names)), draw(st.booleans())) for c in cols]


def oracle_order(rows: list[Row], keys: list[tuple[Col, bool]]) -> list[Row]:
    """Sort by ``keys`` (nulls last in both directions), then by id ascending."""
    out = sorted(rows, key=lambda r: r["id"])
    for col, descending in reversed(keys):
        present = [r for r in out if _scalar(col, r) is not None]
        absent = [r for r in out if _scalar(col, r) is None]
        present.sort(key=lambda r, c=col: _scalar(c, r), reverse=descending)  # stable
        out = present + absent
    return out


def encode(pairs: list[tuple[str, str]]) -> str:
    """A URL query string, every name and value percent-encoded (``[]`` kept readable)."""
    return "&".join(f"{quote(k, safe='.[]')}={quote(v, safe='')}" for k, v in pairs)


# -- the property ---------------------------------------------------------------------------


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    chosen=st.lists(filters(), max_size=4),
    sort=sorts(),
    size=st.integers(1, 40),
    page_pick=st.integers(0, 1000),
)
def test_query_matches_the_python_oracle(
    wh: Warehouse,
    chosen: list[Filter],
    sort: list[tuple[Col, str, bool]],
    size: int,
    page_pick: int,
) -> None:
    pairs: list[tuple[str, str]] = []
    names: set[str] = set()
    tests = []
    for f in chosen:
        if not f.pairs or any(k in names for k, _ in f.pairs if not k.endswith("[]")):
            continue  # the same parameter twice is an error of its own (tested elsewhere)
        if any(k.endswith("[]") and k in names for k, _ in f.pairs):
            continue  # a second bracket list would join the first one
        names.update(k for k, _ in f.pairs)
        pairs.extend(f.pairs)
        tests.append(f.test)
    matching = [r for r in ROWS if all(t(r) for t in tests)]
    if sort:
        pairs.append(("sort", ",".join(("-" if d else "") + name for _, name, d in sort)))
        expected = oracle_order(matching, [(c, d) for c, _, d in sort])
    else:  # the default sort: newest first
        created = next(c for c in COLS if c.names[0] == "createdAt")
        expected = oracle_order(matching, [(created, True)])
    pages = max(1, -(-len(expected) // size))
    page = 1 + page_pick % (pages + 1)  # sometimes one past the last page
    pairs += [("size", str(size)), ("page", str(page))]

    event(f"{len(tests)} filters, {'some' if expected else 'no'} rows match")
    result = wh.query(encode(pairs), table="props")

    assert result.total == len(expected)
    want = [r["id"] for r in expected[(page - 1) * size : page * size]]
    assert result.frame["id"].to_list() == want, encode(pairs)


def test_oracle_sorts_nulls_last_in_both_directions() -> None:
    col = next(c for c in COLS if c.names == ("n",))
    rows = [{"id": 1, "n": None}, {"id": 2, "n": 1}, {"id": 3, "n": 1}, {"id": 4, "n": 0}]
    assert [r["id"] for r in oracle_order(rows, [(col, True)])] == [2, 3, 4, 1]
    assert [r["id"] for r in oracle_order(rows, [(col, False)])] == [4, 2, 3, 1]


def test_dataset_has_ties_nulls_and_day_edges() -> None:
    created = [r["created_at"] for r in ROWS]
    assert len(set(created)) < len(created)
    assert any(c.hour == 0 and c.minute == 0 and c.microsecond == 0 for c in created)
    assert any(c.microsecond == 999_999 for c in created)
    assert any(r["site"] is None for r in ROWS)
    assert any(r["tags"] == [] for r in ROWS)
    assert any(r["tags"] is None for r in ROWS)
