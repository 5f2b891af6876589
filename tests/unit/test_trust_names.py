"""Pure parts of the issuer trust check: cache lifetimes and displayed names."""

from __future__ import annotations

import httpx
import pytest

from app.services.verification.trust import MAX_CACHE_SECONDS, displayed_names, max_age


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, 0),
        ({"Cache-Control": "max-age=600"}, 600),
        ({"Cache-Control": "public, MAX-AGE=60, must-revalidate"}, 60),
        ({"Cache-Control": 'max-age="30"'}, 30),
        ({"Cache-Control": "max-age=600", "Age": "100"}, 500),
        ({"Cache-Control": "max-age=60", "Age": "100"}, 0),
        ({"Cache-Control": "no-store, max-age=600"}, 0),
        ({"Cache-Control": "max-age=600, no-cache"}, 0),
        ({"Cache-Control": "max-age=-5"}, 0),
        ({"Cache-Control": "max-age=99999999"}, MAX_CACHE_SECONDS),
    ],
)
def test_a_registry_is_reused_as_long_as_its_headers_say(
    headers: dict[str, str], seconds: int
) -> None:
    assert max_age(httpx.Headers(headers)) == seconds


def test_displayed_names_read_strings_value_objects_and_language_maps() -> None:
    assert displayed_names({"issuer": "did:example:1"}) == set()
    assert displayed_names({"issuer": {"id": "did:example:1"}}) == set()
    assert displayed_names({"issuer": {"name": " University  of ZED "}}) == {"university of zed"}
    named = {
        "name": [
            {"@value": "University of Zed", "@language": "en"},
            {"@value": "Ollscoil Zed", "@language": "ga"},
        ]
    }
    assert displayed_names({"issuer": named}) == {"university of zed", "ollscoil zed"}
    language_map = {"name": {"en": "University of Zed", "ga": "Ollscoil Zed"}}
    assert displayed_names({"issuer": language_map}) == {"university of zed", "ollscoil zed"}
    assert displayed_names({"issuer": {"name": [1, None, ""]}}) == set()
