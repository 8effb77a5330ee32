"""Synthetic UK customers for the KPro sandbox: names, contact details and circumstances.

One row per customer; a customer's leads (enquiries) all carry the same personal fields.
Values hang together where a reader would notice: titles match the given name's gender,
e-mails are built from the name, work fields are empty for people not working, and
``firstTimeBuyer`` follows ``homeOwnershipStatus``.

Example:
    >>> from leadkit.systems.kpro.draws import Draws
    >>> people = customer_columns(Draws(seed=0, stream="doc", n=2))
    >>> people.columns[:4]
    ['email', 'title', 'firstName', 'lastName']
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from leadkit.systems.kpro import reference, vocab
from leadkit.systems.kpro.catalog import INWARD_LETTERS
from leadkit.systems.kpro.draws import Draws, chance, pick, pick_index

__all__ = ["BIRTH_DATES", "CUSTOMER_COLUMNS", "customer_columns"]

BIRTH_DATES = (date(1955, 1, 1), date(2004, 12, 31))
"""Inclusive range of synthetic ``dateOfBirth`` values."""

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "email", "title", "firstName", "lastName", "fullName", "phone", "dateOfBirth",
    "living_row", "homeAddress", "homePostcode", "home_la_row", "working_row", "workAddress",
    "workPostcode", "work_la_row", "occupation", "employerName", "annualHouseholdIncome",
    "deposit", "dependants", "eligibleCitizen", "firstTimeBuyer", "homeOwnershipStatus",
    "armedForcesMember", "hasDisability", "keyworker", "housingWaitingList",
)  # fmt: skip
"""Columns of :func:`customer_columns`. ``*_row`` columns are row numbers into the lookup
tables (``reference.LIVING_CIRCUMSTANCES``, ``reference.WORKING_CIRCUMSTANCES``,
``vocab.LOCAL_AUTHORITIES``), null when the field is null."""

_FIRST_NAMES = vocab.FEMALE_FIRST_NAMES + vocab.MALE_FIRST_NAMES
_FEMALE_TITLES = (("Ms", 30), ("Mrs", 34), ("Miss", 30), ("Dr", 4), ("Mx", 2))
_MALE_TITLES = (("Mr", 95), ("Dr", 4), ("Mx", 1))
_LIVING_WEIGHTS = (38, 4, 8, 5, 10, 1, 12, 22)
_WORKING_WEIGHTS = (2, 4, 3, 3, 4, 4, 55, 15, 10)
_EMPLOYED_IDS = (4, 7, 8, 9)
_EMPLOYED_ROWS = tuple(
    i for i, c in enumerate(reference.WORKING_CIRCUMSTANCES) if c.id in _EMPLOYED_IDS
)
# Mobile formats (prefix, separator 1, separator 2): 07987 654 321, 07987654321,
# +44 7987 654321, +447987654321, 07987-654-321.
_MOBILE = (("07", " ", " "), ("07", "", ""), ("+44 7", " ", ""), ("+447", "", ""), ("07", "-", "-"))
_LANDLINE_PREFIXES = ("020 7", "020 8", "0161 ", "(0161) ", "0113 ", "0121 ", "(0117) ",
                      "0114 ", "0115 ", "0118 ")  # fmt: skip

_WIDE_DRAWS = ("last", "phone_digits", "birth", "income", "deposit")
_NARROW_DRAWS = """no_name gender first middle has_middle title no_title no_first no_last
    email_format email_number email_domain phone_kind phone_format no_phone no_birth living
    no_living
    home_la home_district home_inward house street flat no_home_address no_home_postcode
    no_home_la working no_working same_work_la work_la work_district work_inward work_house
    work_street has_work_address has_work_postcode occupation has_occupation employer
    has_employer no_income no_deposit dependants no_dependants citizen no_citizen ownership
    no_ownership ftb no_ftb armed no_armed disability no_disability keyworker no_keyworker
    waiting no_waiting"""
_DRAWS = dict.fromkeys(_NARROW_DRAWS.split(), 16) | dict.fromkeys(_WIDE_DRAWS, 32)
"""Random draws per customer (name → bits)."""


def _ascii_lower(name: str) -> str:
    return re.sub("[^a-z]", "", name.lower())


def _nullable(missing: str, p: float, value: pl.Expr) -> pl.Expr:
    """``value``, or null with probability ``p`` (draw ``missing``)."""
    return pl.when(chance(missing, p)).then(None).otherwise(value)


def _flag(draw: str, missing: str, p_true: float, p_null: float) -> pl.Expr:
    return _nullable(missing, p_null, chance(draw, p_true))


def _postcode(la: str, district: str, inward: str) -> pl.Expr:
    """A valid UK postcode inside the local authority whose row is in column ``la``."""
    las = vocab.LOCAL_AUTHORITIES
    flat = pl.Series([d for a in las for d in a.districts])
    offsets = pl.Series([sum(len(b.districts) for b in las[:i]) for i in range(len(las))])
    counts = pl.Series([len(a.districts) for a in las])
    row = pl.lit(offsets).gather(pl.col(la)) + pl.col(district) % pl.lit(counts).gather(pl.col(la))
    letters = pl.Series(list(INWARD_LETTERS))
    n = pl.col(inward)
    return pl.concat_str(
        pl.lit(flat).gather(row),
        pl.lit(" "),
        (n % 10).cast(pl.String),
        pl.lit(letters).gather(n // 10 % 20),
        pl.lit(letters).gather(n // 200 % 20),
    )


def _address(house: str, street: str, flat: str | None) -> pl.Expr:
    """``17 Brick Lane``, sometimes ``Flat 3, 17 Brick Lane``."""
    number = (pl.col(house) % 180 + 1).cast(pl.String)
    if flat is None:
        return pl.concat_str(number, pl.lit(" "), pick(street, vocab.STREETS))
    prefix = pl.when(chance(flat, 0.15)).then(
        pl.concat_str(pl.lit("Flat "), (pl.col(flat) % 40 + 1).cast(pl.String), pl.lit(", "))
    )
    return pl.concat_str(prefix.fill_null(""), number, pl.lit(" "), pick(street, vocab.STREETS))


def _phone() -> pl.Expr:
    """UK mobile and landline numbers in the free formats people type."""
    digits = (pl.col("phone_digits") % 1_000_000_000).cast(pl.String).str.zfill(9)
    mobile = chance("phone_kind", 0.75)

    def part(i: int, landline: str) -> pl.Expr:
        return (
            pl.when(mobile)
            .then(pick("phone_format", [m[i] for m in _MOBILE]))
            .otherwise(pl.lit(landline))
        )

    mobile_prefix = pick("phone_format", [m[0] for m in _MOBILE])
    prefix = pl.when(mobile).then(mobile_prefix).otherwise(pick("phone_format", _LANDLINE_PREFIXES))
    # Mobile: 3 + 3 + 3 digits after the prefix; landline: 3 + 4 ("496 0123").
    tail = digits.str.slice(6, pl.when(mobile).then(3).otherwise(1))
    return pl.concat_str(
        prefix, digits.str.slice(0, 3), part(1, " "), digits.str.slice(3, 3), part(2, ""), tail
    )


def _email() -> pl.Expr:
    """``first.last123@domain`` and three other common shapes, from the customer's name."""
    lower = pl.Series([_ascii_lower(n) for n in _FIRST_NAMES])
    given = pl.lit(lower).gather(pl.col("given_row"))
    family = pl.lit(pl.Series([_ascii_lower(n) for n in vocab.LAST_NAMES])).gather(
        pl.col("family_row")
    )
    fmt = pl.col("email_format") % 4
    initial = given.str.slice(0, 1)
    first = pl.when(fmt <= 1).then(given).when(fmt == 2).then(initial).otherwise(family)
    second = pl.when(fmt == 3).then(given).otherwise(family)
    separator = pick("email_format", [".", "", "", "."])
    number = (pl.col("email_number") % 9999 + 1).cast(pl.String)
    domains = vocab.EMAIL_DOMAINS
    domain = pick("email_domain", [x for x, _ in domains], [w for _, w in domains])
    return pl.concat_str(first, separator, second, number, pl.lit("@"), domain)


def customer_columns(draws: Draws) -> pl.DataFrame:
    """Generate ``draws.n`` customers.

    Args:
        draws: random streams for the customers (one row each).

    Returns:
        One row per customer, columns :data:`CUSTOMER_COLUMNS`.
    """
    d = draws.frame(_DRAWS)
    female = pl.col("gender") < 32768
    n_female = len(vocab.FEMALE_FIRST_NAMES)
    n_male = len(vocab.MALE_FIRST_NAMES)

    def first_name_row(draw: str) -> pl.Expr:
        return (
            pl.when(female)
            .then(pl.col(draw) % n_female)
            .otherwise(n_female + pl.col(draw) % n_male)
        )

    titles = (
        pl.when(female)
        .then(pick("title", [t for t, _ in _FEMALE_TITLES], [w for _, w in _FEMALE_TITLES]))
        .otherwise(pick("title", [t for t, _ in _MALE_TITLES], [w for _, w in _MALE_TITLES]))
    )
    n_las = len(vocab.LOCAL_AUTHORITIES)
    d = d.with_columns(
        given_row=first_name_row("first"),
        middle_row=first_name_row("middle"),
        family_row=pick_index("last", len(vocab.LAST_NAMES)),
        home_la_pick=pick_index("home_la", n_las),
        working_pick=pick_index("working", 9, _WORKING_WEIGHTS),
        ownership=_nullable("no_ownership", 0.35, pick_index("ownership", 4, (55, 27, 10, 8)) + 1),
    )
    d = d.with_columns(
        work_la_pick=pl.when(chance("same_work_la", 0.55))
        .then(pl.col("home_la_pick"))
        .otherwise(pick_index("work_la", n_las)),
        working_row=_nullable("no_working", 0.3, pl.col("working_pick")),
    )

    names = pl.lit(pl.Series(_FIRST_NAMES))
    given = names.gather(pl.col("given_row"))
    given_full = pl.when(chance("has_middle", 0.12)).then(
        pl.concat_str(given, pl.lit(" "), names.gather(pl.col("middle_row")))
    )
    # 3% of customers gave no name at all, a few more only one of the two.
    first_name = _nullable(
        "no_name", 0.03, _nullable("no_first", 0.02, given_full.otherwise(given))
    )
    family = pl.lit(pl.Series(vocab.LAST_NAMES)).gather(pl.col("family_row"))
    last_name = _nullable("no_name", 0.03, _nullable("no_last", 0.02, family))

    born_from, born_to = BIRTH_DATES
    birth = pl.lit(born_from) + pl.duration(days=pl.col("birth") % ((born_to - born_from).days + 1))
    working = pl.col("working_row")
    employed = working.is_in(_EMPLOYED_ROWS)
    may_work = employed | working.is_null()
    has_work_postcode = employed & chance("has_work_postcode", 0.7)
    ownership = pl.col("ownership")
    ftb_from_ownership = (ownership == 1) | ((ownership == 2) & chance("ftb", 0.8))
    home_postcode = _nullable(
        "no_home_postcode", 0.2, _postcode("home_la_pick", "home_district", "home_inward")
    )
    income = (pl.col("income") % 90 + pl.col("income") // 65536 % 90) * 500 + 14_000
    deposit = (pl.col("deposit") % 100) * (pl.col("deposit") // 65536 % 100) * 6 // 100 * 100

    full_name = pl.concat_str(first_name, last_name, separator=" ", ignore_nulls=True)
    work_postcode = _postcode("work_la_pick", "work_district", "work_inward")
    dependants = pick_index("dependants", 5, (50, 22, 18, 7, 3)).cast(pl.Int64)
    first_time = pl.when(ownership.is_null()).then(chance("ftb", 0.7))
    return d.select(
        email=_email(),
        title=_nullable("no_title", 0.25, titles),
        firstName=first_name,
        lastName=last_name,
        fullName=pl.when(full_name != "").then(full_name),
        phone=_nullable("no_phone", 0.15, _phone()),
        dateOfBirth=_nullable("no_birth", 0.35, birth.dt.strftime("%Y-%m-%d")),
        living_row=_nullable("no_living", 0.3, pick_index("living", 8, _LIVING_WEIGHTS)),
        homeAddress=_nullable("no_home_address", 0.3, _address("house", "street", "flat")),
        homePostcode=home_postcode,
        home_la_row=pl.when(home_postcode.is_null() | chance("no_home_la", 0.05))
        .then(None)
        .otherwise(pl.col("home_la_pick")),
        working_row=working,
        workAddress=pl.when(employed & chance("has_work_address", 0.6)).then(
            _address("work_house", "work_street", None)
        ),
        workPostcode=pl.when(has_work_postcode).then(work_postcode),
        work_la_row=pl.when(has_work_postcode).then(pl.col("work_la_pick")),
        occupation=pl.when(may_work & chance("has_occupation", 0.6)).then(
            pick("occupation", vocab.OCCUPATIONS)
        ),
        employerName=pl.when(may_work & chance("has_employer", 0.5)).then(
            pick("employer", vocab.EMPLOYERS)
        ),
        annualHouseholdIncome=_nullable("no_income", 0.3, income.cast(pl.Int64)),
        deposit=_nullable("no_deposit", 0.35, deposit.cast(pl.Int64)),
        dependants=_nullable("no_dependants", 0.35, dependants),
        eligibleCitizen=_flag("citizen", "no_citizen", 0.93, 0.25),
        firstTimeBuyer=_nullable("no_ftb", 0.3, first_time.otherwise(ftb_from_ownership)),
        homeOwnershipStatus=ownership.cast(pl.Int64),
        armedForcesMember=_flag("armed", "no_armed", 0.03, 0.35),
        hasDisability=_flag("disability", "no_disability", 0.06, 0.35),
        keyworker=_flag("keyworker", "no_keyworker", 0.22, 0.35),
        housingWaitingList=_flag("waiting", "no_waiting", 0.15, 0.35),
    )
