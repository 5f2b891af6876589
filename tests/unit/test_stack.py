"""The pure side of stacks (:mod:`app.credentials.stack`): how parts are recorded and read back,
what a part says of itself, and when it is the same learner's."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.credentials.edc import build_edc
from app.credentials.examples import example_issuer, example_request
from app.credentials.microcredential import Learner, MicroCredentialIn
from app.credentials.obv3 import build_obv3
from app.credentials.shacl import validate_edc
from app.credentials.stack import (
    DIGEST_SCHEME,
    LearnerKeys,
    PartFacts,
    StackPart,
    digest_sri,
    facts_of,
    read_parts,
    record_parts,
    same_learner,
)
from app.jsonld import OfflineDocumentLoader
from app.jsonld.form import PinnedForm

ISSUED = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
FOREIGN = "did:web:univ.example.es"
NO_COUNTRY = "https://badges.example.org/issuers/7"


def _mc(format: str = "edc", **overrides: Any) -> MicroCredentialIn:
    return MicroCredentialIn.model_validate(example_request(format=format, **overrides))


def _edc(credential_id: str, **overrides: Any) -> dict[str, Any]:
    return build_edc(
        _mc(**overrides),
        example_issuer(),
        credential_id=credential_id,
        issued=ISSUED,
        status=None,
        display_images={"en": b"\x89PNG"},
    )


def _part(
    credential_id: str, issuer: str | None, country: str | None, ects: str | None
) -> StackPart:
    facts = PartFacts(
        credential_id,
        "vc",
        {"en": f"Part {credential_id[-1]}", "ga": "Cuid"},
        issuer,
        {"en": f"Issuer of {credential_id[-1]}"},
        country,
        Decimal(ects) if ects else None,
        None,
        LearnerKeys(),
    )
    return StackPart(credential_id, "sha384-" + "A" * 64, facts)


def _parts() -> list[StackPart]:
    own = example_issuer().did
    return [
        _part("urn:uuid:part-1", own, "IRL", "2"),
        _part("urn:uuid:part-2", FOREIGN, "ESP", "2.5"),
        _part("urn:uuid:part-3", NO_COUNTRY, None, None),
        _part("urn:uuid:part-4", FOREIGN, "ESP", None),
    ]


def test_an_edc_with_its_parts_conforms_to_the_shapes_and_has_one_reading(
    loader: OfflineDocumentLoader,
) -> None:
    stacked = record_parts(_edc("urn:uuid:stack"), _parts())
    report = validate_edc(stacked, loader)
    assert report.violations == () and report.conforms
    PinnedForm(loader).check(stacked)  # every term defined, nothing spelled two ways
    has_part = stacked["credentialSubject"]["hasClaim"][0]["hasPart"]
    bodies = [node["awardedBy"]["awardingBody"][0] for node in has_part]
    # The issuer and a repeated issuer are referenced; a body without a country is an Agent.
    assert bodies[0] == {"id": example_issuer().did}
    assert bodies[1]["type"] == "Organisation" and bodies[3] == {"id": FOREIGN}
    assert bodies[2] == {"id": NO_COUNTRY, "type": "Agent", "prefLabel": {"en": "Issuer of 3"}}
    assert has_part[1]["creditReceived"][0]["point"] == "2.5"
    assert "creditReceived" not in has_part[2]


def test_the_reference_engine_agrees(loader: OfflineDocumentLoader) -> None:
    stacked = record_parts(_edc("urn:uuid:stack"), _parts())
    assert validate_edc(stacked, loader, engine="pyshacl").conforms


def test_a_part_without_its_title_breaks_the_shapes(loader: OfflineDocumentLoader) -> None:
    """Negative control: the shapes do look at the parts."""
    stacked = record_parts(_edc("urn:uuid:stack"), _parts())
    del stacked["credentialSubject"]["hasClaim"][0]["hasPart"][1]["title"]
    assert not validate_edc(stacked, loader).conforms


@pytest.mark.parametrize("format", ["edc", "obv3"])
def test_parts_are_read_back_as_recorded(format: str) -> None:
    parts = _parts()
    if format == "edc":
        document = _edc("urn:uuid:stack")
    else:
        document = build_obv3(
            _mc("obv3"), example_issuer(), credential_id="urn:uuid:s", issued=ISSUED, status=None
        )
    refs = read_parts(record_parts(document, parts))
    assert [(ref.credential_id, ref.digest) for ref in refs] == [
        (part.credential_id, part.digest) for part in parts
    ]
    pointer = "/credentialSubject/hasClaim/0/hasPart/" if format == "edc" else "/evidence/"
    assert [ref.pointer for ref in refs] == [f"{pointer}{i}" for i in range(len(parts))]


def test_a_credential_without_parts_reads_none() -> None:
    assert read_parts(_edc("urn:uuid:plain")) == []


def test_a_part_missing_its_digest_is_read_as_such() -> None:
    stacked = record_parts(_edc("urn:uuid:stack"), _parts()[:1])
    node = stacked["credentialSubject"]["hasClaim"][0]["hasPart"][0]
    node["identifier"] = [i for i in node["identifier"] if i["schemeName"] != DIGEST_SCHEME]
    [ref] = read_parts(stacked)
    assert ref.credential_id == "urn:uuid:part-1" and ref.digest is None


def test_the_digest_is_of_the_jcs_form() -> None:
    document = _edc("urn:uuid:d")
    reordered = dict(reversed(list(document.items())))
    assert digest_sri(document) == digest_sri(reordered)
    assert digest_sri(document).startswith("sha384-") and len(digest_sri(document)) == 71
    changed = copy.deepcopy(document)
    changed["credentialSubject"]["hasClaim"][0]["title"]["en"] += "!"
    assert digest_sri(changed) != digest_sri(document)


def test_facts_of_an_edc_and_an_open_badge() -> None:
    edc = facts_of(_edc("urn:uuid:e", workload={"ects": 3, "hours": 80}))
    assert (edc.shape, edc.ects, edc.hours, edc.issuer_country) == (
        "edc",
        Decimal("3"),
        Decimal("80"),
        "IRL",
    )
    assert edc.learner.identifiers == {("student-number", "S1234567")}
    assert edc.learner.emails == {"aoife@example.org"}
    badge = facts_of(
        build_obv3(
            _mc("obv3", workload={"ects": 4, "hours": 100}),
            example_issuer(),
            credential_id="urn:uuid:b",
            issued=ISSUED,
            status=None,
        )
    )
    assert (badge.shape, badge.ects, badge.hours, badge.issuer_country) == (
        "obv3",
        Decimal("4"),
        Decimal("100"),
        "IRL",
    )
    assert ("ext:student-number", "S1234567") in badge.learner.identifiers


def test_facts_of_a_strange_document_never_raise() -> None:
    facts = facts_of(
        {
            "id": "urn:x",
            "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
            "issuer": 7,
            "credentialSubject": [3, {"hasClaim": {"title": {"EN!": "x"}}}],
        }
    )
    assert facts.title == {"en": "urn:x"} and facts.issuer_id is None


LEARNER = Learner.model_validate(
    {
        "id": "did:key:z6MkLearner",
        "identifier": {"scheme": "student-number", "value": "S1"},
        "email": "Aoife@Example.org",
    }
)


@pytest.mark.parametrize(
    ("keys", "same"),
    [
        (LearnerKeys(did="did:key:z6MkLearner"), True),
        (LearnerKeys(emails=frozenset({"aoife@example.org"})), True),
        (LearnerKeys(identifiers=frozenset({("student-number", "S1")})), True),
        (LearnerKeys(identifiers=frozenset({("ext:student-number", "S1")})), True),
        (
            LearnerKeys(
                hashed=(
                    (
                        "emailAddress",
                        "sha256$" + hashlib.sha256(b"aoife@example.orgpepper").hexdigest(),
                        "pepper",
                    ),
                )
            ),
            True,
        ),
        (LearnerKeys(did="did:key:z6MkOther", emails=frozenset({"aoife@example.org"})), False),
        (
            LearnerKeys(
                identifiers=frozenset({("student-number", "S2")}),
                emails=frozenset({"aoife@example.org"}),
            ),
            False,
        ),
        (LearnerKeys(emails=frozenset({"someone@example.org"})), False),
        (LearnerKeys(), False),
    ],
)
def test_the_same_learner(keys: LearnerKeys, same: bool) -> None:
    assert (same_learner(LEARNER, keys) is None) is same
