"""Checks on a credential handed to the VC-API issue endpoint (VC 1.1 or 2.0 data model)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.crypto.dataintegrity import VC_V1_CONTEXT, VC_V2_CONTEXT, parse_datetime
from app.jsonld.values import node_id

FieldError = dict[str, str]


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    return node_id(credential.get("issuer"))


def check_issuable(credential: Mapping[str, Any], caller_did: str) -> list[FieldError]:
    """Every reason this credential cannot be issued by ``caller_did``, as JSON Pointers."""
    errors: list[FieldError] = []

    def fail(pointer: str, detail: str) -> None:
        errors.append({"pointer": "/credential" + pointer, "detail": detail})

    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts:
        fail("/@context", "@context must be a non-empty array")
        version = None
    elif contexts[0] == VC_V2_CONTEXT:
        version = 2
    elif contexts[0] == VC_V1_CONTEXT:
        version = 1
    else:
        fail("/@context/0", f"the first context must be {VC_V2_CONTEXT} or {VC_V1_CONTEXT}")
        version = None
    types = credential.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        fail("/type", "type must be an array that includes VerifiableCredential")
    elif not all(isinstance(t, str) for t in types):
        fail("/type", "every type must be a string")
    if "id" in credential and not (isinstance(credential["id"], str) and ":" in credential["id"]):
        fail("/id", "id must be an absolute URL")
    issuer = issuer_id(credential)
    if issuer is None:
        fail("/issuer", "issuer must be a URL or an object with an id")
    elif issuer != caller_did:
        fail("/issuer", "issuer must be the DID of the calling issuer")
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    if not subjects or not all(isinstance(s, Mapping) and s for s in subjects):
        fail("/credentialSubject", "credentialSubject must be a non-empty object")
    if "proof" in credential:
        fail("/proof", "the credential must not be signed already")
    if "credentialStatus" in credential:
        fail("/credentialStatus", "credentialStatus is added by this service")
    date_fields = (
        ("validFrom", "validUntil")
        if version == 2
        else ("issuanceDate", "expirationDate", "validFrom", "validUntil")
    )
    for name in date_fields:
        if name in credential and parse_datetime(credential[name]) is None:
            fail(f"/{name}", f"{name} must be an XML Schema dateTimeStamp")
    if version == 1 and "issuanceDate" not in credential:
        fail("/issuanceDate", "a VC 1.1 credential needs issuanceDate")
    return errors
