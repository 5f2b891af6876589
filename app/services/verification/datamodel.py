"""The shape of a document before any check reads it: a credential or presentation at all
(400 otherwise), in its one JSON reading (:mod:`app.jsonld.form`), and the data-model MUSTs a
verifier checks besides the proof."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.credentials.datamodel import (
    Breach,
    HeldBytes,
    data_model_breaches,
    is_url,
    version_of,
)
from app.crypto.dataintegrity import VC_V1_CONTEXT, VC_V2_CONTEXT
from app.datetimes import parse_datetime
from app.jsonld import JsonLdProcessingError, UnknownContextError
from app.jsonld.form import NotPinnedForm, PinnedForm
from app.jsonld.values import as_list, node_id, types_of
from app.problems import MALFORMED_VALUE_ERROR, NOT_PINNED_FORM
from app.services.verification.results import (
    NotACredential,
    NotAPresentation,
    Verification,
    problem,
)

_VC_CONTEXTS = (VC_V2_CONTEXT, VC_V1_CONTEXT)


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


def check_data_model(
    credential: Mapping[str, Any], report: Verification, held: HeldBytes | None = None
) -> int | None:
    """The data-model MUSTs a verifier checks besides the proof (the issuer's rules,
    :mod:`app.credentials.datamodel`, each broken one a ``MALFORMED_VALUE_ERROR``); the VC
    version (1, 2). ``held`` gives the bytes of the resources this service holds."""
    for breach in data_model_breaches(credential, held):
        if breach.section.startswith("4.9") and _reported_by_validity(credential, breach):
            continue
        report.errors.append(problem(MALFORMED_VALUE_ERROR, breach.reason, breach.pointer))
    version = version_of(credential)
    if version == 1 and "issuanceDate" not in credential:
        report.errors.append(
            problem(
                MALFORMED_VALUE_ERROR, "a VC 1.1 credential needs issuanceDate", "/issuanceDate"
            )
        )
    return version


def _reported_by_validity(credential: Mapping[str, Any], breach: Breach) -> bool:
    """The validity check reports a date that is no date and an end before the start; of the
    breaches of 4.9 only a time without an offset is left (there a warning: read as UTC)."""
    name = breach.pointer.lstrip("/")
    moment, has_offset = parse_datetime(credential.get(name))
    return moment is None or has_offset


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
