"""A complete EDC (issue 17, item 5): the elements of the official Europass micro-credential
sample that the request body now takes — learning activity, assessing organisation, credential
profile and type, subject areas (ISCED-F), NQF level, ESCO skills with labels, mandate evidence,
certificate number, the awarding body's logo — conform to the EDC shapes, and the sample's
facts come back field by field when its facts are put into a request."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.credentials.edc import build_edc
from app.credentials.examples import example_issuer, example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.obv3 import build_obv3
from app.credentials.shacl import validate_edc
from app.jsonld import OfflineDocumentLoader
from app.jsonld.values import as_list
from tests.obv3_schema import assert_valid_open_badge

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "edc" / "samples"
CREDENTIAL_ID = "urn:uuid:5c2d8c1e-8f1b-4c4e-9a53-6c1f00000002"
ISSUED = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
Json = dict[str, Any]


def sample() -> Json:
    document: Json = json.loads(
        (SAMPLE / "Sample-MC-Annex1-unsigned.jsonld").read_text(encoding="utf-8")
    )
    return document


def mandate_statement() -> str:
    """The mandate evidence is in the sealed sample only (added at sealing)."""
    signed = json.loads((SAMPLE / "Sample-MC-Annex1-signed.jsonld").read_text(encoding="utf-8"))
    evidence = as_list(json.loads(signed["payload"])["evidence"])[0]
    statement: str = evidence["evidenceStatement"]
    return statement


def one(value: Any) -> Any:
    (item,) = as_list(value)
    return item


def ids(value: Any) -> list[str]:
    return [node["id"] for node in as_list(value)]


def organisation_facts(node: Json) -> Json:
    facts: Json = {"legalName": node["legalName"]}
    facts["country"] = one(one(node["location"])["address"])["countryCode"]["id"]
    if "homepage" in node:
        facts["homepage"] = one(node["homepage"])["contentURL"]
    if "logo" in node:
        logo = node["logo"]
        facts["logo"] = (logo["content"], logo["contentType"]["id"], logo["contentEncoding"]["id"])
    return facts


def facts(edc: Json) -> Json:
    """The facts of an EDC micro-credential the request body carries, read the same way from
    the official sample and from an EDC of ours."""
    subject = edc["credentialSubject"]
    claim = one(subject["hasClaim"])
    spec = claim["specifiedBy"]
    activity = one(claim["influencedBy"])
    activity_spec = activity["specifiedBy"]
    assessment = one(claim["provenBy"])
    assessment_spec = assessment["specifiedBy"]
    certificate = one(edc["identifier"])
    return {
        "certificate number": (certificate["schemeName"], certificate["notation"]),
        "credential profile": ids(edc["credentialProfiles"]),
        "learner names": (subject["givenName"], subject["familyName"], subject["fullName"]),
        "learner email": ids(one(subject["contactPoint"])["emailAddress"]),
        "title": claim["title"],
        "awarding body": [
            organisation_facts(body) for body in as_list(claim["awardedBy"]["awardingBody"])
        ],
        "qualification title": spec["title"],
        "qualification type": spec["dcType"]["id"],
        "EQF level": spec["eqfLevel"]["id"],
        "NQF level": (one(spec["nqfLevel"])["id"], one(spec["nqfLevel"])["prefLabel"]),
        "subject areas (ISCED-F)": ids(spec["thematicArea"]),
        "credit points": [(p["framework"]["id"], p["point"]) for p in as_list(spec["creditPoint"])],
        "volume of learning": spec["volumeOfLearning"],
        "mode": ids(spec["mode"]),
        "learning setting": spec["learningSetting"]["id"],
        "entry requirement": spec["entryRequirement"]["noteLiteral"],
        "partial qualification": spec["isPartialQualification"],
        "learning outcomes": [
            (
                outcome["title"],
                [
                    (skill["id"], skill.get("prefLabel"))
                    for skill in as_list(outcome.get("relatedESCOSkill"))
                ],
            )
            for outcome in as_list(spec["learningOutcome"])
        ],
        "activity title": activity["title"],
        "activity description": activity["description"],
        "activity dates": (activity["temporal"]["startDate"], activity["temporal"]["endDate"]),
        "activity languages": ids(activity_spec["language"]),
        "activity mode": ids(activity_spec["mode"]),
        "activity type": activity_spec["dcType"]["id"],
        "activity directed by": [
            organisation_facts(node) for node in as_list(activity["directedBy"])
        ],
        "assessment title": assessment["title"],
        "assessment type": assessment_spec["title"],
        "assessment mode": ids(assessment_spec["mode"]),
        "grading scheme": assessment_spec["gradingScheme"]["title"],
        "grade": assessment["grade"]["noteLiteral"],
        "supervision and ID verification": assessment["idVerification"]["id"],
        "assessed by": [organisation_facts(node) for node in as_list(assessment["assessedBy"])],
    }


def data_uri(logo: Json) -> str:
    media = {"PNG": "image/png", "JPEG": "image/jpeg"}[logo["contentType"]["id"].rsplit("/", 1)[1]]
    return f"data:{media};base64,{logo['content']}"


def organisation_input(node: Json) -> Json:
    body: Json = {
        "name": node["legalName"],
        "country": one(one(node["location"])["address"])["countryCode"]["id"],
    }
    if "homepage" in node:
        body["homepage"] = one(node["homepage"])["contentURL"]
    if "logo" in node:
        body["logo"] = data_uri(node["logo"])
    return body


def request_from_sample(edc: Json) -> Json:
    """The request body that states the sample's facts."""
    subject = edc["credentialSubject"]
    claim = one(subject["hasClaim"])
    spec = claim["specifiedBy"]
    activity = one(claim["influencedBy"])
    assessment = one(claim["provenBy"])
    assessment_spec = assessment["specifiedBy"]
    hours = spec["volumeOfLearning"].removeprefix("PT").removesuffix("H")
    return {
        "format": "edc",
        "certificateNumber": one(edc["identifier"])["notation"],
        "credentialProfile": one(edc["credentialProfiles"])["id"],
        "learner": {
            "givenName": subject["givenName"]["en"],
            "familyName": subject["familyName"]["en"],
            "email": one(one(subject["contactPoint"])["emailAddress"])["id"].removeprefix(
                "mailto:"
            ),
        },
        "title": claim["title"],
        "awardingBodies": [
            organisation_input(body) for body in as_list(claim["awardedBy"]["awardingBody"])
        ],
        "mandateStatement": mandate_statement(),
        "awardedOn": "2023-09-27",
        "learningOutcomes": [
            {
                "title": outcome["title"],
                "escoSkills": [
                    {"id": skill["id"], "label": skill["prefLabel"]}
                    for skill in as_list(outcome["relatedESCOSkill"])
                ],
            }
            for outcome in as_list(spec["learningOutcome"])
        ],
        "workload": {
            "ects": one(spec["creditPoint"])["point"],
            "hours": hours,
        },
        "eqfLevel": spec["eqfLevel"]["id"],
        "nqfLevel": {"id": spec["nqfLevel"]["id"], "label": spec["nqfLevel"]["prefLabel"]},
        "subjectAreas": ids(spec["thematicArea"]),
        "qualificationType": spec["dcType"]["id"],
        "assessment": {
            "type": "http://data.europa.eu/snb/assessment/de4d165a6c",
            "title": assessment_spec["title"],
            "mode": one(assessment_spec["mode"])["id"],
            "gradingScheme": assessment_spec["gradingScheme"]["title"],
        },
        "assessingOrganisations": [
            organisation_input(node) for node in as_list(assessment["assessedBy"])
        ],
        "grade": assessment["grade"]["noteLiteral"]["en"],
        "supervision": assessment["idVerification"]["id"],
        "participation": {
            "mode": one(spec["mode"])["id"],
            "setting": spec["learningSetting"]["id"],
        },
        "qualityAssurance": {"type": "http://data.europa.eu/snb/accreditation/820101cba6"},
        "prerequisites": spec["entryRequirement"]["noteLiteral"],
        "stackability": {"standalone": not spec["isPartialQualification"]},
        "learningActivity": {
            "title": activity["title"],
            "description": activity["description"],
            "startDate": activity["temporal"]["startDate"],
            "endDate": activity["temporal"]["endDate"],
            "languages": ["en"],
            "mode": one(activity["specifiedBy"]["mode"])["id"],
            "type": activity["specifiedBy"]["dcType"]["id"],
            "directedBy": [organisation_input(node) for node in as_list(activity["directedBy"])],
        },
    }


def build(body: Json) -> Json:
    return build_edc(
        MicroCredentialIn.model_validate(body),
        example_issuer(),
        credential_id=CREDENTIAL_ID,
        issued=ISSUED,
        status=None,
        display_images={"en": b"\x89PNG\r\n\x1a\nnot-rendered"},
    )


@pytest.fixture(scope="module")
def from_sample() -> Json:
    return build(request_from_sample(sample()))


FIELDS = sorted(facts(sample()))


@pytest.mark.parametrize("field", FIELDS)
def test_the_official_sample_round_trips_field_by_field(from_sample: Json, field: str) -> None:
    expected = facts(sample())[field]
    assert facts(from_sample)[field] == expected


def test_the_round_trip_covers_the_elements_the_api_lacked() -> None:
    lacked = {
        "activity dates",
        "activity languages",
        "activity mode",
        "assessed by",
        "credential profile",
        "qualification type",
        "subject areas (ISCED-F)",
        "NQF level",
        "learning outcomes",  # ESCO skills with their labels
        "certificate number",
        "awarding body",  # its logo
    }
    assert lacked <= set(FIELDS)
    # The sample's awarding body has a logo; the round trip keeps its bytes.
    (body,) = facts(sample())["awarding body"]
    assert len(body["logo"][0]) > 1000


def test_the_edc_from_the_sample_conforms_and_carries_the_mandate(
    from_sample: Json, loader: OfflineDocumentLoader
) -> None:
    report = validate_edc(from_sample, loader)
    assert report.violations == ()
    assert report.conforms
    (evidence,) = from_sample["evidence"]
    assert evidence["evidenceStatement"] == mandate_statement()
    assert evidence["dcType"]["id"] == "http://data.europa.eu/snb/evidence-type/c_18016257"


def test_every_new_field_on_and_off_conforms(loader: OfflineDocumentLoader) -> None:
    full = request_from_sample(sample())
    optional = [
        "certificateNumber",
        "credentialProfile",
        "mandateStatement",
        "nqfLevel",
        "subjectAreas",
        "qualificationType",
        "assessingOrganisations",
        "learningActivity",
    ]
    for name in optional:
        body = copy.deepcopy(full)
        del body[name]
        report = validate_edc(build(body), loader)
        assert report.conforms, (name, report.violations)
    minimal_activity = copy.deepcopy(full)
    minimal_activity["learningActivity"] = {"languages": ["ga"]}
    assert validate_edc(build(minimal_activity), loader).conforms


def test_the_shapes_catch_a_wrong_nqf_scheme(
    from_sample: Json, loader: OfflineDocumentLoader
) -> None:
    """Negative control: the NQF level's scheme is constrained by the shapes."""
    broken = copy.deepcopy(from_sample)
    spec = broken["credentialSubject"]["hasClaim"][0]["specifiedBy"]
    spec["nqfLevel"]["inScheme"]["id"] = "http://data.europa.eu/snb/eqf/25831c2"
    assert not validate_edc(broken, loader).conforms


def test_the_open_badge_of_the_same_facts_fills_its_places() -> None:
    body = {**request_from_sample(sample()), "format": "obv3"}
    badge = build_obv3(
        MicroCredentialIn.model_validate(body),
        example_issuer(),
        credential_id=CREDENTIAL_ID,
        issued=ISSUED,
        status=None,
    )
    subject = badge["credentialSubject"]
    assert subject["activityStartDate"] == "2023-05-05T07:00:00Z"
    assert subject["activityEndDate"] == "2023-06-06T15:00:00Z"
    achievement = subject["achievement"]
    assert "Personal skills and development" in achievement["fieldOfStudy"]
    targets = {a["targetType"]: a for a in achievement["alignment"]}
    assert targets["ext:NQFLevel"]["targetName"] == "RQF Level 6"
    assert targets["ext:ISCEDF"]["targetUrl"].startswith("http://data.europa.eu/snb/isced-f/")
    esco = [a["targetName"] for a in achievement["alignment"] if a["targetType"] == "ext:ESCOSkill"]
    assert "stimulate creativity in the team" in esco
    assert achievement["image"]["id"].startswith("data:image/png;base64,")
    signed = {
        **badge,
        "proof": [
            {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "created": "2026-07-01T09:00:00Z",
                "verificationMethod": "did:web:x.example#k",
                "proofPurpose": "assertionMethod",
                "proofValue": "z1",
            }
        ],
    }
    assert_valid_open_badge(signed)


def test_a_mandate_needs_an_issuer_that_is_not_an_awarding_body() -> None:
    body = example_request(mandateStatement="On behalf of …")
    edc = build(body)
    assert "evidence" not in edc  # the issuer awards: the builder adds no mandate
