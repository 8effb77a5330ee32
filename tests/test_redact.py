"""Secrets are masked in URLs and free text."""

from __future__ import annotations

import pytest

from leadkit.redact import Redactor, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/p?api_key=abc&page=2", "http://h/p?api_key=***&page=2"),
        ("http://h/p?page=2&key=abc", "http://h/p?page=2&key=***"),
        ("http://user:pw@h/p", "http://user:***@h/p"),
        (
            "http://h/p?site.id[]=1&createdAt.gte=2021-03-01+10:00",
            "http://h/p?site.id[]=1&createdAt.gte=2021-03-01+10:00",
        ),
        ("http://h/p", "http://h/p"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redactor_masks_known_values_anywhere() -> None:
    r = Redactor(["topsecretvalue"])
    text = r.scrub('{"message": "key topsecretvalue is invalid"} url=/x?token=zzz')
    assert "topsecretvalue" not in text
    assert "zzz" not in text
    assert r.url("http://h/x?api_key=topsecretvalue") == "http://h/x?api_key=***"
