"""Checks on a credential handed to the VC-API issue endpoint (VC 1.1 or 2.0 data model)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.credentials.datamodel import HeldBytes, data_model_breaches, version_of
from app.crypto.dataintegrity import parse_datetime
from app.jsonld.values import node_id

FieldError = dict[str, str]


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    return node_id(credential.get("issuer"))


def check_issuable(
    credential: Mapping[str, Any], caller_did: str, held: HeldBytes | None = None
) -> list[FieldError]:
    """Every reason this credential cannot be issued by ``caller_did``, as JSON Pointers: the
    MUSTs of the data model (:mod:`app.credentials.datamodel`, the verifier's rules too; ``held``
    gives the bytes of the resources this service holds) and what this service adds itself."""
    errors: list[FieldError] = [
        {"pointer": "/credential" + breach.pointer, "detail": breach.reason}
        for breach in data_model_breaches(credential, held)
    ]

    def fail(pointer: str, detail: str) -> None:
        errors.append({"pointer": "/credential" + pointer, "detail": detail})

    version = version_of(credential)
    types = credential.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        fail("/type", "type must be an array that includes VerifiableCredential")
    elif not all(isinstance(t, str) for t in types):
        fail("/type", "every type must be a string")
    issuer = issuer_id(credential)
    if issuer is not None and issuer != caller_did:
        fail("/issuer", "issuer must be the DID of the calling issuer")
    if "proof" in credential:
        fail("/proof", "the credential must not be signed already")
    if "credentialStatus" in credential:
        fail("/credentialStatus", "credentialStatus is added by this service")
    if version == 1:
        for name in ("issuanceDate", "expirationDate", "validFrom", "validUntil"):
            if name in credential and parse_datetime(credential[name]) is None:
                fail(f"/{name}", f"{name} must be an XML Schema dateTimeStamp")
        if "issuanceDate" not in credential:
            fail("/issuanceDate", "a VC 1.1 credential needs issuanceDate")
    return errors


def issuable_document(
    credential: Mapping[str, Any],
    contexts: list[Any],
    uri: str,
    entries: list[dict[str, Any]],
) -> dict[str, Any]:
    """The unsigned document of a VC-API issue request: the caller's credential under
    ``contexts``, its ``id`` (``uri`` unless the caller gave one) and its status entries."""
    document = {**credential, "@context": contexts}
    document.setdefault("id", uri)
    document["credentialStatus"] = entries[0] if len(entries) == 1 else entries
    return document
