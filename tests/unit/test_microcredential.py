"""The micro-credential request model: required EU elements, vocabularies, bounds, all errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.credentials.examples import EXAMPLE_ISSUER_DID, example_issuer, example_request
from app.credentials.microcredential import (
    MAX_LANGUAGES,
    MAX_LEARNING_OUTCOMES,
    IssuerProfile,
    MicroCredentialIn,
    awarding_bodies,
)

ASSESSMENT_URI = "http://data.europa.eu/snb/assessment/de4d165a6c"
BLENDED = "http://data.europa.eu/snb/learning-assessment/e92d221e4d"

#: The Council Recommendation's mandatory elements the request itself carries.
MANDATORY = (
    "learner",
    "title",
    "awardedOn",
    "learningOutcomes",
    "workload",
    "assessment",
    "participation",
    "qualityAssurance",
)


def errors_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        MicroCredentialIn.model_validate(body)
    return [dict(error) for error in caught.value.errors()]


def locations(body: dict[str, Any]) -> list[tuple[str | int, ...]]:
    return [tuple(error["loc"]) for error in errors_of(body)]


def test_the_example_is_valid_and_keeps_its_values() -> None:
    mc = MicroCredentialIn.model_validate(example_request())
    assert mc.format == "edc"
    assert mc.eqfLevel == 6
    assert mc.workload.ects == 2 and mc.workload.hours == 60
    assert mc.assessment.type == ASSESSMENT_URI
    assert mc.participation.mode == BLENDED
    assert mc.learner.full_name == "Aoife Murphy"
    assert mc.primary_language == "en"


def test_short_names_are_normalised_to_concept_uris() -> None:
    body = example_request(
        eqfLevel="http://data.europa.eu/snb/eqf/7",
        assessment={"type": "Written-Examination"},
        participation={"mode": "online", "setting": "formal"},
        qualityAssurance={
            "type": "institutional-quality-assurance",
            "agency": {"name": {"en": "QQI"}, "country": "IE"},
        },
        supervision="supervised-with-id-verification",
    )
    mc = MicroCredentialIn.model_validate(body)
    assert mc.eqfLevel == 7
    assert mc.assessment.type == "http://data.europa.eu/snb/assessment/6e6cb2cc78"
    assert mc.participation.mode == "http://data.europa.eu/snb/learning-assessment/920fbb3cbe"
    assert mc.participation.setting == "http://data.europa.eu/snb/learning-setting/6fd4685715"
    assert mc.qualityAssurance.type == "http://data.europa.eu/snb/accreditation/bb4618238e"
    assert mc.qualityAssurance.agency is not None
    assert mc.qualityAssurance.agency.country == "IRL"
    assert mc.supervision == "http://data.europa.eu/snb/supervision-verification/70be69aaf9"


@pytest.mark.parametrize("element", MANDATORY)
def test_each_missing_mandatory_element_is_one_error_at_its_path(element: str) -> None:
    body = example_request()
    del body[element]
    errors = errors_of(body)
    assert [(tuple(e["loc"]), e["type"]) for e in errors] == [((element,), "missing")]


def test_all_missing_elements_are_reported_together() -> None:
    body = example_request()
    for element in MANDATORY:
        del body[element]
    errors = errors_of(body)
    assert sorted(e["loc"][0] for e in errors) == sorted(MANDATORY)
    assert {e["type"] for e in errors} == {"missing"}


@pytest.mark.parametrize(
    ("element", "inner"),
    [("assessment", "type"), ("participation", "mode"), ("qualityAssurance", "type")],
)
def test_a_missing_inner_element_points_inside_its_object(element: str, inner: str) -> None:
    body = example_request()
    del body[element][inner]
    assert locations(body) == [(element, inner)]


def test_the_learner_needs_an_id_an_identifier_or_an_email() -> None:
    body = example_request(learner={"givenName": "Aoife", "familyName": "Murphy"})
    errors = errors_of(body)
    assert [tuple(e["loc"]) for e in errors] == [("learner",)]
    assert "at least one of id, identifier, email" in errors[0]["msg"]
    for key, value in [
        ("id", "did:key:z6Mkexample"),
        ("email", "a@example.org"),
        ("identifier", {"scheme": "student-number", "value": "S1"}),
    ]:
        MicroCredentialIn.model_validate(example_request(learner={key: value}))


def test_the_workload_needs_ects_or_hours_and_both_are_bounded() -> None:
    assert locations(example_request(workload={})) == [("workload",)]
    MicroCredentialIn.model_validate(example_request(workload={"hours": 7.5}))
    MicroCredentialIn.model_validate(example_request(workload={"ects": "0.5"}))
    assert locations(example_request(workload={"ects": 0})) == [("workload", "ects")]
    assert locations(example_request(workload={"ects": -2})) == [("workload", "ects")]
    assert locations(example_request(workload={"ects": 121})) == [("workload", "ects")]
    assert locations(example_request(workload={"ects": 1.125})) == [("workload", "ects")]
    assert locations(example_request(workload={"hours": 100000})) == [("workload", "hours")]


def test_an_assessment_uri_in_the_mode_field_is_refused_naming_the_scheme() -> None:
    body = example_request(participation={"mode": ASSESSMENT_URI})
    errors = errors_of(body)
    assert [tuple(e["loc"]) for e in errors] == [("participation", "mode")]
    assert "modes of learning and assessment" in errors[0]["msg"]
    assert "http://data.europa.eu/snb/learning-assessment/25831c2" in errors[0]["msg"]


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"assessment": {"type": BLENDED}}, ("assessment", "type")),
        ({"assessment": {"type": ASSESSMENT_URI, "mode": ASSESSMENT_URI}}, ("assessment", "mode")),
        (
            {"participation": {"mode": BLENDED, "setting": BLENDED}},
            ("participation", "setting"),
        ),
        ({"qualityAssurance": {"type": ASSESSMENT_URI}}, ("qualityAssurance", "type")),
        ({"supervision": "http://data.europa.eu/snb/accreditation/820101cba6"}, ("supervision",)),
        ({"eqfLevel": 9}, ("eqfLevel",)),
        ({"eqfLevel": True}, ("eqfLevel",)),
        ({"eqfLevel": "http://data.europa.eu/snb/qdr/c_c392e7a2"}, ("eqfLevel",)),
        (
            {"assessment": {"type": "http://data.europa.eu/snb/assessment/0000000000"}},
            ("assessment", "type"),
        ),
        (
            {"awardingBodies": [{"name": {"en": "U"}, "country": "XXX"}]},
            ("awardingBodies", 0, "country"),
        ),
        (
            {"learningOutcomes": [{"title": {"en": "x"}, "escoSkill": "http://example.org/skill"}]},
            ("learningOutcomes", 0, "escoSkill"),
        ),
        ({"qfEheaCycle": "fourth"}, ("qfEheaCycle",)),
        ({"format": "pdf"}, ("format",)),
        ({"cryptosuite": "Ed25519Signature2020"}, ("cryptosuite",)),
    ],
)
def test_a_value_outside_its_vocabulary_is_refused(
    overrides: dict[str, Any], location: tuple[str | int, ...]
) -> None:
    assert locations(example_request(**overrides)) == [location]


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"title": {"en": "x" * 501}}, ("title", "en")),
        ({"description": {"en": "x" * 4001}}, ("description", "en")),
        ({"prerequisites": {"en": "x" * 4001}}, ("prerequisites", "en")),
        ({"grade": "x" * 101}, ("grade",)),
        ({"learner": {"id": "did:key:" + "z" * 2048}}, ("learner", "id")),
        ({"learner": {"email": "a" * 250 + "@example.org"}}, ("learner", "email")),
        (
            {"learningOutcomes": [{"title": {"en": "x"}}] * (MAX_LEARNING_OUTCOMES + 1)},
            ("learningOutcomes",),
        ),
        (
            {"awardingBodies": [{"name": {"en": "U"}, "country": "IRL"}] * 11},
            ("awardingBodies",),
        ),
        (
            {
                "learningOutcomes": [
                    {
                        "title": {"en": "x"},
                        "escoSkills": [
                            f"http://data.europa.eu/esco/skill/{i:08d}" for i in range(21)
                        ],
                    }
                ]
            },
            ("learningOutcomes", 0, "escoSkills"),
        ),
        (
            {
                "title": {
                    code: "t"
                    for code in [
                        "bg",
                        "cs",
                        "da",
                        "de",
                        "el",
                        "en",
                        "es",
                        "et",
                        "fi",
                        "fr",
                        "ga",
                        "hr",
                        "hu",
                        "it",
                        "lt",
                        "lv",
                        "mt",
                        "nl",
                        "pl",
                        "pt",
                        "ro",
                        "sk",
                        "sl",
                        "sv",
                        "is",
                    ]
                }
            },
            ("title",),
        ),
    ],
)
def test_oversized_values_are_refused(
    overrides: dict[str, Any], location: tuple[str | int, ...]
) -> None:
    assert MAX_LANGUAGES == 24
    assert locations(example_request(**overrides)) == [location]


@pytest.mark.parametrize(
    ("title", "location"),
    [
        ({"EN": "Title"}, ("title", "EN", "[key]")),
        ({"eng": "Title"}, ("title", "eng", "[key]")),
        ({"xx": "Title"}, ("title", "xx", "[key]")),
        ({"en": ""}, ("title", "en")),
        ({"en": "   "}, ("title", "en")),
        ({"en": 5}, ("title", "en")),
        ({}, ("title",)),
        ("Title", ("title",)),
    ],
)
def test_language_maps_need_two_letter_keys_and_non_empty_texts(
    title: Any, location: tuple[str, ...]
) -> None:
    assert locations(example_request(title=title)) == [location]


def test_unknown_fields_are_refused_at_every_level() -> None:
    body = example_request(colour="blue")
    body["learner"]["nickname"] = "Ao"
    body["workload"]["weeks"] = 4
    assert sorted(locations(body), key=str) == sorted(
        [("colour",), ("learner", "nickname"), ("workload", "weeks")], key=str
    )


def test_valid_until_must_be_aware_and_after_the_award() -> None:
    assert locations(example_request(validUntil="2026-06-01T00:00:00Z")) == [("validUntil",)]
    assert locations(example_request(validUntil="2031-06-30T00:00:00")) == [("validUntil",)]


def test_several_faults_are_all_reported() -> None:
    body = example_request(
        title={"EN": "x"},
        participation={"mode": ASSESSMENT_URI},
        workload={"ects": 0},
        grade="",
    )
    del body["learningOutcomes"]
    assert len(errors_of(body)) == 5


def test_awarding_bodies_default_to_the_issuer() -> None:
    issuer = example_issuer()
    mc = MicroCredentialIn.model_validate(example_request())
    bodies = awarding_bodies(mc, issuer)
    assert [(b.id, b.is_issuer, b.country) for b in bodies] == [(EXAMPLE_ISSUER_DID, True, "IRL")]
    explicit = MicroCredentialIn.model_validate(
        example_request(
            awardingBodies=[
                {"id": EXAMPLE_ISSUER_DID, "name": {"en": "ignored"}, "country": "IRL"},
                {"name": {"en": "Partner"}, "country": "BE", "legalIdentifier": "BE0123"},
            ]
        )
    )
    bodies = awarding_bodies(explicit, issuer)
    assert [b.is_issuer for b in bodies] == [True, False]
    assert bodies[0].name == issuer.name
    assert (bodies[1].country, bodies[1].legal_identifier) == ("BEL", "BE0123")


@pytest.mark.parametrize(
    "changes",
    [
        {"did": "not a uri"},
        {"name": {}},
        {"name": {"en": " "}},
        {"name": {"english": "U"}},
        {"country": "IE"},
        {"country": "irl"},
        {"country": "ZZZ"},
        {"legal_identifier": ""},
        {"homepage": "ftp://uni.example"},
    ],
)
def test_issuer_profile_refuses_bad_values(changes: dict[str, Any]) -> None:
    values: dict[str, Any] = {
        "did": "did:web:uni.example",
        "name": {"en": "U"},
        "country": "IRL",
        "legal_identifier": "IE1",
        "homepage": "https://uni.example",
    }
    values.update(changes)
    with pytest.raises(ValueError):
        IssuerProfile(**values)
