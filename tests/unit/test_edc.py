"""The Europass EDC built from a micro-credential: each EU element where MAPPING.md puts it."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.credentials.edc import build_edc
from app.credentials.examples import (
    EXAMPLE_ISSUER_DID,
    EXAMPLE_LEARNER_DID,
    example_issuer,
    example_request,
)
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.render import render_page
from app.jsonld import PyldCanonicalizer, UndefinedTermError

CREDENTIAL_ID = "urn:uuid:1f3c2a52-6d1e-4c36-9d6b-0d7d3c1f0001"
ISSUED = datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=UTC)
STATUS = {
    "id": "https://credentials.uni-zed.example/status-lists/1#42",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "42",
    "statusListCredential": "https://credentials.uni-zed.example/status-lists/1",
}
COUNTRY = "http://publications.europa.eu/resource/authority/country/"
IRELAND = COUNTRY + "IRL"

Json = dict[str, Any]


def build(body: Json | None = None, **kwargs: Any) -> Json:
    mc = MicroCredentialIn.model_validate(body or example_request())
    options: dict[str, Any] = {"credential_id": CREDENTIAL_ID, "issued": ISSUED, "status": None}
    options.update(kwargs)
    return build_edc(mc, example_issuer(), **options)


def minimal_request() -> Json:
    """Only the mandatory elements; no grade, no ECTS."""
    return {
        "format": "edc",
        "learner": {"email": "learner@example.org"},
        "title": {"fr": "Atelier de données"},
        "awardedOn": "2026-01-15",
        "learningOutcomes": [{"title": {"fr": "Nettoyer un jeu de données"}}],
        "workload": {"hours": 25},
        "assessment": {"type": "quiz"},
        "participation": {"mode": "online"},
        "qualityAssurance": {"type": "institutional-quality-assurance"},
    }


@pytest.fixture(scope="module")
def edc() -> Json:
    return build()


def claim_of(credential: Json) -> Json:
    claim: Json = credential["credentialSubject"]["hasClaim"][0]
    return claim


def nodes(value: Any) -> Iterator[Json]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from nodes(item)


def test_envelope(edc: Json) -> None:
    assert edc["@context"] == [
        "https://www.w3.org/2018/credentials/v1",
        "http://data.europa.eu/snb/model/context/edc-ap",
    ]
    assert edc["id"] == CREDENTIAL_ID
    assert edc["type"] == ["VerifiableCredential", "EuropeanDigitalCredential"]
    assert [p["id"] for p in edc["credentialProfiles"]] == [
        "http://data.europa.eu/snb/credential/e34929035b"
    ]
    assert edc["credentialProfiles"][0]["prefLabel"] == {"en": "Generic"}
    assert edc["credentialSchema"] == [
        {"id": "http://data.europa.eu/snb/model/ap/edc-generic-full", "type": "ShaclValidator2017"}
    ]
    assert "credentialStatus" not in edc


def test_m3_issuer_with_legal_identifier_and_country(edc: Json) -> None:
    issuer = edc["issuer"]
    assert (issuer["id"], issuer["type"]) == (EXAMPLE_ISSUER_DID, "Organisation")
    assert issuer["legalName"] == {"en": "University of Zed", "ga": "Ollscoil Zed"}
    legal = issuer["eIDASIdentifier"]
    assert (legal["type"], legal["notation"]) == ("LegalIdentifier", "IE1234567X")
    assert legal["spatial"]["id"] == IRELAND
    address = issuer["location"][0]["address"][0]
    assert address["countryCode"] == {
        "id": IRELAND,
        "type": "Concept",
        "inScheme": {
            "id": "http://publications.europa.eu/resource/authority/country",
            "type": "ConceptScheme",
        },
        "prefLabel": {"en": "Ireland"},
    }
    assert issuer["homepage"][0]["contentURL"] == "https://www.uni-zed.example"


def test_m5_dates(edc: Json) -> None:
    assert edc["issued"] == edc["issuanceDate"] == edc["validFrom"] == "2026-07-01T09:30:15Z"
    assert edc["validUntil"] == edc["expirationDate"] == "2031-06-30T00:00:00Z"
    assert claim_of(edc)["awardedBy"]["awardingDate"] == "2026-06-30T00:00:00Z"


def test_m1_learner(edc: Json) -> None:
    person = edc["credentialSubject"]
    assert (person["id"], person["type"]) == (EXAMPLE_LEARNER_DID, "Person")
    assert person["fullName"] == {"en": "Aoife Murphy"}
    assert person["givenName"] == {"en": "Aoife"}
    assert person["familyName"] == {"en": "Murphy"}
    assert person["dateOfBirth"] == "1999-04-02T00:00:00Z"
    assert [(i["notation"], i["schemeName"]) for i in person["identifier"]] == [
        ("S1234567", "student-number")
    ]
    assert person["contactPoint"][0]["emailAddress"] == [
        {"id": "mailto:aoife@example.org", "type": "Mailbox"}
    ]


def test_m2_m4_title_and_awarding_body(edc: Json) -> None:
    claim = claim_of(edc)
    title = {"en": "Digital micro-credential creation", "ga": "Cruthú micrea-dhintiúr digiteach"}
    assert claim["type"] == "LearningAchievement"
    assert claim["title"] == claim["specifiedBy"]["title"] == edc["displayParameter"]["title"]
    assert claim["title"] == title
    process = claim["awardedBy"]
    assert process["type"] == "AwardingProcess"
    (body,) = process["awardingBody"]
    assert body["id"] == EXAMPLE_ISSUER_DID  # defaults to the issuer: the same node
    assert body == edc["issuer"]
    assert process["location"]["address"][0]["countryCode"]["id"] == IRELAND


def test_m6_learning_outcomes_with_esco_skills(edc: Json) -> None:
    outcomes = claim_of(edc)["specifiedBy"]["learningOutcome"]
    assert [(o["type"], o["title"]) for o in outcomes] == [
        ("LearningOutcome", {"en": "Develop digital content"}),
        ("LearningOutcome", {"en": "Communication, collaboration and creativity"}),
    ]
    skill = outcomes[0]["relatedESCOSkill"][0]
    assert skill["id"] == "http://data.europa.eu/esco/skill/5fd5c985-eaaa-47aa-8314-62359c54505a"
    assert skill["inScheme"]["id"] == "http://data.europa.eu/esco/concept-scheme/skills"
    assert "relatedESCOSkill" not in outcomes[1]


def test_m7_workload_as_ects_and_hours(edc: Json) -> None:
    spec = claim_of(edc)["specifiedBy"]
    (credit,) = spec["creditPoint"]
    assert (credit["type"], credit["point"]) == ("CreditPoint", "2")
    assert credit["framework"]["id"] == "http://data.europa.eu/snb/education-credit/6fcec5c5af"
    assert spec["volumeOfLearning"] == "PT60H"
    assert claim_of(edc)["creditReceived"][0]["point"] == "2"


def test_m8_level(edc: Json) -> None:
    spec = claim_of(edc)["specifiedBy"]
    assert spec["type"] == "Qualification"
    assert spec["eqfLevel"]["id"] == "http://data.europa.eu/snb/eqf/6"
    assert spec["eqfLevel"]["inScheme"]["id"] == "http://data.europa.eu/snb/eqf/25831c2"
    notes = {n["subject"]["id"]: n["noteLiteral"] for n in spec["additionalNote"]}
    assert notes["urn:epass:concept:qf-ehea-cycle"] == {"en": "QF-EHEA first cycle"}


def test_m9_o2_o3_assessment_supervision_and_grade(edc: Json) -> None:
    claim = claim_of(edc)
    (spec_assessment,) = claim["specifiedBy"]["provenBy"]
    assert spec_assessment["type"] == "LearningAssessmentSpecification"
    assert spec_assessment["dcType"]["id"] == "http://data.europa.eu/snb/assessment/de4d165a6c"
    assert spec_assessment["title"] == {"en": "Digital artefact assessment"}
    assert spec_assessment["gradingScheme"]["title"] == {"en": "Pass/fail"}
    (assessment,) = claim["provenBy"]
    assert assessment["type"] == "LearningAssessment"
    assert assessment["grade"]["noteLiteral"] == {"en": "Pass"}
    assert assessment["idVerification"]["id"] == (
        "http://data.europa.eu/snb/supervision-verification/c598449d64"
    )
    assert assessment["specifiedBy"] == spec_assessment
    assert assessment["awardedBy"] == {"id": claim["awardedBy"]["id"], "type": "AwardingProcess"}


def test_m10_form_of_participation(edc: Json) -> None:
    spec = claim_of(edc)["specifiedBy"]
    assert [m["id"] for m in spec["mode"]] == [
        "http://data.europa.eu/snb/learning-assessment/e92d221e4d"
    ]
    assert spec["mode"][0]["prefLabel"] == {"en": "Blended"}
    assert spec["learningSetting"]["id"] == "http://data.europa.eu/snb/learning-setting/e207a81fc7"


def test_m11_quality_assurance_as_accreditation(edc: Json) -> None:
    (accreditation,) = claim_of(edc)["specifiedBy"]["accreditation"]
    assert accreditation["type"] == "Accreditation"
    assert accreditation["dcType"]["id"] == "http://data.europa.eu/snb/accreditation/820101cba6"
    assert accreditation["title"] == {"en": "Programme validated by QQI"}
    agent = accreditation["accreditingAgent"]
    assert agent["legalName"] == {"en": "Quality and Qualifications Ireland"}
    assert agent["location"][0]["address"][0]["countryCode"]["id"] == IRELAND


def test_o1_o4_o5_prerequisites_stackability_further_information(edc: Json) -> None:
    spec = claim_of(edc)["specifiedBy"]
    assert spec["entryRequirement"]["noteLiteral"] == {"en": "An EU Login account."}
    assert spec["isPartialQualification"] is False
    (parent,) = spec["isPartOf"]
    assert parent["type"] == "Qualification"
    assert parent["title"] == {"en": "MSc in Digital Education"}
    assert parent["homepage"][0]["contentURL"] == "https://www.uni-zed.example/msc"
    notes = {n["subject"]["id"]: n["noteLiteral"] for n in spec["additionalNote"]}
    assert notes["urn:epass:concept:further-information"] == {
        "en": "https://www.uni-zed.example/micro-credentials/edc"
    }


def test_display_pages_one_per_language(edc: Json) -> None:
    display = edc["displayParameter"]
    assert display["type"] == "DisplayParameter"
    language = "http://publications.europa.eu/resource/authority/language/"
    assert [lang["id"] for lang in display["language"]] == [language + "ENG", language + "GLE"]
    assert display["primaryLanguage"]["id"] == language + "ENG"
    mc = MicroCredentialIn.model_validate(example_request())
    pages = zip(display["individualDisplay"], [("en", "ENG"), ("ga", "GLE")], strict=True)
    for individual, (code, eu_code) in pages:
        assert individual["language"]["id"] == language + eu_code
        (detail,) = individual["displayDetail"]
        assert detail["page"] == 1
        image = detail["image"]
        assert image["contentType"]["id"].endswith("/file-type/PNG")
        assert image["contentEncoding"]["id"] == "http://data.europa.eu/snb/encoding/6146cde7dd"
        png = base64.b64decode(image["content"], validate=True)
        assert png == render_page(mc, example_issuer(), code)


def test_given_display_images_are_used_as_they_are() -> None:
    png = b"\x89PNG\r\n\x1a\nnot-really"
    credential = build(display_images={"de": png})
    display = credential["displayParameter"]
    assert [d["language"]["id"][-3:] for d in display["individualDisplay"]] == ["DEU"]
    assert display["primaryLanguage"]["id"].endswith("/DEU")
    image = display["individualDisplay"][0]["displayDetail"][0]["image"]
    assert base64.b64decode(image["content"]) == png
    with pytest.raises(ValueError):
        build(display_images={})


def test_status_is_carried_with_its_context() -> None:
    credential = build(status=STATUS)
    assert credential["credentialStatus"] == STATUS
    assert credential["@context"][-1] == "https://www.w3.org/ns/credentials/status/v1"
    listed = build(status=[STATUS, {**STATUS, "statusPurpose": "suspension"}])
    assert [s["statusPurpose"] for s in listed["credentialStatus"]] == ["revocation", "suspension"]


def test_every_node_has_a_stable_absolute_id(edc: Json) -> None:
    typed = [node for node in nodes(edc) if "type" in node and node is not edc]
    assert all(":" in node.get("id", "") for node in typed), [n for n in typed if "id" not in n]
    by_id: dict[str, list[Json]] = {}
    for node in typed:
        by_id.setdefault(node["id"], []).append(node)
    for node_id, same in by_id.items():
        full = [n for n in same if set(n) != {"id", "type"}]
        assert all(n == full[0] for n in full), node_id  # one id, one description
    assert build() == edc  # deterministic
    other = build_edc(
        MicroCredentialIn.model_validate(example_request()),
        example_issuer(),
        credential_id="urn:uuid:00000000-0000-4000-8000-000000000002",
        issued=ISSUED,
        status=None,
    )
    assert claim_of(other)["id"] != claim_of(edc)["id"]
    assert claim_of(other)["id"].startswith("urn:epass:learningAchievement:")


def test_without_grade_the_assessment_is_described_by_its_specification() -> None:
    body = example_request()
    del body["grade"]
    claim = claim_of(build(body))
    assert "provenBy" not in claim
    (spec_assessment,) = claim["specifiedBy"]["provenBy"]
    assert spec_assessment["dcType"]["id"] == "http://data.europa.eu/snb/assessment/de4d165a6c"
    (note,) = spec_assessment["additionalNote"]
    assert note["subject"]["id"] == "http://data.europa.eu/snb/supervision-verification/c598449d64"


def test_explicit_awarding_bodies() -> None:
    body = example_request(
        awardingBodies=[
            {"name": {"en": "Université de Bruxelles"}, "country": "BEL", "legalIdentifier": "B1"},
            {"id": EXAMPLE_ISSUER_DID, "name": {"en": "ignored"}, "country": "IRL"},
        ]
    )
    credential = build(body)
    partner, issuer = claim_of(credential)["awardedBy"]["awardingBody"]
    assert partner["legalName"] == {"en": "Université de Bruxelles"}
    assert partner["id"].startswith("urn:epass:org:")
    assert partner["registration"]["notation"] == "B1"
    assert partner["location"][0]["address"][0]["countryCode"]["id"] == COUNTRY + "BEL"
    assert issuer == credential["issuer"]
    process = claim_of(credential)["awardedBy"]
    assert process["location"]["address"][0]["countryCode"]["id"] == COUNTRY + "BEL"


def test_minimal_request() -> None:
    credential = build(minimal_request())
    person = credential["credentialSubject"]
    assert person["id"].startswith("urn:epass:person:")
    assert "fullName" not in person
    spec = claim_of(credential)["specifiedBy"]
    assert spec["volumeOfLearning"] == "PT25H"
    assert "creditPoint" not in spec and "creditReceived" not in claim_of(credential)
    assert "eqfLevel" not in spec
    assert "provenBy" not in claim_of(credential)
    assert spec["accreditation"][0]["title"] == {"en": "Institutional Quality Assurance"}
    agent = spec["accreditation"][0]["accreditingAgent"]
    assert agent["id"] == EXAMPLE_ISSUER_DID  # the awarding body, i.e. the issuer
    assert credential["displayParameter"]["primaryLanguage"]["id"].endswith("/FRA")


def test_an_aware_issuance_time_is_required() -> None:
    with pytest.raises(ValueError):
        build(issued=datetime(2026, 7, 1, 9, 0))


@pytest.mark.parametrize("body", [example_request(), minimal_request()], ids=["example", "minimal"])
@pytest.mark.parametrize("status", [None, STATUS], ids=["no-status", "status"])
def test_strict_expansion_drops_nothing(
    canonicalizer: PyldCanonicalizer, body: Json, status: Json | None
) -> None:
    expanded = canonicalizer.expand(build(body, status=status))
    assert len(expanded) == 1
    assert "http://data.europa.eu/snb/model/elm/displayParameter" in expanded[0]


def test_strict_expansion_would_catch_an_undefined_term(
    canonicalizer: PyldCanonicalizer, edc: Json
) -> None:
    tampered = copy.deepcopy(edc)
    claim_of(tampered)["specifiedBy"]["ectsCredits"] = 2
    with pytest.raises(UndefinedTermError):
        canonicalizer.expand(tampered)
