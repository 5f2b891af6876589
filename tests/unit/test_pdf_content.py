"""What a credential's PDF shows, read from the signed document: the same facts as the
certificate picture for an EDC, and what an Open Badge or a plain VC holds."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from app.credentials.edc import build_edc
from app.credentials.examples import example_request
from app.credentials.microcredential import IssuerProfile, MicroCredentialIn
from app.credentials.obv3 import build_obv3
from app.credentials.pdf import render_pdf
from app.credentials.pdf_attachment import MAX_PDF_BYTES, NoAttachedCredential, attached_credential
from app.credentials.pdf_content import content_from_document
from app.credentials.render import certificate_facts

ISSUER = IssuerProfile(
    did="did:web:credentials.example.edu:issuers:uni-zed",
    name={"en": "University of Zed"},
    country="IRL",
    legal_identifier="IE1234567X",
)
ISSUED = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)


def test_an_edcs_pdf_lists_the_facts_its_certificate_picture_lists() -> None:
    mc = MicroCredentialIn.model_validate(example_request())
    document = build_edc(
        mc,
        ISSUER,
        credential_id="urn:uuid:1",
        issued=ISSUED,
        status=[],
        display_images={"en": b"x"},
    )
    for language in ("en", "fr", "pl"):
        content = content_from_document(document, language)
        picture = dict(certificate_facts(mc, ISSUER, language))
        shown = dict(content.facts)
        assert shown.keys() == picture.keys(), language
        for caption in shown:
            # The same words, but for the vocabulary labels' letter case.
            assert shown[caption].casefold() == picture[caption].casefold(), caption
        assert content.learner == "Aoife Murphy"
        assert content.outcomes == [
            "Develop digital content",
            "Communication, collaboration and creativity",
        ]
    assert content_from_document(document, "ga").title == "Cruthú micrea-dhintiúr digiteach"
    assert (
        content_from_document(document, "en").identity == "University of Zed · IE1234567X · Ireland"
    )


def test_an_open_badges_pdf_reads_its_alignments() -> None:
    mc = MicroCredentialIn.model_validate(example_request(format="obv3"))
    document = build_obv3(mc, ISSUER, credential_id="urn:uuid:1", issued=ISSUED, status=[])
    content = content_from_document(document, "en")
    facts = dict(content.facts)
    assert content.learner == "Aoife Murphy"
    assert facts["Date of award"] == "2026-06-30"
    assert facts["Workload"] == "2 ECTS"
    assert facts["Level"] == "EQF level 6"
    assert content.outcomes == ["Develop digital content"]


def test_a_plain_vc_and_determinism() -> None:
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner", "name": "Ħelena Ġauċi"},
    }
    content = content_from_document(document, "mt")
    assert content.learner == "Ħelena Ġauċi" and content.issuer_name == "did:example:issuer"
    first = render_pdf(content, b"{}")
    assert render_pdf(content, b"{}") == first
    reader = PdfReader(io.BytesIO(first))
    assert "Ħelena Ġauċi" in (reader.pages[0].extract_text() or "")
    assert reader.metadata is not None
    assert str(reader.metadata.get("/CreationDate", "")).startswith("D:20260101")


def test_reading_a_pdf_back_is_bounded() -> None:
    document = {"credentialSubject": {"name": "Åsa Ørsted"}, "issuer": "did:example:i"}
    content = content_from_document(document, "sv")
    assert attached_credential(render_pdf(content, b'{"a": 1}')) == b'{"a": 1}'
    # 5 MiB of spaces deflate to a few KiB: inflating past the bound is refused.
    bomb = render_pdf(content, b" " * (5 * 1024 * 1024))
    assert len(bomb) < 100_000
    with pytest.raises(NoAttachedCredential, match="could not be read"):
        attached_credential(bomb)
    with pytest.raises(NoAttachedCredential, match="larger"):
        attached_credential(b"%PDF-1.7" + b"\0" * MAX_PDF_BYTES)
    with pytest.raises(NoAttachedCredential, match="not a PDF"):
        attached_credential(b'{"@context": []}')
