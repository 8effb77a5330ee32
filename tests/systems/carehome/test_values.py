"""List-strings and telephones: examples from the spec and hypothesis properties."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit.systems.carehome.reference import FUNDING, TIMESCALES
from leadkit.systems.carehome.values import normalise_phone, parse_list_string

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("['Family member']", ["Family member"]),
        ("['Part Buy, Part Rent']", ["Part Buy, Part Rent"]),
        (
            "['Self Funding', 'Local Authority with Top-up']",
            ["Self Funding", "Local Authority with Top-up"],
        ),
        ("[\"Friend's parent\"]", ["Friend's parent"]),
        ("['Family member', \"Friend's parent\"]", ["Family member", "Friend's parent"]),
        ("  ['2-4 weeks']  ", ["2-4 weeks"]),
        ("[]", []),
        ("", []),
        (None, []),
        ("Self Funding", None),
        ("['Self Funding', 'Top-up'", None),
        ("['a', 1]", None),
        ("('a',)", None),
        ("[__import__('os').system('true')]", None),
        ("['a'] + ['b']", None),
        ("[['a']]", None),
    ],
)  # fmt: skip
def test_parse_list_string_examples(text: str | None, expected: list[str] | None) -> None:
    assert parse_list_string(text) == expected


@given(st.lists(texts, max_size=6))
def test_list_string_round_trips_python_repr(values: list[str]) -> None:
    assert parse_list_string(repr(values)) == values


@given(st.lists(st.sampled_from(FUNDING + TIMESCALES), max_size=4))
def test_values_with_commas_are_never_split(values: list[str]) -> None:
    parsed = parse_list_string(repr(values))
    assert parsed == values
    assert len(parsed) == len(values)


@given(texts)
def test_parse_list_string_never_raises_and_returns_strings(text: str) -> None:
    out = parse_list_string(text)
    assert out is None or all(isinstance(v, str) for v in out)


@given(st.text(alphabet="[]'\", \\abcd\n", max_size=30))
def test_parse_list_string_never_raises_on_bracket_soup(text: str) -> None:
    out = parse_list_string(text)
    assert out is None or isinstance(out, list)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01900 000000", "+441900000000"),
        ("+447979908510", "+447979908510"),
        ("+44 (0)7979 908510", "+447979908510"),
        ("0044 7979 908510", "+447979908510"),
        ("(01900) 000000", "+441900000000"),
        ("07979-908-510", "+447979908510"),
        (" 0161 496 0000 ", "+441614960000"),
        ("n/a", None),
        ("call after 6pm", None),
        ("12345", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_phone_examples(text: str | None, expected: str | None) -> None:
    assert normalise_phone(text) == expected


@given(texts)
def test_normalise_phone_never_raises_and_gives_e164_or_none(text: str) -> None:
    out = normalise_phone(text)
    assert out is None or (out.startswith("+") and out[1:].isdigit())


@settings(max_examples=200)
@given(st.sampled_from(["74", "75", "77", "78"]), st.integers(1_000_000, 9_999_999))
def test_uk_mobiles_in_any_format_give_the_same_e164(prefix: str, rest: int) -> None:
    national = f"07{prefix}{rest}"
    e164 = f"+44{national[1:]}"
    for text in (national, f"{national[:5]} {national[5:]}", e164, f"+44 (0){national[1:]}"):
        assert normalise_phone(text) == e164
    # E.164 is a fixed point, and phonenumbers agrees it is valid.
    assert normalise_phone(e164) == e164
    assert phonenumbers.is_valid_number(phonenumbers.parse(e164))
