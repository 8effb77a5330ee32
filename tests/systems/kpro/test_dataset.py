"""The KPro sandbox's synthetic leads: determinism, spec §3.3 shape, realism, knobs."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import Any

import orjson
import polars as pl
import pytest

from leadkit.systems.kpro import reference, vocab
from leadkit.systems.kpro.catalog import build_catalog
from leadkit.systems.kpro.dataset import DatasetOptions, generate_leads
from leadkit.systems.kpro.encoding import LeadEncoder, is_json_safe
from leadkit.systems.kpro.store import LeadStore

START = datetime(2021, 1, 1, tzinfo=UTC)
END = datetime(2021, 7, 1, tzinfo=UTC)

# Spec §3.3, in the documented order: field -> (JSON types, nullable).
FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((int,), False),
    "externalRef": ((str,), True),
    "housingProvider": ((dict,), False),
    "listing": ((dict,), True),
    "development": ((dict,), True),
    "property": ((dict,), True),
    "site": ((dict,), False),
    "source": ((dict,), True),
    "eligibilityStatus": ((str,), False),
    "customerId": ((int,), False),
    "email": ((str,), False),
    "title": ((str,), True),
    "firstName": ((str,), True),
    "lastName": ((str,), True),
    "fullName": ((str,), True),
    "phone": ((str,), True),
    "dateOfBirth": ((str,), True),
    "livingCircumstance": ((dict,), True),
    "homeAddress": ((str,), True),
    "homePostcode": ((str,), True),
    "homeLocalAuthority": ((str,), True),
    "workingCircumstance": ((dict,), True),
    "workAddress": ((str,), True),
    "workPostcode": ((str,), True),
    "workLocalAuthority": ((str,), True),
    "occupation": ((str,), True),
    "employerName": ((str,), True),
    "annualHouseholdIncome": ((int, float), True),
    "deposit": ((int, float), True),
    "dependants": ((int, float), True),
    "eligibleCitizen": ((bool,), True),
    "firstTimeBuyer": ((bool,), True),
    "homeOwnershipStatus": ((int,), True),
    "armedForcesMember": ((bool,), True),
    "hasDisability": ((bool,), True),
    "keyworker": ((bool,), True),
    "housingWaitingList": ((bool,), True),
    "buyingInterestPeriod": ((dict,), True),
    "additionalInfo": ((str,), True),
    "hearAboutUs": ((str,), True),
    "enquiryType": ((str,), True),
    "updatedAt": ((str,), False),
    "createdAt": ((str,), False),
}
# Nested objects (spec §3.3): key -> (JSON types, nullable), in documented order.
OBJECTS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "housingProvider": {"id": ((int,), False), "name": ((str,), False), "slug": ((str,), False)},
    "listing": {
        "id": ((int,), False),
        "externalRef": ((str,), True),
        "name": ((str,), False),
        "availabilityStatus": ((str,), False),
        "schemeGroup": ((str,), False),
        "schemes": ((list,), False),
        "development": ((dict,), True),
    },
    "development": {
        "id": ((int,), False),
        "externalRef": ((str,), True),
        "name": ((str,), False),
        "building": ((str,), True),
        "street": ((str,), True),
        "postcode": ((str,), False),
        "town": ((str,), True),
    },
    "property": {
        "id": ((int,), False),
        "externalRef": ((str,), True),
        "propertyNumber": ((str,), True),
        "name": ((str,), True),
        "newBuild": ((bool,), False),
        "bedrooms": ((int,), False),
        "bathrooms": ((int,), False),
    },
    "site": {"id": ((int,), False), "code": ((str,), False), "name": ((str,), False)},
    "source": {"id": ((int,), False), "name": ((str,), False)},
    "livingCircumstance": {"id": ((int,), False), "name": ((str,), False)},
    "workingCircumstance": {"id": ((int,), False), "name": ((str,), False)},
    "buyingInterestPeriod": {"id": ((int,), False), "name": ((str,), False)},
}
LOCAL_AUTHORITY = {
    "id": ((int,), False),
    "name": ((str,), False),
    "slug": ((str,), False),
    "longName": ((str,), False),
    "mapitId": ((int,), True),
}
ATOM = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00")
UK_POSTCODE = re.compile(
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) [0-9][ABD-HJLNP-UW-Z]{2}"
)


def dataset(n: int, **options: Any) -> list[dict[str, Any]]:
    return LeadStore(n, DatasetOptions(**options)).leads()


@pytest.fixture(scope="module")
def leads() -> list[dict[str, Any]]:
    return dataset(5000, seed=1)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def has_type(value: object, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def check_object(value: dict[str, Any], spec: dict[str, tuple[tuple[type, ...], bool]]) -> None:
    assert list(value) == list(spec)
    for key, (types, nullable) in spec.items():
        if value[key] is None:
            assert nullable, key
        else:
            assert has_type(value[key], types), (key, value[key])


# --- determinism ----------------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    def encoded(seed: int) -> pl.Series:
        frame = generate_leads(300, DatasetOptions(seed=seed)).frame
        return LeadEncoder(build_catalog(seed)).encode(frame)

    first, again, other = encoded(5), encoded(5), encoded(6)
    assert first.to_list() == again.to_list()
    assert first.to_list() != other.to_list()


def test_a_prefix_of_the_catalog_and_customers_does_not_depend_on_the_count() -> None:
    assert build_catalog(2).listings.equals(build_catalog(2).listings)
    small = generate_leads(10, DatasetOptions(seed=2)).frame
    assert small["id"].to_list()[0] == 100_001
    assert small["customerId"].to_list()[0] == 40_001


# --- shape (spec §3.3) ----------------------------------------------------------------


def test_every_documented_field_is_present_in_order(leads: list[dict[str, Any]]) -> None:
    for lead in leads:
        assert list(lead) == list(FIELDS)


@pytest.mark.parametrize("field", list(FIELDS))
def test_field_has_the_documented_json_type(leads: list[dict[str, Any]], field: str) -> None:
    types, nullable = FIELDS[field]
    values = [lead[field] for lead in leads]
    present = [v for v in values if v is not None]
    assert present, f"{field} is never set"
    assert all(has_type(v, types) for v in present), field
    if nullable:
        share = 1 - len(present) / len(values)
        assert 0 < share < 0.97, f"{field}: {share:.0%} null"
    else:
        assert len(present) == len(values), f"{field} must never be null"


@pytest.mark.parametrize("field", list(OBJECTS))
def test_nested_objects_have_the_documented_keys_and_types(
    leads: list[dict[str, Any]], field: str
) -> None:
    for lead in leads:
        if lead[field] is not None:
            check_object(lead[field], OBJECTS[field])
            if field == "listing" and lead["listing"]["development"] is not None:
                check_object(lead["listing"]["development"], OBJECTS["development"])


def test_timestamps_are_atom_in_range_and_updated_never_before_created(
    leads: list[dict[str, Any]],
) -> None:
    for lead in leads:
        assert ATOM.fullmatch(lead["createdAt"])
        assert ATOM.fullmatch(lead["updatedAt"])
        created, updated = ts(lead["createdAt"]), ts(lead["updatedAt"])
        assert START <= created < END
        assert updated >= created
    assert any(lead["updatedAt"] != lead["createdAt"] for lead in leads)


def test_ids_increase_with_created_at_and_some_created_at_are_equal(
    leads: list[dict[str, Any]],
) -> None:
    ids = [lead["id"] for lead in leads]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    created = [ts(lead["createdAt"]) for lead in leads]
    assert created == sorted(created)
    assert len(set(created)) < len(created), "expected some exact createdAt ties"


# --- realism --------------------------------------------------------------------------


def test_customers_own_several_leads_with_the_same_personal_details(
    leads: list[dict[str, Any]],
) -> None:
    by_customer: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for lead in leads:
        by_customer[lead["customerId"]].append(lead)
    repeat = [group for group in by_customer.values() if len(group) > 1]
    assert len(repeat) > 100
    for group in repeat:
        assert len({(g["email"], g["fullName"], g["phone"]) for g in group}) == 1
    emails = {group[0]["email"] for group in by_customer.values()}
    assert len(emails) >= 0.99 * len(by_customer), "e-mails should be unique-ish per customer"


def test_names_titles_and_emails_look_british_and_consistent(
    leads: list[dict[str, Any]],
) -> None:
    for lead in leads:
        assert re.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+", lead["email"]), lead["email"]
        if lead["firstName"] and lead["lastName"]:
            assert lead["fullName"] == f"{lead['firstName']} {lead['lastName']}"
        if lead["title"] is not None:
            assert lead["title"] in {"Mr", "Mrs", "Ms", "Miss", "Dr", "Mx"}
    assert any(" " in (lead["firstName"] or "") for lead in leads), "some middle names"


def test_phones_are_uk_numbers_in_free_formats(leads: list[dict[str, Any]]) -> None:
    phones = [lead["phone"] for lead in leads if lead["phone"]]
    for phone in phones:
        digits = re.sub(r"\D", "", phone)
        national = "0" + digits[2:] if phone.startswith("+44") else digits
        assert re.fullmatch(r"0[1-9]\d{8,9}", national), phone
    shapes = {re.sub(r"\d", "9", p) for p in phones}
    assert len(shapes) >= 6, shapes


def test_postcodes_are_valid_and_local_authorities_match_them(
    leads: list[dict[str, Any]],
) -> None:
    districts = {a.name: a.districts for a in vocab.LOCAL_AUTHORITIES}
    for lead in leads:
        for kind in ("home", "work"):
            postcode, authority = lead[f"{kind}Postcode"], lead[f"{kind}LocalAuthority"]
            if postcode is not None:
                assert UK_POSTCODE.fullmatch(postcode), postcode
            if authority is not None:
                assert postcode is not None
                assert postcode.split()[0] in districts[authority]
        if lead["development"] is not None:
            assert UK_POSTCODE.fullmatch(lead["development"]["postcode"])


def test_dates_of_birth_are_real_past_dates(leads: list[dict[str, Any]]) -> None:
    for lead in leads:
        if lead["dateOfBirth"] is not None:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", lead["dateOfBirth"])
            assert date(1940, 1, 1) < date.fromisoformat(lead["dateOfBirth"]) < date(2010, 1, 1)


def test_lookups_come_from_the_reference_tables(leads: list[dict[str, Any]]) -> None:
    sites = {(s.id, s.code, s.name) for s in reference.SITES}
    living = {(c.id, c.name) for c in reference.LIVING_CIRCUMSTANCES}
    working = {(c.id, c.name) for c in reference.WORKING_CIRCUMSTANCES}
    periods = {(c.id, c.name) for c in reference.BUYING_INTEREST_PERIODS}
    schemes = {s.code for s in reference.SCHEMES}
    for lead in leads:
        assert tuple(lead["site"].values()) in sites
        for field, table in (("livingCircumstance", living), ("workingCircumstance", working),
                             ("buyingInterestPeriod", periods)):  # fmt: skip
            if lead[field] is not None:
                assert (lead[field]["id"], lead[field]["name"]) in table
        if lead["listing"] is not None:
            assert set(lead["listing"]["schemes"]) <= schemes
            assert "Development" not in lead["listing"]  # spec Q7: lower-case
        if lead["homeOwnershipStatus"] is not None:
            assert lead["homeOwnershipStatus"] in {1, 2, 3, 4}
    statuses = Counter(lead["eligibilityStatus"] for lead in leads)
    assert set(statuses) == {s.code for s in reference.ELIGIBILITY_STATUSES}
    enquiries = {lead["enquiryType"] for lead in leads} - {None}
    assert enquiries == {e.code for e in reference.ENQUIRY_TYPES}
    assert len({lead["site"]["id"] for lead in leads}) == len(reference.SITES)


def test_inventory_objects_hang_together(leads: list[dict[str, Any]]) -> None:
    for lead in leads:
        listing, prop = lead["listing"], lead["property"]
        if listing is not None and listing["development"] is not None:
            assert lead["development"] == listing["development"]
            if prop is not None:
                assert prop["newBuild"] is True
                assert prop["propertyNumber"] is not None
        if prop is not None and prop["propertyNumber"] is None:
            assert prop["name"] is not None
    assert any(lead["listing"] is None and lead["development"] for lead in leads)
    assert any(lead["listing"] and lead["listing"]["schemes"] == ["help-to-buy", "first-dibs"]
               for lead in leads)  # fmt: skip


# --- knobs ----------------------------------------------------------------------------


def test_local_authority_objects_knob() -> None:
    store = LeadStore(400, DatasetOptions(seed=4), local_authority_objects=True)
    plain = LeadStore(400, DatasetOptions(seed=4)).leads()
    for lead, same in zip(store.leads(), plain, strict=True):
        for field in ("homeLocalAuthority", "workLocalAuthority"):
            if lead[field] is None:
                assert same[field] is None
            else:
                check_object(lead[field], LOCAL_AUTHORITY)
                assert lead[field]["name"] == same[field]
                assert lead[field]["longName"].endswith(("Council", lead[field]["name"]))


def test_malformed_rate_breaks_some_leads_in_every_documented_way() -> None:
    leads = dataset(2000, seed=8, malformed_rate=0.05)
    broken = Counter()
    for lead in leads:
        kinds = [
            lead["email"] is None,
            not ATOM.fullmatch(lead["createdAt"]),
            lead["id"] is None,
            lead["site"] is None,
        ]
        assert sum(kinds) <= 1
        for i, flag in enumerate(kinds):
            broken[i] += flag
    assert all(broken[i] > 5 for i in range(4)), broken
    assert 50 < sum(broken.values()) < 170


def test_dates_knob_and_zero_leads() -> None:
    day = datetime(2021, 3, 11, 10, tzinfo=UTC)
    leads = dataset(50, start=day, end=day.replace(hour=11))
    assert all(day <= ts(lead["createdAt"]) < day.replace(hour=11) for lead in leads)
    assert dataset(0) == []


def test_added_leads_get_new_ids_and_the_given_created_at() -> None:
    store = LeadStore(100, DatasetOptions(seed=9))
    before = store.leads()
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    added = store.add_generated(25, created_at=now)
    after = store.leads()
    assert after[:100] == before
    assert [lead["id"] for lead in after[100:]] == added["id"].to_list()
    assert min(added["id"]) > max(lead["id"] for lead in before)  # type: ignore[operator]
    assert {lead["createdAt"] for lead in after[100:]} == {"2024-05-06T07:08:09+00:00"}
    assert len(store) == 125


# --- encoding -------------------------------------------------------------------------


def test_fast_and_exact_encoders_agree_on_generated_leads() -> None:
    for objects in (False, True):
        encoder = LeadEncoder(build_catalog(3), local_authority_objects=objects)
        frame = generate_leads(3000, DatasetOptions(seed=3, malformed_rate=0.02)).frame
        assert encoder.encode(frame).to_list() == encoder.encode_fast(frame).to_list()


def test_exact_encoder_escapes_any_text() -> None:
    encoder = LeadEncoder(build_catalog(0))
    frame = generate_leads(1, DatasetOptions()).frame
    odd = 'Zoë "Zed" O\'Brien\\\n\t\x01 🏠'
    frame = frame.with_columns(firstName=pl.lit(odd), imported=pl.lit(True))
    assert orjson.loads(encoder.encode_any(frame)[0])["firstName"] == odd


def test_vocabulary_is_json_safe_so_the_fast_encoder_is_exact() -> None:
    texts = [
        *vocab.MALE_FIRST_NAMES,
        *vocab.FEMALE_FIRST_NAMES,
        *vocab.LAST_NAMES,
        *vocab.STREETS,
        *vocab.OCCUPATIONS,
        *vocab.EMPLOYERS,
        *vocab.HEAR_ABOUT_US,
        *vocab.ADDITIONAL_INFO,
        *vocab.DEVELOPMENT_PREFIXES,
        *vocab.DEVELOPMENT_SUFFIXES,
    ]
    texts += [a.name for a in vocab.LOCAL_AUTHORITIES] + [a.town for a in vocab.LOCAL_AUTHORITIES]
    texts += [p.name for p in vocab.HOUSING_PROVIDERS] + [n for _, n in vocab.CUSTOM_SOURCES]
    assert all(is_json_safe(t) for t in texts)  # fmt: skip


# --- reference tables (spec §5) -------------------------------------------------------


def test_reference_tables_match_the_documentation() -> None:
    assert len(reference.SITES) == 21
    assert reference.SITES_BY_ID[41].code == "OTHER"
    assert [s.id for s in reference.SITES] == sorted(s.id for s in reference.SITES)
    assert reference.HOME_OWNERSHIP_STATUSES[1].description == "Do not own a property at the moment"
    assert reference.SCHEMES[6].code == "discount-market-rent"
    assert [e.code for e in reference.ELIGIBILITY_STATUSES] == [
        "passed", "considered", "incomplete", "not-checked", "failed"
    ]  # fmt: skip
    assert [c.id for c in reference.LIVING_CIRCUMSTANCES] == list(range(1, 9))
    assert [c.id for c in reference.WORKING_CIRCUMSTANCES] == list(range(1, 10))
    assert reference.table_rows("kpro_sites")[5] == {
        "id": 6,
        "code": "API",
        "name": "KPro Marketing API",
    }
    with pytest.raises(KeyError, match="known tables"):
        reference.table_rows("kpro_nope")
