"""Checks on a credential handed to the VC-API issue endpoint (VC 1.1 or 2.0 data model)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.credentials.datamodel import HeldBytes, data_model_breaches, version_of
from app.credentials.statusentries import status_entry_breaches
from app.datetimes import parse_datetime_stamp
from app.jsonld.values import as_list, node_id

FieldError = dict[str, str]


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    return node_id(credential.get("issuer"))


def check_issuable(
    credential: Mapping[str, Any], caller_did: str, held: HeldBytes | None = None
) -> list[FieldError]:
    """Every reason this credential cannot be issued by ``caller_did``, as JSON Pointers: the
    MUSTs of the data model (:mod:`app.credentials.datamodel`, the verifier's rules too; ``held``
    gives the bytes of the resources this service holds), the rules of every
    ``BitstringStatusListEntry`` the caller brings (:mod:`app.credentials.statusentries`; other
    status entries are kept as given) and what this service adds itself."""
    errors: list[FieldError] = [
        {"pointer": "/credential" + breach.pointer, "detail": breach.reason}
        for breach in data_model_breaches(credential, held)
    ]
    errors += [
        {"pointer": "/credential" + breach.pointer, "detail": f"{breach.detail} ({breach.section})"}
        for breach in status_entry_breaches(credential)
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
    if version == 1:
        for name in ("issuanceDate", "expirationDate", "validFrom", "validUntil"):
            if name in credential and parse_datetime_stamp(credential[name]) is None:
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
    ``contexts``, its ``id`` (``uri`` unless the caller gave one) and its status entries: the
    caller's own (of any type) first, then the service's ``entries``."""
    document = {**credential, "@context": contexts}
    document.setdefault("id", uri)
    if entries:
        # The caller's own entries (of any type) stay, before the service's.
        every = [*as_list(credential.get("credentialStatus")), *entries]
        document["credentialStatus"] = every[0] if len(every) == 1 else every
    return document
