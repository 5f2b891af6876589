"""The EU vocabularies: loaded once, looked up by URI, notation, short name and alias."""

from __future__ import annotations

import re

import pytest

from app.credentials.vocabularies import (
    SCHEME_DESCRIPTIONS,
    Concept,
    UnknownConceptError,
    lookup,
    short_name,
    vocabularies,
)


def test_loaded_once() -> None:
    assert vocabularies() is vocabularies()


def test_every_scheme_has_concepts_of_its_own_scheme_uri() -> None:
    vocab = vocabularies()
    for key in SCHEME_DESCRIPTIONS:
        scheme = vocab.scheme(key)
        assert scheme.concepts, key
        assert all(concept.scheme == scheme.uri for concept in scheme), key


def test_scheme_sizes_match_the_snapshot() -> None:
    vocab = vocabularies()
    sizes = {
        key: len(vocab.scheme(key).concepts)
        for key in ("eqf", "assessment", "learning-assessment", "learning-setting", "accreditation")
    }
    assert sizes == {
        "eqf": 8,
        "assessment": 14,
        "learning-assessment": 6,
        "learning-setting": 2,
        "accreditation": 4,
    }


@pytest.mark.parametrize(
    ("scheme", "value", "uri", "label"),
    [
        ("eqf", "6", "http://data.europa.eu/snb/eqf/6", "Level 6"),
        ("eqf", "level-6", "http://data.europa.eu/snb/eqf/6", "Level 6"),
        ("eqf", "http://data.europa.eu/snb/eqf/1", "http://data.europa.eu/snb/eqf/1", "Level 1"),
        (
            "assessment",
            "artefact-assessment",
            "http://data.europa.eu/snb/assessment/de4d165a6c",
            "artefact assessment",
        ),
        (
            "assessment",
            "DE4D165A6C",
            "http://data.europa.eu/snb/assessment/de4d165a6c",
            "artefact assessment",
        ),
        (
            "learning-assessment",
            "Blended",
            "http://data.europa.eu/snb/learning-assessment/e92d221e4d",
            "Blended",
        ),
        (
            "learning-assessment",
            "research-lab-based",
            "http://data.europa.eu/snb/learning-assessment/ed4c557045",
            "Research-Lab based",
        ),
        (
            "learning-setting",
            "non-formal",
            "http://data.europa.eu/snb/learning-setting/e207a81fc7",
            "non-formal learning",
        ),
        (
            "education-credit",
            "ects",
            "http://data.europa.eu/snb/education-credit/6fcec5c5af",
            "European Credit Transfer System",
        ),
        (
            "accreditation",
            "program-quality-assurance",
            "http://data.europa.eu/snb/accreditation/820101cba6",
            "Program Quality Assurance",
        ),
        (
            "supervision-verification",
            "unsupervised-without-id-verification",
            "http://data.europa.eu/snb/supervision-verification/c598449d64",
            "Unsupervised without ID Verification",
        ),
        (
            "country",
            "IRL",
            "http://publications.europa.eu/resource/authority/country/IRL",
            "Ireland",
        ),
        (
            "country",
            "ie",
            "http://publications.europa.eu/resource/authority/country/IRL",
            "Ireland",
        ),
        (
            "language",
            "en",
            "http://publications.europa.eu/resource/authority/language/ENG",
            "English",
        ),
        (
            "language",
            "GLE",
            "http://publications.europa.eu/resource/authority/language/GLE",
            "Irish",
        ),
    ],
)
def test_lookup_by_uri_notation_short_name_and_alias(
    scheme: str, value: str, uri: str, label: str
) -> None:
    concept = vocabularies().concept(scheme, value)  # type: ignore[arg-type]
    assert (concept.id, concept.pref_label) == (uri, label)
    assert vocabularies().by_uri(uri) == concept


def test_a_concept_of_another_scheme_is_refused_with_the_expected_scheme_named() -> None:
    with pytest.raises(UnknownConceptError) as caught:
        lookup("learning-assessment", "http://data.europa.eu/snb/assessment/de4d165a6c")
    assert "modes of learning and assessment" in str(caught.value)
    assert "http://data.europa.eu/snb/learning-assessment/25831c2" in str(caught.value)


@pytest.mark.parametrize("value", ["", "level 9", "9", "http://data.europa.eu/snb/eqf/9", "EQF6"])
def test_unknown_values_are_refused(value: str) -> None:
    with pytest.raises(UnknownConceptError):
        lookup("eqf", value)


def test_uris_must_match_exactly() -> None:
    with pytest.raises(UnknownConceptError):
        lookup("eqf", "HTTP://DATA.EUROPA.EU/SNB/EQF/6")


def test_ambiguous_short_names_are_not_accepted_but_notations_are() -> None:
    isced = vocabularies().scheme("isced-f")
    labels = [short_name(c.pref_label) for c in isced]
    duplicated = {name for name in labels if labels.count(name) > 1}
    assert "literacy-and-numeracy" in duplicated
    assert isced.get("literacy-and-numeracy") is None
    assert isced.lookup("0021").pref_label == "Literacy and numeracy"


def test_country_alpha2_codes_are_unique_two_letter_codes() -> None:
    vocab = vocabularies()
    codes = [vocab.country_alpha2(c.notation) for c in vocab.scheme("country")]
    known = [code for code in codes if code is not None]
    assert len(known) == len(set(known)) >= 245
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in known)
    assert vocab.country_alpha2("IRL") == "IE"
    assert vocab.country_alpha2("DEU") == "DE"
    assert vocab.country_alpha2("EUR") is None


def test_every_eu_official_language_is_accepted() -> None:
    eu24 = "bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv".split()
    vocab = vocabularies()
    assert set(eu24) <= vocab.language_codes
    assert vocab.language("de").id.endswith("/DEU")
    with pytest.raises(UnknownConceptError):
        vocab.language("xx")


def test_concept_notation_is_the_last_uri_segment() -> None:
    concept = Concept("http://data.europa.eu/snb/eqf/6", "Level 6", "scheme")
    assert concept.notation == "6"
