"""The shape of a document before any check reads it: a credential or presentation at all
(400 otherwise), in its one JSON reading (:mod:`app.jsonld.form`), and the data-model MUSTs a
verifier checks besides the proof."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.credentials.vcapi import issuer_id
from app.crypto.dataintegrity import VC_V1_CONTEXT, VC_V2_CONTEXT
from app.jsonld import JsonLdProcessingError, UnknownContextError
from app.jsonld.form import NotPinnedForm, PinnedForm
from app.jsonld.values import as_list, node_id, types_of
from app.services.verification.results import (
    NOT_PINNED_FORM,
    NotACredential,
    NotAPresentation,
    Verification,
    problem,
)
from app.status.bitstring import MALFORMED_VALUE_ERROR

_VC_CONTEXTS = (VC_V2_CONTEXT, VC_V1_CONTEXT)


def is_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*:\S", value) is not None


def ensure_credential(document: Any) -> Mapping[str, Any]:
    """Refuse (400) what is not a credential at all; anything else gets a full result."""
    if not isinstance(document, Mapping):
        raise NotACredential("verifiableCredential must be a JSON object")
    if "@context" not in document:
        raise NotACredential("verifiableCredential has no @context: it is not a credential")
    if "VerifiableCredential" not in types_of(document):
        raise NotACredential("verifiableCredential's type does not include VerifiableCredential")
    return document


def ensure_presentation(document: Any) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise NotAPresentation("verifiablePresentation must be a JSON object")
    if "@context" not in document:
        raise NotAPresentation("verifiablePresentation has no @context: it is not a presentation")
    if "VerifiablePresentation" not in types_of(document):
        raise NotAPresentation(
            "verifiablePresentation's type does not include VerifiablePresentation"
        )
    return document


def check_form(form: PinnedForm, document: Mapping[str, Any]) -> Verification:
    """A report with the form check's result: an error when the document has more than one JSON
    reading, so that no other check runs on JSON that the proof may not say."""
    report = Verification()
    try:
        form.check(document)
    except NotPinnedForm as exc:
        report.errors.append(problem(NOT_PINNED_FORM, exc.reason, exc.pointer))
    except UnknownContextError:
        # Not established: the proof check refuses the context (for eddsa-jcs-2022 one
        # appended after the signed ones is outside what the proof covers).
        report.results["form"] = {"verified": None}
        return report
    except JsonLdProcessingError as exc:
        report.errors.append(problem(NOT_PINNED_FORM, str(exc), "/@context"))
    report.results["form"] = {"verified": report.verified}
    return report


def check_data_model(credential: Mapping[str, Any], report: Verification) -> int | None:
    """The data-model MUSTs a verifier checks besides the proof; the VC version (1, 2)."""

    def fail(pointer: str, detail: str) -> None:
        report.errors.append(problem(MALFORMED_VALUE_ERROR, detail, pointer))

    contexts = as_list(credential.get("@context"))
    first = contexts[0] if contexts else None
    version = {VC_V2_CONTEXT: 2, VC_V1_CONTEXT: 1}.get(first) if isinstance(first, str) else None
    if version is None:
        fail("/@context", f"the first @context must be {VC_V2_CONTEXT} or {VC_V1_CONTEXT}")
    if "id" in credential and not is_url(credential["id"]):
        fail("/id", "id must be a URL")
    issuer = issuer_id(credential)
    if issuer is None:
        fail("/issuer", "issuer must be a URL or an object with an id")
    elif not is_url(issuer):
        fail("/issuer", "the issuer's id must be a URL")
    subjects = as_list(credential.get("credentialSubject"))
    if not subjects or not all(isinstance(s, Mapping) and s for s in subjects):
        fail("/credentialSubject", "credentialSubject must be one or more non-empty objects")
    if version == 1 and "issuanceDate" not in credential:
        fail("/issuanceDate", "a VC 1.1 credential needs issuanceDate")
    return version


def check_presentation_data_model(presentation: Mapping[str, Any], report: Verification) -> None:
    contexts = as_list(presentation.get("@context"))
    if not contexts or not isinstance(contexts[0], str) or contexts[0] not in _VC_CONTEXTS:
        report.errors.append(
            problem(
                MALFORMED_VALUE_ERROR,
                f"the first @context must be {VC_V2_CONTEXT} or {VC_V1_CONTEXT}",
                "/@context",
            )
        )
    if "holder" in presentation and not is_url(node_id(presentation.get("holder"))):
        report.errors.append(
            problem(MALFORMED_VALUE_ERROR, "holder must be a URL or an object with one", "/holder")
        )
