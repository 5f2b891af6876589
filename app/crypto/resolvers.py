"""Offline verification-method resolution (did:key) for the Data Integrity verifier."""

from __future__ import annotations

from typing import Any

from app.crypto.dataintegrity import VerificationMethod
from app.crypto.errors import InvalidVerificationMethodError
from app.crypto.keys import KeyFormatError, PublicKey
from app.did.key import InvalidDid, resolve_did_key


def method_from_document(
    document: dict[str, Any], method_id: str, purpose: str
) -> VerificationMethod:
    """Find ``method_id`` in a controller (DID) document and check it may serve ``purpose``."""
    methods = {
        vm.get("id"): vm for vm in document.get("verificationMethod", []) if isinstance(vm, dict)
    }
    relative = "#" + method_id.split("#", 1)[-1]
    authorized = {
        entry if isinstance(entry, str) else entry.get("id")
        for entry in document.get(purpose, [])
        if isinstance(entry, str | dict)
    }
    for entry in document.get(purpose, []):
        if isinstance(entry, dict):
            methods.setdefault(entry.get("id"), entry)
    if method_id not in authorized and relative not in authorized:
        raise InvalidVerificationMethodError(
            f"{method_id} is not authorized for {purpose} by its controller"
        )
    method = methods.get(method_id) or methods.get(relative)
    if method is None:
        raise InvalidVerificationMethodError(f"{method_id} is not in its controller document")
    controller = method.get("controller")
    if not isinstance(controller, str) or controller != document.get("id"):
        raise InvalidVerificationMethodError(f"{method_id} is not controlled by its DID document")
    try:
        public_key = PublicKey.from_multibase(method.get("publicKeyMultibase", ""))
    except KeyFormatError as exc:
        raise InvalidVerificationMethodError(f"{method_id}: {exc}") from exc
    return VerificationMethod(method_id, controller, public_key)


def resolve_did_key_method(method_id: str, purpose: str) -> VerificationMethod:
    """A ``MethodResolver`` for did:key verification methods only."""
    if not method_id.startswith("did:key:"):
        raise InvalidVerificationMethodError(f"{method_id} is not a did:key verification method")
    try:
        document = resolve_did_key(method_id)
    except InvalidDid as exc:
        raise InvalidVerificationMethodError(str(exc)) from exc
    return method_from_document(document, method_id, purpose)
