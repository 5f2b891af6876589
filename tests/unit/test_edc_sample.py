"""The official Europass micro-credential sample, re-entered as a request, gives the same facts.

The facts are read out of ``tests/data/edc/samples/Sample-MC-Annex1-unsigned.jsonld``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.credentials.edc import build_edc
from app.credentials.microcredential import IssuerProfile, MicroCredentialIn
from app.credentials.shacl import validate_edc
from app.credentials.vocabularies import short_name
from app.jsonld import OfflineDocumentLoader, PyldCanonicalizer

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "edc"
    / "samples"
    / "Sample-MC-Annex1-unsigned.jsonld"
)

Json = dict[str, Any]


def items(value: Any) -> list[Any]:
    """JSON-LD lets one value stand for a one-element array (the sample does so)."""
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def sample() -> Json:
    document: Json = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return document


def facts(credential: Json) -> Json:
    """The compared facts: outcomes, credits, level, assessment, mode, entry requirement."""
    claim = items(credential["credentialSubject"]["hasClaim"])[0]
    spec = claim["specifiedBy"]
    assessment_spec = items(claim["provenBy"])[0]["specifiedBy"]
    return {
        "learningOutcomes": [
            (
                outcome["title"],
                [skill["id"] for skill in items(outcome.get("relatedESCOSkill", []))],
            )
            for outcome in items(spec["learningOutcome"])
        ],
        "credits": [
            (credit["framework"]["id"], credit["point"]) for credit in items(spec["creditPoint"])
        ],
        "volumeOfLearning": spec["volumeOfLearning"],
        "eqfLevel": spec["eqfLevel"]["id"],
        "assessment": assessment_spec["dcType"]["prefLabel"]["en"],
        "grade": items(claim["provenBy"])[0]["grade"]["noteLiteral"],
        "mode": [mode["id"] for mode in items(spec["mode"])],
        "learningSetting": spec["learningSetting"]["id"],
        "entryRequirement": spec["entryRequirement"]["noteLiteral"],
        "title": claim["title"],
    }


def request_from(sample: Json) -> tuple[Json, IssuerProfile]:
    """Enter the sample's facts into the request model, as a university's system would."""
    subject = sample["credentialSubject"]
    claim = items(subject["hasClaim"])[0]
    spec = claim["specifiedBy"]
    assessment = items(claim["provenBy"])[0]
    body_org = items(claim["awardedBy"]["awardingBody"])[0]
    country = items(items(body_org["location"])[0]["address"])[0]["countryCode"]["id"]
    (credit,) = items(spec["creditPoint"])
    assert credit["framework"]["id"].endswith("/6fcec5c5af")  # ECTS
    hours = spec["volumeOfLearning"].removeprefix("PT").removesuffix("H")
    issuer = IssuerProfile(
        did="did:web:uniz.example",
        name=body_org["legalName"],
        country=country.rsplit("/", 1)[-1],
        legal_identifier=body_org["vatIdentifier"]["notation"],
        homepage=body_org["homepage"]["contentURL"],
    )
    body = {
        "format": "edc",
        "learner": {
            "givenName": subject["givenName"]["en"],
            "familyName": subject["familyName"]["en"],
            "email": items(subject["contactPoint"])[0]["emailAddress"]["id"].removeprefix(
                "mailto:"
            ),
        },
        "title": claim["title"],
        "awardedOn": "2023-06-06",
        "learningOutcomes": [
            {
                "title": outcome["title"],
                "escoSkills": [s["id"] for s in items(outcome.get("relatedESCOSkill", []))],
            }
            for outcome in items(spec["learningOutcome"])
        ],
        "workload": {"ects": credit["point"], "hours": hours},
        "eqfLevel": spec["eqfLevel"]["id"],
        # The sample's assessment type is a local concept; its label names the EU concept.
        "assessment": {
            "type": short_name(assessment["specifiedBy"]["dcType"]["prefLabel"]["en"]),
            "title": assessment["title"],
        },
        "participation": {
            "mode": items(spec["mode"])[0]["id"],
            "setting": spec["learningSetting"]["id"],
        },
        "qualityAssurance": {"type": "program-quality-assurance"},
        "prerequisites": spec["entryRequirement"]["noteLiteral"],
        "supervision": assessment["idVerification"]["id"],
        "grade": assessment["grade"]["noteLiteral"]["en"],
        "stackability": {"standalone": not spec["isPartialQualification"]},
    }
    return body, issuer


@pytest.fixture(scope="module")
def rebuilt(sample: Json) -> Json:
    body, issuer = request_from(sample)
    return build_edc(
        MicroCredentialIn.model_validate(body),
        issuer,
        credential_id="urn:uuid:3ef0ac26-9a1f-41c6-871b-2b82e670907b",
        issued=datetime(2023, 9, 27, 12, 0, tzinfo=UTC),
        status=None,
    )


def test_the_sample_facts_survive_the_round_trip(sample: Json, rebuilt: Json) -> None:
    original = facts(sample)
    assert original["eqfLevel"] == "http://data.europa.eu/snb/eqf/6"  # the sample was read
    assert len(original["learningOutcomes"]) == 2
    assert facts(rebuilt) == original


def test_the_assessment_becomes_the_official_concept(rebuilt: Json) -> None:
    claim = rebuilt["credentialSubject"]["hasClaim"][0]
    dc_type = claim["provenBy"][0]["specifiedBy"]["dcType"]
    assert dc_type["id"] == "http://data.europa.eu/snb/assessment/de4d165a6c"
    assert dc_type["inScheme"]["id"] == "http://data.europa.eu/snb/assessment/25831c2"


def test_the_rebuilt_sample_is_valid_json_ld_and_edc(
    rebuilt: Json, canonicalizer: PyldCanonicalizer, loader: OfflineDocumentLoader
) -> None:
    canonicalizer.expand(rebuilt)
    assert validate_edc(rebuilt, loader).violations == ()


def test_the_official_sample_itself_expands_and_conforms_but_for_sealing_fields(
    sample: Json, loader: OfflineDocumentLoader
) -> None:
    report = validate_edc(sample, loader)
    # MAPPING.md §3: the unsigned sample lacks only what sealing adds (the issuer's missing
    # eIDAS identifier is reported on the issuer node and, via its node shape, on cred:issuer).
    assert {v.path for v in report.violations} == {
        "https://www.w3.org/2018/credentials#issued",
        "https://www.w3.org/2018/credentials#issuer",
        "http://data.europa.eu/snb/model/elm/eidasLegalIdentifier",
    }


def test_the_sealed_official_sample_conforms(loader: OfflineDocumentLoader) -> None:
    sealed = SAMPLE.with_name("Sample-MC-Annex1-signed.jsonld")
    payload = json.loads(json.loads(sealed.read_text(encoding="utf-8"))["payload"])
    report = validate_edc(payload, loader)
    assert report.conforms and report.tolerated == ()
    assert report.triples > 300
