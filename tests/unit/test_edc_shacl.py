"""The EDC validates with the pinned EDC shapes; negative controls show it cannot pass vacuously."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

import pytest
from rdflib.namespace import OWL, RDF

from app.credentials.edc import build_edc
from app.credentials.examples import EXAMPLE_ISSUER_DID, example_issuer, example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.shacl import (
    ShaclReport,
    canonical_nquads,
    shapes_graph,
    validate_edc,
    validate_edc_nquads,
)
from app.jsonld import OfflineDocumentLoader, UndefinedTermError

ELM = "http://data.europa.eu/snb/model/elm/"
STATUS = {
    "id": "https://credentials.uni-zed.example/status-lists/1#7",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "7",
    "statusListCredential": "https://credentials.uni-zed.example/status-lists/1",
}
PARTNER = {"name": {"en": "Partner University"}, "country": "BEL", "legalIdentifier": "BE0123"}

Json = dict[str, Any]


def build(body: Json | None = None, status: Any = None) -> Json:
    return build_edc(
        MicroCredentialIn.model_validate(body or example_request()),
        example_issuer(),
        credential_id="urn:uuid:5c2d8c1e-8f1b-4c4e-9a53-6c1f00000001",
        issued=datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        status=status,
    )


def paths(report: ShaclReport) -> set[str | None]:
    return {violation.path for violation in report.violations}


def test_the_example_conforms(loader: OfflineDocumentLoader) -> None:
    report = validate_edc(build(), loader)
    assert report.violations == ()
    assert report.tolerated == ()
    assert report.conforms
    assert report.triples > 150


def test_credential_status_is_the_only_tolerated_deviation(loader: OfflineDocumentLoader) -> None:
    report = validate_edc(build(status=STATUS), loader)
    assert report.conforms
    (deviation,) = report.tolerated
    assert deviation.path == "https://www.w3.org/2018/credentials#credentialStatus"
    assert deviation.focus_node == "urn:uuid:5c2d8c1e-8f1b-4c4e-9a53-6c1f00000001"
    assert "anyURI" in deviation.message


MINIMAL = {
    "format": "edc",
    "learner": {"identifier": {"scheme": "matriculation", "value": "M-77"}},
    "title": {"de": "Datenkompetenz"},
    "awardedOn": "2026-02-01",
    "learningOutcomes": [{"title": {"de": "Daten bereinigen"}}],
    "workload": {"ects": "1.5"},
    "assessment": {"type": "oral-examination"},
    "participation": {"mode": "presential"},
    "qualityAssurance": {"type": "program-license"},
    "supervision": "supervised-with-id-verification",
}
"""A request with only what the Recommendation requires (no grade, no EQF level)."""


def test_a_minimal_credential_without_grade_conforms(loader: OfflineDocumentLoader) -> None:
    report = validate_edc(build(MINIMAL), loader)
    assert report.violations == ()


def test_co_awarded_credential_conforms(loader: OfflineDocumentLoader) -> None:
    body = example_request(awardingBodies=[PARTNER, {"id": EXAMPLE_ISSUER_DID, **PARTNER}])
    assert validate_edc(build(body), loader).violations == ()


def test_a_data_integrity_proof_does_not_disturb_the_shapes(
    loader: OfflineDocumentLoader,
) -> None:
    signed = build(status=STATUS)
    signed["@context"].append("https://w3id.org/security/data-integrity/v2")
    signed["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-07-01T09:00:00Z",
        "verificationMethod": EXAMPLE_ISSUER_DID + "#key-1",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a",
    }
    report = validate_edc(signed, loader)
    assert report.conforms and len(report.tolerated) == 1


def _remove_issuer_legal_name(credential: Json) -> str:
    del credential["issuer"]["legalName"]
    return "http://www.w3.org/ns/regorg#legalName"


def _remove_awarded_by(credential: Json) -> str:
    del credential["credentialSubject"]["hasClaim"][0]["awardedBy"]
    return ELM + "awardedBy"


def _remove_eidas_identifier(credential: Json) -> str:
    del credential["issuer"]["eIDASIdentifier"]
    return ELM + "eidasLegalIdentifier"


def _remove_grade(credential: Json) -> str:
    del credential["credentialSubject"]["hasClaim"][0]["provenBy"][0]["grade"]
    return ELM + "grade"


def _remove_display(credential: Json) -> str:
    del credential["displayParameter"]
    return ELM + "displayParameter"


def _remove_issued(credential: Json) -> str:
    del credential["issued"]
    return "https://www.w3.org/2018/credentials#issued"


def _eqf_in_wrong_scheme(credential: Json) -> str:
    spec = credential["credentialSubject"]["hasClaim"][0]["specifiedBy"]
    spec["eqfLevel"]["inScheme"]["id"] = "http://data.europa.eu/snb/assessment/25831c2"
    return ELM + "EQFLevel"


def _country_from_wrong_table(credential: Json) -> str:
    address = credential["issuer"]["location"][0]["address"][0]
    address["countryCode"] = copy.deepcopy(
        credential["credentialSubject"]["hasClaim"][0]["specifiedBy"]["mode"][0]
    )
    return ELM + "countryCode"


@pytest.mark.parametrize(
    "damage",
    [
        _remove_issuer_legal_name,
        _remove_awarded_by,
        _remove_eidas_identifier,
        _remove_grade,
        _remove_display,
        _remove_issued,
        _eqf_in_wrong_scheme,
        _country_from_wrong_table,
    ],
)
def test_negative_control_a_broken_edc_fails(
    loader: OfflineDocumentLoader, damage: Callable[[Json], str]
) -> None:
    # The partner awards, so the issuer node is described in one place only.
    credential = build(example_request(awardingBodies=[PARTNER]))
    assert validate_edc(credential, loader).conforms
    expected_path = damage(credential)
    report = validate_edc(credential, loader)
    assert not report.conforms
    assert expected_path in paths(report)


def test_a_document_the_shapes_do_not_target_does_not_pass_vacuously(
    loader: OfflineDocumentLoader,
) -> None:
    credential = build()
    credential["type"] = ["VerifiableCredential"]
    del credential["credentialSubject"]
    report = validate_edc(credential, loader)
    assert not report.conforms
    assert any("vacuously" in v.message for v in report.violations)


@pytest.mark.parametrize("engine", ["compiled", "pyshacl"])
def test_an_undefined_term_is_an_error_not_a_silent_drop(
    loader: OfflineDocumentLoader, engine: Literal["compiled", "pyshacl"]
) -> None:
    credential = build()
    credential["issuer"]["vatNumber"] = "IE1234567X"
    with pytest.raises(UndefinedTermError):
        validate_edc(credential, loader, engine=engine)


def test_the_reference_engine_gives_the_same_report(loader: OfflineDocumentLoader) -> None:
    credential = build(example_request(awardingBodies=[PARTNER]), status=STATUS)
    _remove_grade(credential)
    compiled = validate_edc(credential, loader)
    reference = validate_edc(credential, loader, engine="pyshacl")
    assert not compiled.conforms and not reference.conforms
    assert compiled.triples == reference.triples
    # the same results but for the wording of messages (no blank node among them)
    assert [replace(v, message="") for v in compiled.violations] == [
        replace(v, message="") for v in reference.violations
    ]
    assert [(v.path, v.constraint) for v in compiled.tolerated] == [
        (v.path, v.constraint) for v in reference.tolerated
    ]


def test_the_issuers_nquads_can_be_validated_directly(loader: OfflineDocumentLoader) -> None:
    credential = build(status=STATUS)
    nquads = canonical_nquads(credential, loader)
    assert validate_edc_nquads(nquads, credential["id"]) == validate_edc(credential, loader)
    report = validate_edc_nquads("", "urn:example:empty")
    assert not report.conforms and report.triples == 0
    (vacuous,) = report.violations
    assert vacuous.focus_node == "urn:example:empty" and "vacuously" in vacuous.message
    with pytest.raises(ValueError):
        validate_edc_nquads("not N-Quads\n", "urn:example:broken")


def test_an_unknown_engine_is_refused(loader: OfflineDocumentLoader) -> None:
    with pytest.raises(ValueError):
        validate_edc(build(), loader, engine="fast")  # type: ignore[arg-type]


def test_shapes_are_parsed_once() -> None:
    graph = shapes_graph()
    assert graph is shapes_graph()
    ontologies = {str(s) for s in graph.subjects(RDF.type, OWL.Ontology)}
    assert ontologies == {
        "http://data.europa.eu/snb/model/ap/edc-generic-no-cv",
        "http://data.europa.eu/snb/model/ap/edc-generic-full",
    }


def test_validation_never_touches_the_network(
    loader: OfflineDocumentLoader, network_attempts: list[tuple[Any, ...]]
) -> None:
    report = validate_edc(build(status=STATUS), loader)
    assert report.conforms
    assert network_attempts == []


def test_only_the_datatype_deviation_is_excused_not_two_status_entries(
    loader: OfflineDocumentLoader,
) -> None:
    suspension = {**STATUS, "id": STATUS["id"] + "-s", "statusPurpose": "suspension"}
    report = validate_edc(build(status=[STATUS, suspension]), loader)
    assert len(report.tolerated) == 2
    assert not report.conforms
    (too_many,) = report.violations
    assert too_many.path == "https://www.w3.org/2018/credentials#credentialStatus"
    assert too_many.constraint == "http://www.w3.org/ns/shacl#MaxCountConstraintComponent"


def test_validating_a_credential_just_signed_reuses_its_n_quads(
    loader: OfflineDocumentLoader,
) -> None:
    # The issuer signs with its canonicalizer and then validates with the same one: the second
    # canonicalization of the same default graph is answered from the recent N-Quads.
    from app.crypto.dataintegrity import DataIntegrity
    from app.crypto.keys import KeyPair
    from app.jsonld import OxigraphCanonicalizer

    canonicalizer = OxigraphCanonicalizer(loader)
    signed = DataIntegrity(canonicalizer).add_proof(
        build(status=STATUS),
        KeyPair.generate(),
        EXAMPLE_ISSUER_DID + "#key-1",
        created=datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
    )
    remembered = dict(canonicalizer._recent)
    unsecured = {key: value for key, value in signed.items() if key != "proof"}
    report = validate_edc(unsecured, loader, canonicalizer=canonicalizer)
    assert report.conforms
    assert dict(canonicalizer._recent) == remembered  # nothing new was canonicalized
    assert report == validate_edc(unsecured, loader)  # and the result is a fresh one's
    other = build(example_request(awardingBodies=[PARTNER]))
    validate_edc(other, loader, canonicalizer=canonicalizer)
    assert len(canonicalizer._recent) == len(remembered) + 1  # it is this canonicalizer's memory
