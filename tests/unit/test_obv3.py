"""The Open Badges 3.0 credential built from a micro-credential (MAPPING.md §7), and both shapes
built from the same input."""

from __future__ import annotations

import copy
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
from app.credentials.obv3 import build_obv3
from app.jsonld import PyldCanonicalizer, UndefinedTermError

CREDENTIAL_ID = "urn:uuid:8d6f0b6e-3f7a-4b7e-a2c4-1d2b00000001"
ISSUED = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
STATUS = {
    "id": "https://credentials.uni-zed.example/status-lists/2#9",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "9",
    "statusListCredential": "https://credentials.uni-zed.example/status-lists/2",
}

Json = dict[str, Any]


def build(body: Json | None = None, status: Any = None) -> Json:
    return build_obv3(
        MicroCredentialIn.model_validate(body or example_request(format="obv3")),
        example_issuer(),
        credential_id=CREDENTIAL_ID,
        issued=ISSUED,
        status=status,
    )


@pytest.fixture(scope="module")
def badge() -> Json:
    return build()


def achievement_of(credential: Json) -> Json:
    achievement: Json = credential["credentialSubject"]["achievement"]
    return achievement


def alignment(credential: Json, target_type: str) -> list[Json]:
    return [a for a in achievement_of(credential)["alignment"] if a["targetType"] == target_type]


def test_envelope(badge: Json) -> None:
    assert badge["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["id"] == CREDENTIAL_ID
    assert "credentialStatus" not in badge


def test_m1_learner(badge: Json) -> None:
    subject = badge["credentialSubject"]
    assert subject["id"] == EXAMPLE_LEARNER_DID
    assert subject["type"] == ["AchievementSubject"]
    identities = {i["identityType"]: i["identityHash"] for i in subject["identifier"]}
    assert identities == {
        "name": "Aoife Murphy",
        "emailAddress": "aoife@example.org",
        "ext:student-number": "S1234567",
    }
    assert all(
        i["type"] == "IdentityObject" and i["hashed"] is False for i in subject["identifier"]
    )


def test_m2_title(badge: Json) -> None:
    assert badge["name"] == achievement_of(badge)["name"] == "Digital micro-credential creation"
    assert achievement_of(badge)["type"] == ["Achievement"]
    assert achievement_of(badge)["achievementType"] == "MicroCredential"
    assert achievement_of(badge)["inLanguage"] == "en"


def test_m3_m4_issuer_awarding_body_and_country(badge: Json) -> None:
    issuer = badge["issuer"]
    assert (issuer["id"], issuer["type"], issuer["name"]) == (
        EXAMPLE_ISSUER_DID,
        ["Profile"],
        "University of Zed",
    )
    assert issuer["address"] == {
        "type": ["Address"],
        "addressCountry": "Ireland",
        "addressCountryCode": "IE",
    }
    assert issuer["otherIdentifier"] == [
        {
            "type": "IdentifierEntry",
            "identifier": "IE1234567X",
            "identifierType": "ext:eIDASLegalIdentifier",
        }
    ]
    assert issuer["url"] == "https://www.uni-zed.example"
    assert achievement_of(badge)["creator"] == issuer


def test_m5_dates(badge: Json) -> None:
    assert badge["validFrom"] == "2026-07-01T09:00:00Z"
    assert badge["awardedDate"] == "2026-06-30T00:00:00Z"
    assert badge["validUntil"] == "2031-06-30T00:00:00Z"


def test_m6_learning_outcomes(badge: Json) -> None:
    narrative = achievement_of(badge)["criteria"]["narrative"]
    assert "- Develop digital content" in narrative
    assert "- Communication, collaboration and creativity" in narrative
    (esco,) = alignment(badge, "ext:ESCOSkill")
    assert esco["targetUrl"] == (
        "http://data.europa.eu/esco/skill/5fd5c985-eaaa-47aa-8314-62359c54505a"
    )
    assert (esco["targetName"], esco["targetFramework"]) == ("Develop digital content", "ESCO")
    assert esco["type"] == ["Alignment"]


def test_m7_workload(badge: Json) -> None:
    assert achievement_of(badge)["creditsAvailable"] == 2.0
    assert badge["credentialSubject"]["creditsEarned"] == 2.0
    (system,) = alignment(badge, "ext:CreditSystem")
    assert system["targetUrl"] == "http://data.europa.eu/snb/education-credit/6fcec5c5af"
    assert system["targetDescription"] == "2 ECTS credits"
    (hours,) = alignment(badge, "ext:VolumeOfLearning")
    assert hours["targetCode"] == "PT60H"
    assert hours["targetUrl"] == "http://data.europa.eu/snb/model/elm/volumeOfLearning"
    assert "2 ECTS" in achievement_of(badge)["tag"]


def test_m8_level(badge: Json) -> None:
    (eqf,) = alignment(badge, "ext:EQFLevel")
    assert (eqf["targetUrl"], eqf["targetCode"]) == ("http://data.europa.eu/snb/eqf/6", "6")
    assert eqf["targetFramework"] == "European Qualifications Framework (EQF)"
    assert "EQF 6" in achievement_of(badge)["tag"]
    assert "QF-EHEA cycle: first" in achievement_of(badge)["criteria"]["narrative"]


def test_m9_o3_assessment_and_grade(badge: Json) -> None:
    (description,) = achievement_of(badge)["resultDescription"]
    assert description["type"] == ["ResultDescription"]
    assert description["name"] == "Digital artefact assessment"
    assert description["alignment"][0]["targetUrl"] == (
        "http://data.europa.eu/snb/assessment/de4d165a6c"
    )
    (result,) = badge["credentialSubject"]["result"]
    assert result == {
        "type": ["Result"],
        "resultDescription": description["id"],
        "value": "Pass",
    }
    (kind,) = alignment(badge, "ext:AssessmentType")
    assert kind["targetName"] == "artefact assessment"


def test_m10_form_of_participation(badge: Json) -> None:
    (mode,) = alignment(badge, "ext:ModeOfLearning")
    assert (mode["targetUrl"], mode["targetName"]) == (
        "http://data.europa.eu/snb/learning-assessment/e92d221e4d",
        "Blended",
    )
    (setting,) = alignment(badge, "ext:LearningSetting")
    assert setting["targetUrl"] == "http://data.europa.eu/snb/learning-setting/e207a81fc7"
    assert (
        "Form of participation: Blended, non-formal learning"
        in (achievement_of(badge)["criteria"]["narrative"])
    )


def test_m11_quality_assurance(badge: Json) -> None:
    (qa,) = alignment(badge, "ext:QualityAssurance")
    assert qa["targetUrl"] == "http://data.europa.eu/snb/accreditation/820101cba6"
    assert "Quality and Qualifications Ireland" in qa["targetDescription"]
    assert "Programme validated by QQI" in qa["targetDescription"]


def test_o1_o2_o4_o5_optional_elements(badge: Json) -> None:
    narrative = achievement_of(badge)["criteria"]["narrative"]
    assert "Prerequisites: An EU Login account." in narrative
    assert "Supervision and identity verification: Unsupervised without ID Verification" in (
        narrative
    )
    assert "Stackability: stand-alone; stacks towards: MSc in Digital Education" in narrative
    assert "Further information: https://www.uni-zed.example/micro-credentials/edc" in narrative
    (supervision,) = alignment(badge, "ext:SupervisionAndIdVerification")
    assert supervision["targetUrl"].endswith("/supervision-verification/c598449d64")
    (parent,) = alignment(badge, "ext:IsPartOf")
    assert parent["targetUrl"] == "https://www.uni-zed.example/msc"


def test_status_is_carried_as_one_object(badge: Json) -> None:
    """The 1EdTech JSON Schema wants ``credentialStatus`` to be one object."""
    assert build(status=STATUS)["credentialStatus"] == STATUS
    assert build(status=[STATUS])["credentialStatus"] == STATUS
    with pytest.raises(ValueError, match="one credentialStatus"):
        build(status=[STATUS, {**STATUS, "statusPurpose": "suspension"}])


def test_deterministic_ids_derived_from_the_credential_id(badge: Json) -> None:
    assert build() == badge
    assert achievement_of(badge)["id"].startswith("urn:uuid:")
    other = build_obv3(
        MicroCredentialIn.model_validate(example_request()),
        example_issuer(),
        credential_id="urn:uuid:00000000-0000-4000-8000-000000000003",
        issued=ISSUED,
        status=None,
    )
    assert achievement_of(other)["id"] != achievement_of(badge)["id"]


def test_hours_only_and_no_learner_did() -> None:
    body = example_request(workload={"hours": 12.5}, learner={"email": "x@example.org"})
    credential = build(body)
    assert "creditsAvailable" not in achievement_of(credential)
    assert "creditsEarned" not in credential["credentialSubject"]
    assert "id" not in credential["credentialSubject"]
    assert alignment(credential, "ext:VolumeOfLearning")[0]["targetCode"] == "PT12.5H"


def test_co_awarding_names_every_body() -> None:
    body = example_request(
        awardingBodies=[
            {"name": {"en": "Partner University"}, "country": "BEL", "legalIdentifier": "BE1"},
            {"id": EXAMPLE_ISSUER_DID, "name": {"en": "x"}, "country": "IRL"},
        ]
    )
    credential = build(body)
    creator = achievement_of(credential)["creator"]
    assert creator["name"] == "Partner University"
    assert creator["address"]["addressCountryCode"] == "BE"
    assert creator["otherIdentifier"][0]["identifierType"] == "ext:LegalIdentifier"
    narrative = achievement_of(credential)["criteria"]["narrative"]
    assert "Awarding bodies: Partner University; University of Zed" in narrative


@pytest.mark.parametrize("status", [None, STATUS], ids=["no-status", "status"])
def test_strict_expansion_drops_nothing(
    canonicalizer: PyldCanonicalizer, badge: Json, status: Json | None
) -> None:
    expanded = canonicalizer.expand(build(status=status))
    assert len(expanded) == 1
    nquads = canonicalizer.canonicalize(badge)
    # The EU elements OB has no field for are in the signed RDF, not only in the JSON.
    for iri in (
        "http://data.europa.eu/snb/accreditation/820101cba6",
        "http://data.europa.eu/snb/learning-assessment/e92d221e4d",
        "http://data.europa.eu/snb/education-credit/6fcec5c5af",
    ):
        assert iri in nquads


def test_strict_expansion_would_catch_an_undefined_term(
    canonicalizer: PyldCanonicalizer, badge: Json
) -> None:
    tampered = copy.deepcopy(badge)
    achievement_of(tampered)["formOfParticipation"] = "Blended"
    with pytest.raises(UndefinedTermError):
        canonicalizer.expand(tampered)


def test_both_shapes_from_the_same_input_agree() -> None:
    mc = MicroCredentialIn.model_validate(example_request())
    common: dict[str, Any] = {"credential_id": CREDENTIAL_ID, "issued": ISSUED, "status": None}
    edc = build_edc(mc, example_issuer(), **common)
    badge = build_obv3(mc, example_issuer(), **common)
    claim = edc["credentialSubject"]["hasClaim"][0]
    spec = claim["specifiedBy"]
    achievement = achievement_of(badge)

    assert edc["credentialSubject"]["id"] == badge["credentialSubject"]["id"]
    assert claim["title"]["en"] == achievement["name"]
    assert edc["issuer"]["id"] == badge["issuer"]["id"]
    assert (
        edc["issuer"]["eIDASIdentifier"]["notation"]
        == (badge["issuer"]["otherIdentifier"][0]["identifier"])
    )
    assert (
        edc["issuer"]["location"][0]["address"][0]["countryCode"]["prefLabel"]["en"]
        == (badge["issuer"]["address"]["addressCountry"])
    )
    assert claim["awardedBy"]["awardingDate"] == badge["awardedDate"]
    assert edc["validFrom"] == badge["validFrom"]
    assert float(spec["creditPoint"][0]["point"]) == achievement["creditsAvailable"]
    assert spec["volumeOfLearning"] == alignment(badge, "ext:VolumeOfLearning")[0]["targetCode"]
    assert spec["eqfLevel"]["id"] == alignment(badge, "ext:EQFLevel")[0]["targetUrl"]
    assert [m["id"] for m in spec["mode"]] == [
        a["targetUrl"] for a in alignment(badge, "ext:ModeOfLearning")
    ]
    assert (
        spec["provenBy"][0]["dcType"]["id"]
        == (alignment(badge, "ext:AssessmentType")[0]["targetUrl"])
    )
    assert (
        spec["accreditation"][0]["dcType"]["id"]
        == (alignment(badge, "ext:QualityAssurance")[0]["targetUrl"])
    )
    assert (
        claim["provenBy"][0]["grade"]["noteLiteral"]["en"]
        == (badge["credentialSubject"]["result"][0]["value"])
    )
    esco = [s["id"] for o in spec["learningOutcome"] for s in o.get("relatedESCOSkill", [])]
    assert esco == [a["targetUrl"] for a in alignment(badge, "ext:ESCOSkill")]
